// Opens the configured backend: etcd when endpoints are given, the embedded
// store in `data_dir` otherwise.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/store.h"

namespace kubepp::storage {

struct StoreConfig {
  std::string data_dir;                     // embedded store directory
  std::vector<std::string> etcd_endpoints;  // non-empty: use etcd instead
};

Result<std::unique_ptr<Store>> OpenStore(const StoreConfig& config);

}  // namespace kubepp::storage
