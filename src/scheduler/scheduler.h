// The scheduler (upstream's kube-scheduler): watches pods and nodes, takes
// pending pods whose spec.schedulerName is one of its profiles, runs each
// through its profile's framework, assumes the chosen node in its cache, and
// binds asynchronously through pods/binding. Pods that fit nowhere get
// PodScheduled=False and a FailedScheduling event with upstream's message,
// and wait in the queue for a cluster event that could help. Only the holder
// of the kube-system/kube-scheduler lease schedules.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "client/events.h"
#include "client/informer.h"
#include "client/leader_election.h"
#include "client/rest.h"
#include "common/thread_pool.h"
#include "scheduler/cache/cache.h"
#include "scheduler/framework/framework.h"
#include "scheduler/queue/scheduling_queue.h"

namespace kubepp::scheduler {

struct SchedulerOptions {
  SchedulerConfig config;  // default: one default-scheduler profile
  bool leader_elect = true;
  std::string lease_name = "kube-scheduler";
  std::string identity;  // default: hostname + random suffix
  int bind_workers = 32;
};

class Scheduler {
 public:
  Scheduler(client::RestClient* client, SchedulerOptions options);
  ~Scheduler();
  // Checks the profiles' configuration (unknown plugins, bad arguments).
  Status Validate();
  void Start();
  void Stop();
  bool leading() const { return leading_.load(); }
  uint64_t scheduled() const { return scheduled_.load(); }

 private:
  struct Run;  // the state of one leadership term
  void StartScheduling();
  void StopScheduling();

  client::RestClient* client_;
  SchedulerOptions options_;
  std::unique_ptr<client::LeaderElector> elector_;
  std::mutex run_mu_;
  std::unique_ptr<Run> run_;  // GUARDED_BY(run_mu_)
  std::atomic<bool> leading_{false};
  std::atomic<uint64_t> scheduled_{0};
};

}  // namespace kubepp::scheduler
