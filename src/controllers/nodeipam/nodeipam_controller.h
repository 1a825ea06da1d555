// The node IPAM controller (upstream's range allocator): every node without a
// podCIDR gets the next free /24 of the cluster CIDR (--cluster-cidr,
// default 10.42.0.0/16), written once to spec.podCIDR and spec.podCIDRs.
// CIDRs that nodes already hold, whoever set them, are never handed out.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "controllers/manager.h"

namespace kubepp::controllers {

class NodeIpamController : public QueueController {
 public:
  // BadRequest-free: a malformed cluster CIDR disables allocation (logged).
  NodeIpamController(client::RestClient* client, const std::string& cluster_cidr, int node_mask_size = 24);
  void Init(InformerFactory* informers) override;

 private:
  // The key is a node name.
  Status Reconcile(const std::string& node) override;

  client::RestClient* client_;
  client::Informer* nodes_ = nullptr;
  uint32_t base_ = 0;
  int prefix_ = 0;
  int mask_ = 24;
  bool valid_ = false;
  std::mutex mu_;
  std::map<std::string, std::string> pending_;  // GUARDED_BY(mu_): node -> CIDR written, not yet seen
};

}  // namespace kubepp::controllers
