// Hollow nodes (the kubemark/kwok idea): many simulated nodes in one process,
// each doing through the API what a kubelet does, without containers. A
// hollow node registers its Node (capacity, allocatable, conditions,
// addresses, nodeInfo, a podCIDR of its own), renews its Lease in
// kube-node-lease every 10 s, reports its status again every minute, marks
// the pods bound to it Running and Ready with an IP from its podCIDR, lets
// pods that may complete (restartPolicy Never or OnFailure) finish after a
// simulated run time, and finishes graceful deletions.
//
// Simulated completion, per pod: annotation (or container env)
// `kubepp.io/sim-exit-code` (default 0) and `kubepp.io/sim-run-seconds`;
// only pods that carry either terminate on their own.
//
// One pod informer serves every hollow node; pod work goes through a work
// queue with 16 workers, so thousands of nodes cost a few threads.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <condition_variable>
#include <string>
#include <thread>
#include <vector>

#include "client/informer.h"
#include "client/rest.h"
#include "client/workqueue.h"

namespace kubepp::sim {

struct HollowOptions {
  int nodes = 1;
  std::string name_prefix = "hollow";
  std::string cpu = "32";
  std::string memory = "256Gi";
  std::string pods = "110";
  std::chrono::milliseconds startup_delay{0};  // before a pod turns Running
  std::chrono::milliseconds lease_period = std::chrono::seconds(10);
  std::chrono::milliseconds status_period = std::chrono::seconds(60);
  int workers = 16;
};

class HollowCluster {
 public:
  HollowCluster(client::RestClient* client, HollowOptions options);
  ~HollowCluster();

  // Registers the nodes and starts their loops.
  Status Start();
  void Stop();

  std::string NodeName(int i) const;
  std::string PodCidr(int i) const;

 private:
  Status RegisterNode(int i);
  Status ReportStatus(int i);
  Status RenewLease(int i);
  void HeartbeatLoop();
  void Worker();
  Status SyncPod(const std::string& key);
  int NodeIndex(std::string_view node) const;  // -1 if not ours

  client::RestClient* client_;
  HollowOptions options_;
  std::unique_ptr<client::Informer> pods_;
  std::unique_ptr<client::WorkQueue> queue_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> node_uids_;  // GUARDED_BY(mu_)
  std::set<std::string> started_;       // GUARDED_BY(mu_): uids of pods we set Running
  std::atomic<uint32_t> next_ip_{0};
};

}  // namespace kubepp::sim
