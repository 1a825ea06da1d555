// The node lifecycle controller (upstream's nodelifecycle controller and its
// taint-eviction half):
//   - a node whose Lease (kube-node-lease) and Ready heartbeat are older than
//     the grace period (--node-monitor-grace-period, 40 s) gets its
//     conditions set to Unknown ("Kubelet stopped posting node status.");
//   - nodes get the node.kubernetes.io/not-ready or .../unreachable taints
//     (NoSchedule, and NoExecute at a limited rate, none when every node is
//     down) while Ready is False or Unknown, removed when it is True;
//   - pods on a node with NoExecute taints they do not tolerate are deleted
//     at once; those that tolerate them with tolerationSeconds are deleted
//     when that time has passed since the taint was added.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "client/events.h"
#include "client/workqueue.h"
#include "controllers/manager.h"

namespace kubepp::controllers {

class NodeLifecycleController : public QueueController {
 public:
  NodeLifecycleController(client::RestClient* client, std::chrono::milliseconds grace,
                          double eviction_rate = 0.1);
  void Init(InformerFactory* informers) override;
  void Run() override;
  void Stop() override;

 private:
  Status Reconcile(const std::string& key) override;
  Status ReconcileNode(const std::string& name);
  Status ReconcilePod(const std::string& key);
  void EnqueuePodsOn(const std::string& node);
  void EnqueueIfNoExecute(const client::ObjectPtr& pod);
  bool AllNodesDown();

  client::RestClient* client_;
  std::chrono::milliseconds grace_;
  client::Informer* nodes_ = nullptr;
  client::Informer* leases_ = nullptr;
  client::Informer* pods_ = nullptr;
  client::BucketRateLimiter noexecute_limiter_;
  std::mutex mu_;
  // Nodes waiting for their turn to get a NoExecute taint.
  std::map<std::string, std::chrono::steady_clock::time_point> noexecute_at_;  // GUARDED_BY(mu_)
  bool all_down_ = false;                                    // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point all_down_checked_;  // GUARDED_BY(mu_)
  std::atomic<bool> stop_{false};
  std::thread ticker_;
};

// "40s", "2m", "1500ms" (a Go duration's common forms); nullopt if malformed.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view s);

}  // namespace kubepp::controllers
