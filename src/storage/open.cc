#include "storage/open.h"

#include "storage/embedded/embedded_store.h"
#include "storage/etcd/etcd_store.h"

namespace kubepp::storage {

Result<std::unique_ptr<Store>> OpenStore(const StoreConfig& config) {
  if (!config.etcd_endpoints.empty()) {
    etcd::EtcdOptions opts;
    opts.endpoints = config.etcd_endpoints;
    return etcd::OpenEtcdStore(opts);
  }
  embedded::EmbeddedOptions opts;
  opts.dir = config.data_dir;
  ASSIGN_OR_RETURN(auto store, embedded::EmbeddedStore::Open(opts));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace kubepp::storage
