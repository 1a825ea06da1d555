// The controller manager: controllers as informer + work queue + reconcile
// (STYLE.md), sharing one informer per resource, run only while this process
// holds the kube-system/kube-controller-manager lease (several managers may
// run; one works). Every controller is a client of the API and only of it.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "client/events.h"
#include "client/informer.h"
#include "client/leader_election.h"
#include "client/rest.h"
#include "client/workqueue.h"

namespace kubepp::controllers {

namespace bj = boost::json;

// One informer per resource, shared by the controllers that watch it.
class InformerFactory {
 public:
  explicit InformerFactory(client::RestClient* client) : client_(client) {}
  // REQUIRES: before Start.
  client::Informer* For(const std::string& group, const std::string& version, const std::string& resource);
  // An informer on part of a resource (a namespace, field or label selector).
  client::Informer* For(const client::InformerOptions& options);
  void Start();
  void Stop();
  bool WaitForSync(std::chrono::milliseconds timeout);

 private:
  client::RestClient* client_;
  // By group, version, resource, namespace, field and label selector.
  std::map<std::vector<std::string>, std::unique_ptr<client::Informer>> informers_;
};

// A handler that calls fn(obj) for adds, updates (the new object) and, when
// `deletes`, deletes.
client::EventHandler OnEvery(std::function<void(const client::ObjectPtr&)> fn, bool deletes = true);

// A controller: registers its informers and handlers, then runs workers.
class Controller {
 public:
  virtual ~Controller() = default;
  virtual std::string Name() const = 0;
  // Called once, before the informers start.
  virtual void Init(InformerFactory* informers) = 0;
  // Starts workers; Stop drains them.
  virtual void Run() = 0;
  virtual void Stop() = 0;
};

// The informer + work queue + reconcile pattern: handlers enqueue keys;
// `workers` threads take them and call Reconcile, retrying failures with the
// queue's rate-limited backoff and forgetting a key's backoff on success.
class QueueController : public Controller {
 public:
  QueueController(std::string name, int workers);
  std::string Name() const override { return name_; }
  void Run() override;
  void Stop() override;

 protected:
  virtual Status Reconcile(const std::string& key) = 0;
  client::WorkQueue& queue() { return *queue_; }
  // Handlers that enqueue the object's own key (on deletes too if `deletes`).
  client::EventHandler EnqueueKeys(bool deletes = false);
  // Handlers that enqueue the key of the object's controller when it is a `kind`.
  client::EventHandler EnqueueOwners(std::string kind);
  // Events as `component` (call from Init); stopped with the controller.
  void EnableEvents(client::RestClient* client, const std::string& component);
  client::EventRecorder& events() { return *events_; }

 private:
  std::unique_ptr<client::EventRecorder> events_;
  std::string name_;
  int worker_count_;
  std::unique_ptr<client::WorkQueue> queue_;
  std::vector<std::thread> workers_;
};

struct ManagerOptions {
  std::string identity;  // default: hostname + random suffix
  bool leader_elect = true;
  std::string cluster_cidr = "10.42.0.0/16";  // pod CIDRs of nodes are carved from it
  // A node silent for this long goes Ready=Unknown (--node-monitor-grace-period).
  std::chrono::milliseconds node_monitor_grace_period = std::chrono::seconds(40);
  // Terminated pods kept before the oldest are deleted (--terminated-pod-gc-threshold).
  int64_t terminated_pod_gc_threshold = 12500;
  // The CA the csrsigning controller issues certificates with
  // (--cluster-signing-cert-file/--cluster-signing-key-file); empty: no signer.
  std::string signing_cert_pem;
  std::string signing_key_pem;
  // The longest validity it grants (--cluster-signing-duration).
  std::chrono::seconds cluster_signing_duration = std::chrono::hours(24 * 365);
};

class ControllerManager {
 public:
  // Runs NewDefaultControllers().
  ControllerManager(client::RestClient* client, ManagerOptions options);
  ~ControllerManager();
  void Start();
  void Stop();
  bool leading() const { return leading_.load(); }

 private:
  void StartControllers();
  void StopControllers();

  client::RestClient* client_;
  ManagerOptions options_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  std::unique_ptr<InformerFactory> informers_;
  std::unique_ptr<client::LeaderElector> elector_;
  std::atomic<bool> leading_{false};
  std::atomic<bool> running_{false};
};

// Every controller kubepp has, in start order.
std::vector<std::unique_ptr<Controller>> NewDefaultControllers(client::RestClient* client, const ManagerOptions& options);

}  // namespace kubepp::controllers
