// Leader election on a coordination.k8s.io/v1 Lease (client-go's
// leaderelection with a LeaseLock): of all the candidates sharing a lease,
// one at a time holds it and renews it; the others take it over once it has
// not been renewed for its duration.
//
// Expiry is judged by the local clock from when this candidate last saw the
// lease change, not by the holder's timestamps, so clock skew between
// machines does not matter (as client-go does). A leader that cannot renew
// within renew_deadline gives up leadership (on_stopped_leading runs) before
// anyone else may take it. Stop() releases a held lease so a successor
// starts at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "client/rest.h"

namespace kubepp::client {

struct LeaderElectionConfig {
  std::string lease_namespace = "kube-system";
  std::string lease_name;
  std::string identity;  // unique per candidate (upstream: hostname_uuid)
  std::chrono::milliseconds lease_duration = std::chrono::seconds(15);
  std::chrono::milliseconds renew_deadline = std::chrono::seconds(10);
  std::chrono::milliseconds retry_period = std::chrono::seconds(2);
  // On the elector's thread; on_started_leading must return promptly.
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  std::function<void(const std::string& identity)> on_new_leader;
};

class LeaderElector {
 public:
  LeaderElector(RestClient* client, LeaderElectionConfig config);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void Start();
  // Stops campaigning; a leader releases the lease first.
  void Stop();
  bool IsLeader() const { return leading_.load(); }
  std::string LeaderIdentity() const;

 private:
  void Run();
  // One round: take or renew the lease. True if we hold it afterwards.
  bool TryAcquireOrRenew();
  void Release();
  bool Sleep(std::chrono::milliseconds d);  // false when stopping

  RestClient* client_;
  LeaderElectionConfig config_;
  std::string path_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string observed_record_;                       // GUARDED_BY(mu_): holder + renewTime last seen
  std::string observed_holder_;                       // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point observed_at_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                             // GUARDED_BY(mu_)
  std::atomic<bool> leading_{false};
  std::thread thread_;
};

}  // namespace kubepp::client
