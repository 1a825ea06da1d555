// A bench-only Store over etcd's native gRPC API: the baseline the embedded
// store is measured against. (kubepp's own etcd backend speaks the JSON
// gateway; this one exists so the baseline is etcd at its best.) It supports
// what the benchmark calls: Create, Update, Get, Watch, CurrentRevision.
#pragma once

#include <memory>
#include <string>

#include "storage/store.h"

namespace kubepp::bench {

Result<std::unique_ptr<storage::Store>> OpenEtcdGrpcStore(const std::string& client_url, int channels);

// Bare etcd Puts (no transaction) of `value` to new keys from `clients`
// threads for `seconds`: etcd's raw durable write rate.
Result<double> EtcdPutsPerSecond(const std::string& client_url, int clients, double seconds, const std::string& value);

}  // namespace kubepp::bench
