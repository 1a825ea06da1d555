#include "controllers/manager.h"

#include <pthread.h>
#include <unistd.h>

#include "api/object.h"
#include "common/log.h"
#include "controllers/bootstrap/bootstrap_controllers.h"
#include "controllers/certificates/csr_controllers.h"
#include "controllers/controller_utils.h"
#include "controllers/cronjob/cronjob_controller.h"
#include "controllers/daemonset/daemonset_controller.h"
#include "controllers/deployment/deployment_controller.h"
#include "controllers/disruption/disruption_controller.h"
#include "controllers/endpoints/endpoints_controller.h"
#include "controllers/garbagecollector/garbage_collector.h"
#include "controllers/job/job_controller.h"
#include "controllers/namespace/namespace_controller.h"
#include "controllers/nodeipam/nodeipam_controller.h"
#include "controllers/nodelifecycle/node_lifecycle_controller.h"
#include "controllers/podgc/podgc_controller.h"
#include "controllers/replicaset/replicaset_controller.h"
#include "controllers/resourcequota/resourcequota_controller.h"
#include "controllers/serviceaccount/serviceaccount_controller.h"
#include "controllers/statefulset/statefulset_controller.h"

namespace kubepp::controllers {
namespace {

const log::Logger& Log() {
  static const log::Logger l("controller-manager");
  return l;
}

}  // namespace

client::Informer* InformerFactory::For(const std::string& group, const std::string& version,
                                       const std::string& resource) {
  client::InformerOptions o;
  o.group = group;
  o.version = version;
  o.resource = resource;
  return For(o);
}

client::Informer* InformerFactory::For(const client::InformerOptions& o) {
  auto& slot = informers_[{o.group, o.version, o.resource, o.ns, o.field_selector, o.label_selector}];
  if (!slot) slot = std::make_unique<client::Informer>(client_, o);
  return slot.get();
}

void InformerFactory::Start() {
  for (auto& [k, inf] : informers_) inf->Start();
}

void InformerFactory::Stop() {
  for (auto& [k, inf] : informers_) inf->Stop();
}

bool InformerFactory::WaitForSync(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& [k, inf] : informers_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !inf->WaitForSync(left)) return false;
  }
  return true;
}

QueueController::QueueController(std::string name, int workers)
    : name_(std::move(name)), worker_count_(workers), queue_(std::make_unique<client::WorkQueue>(name_)) {}

void QueueController::Run() {
  for (int i = 0; i < worker_count_; ++i) {
    workers_.emplace_back([this] {
      while (auto key = queue_->Get()) {
        Status st = Reconcile(*key);
        if (st.ok()) {
          queue_->Forget(*key);
        } else {
          Log().V(1, "reconcile failed", {{"controller", name_}, {"key", *key}, {"err", st.ToString()}});
          queue_->AddRateLimited(*key);
        }
        queue_->Done(*key);
      }
    });
    std::string tname = ("ctl-" + name_).substr(0, 15);
    pthread_setname_np(workers_.back().native_handle(), tname.c_str());
  }
}

void QueueController::Stop() {
  queue_->ShutDown();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  if (events_) events_->Stop();
}

client::EventHandler OnEvery(std::function<void(const client::ObjectPtr&)> fn, bool deletes) {
  client::EventHandler h;
  h.on_add = fn;
  h.on_update = [fn](const client::ObjectPtr&, const client::ObjectPtr& o) { fn(o); };
  if (deletes) h.on_delete = fn;
  return h;
}

client::EventHandler QueueController::EnqueueKeys(bool deletes) {
  return OnEvery([this](const client::ObjectPtr& o) { queue_->Add(client::KeyOf(*o)); }, deletes);
}

client::EventHandler QueueController::EnqueueOwners(std::string kind) {
  return OnEvery([this, kind = std::move(kind)](const client::ObjectPtr& o) {
    auto ref = GetControllerRef(*o);
    if (ref && ref->kind == kind) queue_->Add(std::string(api::Namespace(*o)) + "/" + ref->name);
  });
}

void QueueController::EnableEvents(client::RestClient* client, const std::string& component) {
  events_ = std::make_unique<client::EventRecorder>(client, component);
}

ControllerManager::ControllerManager(client::RestClient* client, ManagerOptions options)
    : client_(client), options_(std::move(options)), controllers_(NewDefaultControllers(client, options_)) {
  if (options_.identity.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    options_.identity = std::string(host) + "_" + api::NewUid();
  }
}

ControllerManager::~ControllerManager() { Stop(); }

void ControllerManager::Start() {
  if (!options_.leader_elect) {
    StartControllers();
    return;
  }
  client::LeaderElectionConfig le;
  le.lease_name = "kube-controller-manager";
  le.identity = options_.identity;
  le.on_started_leading = [this] { StartControllers(); };
  le.on_stopped_leading = [this] { StopControllers(); };
  elector_ = std::make_unique<client::LeaderElector>(client_, le);
  elector_->Start();
}

void ControllerManager::StartControllers() {
  if (running_.exchange(true)) return;
  // Fresh informers and controllers each time leadership is won: a manager
  // that lost the lease must not act on what it saw before.
  informers_ = std::make_unique<InformerFactory>(client_);
  for (auto& c : controllers_) c->Init(informers_.get());
  informers_->Start();
  for (auto& c : controllers_) {
    c->Run();
    Log().V(1, "started controller", {{"controller", c->Name()}});
  }
  leading_.store(true);
  Log().Info("controllers started", {{"identity", options_.identity}, {"count", std::to_string(controllers_.size())}});
}

void ControllerManager::StopControllers() {
  if (!running_.exchange(false)) return;
  leading_.store(false);
  if (informers_) informers_->Stop();
  for (auto& c : controllers_) c->Stop();
  // Controllers hold per-run state (queues): make new ones for a next term.
  controllers_ = NewDefaultControllers(client_, options_);
}

void ControllerManager::Stop() {
  if (elector_) {
    elector_->Stop();  // runs on_stopped_leading if leading
    elector_.reset();
  }
  StopControllers();
}

std::vector<std::unique_ptr<Controller>> NewDefaultControllers(client::RestClient* client, const ManagerOptions& options) {
  std::vector<std::unique_ptr<Controller>> out;
  out.push_back(std::make_unique<NodeIpamController>(client, options.cluster_cidr));
  out.push_back(std::make_unique<NamespaceController>(client));
  out.push_back(std::make_unique<ServiceAccountController>(client));
  out.push_back(std::make_unique<ReplicaSetController>(client, false));
  out.push_back(std::make_unique<ReplicaSetController>(client, true));
  out.push_back(std::make_unique<DeploymentController>(client));
  out.push_back(std::make_unique<GarbageCollector>(client));
  out.push_back(std::make_unique<JobController>(client));
  out.push_back(std::make_unique<DaemonSetController>(client));
  out.push_back(std::make_unique<StatefulSetController>(client));
  out.push_back(std::make_unique<EndpointsController>(client));
  out.push_back(std::make_unique<PodGcController>(client, options.terminated_pod_gc_threshold));
  out.push_back(std::make_unique<DisruptionController>(client));
  out.push_back(std::make_unique<ResourceQuotaController>(client));
  out.push_back(std::make_unique<CronJobController>(client));
  out.push_back(std::make_unique<NodeLifecycleController>(client, options.node_monitor_grace_period));
  out.push_back(std::make_unique<CsrApprovingController>(client));
  if (!options.signing_cert_pem.empty() && !options.signing_key_pem.empty()) {
    out.push_back(std::make_unique<CsrSigningController>(
        client, apiserver::KeyPair{options.signing_cert_pem, options.signing_key_pem}, options.cluster_signing_duration));
  }
  out.push_back(std::make_unique<BootstrapSignerController>(client));
  out.push_back(std::make_unique<TokenCleanerController>(client));
  return out;
}

}  // namespace kubepp::controllers
