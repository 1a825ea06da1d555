// The etcd backend: a real etcd v3 cluster (Debian's etcd-server 3.4) through
// its v3 JSON gateway (/v3/kv/range, /v3/kv/txn, /v3/watch, ...), for
// clusters with several API servers. docs/storage.md says why the gateway
// rather than gRPC.
//
// Conditional writes are etcd transactions: create is "CREATE(key) == 0",
// update and delete are "MOD(key) == expected" (or "CREATE(key) > 0" when any
// revision will do), each with a range of the key on failure so a Conflict
// can hand back the current value. Each watch holds its own HTTP stream.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "storage/store.h"

namespace kubepp::storage::etcd {

struct EtcdOptions {
  // Client URLs, "http://127.0.0.1:2379". Requests go to the first that answers.
  std::vector<std::string> endpoints;
  std::chrono::milliseconds request_timeout{30000};
  // Events buffered for a watcher that does not read; beyond it is cut off (Gone).
  int64_t max_watch_backlog = 1 << 20;
};

// Connects and checks that etcd answers.
Result<std::unique_ptr<Store>> OpenEtcdStore(const EtcdOptions& options);

}  // namespace kubepp::storage::etcd
