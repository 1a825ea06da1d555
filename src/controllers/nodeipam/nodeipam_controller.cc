#include "controllers/nodeipam/nodeipam_controller.h"

#include <arpa/inet.h>

#include <set>

#include "api/object.h"
#include "common/log.h"

namespace kubepp::controllers {
namespace {

namespace bj = boost::json;

const log::Logger& Log() {
  static const log::Logger l("nodeipam-controller");
  return l;
}

std::string Cidr(uint32_t addr, int mask) {
  struct in_addr a {};
  a.s_addr = htonl(addr);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(mask);
}

}  // namespace

NodeIpamController::NodeIpamController(client::RestClient* client, const std::string& cluster_cidr, int node_mask_size)
    : QueueController("nodeipam", 1), client_(client), mask_(node_mask_size) {
  size_t slash = cluster_cidr.find('/');
  struct in_addr a {};
  if (slash != std::string::npos && inet_pton(AF_INET, cluster_cidr.substr(0, slash).c_str(), &a) == 1) {
    prefix_ = std::atoi(cluster_cidr.c_str() + slash + 1);
    if (prefix_ >= 0 && prefix_ <= mask_ && mask_ <= 30) {
      uint32_t netmask = prefix_ == 0 ? 0 : ~((1u << (32 - prefix_)) - 1);
      base_ = ntohl(a.s_addr) & netmask;
      valid_ = true;
    }
  }
  if (!valid_) Log().Error("bad cluster CIDR; no pod CIDRs will be allocated", {{"cidr", cluster_cidr}});
}

void NodeIpamController::Init(InformerFactory* informers) {
  nodes_ = informers->For("", "v1", "nodes");
  client::EventHandler h = OnEvery(
      [this](const client::ObjectPtr& n) {
        if (api::StrAt(*n, {"spec", "podCIDR"}).empty()) queue().Add(std::string(api::Name(*n)));
      },
      false);
  h.on_delete = [this](const client::ObjectPtr& n) {
    std::lock_guard<std::mutex> l(mu_);
    pending_.erase(std::string(api::Name(*n)));
  };
  nodes_->AddEventHandler(h);
}

Status NodeIpamController::Reconcile(const std::string& name) {
  if (!valid_) return Status::OK();
  client::ObjectPtr node = nodes_->Get(name);
  if (node == nullptr || !api::StrAt(*node, {"spec", "podCIDR"}).empty()) return Status::OK();
  std::set<std::string> used;
  for (const auto& n : nodes_->List()) {
    std::string c(api::StrAt(*n, {"spec", "podCIDR"}));
    if (!c.empty()) used.insert(c);
  }
  std::string chosen;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = pending_.find(name); it != pending_.end()) {
      chosen = it->second;  // written before; the informer has not shown it yet
    } else {
      for (const auto& [n, c] : pending_) used.insert(c);
      uint32_t count = 1u << (mask_ - prefix_);
      for (uint32_t i = 0; i < count && chosen.empty(); ++i) {
        std::string c = Cidr(base_ + (i << (32 - mask_)), mask_);
        if (!used.count(c)) chosen = c;
      }
      if (chosen.empty()) return Status::Unavailable("no pod CIDR left in the cluster CIDR for node " + name);
      pending_[name] = chosen;
    }
  }
  auto r = client_->Patch(client::ResourcePath("", "v1", "nodes", "", name), "application/merge-patch+json",
                          bj::object{{"spec", bj::object{{"podCIDR", chosen}, {"podCIDRs", bj::array{bj::value(chosen)}}}}});
  if (!r.ok()) {
    if (r.status().IsNotFound()) return Status::OK();
    return r.status();
  }
  Log().V(1, "allocated pod CIDR", {{"node", name}, {"cidr", chosen}});
  return Status::OK();
}

}  // namespace kubepp::controllers
