#include "kubelet/kubelet.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "api/image_ref.h"
#include "api/object.h"
#include "api/quantity.h"
#include "api/time.h"
#include "common/base64.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "common/url.h"
#include "client/node_lease.h"
#include "apiserver/http/server.h"
#include "kubelet/kubelet_util.h"
#include "kubelet/logs.h"
#include "kubelet/pod_config.h"
#include "kubelet/probe.h"

namespace kubepp::kubelet {
namespace {

using namespace std::chrono_literals;
using runtime::ContainerState;
using runtime::ContainerStatus;

const log::Logger& Log() { return KubeletLog(); }

constexpr const char* kPodUid = kPodUidLabel;
constexpr const char* kPodName = "io.kubernetes.pod.name";
constexpr const char* kPodNs = "io.kubernetes.pod.namespace";
constexpr const char* kContainerName = "io.kubernetes.container.name";
constexpr const char* kInit = "io.kubepp.container.init";
constexpr auto kMaxBackoff = 300s;

std::string Now() { return api::FormatTime(std::chrono::system_clock::now()); }

std::string NsTime(int64_t ns) {
  if (ns <= 0) return "";
  return api::FormatTime(std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::nanoseconds(ns))));
}

std::string PodDesc(const bj::object& pod) {
  return std::string(api::Name(pod)) + "_" + std::string(api::Namespace(pod)) + "(" + std::string(api::Uid(pod)) + ")";
}

int64_t MilliOf(std::string_view q) {
  auto v = api::Quantity::Parse(q);
  return v.ok() ? v->MilliValue() : 0;
}
int64_t ValueOf(std::string_view q) {
  auto v = api::Quantity::Parse(q);
  return v.ok() ? v->Value() : 0;
}

std::string QosClass(const bj::object& pod) {
  bool any = false, guaranteed = true;
  for (const char* list : {"initContainers", "containers"}) {
    const auto* cs = api::ArrAt(pod, {"spec", list});
    if (cs == nullptr) continue;
    for (const auto& c : *cs) {
      if (!c.is_object()) continue;
      const auto& o = c.get_object();
      for (const char* r : {"cpu", "memory"}) {
        std::string_view req = api::StrAt(o, {"resources", "requests", r});
        std::string_view lim = api::StrAt(o, {"resources", "limits", r});
        if (!req.empty() || !lim.empty()) any = true;
        if (lim.empty() || (!req.empty() && MilliOf(req) != MilliOf(lim))) guaranteed = false;
      }
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

// Pod-level then container-level securityContext.
std::optional<int64_t> SecInt(const bj::object& pod, const bj::object& c, std::string_view field) {
  if (auto v = api::IntAt(c, {"securityContext", field})) return v;
  return api::IntAt(pod, {"spec", "securityContext", field});
}

}  // namespace

const log::Logger& KubeletLog() {
  static const log::Logger l("kubelet");
  return l;
}

const bj::object* ContainerSpec(const bj::object& pod, const std::string& name, bool* init) {
  for (const char* list : {"initContainers", "containers"}) {
    if (const auto* cs = api::ArrAt(pod, {"spec", list})) {
      for (const auto& c : *cs) {
        if (c.is_object() && api::StrAt(c.get_object(), {"name"}) == name) {
          if (init) *init = std::string_view(list) == "initContainers";
          return &c.get_object();
        }
      }
    }
  }
  return nullptr;
}

namespace {

std::chrono::seconds Backoff(int restarts) {
  auto d = 10s;
  for (int i = 1; i < restarts && d < kMaxBackoff; ++i) d *= 2;
  return std::min<std::chrono::seconds>(d, kMaxBackoff);
}

}  // namespace

Kubelet::Kubelet(client::RestClient* client, KubeletOptions options, runtime::RuntimeService* rt,
                 images::ImageStore* images, cni::Network* network)
    : client_(client), options_(std::move(options)), runtime_(rt), images_(images), network_(network) {
  if (options_.node_ip.empty()) options_.node_ip = DefaultNodeIp();
  puller_ = std::make_unique<images::Puller>(images_, options_.insecure_registries, images_->root() + "/downloads");
  pod_cidr_ = options_.pod_cidr;
}

Kubelet::~Kubelet() { Stop(); }

std::vector<images::AuthConfigs> Kubelet::PullSecrets(const bj::object& pod) {
  std::vector<images::AuthConfigs> out;
  const auto* secrets = api::ArrAt(pod, {"spec", "imagePullSecrets"});
  if (secrets == nullptr) return out;
  auto get = Getter(std::string(api::Namespace(pod)));
  for (const auto& ref : *secrets) {
    if (!ref.is_object()) continue;
    std::string name(api::StrAt(ref.get_object(), {"name"}));
    auto secret = get("secrets", name);
    if (!secret.ok()) {
      Event(pod, "Warning", "FailedToRetrieveImagePullSecret",
            "Unable to retrieve some image pull secrets (" + name + "); attempting to pull the image may not succeed.");
      continue;
    }
    for (const char* key : {".dockerconfigjson", ".dockercfg"}) {
      std::string_view enc = api::StrAt(*secret, {"data", key});
      if (enc.empty()) continue;
      auto text = Base64Decode(enc);
      if (!text.ok()) continue;
      if (auto cfg = images::ParseDockerConfig(*text); cfg.ok()) out.push_back(std::move(*cfg));
    }
  }
  return out;
}

std::string Kubelet::PodDir(const std::string& uid) const { return JoinPath(options_.data_dir, "pods/" + uid); }

std::string Kubelet::PodCidr() {
  std::lock_guard<std::mutex> l(mu_);
  return pod_cidr_;
}

void Kubelet::Event(const bj::object& pod, std::string_view type, std::string_view reason, const std::string& message) {
  if (events_) events_->Record(client::ObjectReference(pod, "v1", "Pod"), type, reason, message);
}

Status Kubelet::RegisterNode() {
  bj::object labels{{"kubernetes.io/hostname", options_.node_name},
                    {"kubernetes.io/os", "linux"},
                    {"kubernetes.io/arch", "amd64"},
                    {"beta.kubernetes.io/os", "linux"},
                    {"beta.kubernetes.io/arch", "amd64"}};
  for (const auto& [k, v] : options_.node_labels) labels[k] = v;
  bj::object node{{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", bj::object{{"name", options_.node_name}, {"labels", labels}}}};
  if (!options_.pod_cidr.empty()) {
    node["spec"] = bj::object{{"podCIDR", options_.pod_cidr}, {"podCIDRs", bj::array{bj::value(options_.pod_cidr)}}};
  }
  auto path = client::ResourcePath("", "v1", "nodes");
  auto created = client_->Post(path, node);
  bj::object cur;
  if (created.ok()) {
    cur = created->as_object();
  } else if (created.status().IsAlreadyExists()) {
    auto got = client_->Get(client::ResourcePath("", "v1", "nodes", "", options_.node_name));
    if (!got.ok()) return got.status();
    cur = got->as_object();
  } else {
    return created.status();
  }
  std::lock_guard<std::mutex> l(mu_);
  node_uid_ = std::string(api::Uid(cur));
  if (pod_cidr_.empty()) pod_cidr_ = std::string(api::StrAt(cur, {"spec", "podCIDR"}));
  return Status::OK();
}

Status Kubelet::ReportNodeStatus() {
  std::string cidr = PodCidr();
  if (cidr.empty()) {
    // Node IPAM assigns it after registration.
    auto got = client_->Get(client::ResourcePath("", "v1", "nodes", "", options_.node_name));
    if (got.ok()) cidr = std::string(api::StrAt(got->as_object(), {"spec", "podCIDR"}));
    std::lock_guard<std::mutex> l(mu_);
    pod_cidr_ = cidr;
  }
  if (network_ != nullptr && !cidr.empty() && network_->config().subnet != cidr) network_->SetSubnet(cidr);
  bool network_ready = network_ != nullptr && !cidr.empty();
  std::string now = Now();
  auto cond = [&](const char* type, const char* status, const char* reason, const std::string& message) {
    return bj::object{{"type", type},          {"status", status},          {"lastHeartbeatTime", now},
                      {"lastTransitionTime", now}, {"reason", reason}, {"message", message}};
  };
  bj::object status = NodeStatusBase(machine_, options_.max_pods, options_.node_ip, options_.node_name,
                                     options_.kubelet_port, images_->List());
  bool memory, disk, pid;
  {
    std::lock_guard<std::mutex> l(mu_);
    memory = memory_pressure_;
    disk = disk_pressure_;
    pid = pid_pressure_;
  }
  status["conditions"] = bj::array{
      memory ? cond("MemoryPressure", "True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")
             : cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
      disk ? cond("DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure")
           : cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      pid ? cond("PIDPressure", "True", "KubeletHasInsufficientPID", "kubelet has insufficient PID available")
          : cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
      network_ready ? cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")
                    : cond("Ready", "False", "KubeletNotReady",
                           "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                           "message:Network plugin returns error: cni plugin not initialized")};
  // Transition times stay while a condition's status does not change.
  auto got = client_->Get(client::ResourcePath("", "v1", "nodes", "", options_.node_name));
  if (got.ok()) {
    if (const auto* old = api::ArrAt(got->as_object(), {"status", "conditions"})) {
      for (auto& c : status["conditions"].as_array()) {
        for (const auto& o : *old) {
          if (!o.is_object()) continue;
          if (api::StrAt(o.get_object(), {"type"}) == api::StrAt(c.as_object(), {"type"}) &&
              api::StrAt(o.get_object(), {"status"}) == api::StrAt(c.as_object(), {"status"})) {
            c.as_object()["lastTransitionTime"] = api::StrAt(o.get_object(), {"lastTransitionTime"});
          }
        }
      }
    }
  }
  auto r = client_->Patch(client::ResourcePath("", "v1", "nodes", "", options_.node_name, "status"),
                          "application/merge-patch+json", bj::object{{"status", std::move(status)}});
  return r.status();
}

Status Kubelet::RenewLease() {
  std::string uid;
  {
    std::lock_guard<std::mutex> l(mu_);
    uid = node_uid_;
  }
  return client::RenewNodeLease(client_, options_.node_name, uid);
}

Status Kubelet::Start() {
  machine_ = ReadMachineInfo(options_.data_dir, options_.runc);
  RETURN_IF_ERROR(MakeDirs(JoinPath(options_.data_dir, "pods"), 0750));
  RETURN_IF_ERROR(MakeDirs(JoinPath(options_.data_dir, "logs/pods"), 0755));
  RETURN_IF_ERROR(RegisterNode().WithContext("register node " + options_.node_name));
  if (Status st = ReportNodeStatus(); !st.ok()) Log().Warning("node status", {{"err", st.ToString()}});
  if (Status st = RenewLease(); !st.ok()) Log().Warning("node lease", {{"err", st.ToString()}});
  {
    std::lock_guard<std::mutex> l(mu_);
    node_start_time_ = Now();
  }
  auto thresholds = ParseEvictionThresholds(options_.eviction_hard);
  if (!thresholds.ok()) return thresholds.status().WithContext("--eviction-hard");
  eviction_thresholds_ = std::move(*thresholds);
  events_ = std::make_unique<client::EventRecorder>(client_, "kubelet");
  queue_ = std::make_unique<client::WorkQueue>("kubelet-pods");
  client::InformerOptions io;
  io.resource = "pods";
  io.field_selector = "spec.nodeName=" + options_.node_name;
  pods_ = std::make_unique<client::Informer>(client_, io);
  auto enqueue = [this](const client::ObjectPtr& p) { queue_->Add(client::KeyOf(*p)); };
  pods_->AddEventHandler({enqueue, [enqueue](const client::ObjectPtr&, const client::ObjectPtr& p) { enqueue(p); }, enqueue});
  pods_->Start();
  // Workers judge "gone from the API" by the informer: it must have listed first,
  // or a restarted kubelet would stop every pod it still runs.
  if (!pods_->WaitForSync(std::chrono::seconds(60))) return Status::Unavailable("pod informer did not sync");
  // Pods the runtime still runs but the API no longer has get a sync too.
  for (const auto& s : runtime_->ListPodSandboxes()) {
    auto ns = s.config.labels.find(kPodNs), name = s.config.labels.find(kPodName);
    if (ns != s.config.labels.end() && name != s.config.labels.end()) queue_->Add(ns->second + "/" + name->second);
  }
  for (int i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this] { Worker(); });
    pthread_setname_np(threads_.back().native_handle(), "kubelet-pod");
  }
  if (options_.kubelet_port > 0 && !options_.serving_cert_pem.empty()) {
    apiserver::http::ServerOptions so;
    so.address = options_.bind_address;
    so.port = options_.kubelet_port;
    so.tls = apiserver::http::TlsConfig{options_.serving_cert_pem, options_.serving_key_pem, options_.client_ca_pem};
    so.io_threads = 1;
    so.workers = 8;
    auto srv = apiserver::http::Server::Start(so, [this](std::shared_ptr<apiserver::http::Exchange> ex) { Handle(std::move(ex)); });
    if (!srv.ok()) return srv.status().WithContext("kubelet API on port " + std::to_string(options_.kubelet_port));
    server_ = std::move(*srv);
  }
  threads_.emplace_back([this] { HeartbeatLoop(); });
  pthread_setname_np(threads_.back().native_handle(), "kubelet-beat");
  threads_.emplace_back([this] { HousekeepingLoop(); });
  pthread_setname_np(threads_.back().native_handle(), "kubelet-house");
  if (!options_.static_pod_path.empty()) {
    (void)MakeDirs(options_.static_pod_path, 0755);
    threads_.emplace_back([this] { StaticPodLoop(); });
    pthread_setname_np(threads_.back().native_handle(), "kubelet-static");
  }
  threads_.emplace_back([this] { RelistLoop(); });
  pthread_setname_np(threads_.back().native_handle(), "kubelet-pleg");
  probe_pool_ = std::make_unique<ThreadPool>(4, "kubelet-probe");
  threads_.emplace_back([this] { ProbeLoop(); });
  pthread_setname_np(threads_.back().native_handle(), "kubelet-prober");
  Log().Info("node registered", {{"node", options_.node_name}, {"ip", options_.node_ip}, {"podCIDR", PodCidr()}});
  return Status::OK();
}

void Kubelet::Stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    cv_.notify_all();
  }
  if (server_) server_->Stop();
  if (queue_) queue_->ShutDown();
  if (pods_) pods_->Stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  if (probe_pool_) probe_pool_->Stop();
  if (events_) events_->Stop();
}

void Kubelet::HeartbeatLoop() {
  auto next_lease = std::chrono::steady_clock::now() + options_.lease_period;
  auto next_status = std::chrono::steady_clock::now() + options_.status_period;
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_.load()) {
    // Until the pod CIDR is known, look every second.
    auto wake = std::min(next_lease, pod_cidr_.empty() ? std::chrono::steady_clock::now() + 1s : next_status);
    cv_.wait_until(l, wake, [this] { return stopping_.load(); });
    if (stopping_.load()) break;
    bool no_cidr = pod_cidr_.empty();
    l.unlock();
    auto now = std::chrono::steady_clock::now();
    if (now >= next_lease) {
      if (Status st = RenewLease(); !st.ok()) Log().Warning("lease renewal failed", {{"err", st.ToString()}});
      next_lease = now + options_.lease_period;
    }
    if (now >= next_status || no_cidr) {
      if (Status st = ReportNodeStatus(); !st.ok()) Log().Warning("node status update failed", {{"err", st.ToString()}});
      next_status = now + options_.status_period;
    }
    l.lock();
  }
}

void Kubelet::RelistLoop() {
  std::map<std::string, std::pair<ContainerState, std::string>> last;  // id -> state, pod key
  while (!stopping_.load()) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, 1s, [this] { return stopping_.load(); });
    }
    if (stopping_.load()) break;
    std::map<std::string, std::pair<ContainerState, std::string>> now;
    std::map<std::string, Running> running;
    for (const auto& c : runtime_->ListContainers()) {
      auto ns = c.config.labels.find(kPodNs), name = c.config.labels.find(kPodName);
      if (ns == c.config.labels.end() || name == c.config.labels.end()) continue;
      now[c.id] = {c.state, ns->second + "/" + name->second};
      if (c.state == ContainerState::kRunning) running[c.id] = {ns->second + "/" + name->second, c.name, c.started_at};
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      running_ = std::move(running);
    }
    for (const auto& [id, sk] : now) {
      auto it = last.find(id);
      if (it == last.end() || it->second.first != sk.first) queue_->Add(sk.second);
    }
    for (const auto& [id, sk] : last) {
      if (!now.count(id)) queue_->Add(sk.second);
    }
    last = std::move(now);
  }
}

void Kubelet::Worker() {
  for (;;) {
    auto key = queue_->Get();
    if (!key) return;
    Status st = SyncPod(*key);
    if (!st.ok()) {
      Log().Warning("pod sync failed", {{"pod", *key}, {"err", st.ToString()}});
      queue_->AddRateLimited(*key);
    } else {
      queue_->Forget(*key);
    }
    queue_->Done(*key);
  }
}

ObjectGetter Kubelet::Getter(const std::string& ns) {
  return [this, ns](const std::string& resource, const std::string& name) -> Result<bj::object> {
    auto r = client_->Get(client::ResourcePath("", "v1", resource, ns, name));
    if (!r.ok()) return r.status();
    return r->as_object();
  };
}

std::vector<ContainerStatus> Kubelet::PodContainers(const std::string& uid) {
  std::vector<ContainerStatus> out = runtime_->ListContainers({{kPodUid, uid}});
  // Newest attempt first.
  std::sort(out.begin(), out.end(), [](const ContainerStatus& a, const ContainerStatus& b) {
    return a.attempt != b.attempt ? a.attempt > b.attempt : a.created_at > b.created_at;
  });
  return out;
}

Status Kubelet::TerminatePod(const std::string& uid, int64_t grace_seconds, const bj::object* pod) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds);
  auto containers = PodContainers(uid);
  // preStop hooks first (in parallel), within the grace period.
  std::vector<std::thread> hooks;
  if (pod != nullptr && grace_seconds > 0) {
    std::string pod_ip(api::StrAt(*pod, {"status", "podIP"}));
    for (const auto& c : containers) {
      if (c.state != ContainerState::kRunning) continue;
      const bj::object* spec = ContainerSpec(*pod, c.name, nullptr);
      const bj::object* hook = spec ? api::ObjAt(*spec, {"lifecycle", "preStop"}) : nullptr;
      if (hook == nullptr) continue;
      hooks.emplace_back([this, hook = *hook, spec = *spec, pod_ip, id = c.id, grace_seconds, p = *pod, name = c.name] {
        if (const auto* sl = api::ObjAt(hook, {"sleep"})) {
          std::this_thread::sleep_for(std::chrono::seconds(std::min<int64_t>(api::IntAt(*sl, {"seconds"}).value_or(0), grace_seconds)));
          return;
        }
        auto r = RunProbe(hook, spec, pod_ip, id, runtime_, std::chrono::seconds(grace_seconds));
        if (!r.ok) Event(p, "Warning", "FailedPreStopHook", "PreStopHook failed: " + r.message);
      });
    }
  }
  for (auto& t : hooks) t.join();
  for (const auto& c : containers) {
    if (c.state == ContainerState::kRunning || c.state == ContainerState::kCreated) {
      auto left = std::chrono::ceil<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() < 0) left = std::chrono::seconds(0);
      // (At least 2 s after a preStop hook, as upstream's minimum.)
      if (!hooks.empty() && left < std::chrono::seconds(2)) left = std::chrono::seconds(2);
      RETURN_IF_ERROR(runtime_->StopContainer(c.id, left));
    }
  }
  for (const auto& s : runtime_->ListPodSandboxes({{kPodUid, uid}})) RETURN_IF_ERROR(runtime_->RemovePodSandbox(s.id));
  RETURN_IF_ERROR(TearDownVolumes(PodDir(uid)));
  std::lock_guard<std::mutex> l(mu_);
  state_.erase(uid);
  return Status::OK();
}

Status Kubelet::StartContainer(const bj::object& pod, const bj::object& c, bool init, int attempt,
                               const std::string& sandbox_id, const std::map<std::string, std::string>& volumes,
                               const std::string& pod_ip, PodState& state) {
  std::string name(api::StrAt(c, {"name"}));
  std::string image(api::StrAt(c, {"image"}));
  Waiting& w = state.waiting[name];
  auto wait = [&](std::string reason, std::string message, std::chrono::steady_clock::duration retry) {
    w.reason = std::move(reason);
    w.message = std::move(message);
    w.retry_at = std::chrono::steady_clock::now() + retry;
    ++w.failures;
    return Status::OK();
  };
  if (auto ref = api::ParseImageRef(image); !ref.ok()) {
    std::string msg = "Failed to apply default image tag \"" + image + "\": " + ref.status().message();
    Event(pod, "Warning", "InspectFailed", msg);
    return wait("InvalidImageName", msg, 10s);
  }
  auto found = images_->Find(image);
  std::string_view policy = api::StrAt(c, {"imagePullPolicy"}, "IfNotPresent");
  if (!found && policy == "Never") {
    std::string msg = "Container image \"" + image + "\" is not present with pull policy of Never";
    Event(pod, "Warning", "ErrImageNeverPull", msg);
    return wait("ErrImageNeverPull", msg, 10s);
  }
  if (!found || policy == "Always") {
    // The pod worker comes back when the back-off is over; a failure
    // after a failure is shown as the back-off (upstream's alternation).
    bool backoff = w.reason == "ErrImagePull" || w.reason == "ImagePullBackOff";
    Event(pod, "Normal", "Pulling", "Pulling image \"" + image + "\"");
    auto start = std::chrono::steady_clock::now();
    auto pulled = puller_->Pull(image, PullSecrets(pod));
    bool fell_back = !pulled.ok() && found && pulled.status().code() == Code::kServiceUnavailable;
    if (fell_back) {
      // Policy Always with the registry out of reach (a machine without a
      // network, images imported): the image at hand serves, where upstream
      // would fail the pull.
      Event(pod, "Normal", "Pulled", "Container image \"" + image + "\" already present on machine (registry unreachable: " +
                                         pulled.status().message() + ")");
      pulled = *found;
    }
    if (!pulled.ok()) {
      std::string msg = "failed to pull and unpack image \"" + api::NormalizedImageName(image) + "\": " +
                        pulled.status().message();
      Event(pod, "Warning", "Failed", "Failed to pull image \"" + image + "\": " + msg);
      if (backoff) {
        Event(pod, "Normal", "BackOff", "Back-off pulling image \"" + image + "\"");
        return wait("ImagePullBackOff", "Back-off pulling image \"" + image + "\"", Backoff(w.failures + 1));
      }
      Event(pod, "Warning", "Failed", "Error: ErrImagePull");
      return wait("ErrImagePull", msg, Backoff(w.failures + 1));
    }
    if (!fell_back) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      char took[32];
      std::snprintf(took, sizeof took, "%.3fs", secs);
      Event(pod, "Normal", "Pulled", "Successfully pulled image \"" + image + "\" in " + took + " (" + took +
                                         " including waiting). Image size: " + std::to_string(pulled->size) + " bytes.");
    }
    w.failures = 0;
  } else if (w.reason.empty() || w.reason == "ContainerCreating") {
    Event(pod, "Normal", "Pulled", "Container image \"" + image + "\" already present on machine");
  }
  if (auto used = images_->Find(image)) {
    std::lock_guard<std::mutex> l(mu_);
    image_last_used_[used->id] = std::chrono::steady_clock::now();  // image GC spares it a while
  }
  PodFacts facts{pod_ip, options_.node_ip, options_.node_name};
  std::string ns(api::Namespace(pod));
  auto env = ContainerEnv(pod, c, facts, Getter(ns));
  if (!env.ok()) {
    Event(pod, "Warning", "Failed", "Error: " + env.status().message());
    return wait("CreateContainerConfigError", env.status().message(), 5s);
  }
  std::map<std::string, std::string> env_map(env->begin(), env->end());
  runtime::ContainerConfig cc;
  cc.name = name;
  cc.attempt = attempt;
  cc.image = image;
  for (const char* f : {"command", "args"}) {
    if (const auto* a = api::ArrAt(c, {f})) {
      for (const auto& v : *a) {
        if (v.is_string()) (std::string_view(f) == "command" ? cc.command : cc.args).push_back(ExpandVars(v.get_string(), env_map));
      }
    }
  }
  cc.working_dir = std::string(api::StrAt(c, {"workingDir"}));
  cc.env = std::move(*env);
  cc.tty = api::BoolAt(c, {"tty"});
  cc.stdin = api::BoolAt(c, {"stdin"});
  cc.stdin_once = api::BoolAt(c, {"stdinOnce"});
  cc.log_path = name + "/" + std::to_string(attempt) + ".log";
  cc.labels = {{kPodUid, std::string(api::Uid(pod))},
               {kPodName, std::string(api::Name(pod))},
               {kPodNs, ns},
               {kContainerName, name}};
  if (init) cc.labels[kInit] = "true";
  cc.annotations = {{"io.kubernetes.container.restartCount", std::to_string(attempt)}};
  // Resources.
  int64_t req_cpu = MilliOf(api::StrAt(c, {"resources", "requests", "cpu"}));
  int64_t lim_cpu = MilliOf(api::StrAt(c, {"resources", "limits", "cpu"}));
  if (req_cpu == 0 && lim_cpu > 0) req_cpu = lim_cpu;
  cc.resources.cpu_shares = std::max<int64_t>(2, req_cpu * 1024 / 1000);
  if (lim_cpu > 0) cc.resources.cpu_quota = std::max<int64_t>(1000, lim_cpu * 100);
  cc.resources.memory_limit = ValueOf(api::StrAt(c, {"resources", "limits", "memory"}));
  // Security.
  cc.security.run_as_user = SecInt(pod, c, "runAsUser");
  cc.security.run_as_group = SecInt(pod, c, "runAsGroup");
  if (auto fs = api::IntAt(pod, {"spec", "securityContext", "fsGroup"})) cc.security.supplemental_groups.push_back(*fs);
  if (const auto* sg = api::ArrAt(pod, {"spec", "securityContext", "supplementalGroups"})) {
    for (const auto& g : *sg) {
      if (g.is_int64()) cc.security.supplemental_groups.push_back(g.as_int64());
    }
  }
  cc.security.privileged = api::BoolAt(c, {"securityContext", "privileged"});
  cc.security.readonly_rootfs = api::BoolAt(c, {"securityContext", "readOnlyRootFilesystem"});
  if (const auto* ape = api::At(c, {"securityContext", "allowPrivilegeEscalation"}); ape && ape->is_bool()) {
    cc.security.no_new_privs = !ape->as_bool();
  }
  for (const char* which : {"add", "drop"}) {
    if (const auto* caps = api::ArrAt(c, {"securityContext", "capabilities", which})) {
      for (const auto& cap : *caps) {
        if (cap.is_string()) {
          (std::string_view(which) == "add" ? cc.security.add_capabilities : cc.security.drop_capabilities)
              .emplace_back(cap.get_string());
        }
      }
    }
  }
  bool non_root = api::BoolAt(c, {"securityContext", "runAsNonRoot"}) ||
                  (api::At(c, {"securityContext", "runAsNonRoot"}) == nullptr &&
                   api::BoolAt(pod, {"spec", "securityContext", "runAsNonRoot"}));
  if (non_root) {
    std::string user = cc.security.run_as_user ? std::to_string(*cc.security.run_as_user) : found->config.user;
    std::string uid_part = user.substr(0, user.find(':'));
    if (uid_part.empty() || uid_part == "0" || uid_part == "root") {
      std::string msg = "container has runAsNonRoot and image will run as root (pod: \"" + PodDesc(pod) +
                        "\", container: " + name + ")";
      Event(pod, "Warning", "Failed", "Error: " + msg);
      return wait("CreateContainerConfigError", msg, 10s);
    }
    if (uid_part.find_first_not_of("0123456789") != std::string::npos) {
      std::string msg = "container has runAsNonRoot and image has non-numeric user (" + uid_part +
                        "), cannot verify user is non-root (pod: \"" + PodDesc(pod) + "\", container: " + name + ")";
      return wait("CreateContainerConfigError", msg, 10s);
    }
  }
  // Mounts: the pod's volumes, and the termination message file.
  if (const auto* vms = api::ArrAt(c, {"volumeMounts"})) {
    for (const auto& vm : *vms) {
      if (!vm.is_object()) continue;
      const auto& o = vm.get_object();
      auto it = volumes.find(std::string(api::StrAt(o, {"name"})));
      if (it == volumes.end()) continue;
      std::string host = it->second;
      if (auto sub = api::StrAt(o, {"subPath"}); !sub.empty()) {
        if (sub.find("..") != std::string_view::npos || sub.front() == '/') {
          return wait("CreateContainerConfigError", "subPath \"" + std::string(sub) + "\" must be a relative path", 10s);
        }
        host = JoinPath(host, sub);
        if (!PathExists(host)) (void)MakeDirs(host, 0755);
      }
      cc.mounts.push_back({host, std::string(api::StrAt(o, {"mountPath"})), api::BoolAt(o, {"readOnly"})});
    }
  }
  std::string term_dir = PodDir(std::string(api::Uid(pod))) + "/containers/" + name;
  (void)MakeDirs(term_dir, 0755);
  std::string term_file = term_dir + "/" + std::to_string(attempt) + ".termination-log";
  (void)WriteFile(term_file, "", 0666);
  ::chmod(term_file.c_str(), 0666);
  cc.mounts.push_back({term_file, std::string(api::StrAt(c, {"terminationMessagePath"}, "/dev/termination-log")), false});
  cc.annotations["io.kubepp.container.terminationLog"] = term_file;

  auto t_create = std::chrono::steady_clock::now();
  auto id = runtime_->CreateContainer(sandbox_id, cc);
  Log().V(2, "container created", {{"container", name}, {"ms", std::to_string((std::chrono::steady_clock::now() - t_create) / 1ms)}});
  if (!id.ok()) {
    std::string msg = id.status().message();
    Event(pod, "Warning", "Failed", "Error: " + msg);
    bool config = id.status().code() == Code::kBadRequest;
    return wait(config ? "CreateContainerError" : "RunContainerError", msg, Backoff(w.failures + 1));
  }
  Event(pod, "Normal", "Created", "Created container " + name);
  auto t_start = std::chrono::steady_clock::now();
  Status started = runtime_->StartContainer(*id);
  Log().V(2, "container started", {{"container", name}, {"ms", std::to_string((std::chrono::steady_clock::now() - t_start) / 1ms)}});
  if (Status st = started; !st.ok()) {
    std::string msg = st.message();
    Event(pod, "Warning", "Failed", "Error: " + msg);
    (void)runtime_->RemoveContainer(*id);
    return wait("RunContainerError", msg, Backoff(w.failures + 1));
  }
  Event(pod, "Normal", "Started", "Started container " + name);
  state.waiting.erase(name);
  if (const auto* hook = api::ObjAt(c, {"lifecycle", "postStart"})) {
    auto r = RunProbe(*hook, c, pod_ip, *id, runtime_,
                      std::chrono::seconds(api::IntAt(pod, {"spec", "terminationGracePeriodSeconds"}).value_or(30)));
    if (!r.ok) {
      Event(pod, "Warning", "FailedPostStartHook", "PostStartHook failed: " + r.message);
      Event(pod, "Normal", "Killing", "FailedPostStartHook");
      (void)runtime_->StopContainer(*id, std::chrono::seconds(0));
    }
  }
  return Status::OK();
}

Status Kubelet::SyncPod(const std::string& key) {
  auto t_sync = std::chrono::steady_clock::now();
  struct Timer {
    const std::string& key;
    std::chrono::steady_clock::time_point t0;
    ~Timer() { Log().V(2, "synced", {{"pod", key}, {"ms", std::to_string((std::chrono::steady_clock::now() - t0) / 1ms)}}); }
  } timer{key, t_sync};
  client::ObjectPtr ptr = pods_->Get(key);
  size_t slash = key.find('/');
  runtime::Labels by_name{{kPodNs, key.substr(0, slash)}, {kPodName, key.substr(slash + 1)}};
  if (ptr == nullptr) {
    // Gone from the API: stop whatever still runs for it.
    for (const auto& s : runtime_->ListPodSandboxes(by_name)) RETURN_IF_ERROR(TerminatePod(s.config.uid, 0));
    return Status::OK();
  }
  const bj::object& pod = *ptr;
  std::string uid(api::Uid(pod));
  {
    std::unique_lock<std::mutex> l(mu_);
    if (evicted_.count(uid) != 0) {
      std::string_view phase = api::StrAt(pod, {"status", "phase"});
      if (phase == "Failed") {
        evicted_.erase(uid);  // its status is written: the done path below takes it
      } else {
        l.unlock();
        // Being evicted: nothing may run, and the status is the evictor's.
        for (const auto& c : PodContainers(uid)) {
          if (c.state == ContainerState::kRunning) RETURN_IF_ERROR(runtime_->StopContainer(c.id, 0s));
        }
        return Status::OK();
      }
    }
  }
  // Sandboxes of an older pod with this name go first.
  for (const auto& s : runtime_->ListPodSandboxes(by_name)) {
    if (s.config.uid != uid) RETURN_IF_ERROR(TerminatePod(s.config.uid, 0));
  }
  std::string path = client::ResourcePath("", "v1", "pods", std::string(api::Namespace(pod)), std::string(api::Name(pod)));
  if (!api::StrAt(pod, {"metadata", "deletionTimestamp"}).empty()) {
    int64_t grace = api::IntAt(pod, {"metadata", "deletionGracePeriodSeconds"})
                        .value_or(api::IntAt(pod, {"spec", "terminationGracePeriodSeconds"}).value_or(30));
    for (const auto& c : PodContainers(uid)) {
      if (c.state == ContainerState::kRunning) Event(pod, "Normal", "Killing", "Stopping container " + c.name);
    }
    RETURN_IF_ERROR(TerminatePod(uid, grace, &pod));
    bj::value opts = bj::object{{"kind", "DeleteOptions"},
                                {"apiVersion", "v1"},
                                {"gracePeriodSeconds", 0},
                                {"preconditions", bj::object{{"uid", uid}}}};
    auto r = client_->Delete(path, &opts);
    return r.ok() || r.status().IsNotFound() || r.status().IsConflict() ? Status::OK() : r.status();
  }
  std::string_view phase = api::StrAt(pod, {"status", "phase"});
  if (phase == "Succeeded" || phase == "Failed") {
    // Done: nothing may run; the containers stay for their logs.
    for (const auto& c : PodContainers(uid)) {
      if (c.state == ContainerState::kRunning) RETURN_IF_ERROR(runtime_->StopContainer(c.id, 0s));
    }
    for (const auto& s : runtime_->ListPodSandboxes({{kPodUid, uid}})) {
      if (s.state == runtime::SandboxState::kReady) RETURN_IF_ERROR(runtime_->StopPodSandbox(s.id));
    }
    return Status::OK();
  }
  if (auto deadline = api::IntAt(pod, {"spec", "activeDeadlineSeconds"})) {
    auto started = api::ParseTime(api::StrAt(pod, {"status", "startTime"}));
    if (started) {
      auto end = *started + std::chrono::seconds(*deadline);
      auto wall = std::chrono::system_clock::now();
      if (wall >= end) {
        Event(pod, "Normal", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline");
        int64_t grace = api::IntAt(pod, {"spec", "terminationGracePeriodSeconds"}).value_or(30);
        for (const auto& c : PodContainers(uid)) {
          if (c.state == ContainerState::kRunning) RETURN_IF_ERROR(runtime_->StopContainer(c.id, std::chrono::seconds(grace)));
        }
        bj::object status{{"phase", "Failed"},
                          {"reason", "DeadlineExceeded"},
                          {"message", "Pod was active on the node longer than the specified deadline"}};
        auto r = client_->Patch(path + "/status", "application/merge-patch+json", bj::object{{"status", std::move(status)}});
        return r.ok() || r.status().IsNotFound() ? Status::OK() : r.status();
      }
      queue_->AddAfter(key, end - wall);
    }
  }
  PodState state;
  {
    std::lock_guard<std::mutex> l(mu_);
    state = state_[uid];
  }
  auto save = [&] {
    std::lock_guard<std::mutex> l(mu_);
    state_[uid] = state;
  };
  bool host_network = api::BoolAt(pod, {"spec", "hostNetwork"});
  // The sandbox.
  std::string sandbox_id, pod_ip;
  int sandbox_attempt = 0;
  for (const auto& s : runtime_->ListPodSandboxes({{kPodUid, uid}})) {
    if (s.state == runtime::SandboxState::kReady && sandbox_id.empty()) {
      sandbox_id = s.id;
      pod_ip = s.ip;
    } else {
      sandbox_attempt = std::max(sandbox_attempt, s.config.attempt + 1);
    }
  }
  if (sandbox_id.empty()) {
    if (!host_network && PodCidr().empty()) {
      queue_->AddAfter(key, 1s);
      return UpdatePodStatus(pod, "", "", false, state);
    }
    // A new sandbox means new containers: stop any of the old one.
    for (const auto& c : PodContainers(uid)) {
      if (c.state == ContainerState::kRunning) RETURN_IF_ERROR(runtime_->StopContainer(c.id, 0s));
    }
    runtime::PodSandboxConfig sc;
    sc.name = std::string(api::Name(pod));
    sc.ns = std::string(api::Namespace(pod));
    sc.uid = uid;
    sc.attempt = sandbox_attempt;
    std::string hostname(api::StrAt(pod, {"spec", "hostname"}));
    if (hostname.empty()) hostname = sc.name.substr(0, 63);
    sc.hostname = host_network ? "" : hostname;
    sc.host_network = host_network;
    sc.log_directory = JoinPath(options_.data_dir, "logs/pods/" + sc.ns + "_" + sc.name + "_" + uid);
    std::string qos = QosClass(pod);
    sc.cgroup_parent = qos == "Guaranteed" ? "/kubepods/pod" + uid : "/kubepods/" + std::string(qos == "Burstable" ? "burstable" : "besteffort") + "/pod" + uid;
    std::string_view dns_policy = api::StrAt(pod, {"spec", "dnsPolicy"}, "ClusterFirst");
    if ((dns_policy == "ClusterFirst" || dns_policy == "ClusterFirstWithHostNet") && !options_.cluster_dns.empty() &&
        (!host_network || dns_policy == "ClusterFirstWithHostNet")) {
      sc.dns.servers = options_.cluster_dns;
      const std::string& d = options_.cluster_domain;
      sc.dns.searches = {sc.ns + ".svc." + d, "svc." + d, d};
      sc.dns.options = {"ndots:5"};
    } else if (dns_policy != "None") {
      // The host's resolver configuration.
      if (auto host = ReadFile("/etc/resolv.conf"); host.ok()) {
        size_t i = 0;
        while (i < host->size()) {
          size_t j = host->find('\n', i);
          if (j == std::string::npos) j = host->size();
          std::string line = host->substr(i, j - i);
          if (line.rfind("nameserver ", 0) == 0) sc.dns.servers.push_back(line.substr(11));
          else if (line.rfind("search ", 0) == 0) sc.dns.searches.push_back(line.substr(7));
          i = j + 1;
        }
      }
    }
    if (const auto* dc = api::ObjAt(pod, {"spec", "dnsConfig"})) {
      for (const auto* list : {"nameservers", "searches"}) {
        if (const auto* a = api::ArrAt(*dc, {list})) {
          for (const auto& v : *a) {
            if (v.is_string()) (std::string_view(list) == "nameservers" ? sc.dns.servers : sc.dns.searches).emplace_back(v.get_string());
          }
        }
      }
      if (const auto* a = api::ArrAt(*dc, {"options"})) {
        for (const auto& v : *a) {
          if (!v.is_object()) continue;
          std::string opt(api::StrAt(v.get_object(), {"name"}));
          if (auto val = api::StrAt(v.get_object(), {"value"}); !val.empty()) opt += ":" + std::string(val);
          sc.dns.options.push_back(opt);
        }
      }
    }
    if (const auto* cs = api::ArrAt(pod, {"spec", "containers"})) {
      for (const auto& c : *cs) {
        if (const auto* ports = c.is_object() ? api::ArrAt(c.get_object(), {"ports"}) : nullptr) {
          for (const auto& p : *ports) {
            if (!p.is_object()) continue;
            auto hp = api::IntAt(p.get_object(), {"hostPort"});
            if (!hp || *hp <= 0) continue;
            std::string proto(api::StrAt(p.get_object(), {"protocol"}, "TCP"));
            std::transform(proto.begin(), proto.end(), proto.begin(), [](unsigned char ch) { return std::tolower(ch); });
            sc.port_mappings.push_back({static_cast<int32_t>(*hp),
                                        static_cast<int32_t>(api::IntAt(p.get_object(), {"containerPort"}).value_or(0)),
                                        proto, std::string(api::StrAt(p.get_object(), {"hostIP"}))});
          }
        }
      }
    }
    if (const auto* ha = api::ArrAt(pod, {"spec", "hostAliases"})) {
      for (const auto& h : *ha) {
        if (!h.is_object()) continue;
        if (const auto* names = api::ArrAt(h.get_object(), {"hostnames"})) {
          for (const auto& n : *names) {
            if (n.is_string()) sc.host_aliases.emplace_back(std::string(api::StrAt(h.get_object(), {"ip"})), std::string(n.get_string()));
          }
        }
      }
    }
    sc.labels = {{kPodUid, uid}, {kPodName, sc.name}, {kPodNs, sc.ns}};
    auto t_sandbox = std::chrono::steady_clock::now();
    auto id = runtime_->RunPodSandbox(sc);
    Log().V(2, "sandbox", {{"pod", key}, {"ms", std::to_string((std::chrono::steady_clock::now() - t_sandbox) / 1ms)}});
    if (!id.ok()) {
      Event(pod, "Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: " + id.status().message());
      save();
      RETURN_IF_ERROR(UpdatePodStatus(pod, "", "", false, state));
      return id.status();
    }
    sandbox_id = *id;
    pod_ip = host_network ? options_.node_ip : runtime_->GetPodSandboxStatus(*id)->ip;
  }
  if (host_network) pod_ip = options_.node_ip;
  // Volumes (configMap/secret contents are refreshed on every sync).
  PodFacts facts{pod_ip, options_.node_ip, options_.node_name};
  std::string ns(api::Namespace(pod));
  ObjectGetter get = Getter(ns);
  TokenIssuer token = [this, ns, &pod](const std::string& sa, const std::string& audience, int64_t expiration) -> Result<std::string> {
    bj::object spec{{"expirationSeconds", expiration},
                    {"boundObjectRef", bj::object{{"kind", "Pod"}, {"apiVersion", "v1"}, {"name", api::Name(pod)}, {"uid", api::Uid(pod)}}}};
    if (!audience.empty()) spec["audiences"] = bj::array{bj::value(audience)};
    auto r = client_->Post(client::ResourcePath("", "v1", "serviceaccounts", ns, sa, "token"),
                           bj::object{{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"}, {"spec", std::move(spec)}});
    if (!r.ok()) return r.status();
    return std::string(api::StrAt(r->as_object(), {"status", "token"}));
  };
  auto volumes = SetUpVolumes(pod, PodDir(uid), facts, get, token);
  if (!volumes.ok()) {
    if (state.volume_error != volumes.status().message()) Event(pod, "Warning", "FailedMount", volumes.status().message());
    state.volume_error = volumes.status().message();
    save();
    queue_->AddAfter(key, 2s);
    return UpdatePodStatus(pod, sandbox_id, pod_ip, false, state);
  }
  state.volume_error.clear();

  auto containers = PodContainers(uid);
  auto latest = [&](const std::string& name) -> const ContainerStatus* {
    for (const auto& c : containers) {
      if (c.name == name) return &c;
    }
    return nullptr;
  };
  std::string_view restart_policy = api::StrAt(pod, {"spec", "restartPolicy"}, "Always");
  auto now = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::duration> requeue;
  auto want_requeue = [&](std::chrono::steady_clock::duration d) {
    if (!requeue || d < *requeue) requeue = d;
  };
  // Starts (or restarts after its back-off) one container.
  auto run = [&](const bj::object& c, bool init, const ContainerStatus* last) -> Status {
    std::string name(api::StrAt(c, {"name"}));
    auto w = state.waiting.find(name);
    if (w != state.waiting.end() && w->second.retry_at > now && w->second.reason != "ContainerCreating") {
      want_requeue(w->second.retry_at - now);
      return Status::OK();
    }
    int attempt = last ? last->attempt + 1 : 0;
    if (last != nullptr && last->state == ContainerState::kExited) {
      // CrashLoopBackOff: the first restart at once, then 10 s doubling per
      // restart (to 5 min), counted from when it exited.
      std::chrono::seconds delay = attempt <= 1 ? 0s : Backoff(attempt - 1);
      auto finished = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(last->finished_at)));
      // A container that ran 10 minutes without trouble starts its back-off over.
      bool long_run = last->finished_at - last->started_at > int64_t{600} * 1000000000;
      auto wait_left = finished + delay - std::chrono::system_clock::now();
      if (!long_run && wait_left > 0s) {
        Waiting& wt = state.waiting[name];
        if (wt.reason != "CrashLoopBackOff") {
          Event(pod, "Warning", "BackOff", "Back-off restarting failed container " + name + " in pod " + PodDesc(pod));
        }
        wt.reason = "CrashLoopBackOff";
        wt.message = "back-off " + std::to_string(delay.count() >= 60 ? delay.count() / 60 : delay.count()) +
                     (delay.count() >= 60 ? "m0s" : "s") + " restarting failed container=" + name + " pod=" + PodDesc(pod);
        wt.retry_at = now + wait_left;
        want_requeue(wait_left);
        return Status::OK();
      }
      // Only the last finished instance is kept (for lastState and --previous).
      for (const auto& old : containers) {
        if (old.name == name && old.id != last->id) (void)runtime_->RemoveContainer(old.id);
      }
    }
    Status st = StartContainer(pod, c, init, attempt, sandbox_id, *volumes, pod_ip, state);
    if (auto it = state.waiting.find(name); it != state.waiting.end()) want_requeue(it->second.retry_at - now);
    return st;
  };
  bool pod_failed = false, init_done = true;
  if (const auto* inits = api::ArrAt(pod, {"spec", "initContainers"})) {
    for (const auto& iv : *inits) {
      if (!iv.is_object()) continue;
      const auto& c = iv.get_object();
      std::string name(api::StrAt(c, {"name"}));
      const ContainerStatus* last = latest(name);
      bool sidecar = api::StrAt(c, {"restartPolicy"}) == "Always";
      if (last == nullptr) {
        RETURN_IF_ERROR(run(c, true, nullptr));
        if (!sidecar) init_done = false;
        break;
      }
      if (last->state != ContainerState::kExited) {
        if (sidecar) continue;
        init_done = false;
        break;
      }
      if (last->exit_code == 0 && !sidecar) continue;
      if (restart_policy == "Never" && !sidecar) {
        pod_failed = true;
        init_done = false;
        break;
      }
      RETURN_IF_ERROR(run(c, true, last));
      if (!sidecar) {
        init_done = false;
        break;
      }
    }
  }
  if (init_done && !pod_failed) {
    if (const auto* cs = api::ArrAt(pod, {"spec", "containers"})) {
      for (const auto& cv : *cs) {
        if (!cv.is_object()) continue;
        const auto& c = cv.get_object();
        const ContainerStatus* last = latest(std::string(api::StrAt(c, {"name"})));
        if (last != nullptr && last->state != ContainerState::kExited) continue;
        if (last != nullptr) {
          bool again = restart_policy == "Always" || (restart_policy == "OnFailure" && last->exit_code != 0);
          if (!again) continue;
        }
        RETURN_IF_ERROR(run(c, false, last));
      }
    }
  }
  save();
  RETURN_IF_ERROR(UpdatePodStatus(pod, sandbox_id, pod_ip, pod_failed, state));
  if (requeue) queue_->AddAfter(key, *requeue + 10ms);
  else queue_->AddAfter(key, options_.resync);
  return Status::OK();
}

Status Kubelet::UpdatePodStatus(const bj::object& pod, const std::string& sandbox_id, const std::string& pod_ip,
                                bool pod_failed, const PodState& state) {
  std::string uid(api::Uid(pod));
  auto containers = PodContainers(uid);
  std::string_view restart_policy = api::StrAt(pod, {"spec", "restartPolicy"}, "Always");
  // One status per spec container: the latest instance, with the previous
  // finished one as lastState.
  auto status_of = [&](const bj::object& spec, bool init, bool* ready, int* kind) -> bj::object {
    std::string name(api::StrAt(spec, {"name"}));
    const ContainerStatus* cur = nullptr;
    const ContainerStatus* prev = nullptr;
    for (const auto& c : containers) {
      if (c.name != name) continue;
      if (cur == nullptr) cur = &c;
      else if (prev == nullptr && c.state == ContainerState::kExited) prev = &c;
    }
    std::string image(api::StrAt(spec, {"image"}));
    bj::object s{{"name", name}, {"image", image}, {"imageID", ""}, {"ready", false}, {"restartCount", 0}, {"started", false}};
    auto terminated = [&](const ContainerStatus& c) {
      bj::object t{{"exitCode", c.exit_code},
                   {"reason", c.reason},
                   {"startedAt", NsTime(c.started_at)},
                   {"finishedAt", NsTime(c.finished_at)},
                   {"containerID", "kubepp://" + c.id}};
      auto it = c.config.annotations.find("io.kubepp.container.terminationLog");
      std::string msg;
      if (it != c.config.annotations.end()) {
        if (auto m = ReadFile(it->second); m.ok()) msg = m->substr(0, 4096);
      }
      if (msg.empty() && c.exit_code != 0 &&
          api::StrAt(spec, {"terminationMessagePolicy"}) == "FallbackToLogsOnError") {
        // Upstream's fallback: the last 80 lines of output, at most 2 KiB.
        LogOptions tail;
        tail.tail_lines = 80;
        (void)WriteLogs(c.log_path, tail, [&msg](std::string_view s) { msg.append(s); return true; }, [] { return true; });
        if (msg.size() > 2048) msg = msg.substr(msg.size() - 2048);
      }
      if (!msg.empty()) t["message"] = msg;
      return t;
    };
    *kind = 0;  // 0 waiting, 1 running, 2 terminated
    auto w = state.waiting.find(name);
    if (cur != nullptr) {
      s["restartCount"] = cur->attempt;
      s["containerID"] = "kubepp://" + cur->id;
      if (auto im = images_->Find(cur->image_ref); im) {
        s["imageID"] = im->repo_digests.empty() ? im->id : im->repo_digests.front();
      }
    }
    bool restarting_waiting = w != state.waiting.end() && cur != nullptr && cur->state == ContainerState::kExited;
    if (cur != nullptr && cur->state == ContainerState::kRunning && !restarting_waiting) {
      s["state"] = bj::object{{"running", bj::object{{"startedAt", NsTime(cur->started_at)}}}};
      // Without probes: started and ready once running.
      bool started = true, ready = !init;
      bool has_startup = api::ObjAt(spec, {"startupProbe"}) != nullptr;
      bool has_readiness = api::ObjAt(spec, {"readinessProbe"}) != nullptr;
      if (has_startup || has_readiness) {
        std::lock_guard<std::mutex> l(mu_);
        auto p = probes_.find(cur->id);
        if (has_startup) started = p != probes_.end() && p->second.started;
        if (has_readiness) ready = p != probes_.end() && p->second.ready;
      }
      s["started"] = started;
      s["ready"] = ready && started;
      *kind = 1;
      if (prev != nullptr) s["lastState"] = bj::object{{"terminated", terminated(*prev)}};
    } else if (cur != nullptr && cur->state == ContainerState::kExited && !restarting_waiting) {
      s["state"] = bj::object{{"terminated", terminated(*cur)}};
      *kind = 2;
      if (prev != nullptr) s["lastState"] = bj::object{{"terminated", terminated(*prev)}};
    } else {
      bj::object waiting{{"reason", w != state.waiting.end() ? w->second.reason : "ContainerCreating"}};
      if (w != state.waiting.end() && !w->second.message.empty()) waiting["message"] = w->second.message;
      if (!init && w == state.waiting.end() && api::ArrAt(pod, {"spec", "initContainers"}) && cur == nullptr) {
        waiting["reason"] = "PodInitializing";
      }
      s["state"] = bj::object{{"waiting", std::move(waiting)}};
      if (cur != nullptr && cur->state == ContainerState::kExited) {
        s["lastState"] = bj::object{{"terminated", terminated(*cur)}};
        *kind = 3;  // waiting after a run
      }
    }
    *ready = s["ready"].as_bool();
    return s;
  };
  bj::array init_statuses, statuses;
  bool init_done = true;
  if (const auto* inits = api::ArrAt(pod, {"spec", "initContainers"})) {
    for (const auto& c : *inits) {
      if (!c.is_object()) continue;
      bool ready;
      int kind;
      bj::object s = status_of(c.get_object(), true, &ready, &kind);
      bool sidecar = api::StrAt(c.get_object(), {"restartPolicy"}) == "Always";
      bool ok = sidecar ? kind == 1 : (kind == 2 && api::IntAt(s, {"state", "terminated", "exitCode"}).value_or(1) == 0);
      if (ok) s["ready"] = true;
      if (!ok) init_done = false;
      init_statuses.push_back(std::move(s));
    }
  }
  int running = 0, waiting = 0, stopped = 0, succeeded = 0;
  bool all_ready = true;
  if (const auto* cs = api::ArrAt(pod, {"spec", "containers"})) {
    for (const auto& c : *cs) {
      if (!c.is_object()) continue;
      bool ready;
      int kind;
      bj::object s = status_of(c.get_object(), false, &ready, &kind);
      if (!ready) all_ready = false;
      if (kind == 1) ++running;
      else if (kind == 2) {
        ++stopped;
        if (api::IntAt(s, {"state", "terminated", "exitCode"}).value_or(1) == 0) ++succeeded;
      } else if (kind == 3) {
        ++stopped;
      } else {
        ++waiting;
      }
      statuses.push_back(std::move(s));
    }
  }
  std::string phase;
  if (pod_failed) phase = "Failed";
  else if (!init_done) phase = "Pending";
  else if (running > 0) phase = "Running";
  else if (stopped > 0 && waiting == 0) {
    if (restart_policy == "Always") phase = "Running";
    else if (stopped == succeeded) phase = "Succeeded";
    else if (restart_policy == "Never") phase = "Failed";
    else phase = "Running";
  } else {
    phase = "Pending";
  }
  if (phase == "Running" && statuses.size() > 0 && running == 0 && waiting > 0) phase = "Pending";
  bool sandbox_ready = !sandbox_id.empty();
  bool containers_ready = init_done && all_ready && phase == "Running";
  std::string now = Now();
  const bj::array* old_conds = api::ArrAt(pod, {"status", "conditions"});
  auto cond = [&](const char* type, bool ok, const char* reason) {
    bj::object c{{"type", type}, {"status", ok ? "True" : "False"}, {"lastProbeTime", nullptr}, {"lastTransitionTime", now}};
    if (!ok && reason != nullptr) c["reason"] = reason;
    if (old_conds != nullptr) {
      for (const auto& o : *old_conds) {
        if (o.is_object() && api::StrAt(o.get_object(), {"type"}) == type &&
            api::StrAt(o.get_object(), {"status"}) == (ok ? "True" : "False")) {
          c["lastTransitionTime"] = api::StrAt(o.get_object(), {"lastTransitionTime"});
        }
      }
    }
    return c;
  };
  bj::array conds{cond("PodReadyToStartContainers", sandbox_ready, nullptr),
                  cond("Initialized", init_done, "ContainersNotInitialized"),
                  cond("Ready", containers_ready, "ContainersNotReady"),
                  cond("ContainersReady", containers_ready, "ContainersNotReady")};
  if (phase == "Succeeded" || phase == "Failed") {
    conds[2].as_object()["reason"] = "PodCompleted";
    conds[3].as_object()["reason"] = "PodCompleted";
  }
  if (old_conds != nullptr) {
    for (const auto& o : *old_conds) {
      std::string_view t = o.is_object() ? api::StrAt(o.get_object(), {"type"}) : "";
      if (t == "PodScheduled" || t == "DisruptionTarget") conds.push_back(o);
    }
  }
  std::string start_time(api::StrAt(pod, {"status", "startTime"}));
  if (start_time.empty()) start_time = now;
  bj::object status{{"phase", phase},
                    {"conditions", std::move(conds)},
                    {"hostIP", options_.node_ip},
                    {"hostIPs", bj::array{bj::object{{"ip", options_.node_ip}}}},
                    {"startTime", start_time},
                    {"qosClass", QosClass(pod)},
                    {"containerStatuses", std::move(statuses)}};
  if (!init_statuses.empty()) status["initContainerStatuses"] = std::move(init_statuses);
  if (!pod_ip.empty()) {
    status["podIP"] = pod_ip;
    status["podIPs"] = bj::array{bj::object{{"ip", pod_ip}}};
  }
  // Unchanged: no write.
  if (const auto* cur = api::ObjAt(pod, {"status"})) {
    bj::object a = *cur;
    a.erase("message");
    a.erase("reason");
    a.erase("nominatedNodeName");
    if (json::Serialize(a) == json::Serialize(status)) return Status::OK();
  }
  std::string path = client::ResourcePath("", "v1", "pods", std::string(api::Namespace(pod)), std::string(api::Name(pod)), "status");
  auto r = client_->Patch(path, "application/merge-patch+json", bj::object{{"status", std::move(status)}});
  if (!r.ok() && !r.status().IsNotFound()) return r.status();
  return Status::OK();
}

int Kubelet::port() const { return server_ ? server_->port() : 0; }

void RespondStatus(const std::shared_ptr<apiserver::http::Exchange>& ex, int code, const std::string& reason,
                   const std::string& message) {
  bj::object st{{"kind", "Status"}, {"apiVersion", "v1"},  {"metadata", bj::object{}}, {"status", "Failure"},
                {"message", message}, {"reason", reason}, {"code", code}};
  apiserver::http::Response r;
  r.status = code;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = json::Serialize(st);
  ex->Respond(std::move(r));
}

void Kubelet::Handle(std::shared_ptr<apiserver::http::Exchange> ex) {
  const auto& req = ex->request();
  auto parts = SplitPath(req.path);
  if (req.path == "/healthz") {
    ex->Respond({200, {{"Content-Type", "text/plain"}}, "ok", {}});
    return;
  }
  if (!req.peer) return RespondStatus(ex, 401, "Unauthorized", "Unauthorized");
  bool streaming = !parts.empty() && (parts[0] == "exec" || parts[0] == "attach" || parts[0] == "portForward");
  if (req.method != "GET" && !(streaming && req.method == "POST")) {
    return RespondStatus(ex, 405, "MethodNotAllowed", "method not allowed");
  }
  if (parts.size() == 4 && (parts[0] == "exec" || parts[0] == "attach")) {
    return ServeExec(ex, parts[1], parts[2], parts[3], parts[0] == "attach");
  }
  if (parts.size() == 3 && parts[0] == "portForward") return ServePortForward(ex, parts[1], parts[2]);
  if (req.path == "/stats/summary") return ServeStatsSummary(ex);
  if (req.path == "/pods" || req.path == "/pods/") {
    bj::array items;
    for (const auto& p : pods_->List()) items.push_back(*p);
    bj::object list{{"kind", "PodList"}, {"apiVersion", "v1"}, {"metadata", bj::object{}}, {"items", std::move(items)}};
    ex->Respond({200, {{"Content-Type", "application/json"}}, json::Serialize(list), {}});
    return;
  }
  if (parts.size() == 4 && parts[0] == "containerLogs") return ServeLogs(ex, parts[1], parts[2], parts[3]);
  RespondStatus(ex, 404, "NotFound", "the server could not find the requested resource");
}

void Kubelet::ServeLogs(const std::shared_ptr<apiserver::http::Exchange>& ex, const std::string& ns,
                        const std::string& name, const std::string& container) {
  auto opts = ParseLogOptions(ex->request().query);
  if (!opts.ok()) return RespondStatus(ex, 400, "BadRequest", opts.status().message());
  bool previous = Query::Parse(ex->request().query).Bool("previous").value_or(false);
  client::ObjectPtr pod = pods_->Get(ns + "/" + name);
  if (pod == nullptr) return RespondStatus(ex, 404, "NotFound", "pod \"" + name + "\" not found");
  bool init = false;
  if (ContainerSpec(*pod, container, &init) == nullptr) {
    return RespondStatus(ex, 400, "BadRequest", "container " + container + " is not valid for pod " + name);
  }
  std::string uid(api::Uid(*pod));
  const ContainerStatus* pick = nullptr;
  auto all = PodContainers(uid);
  int seen = 0;
  for (const auto& c : all) {
    if (c.name != container) continue;
    if (seen++ == (previous ? 1 : 0)) {
      pick = &c;
      break;
    }
  }
  if (pick == nullptr) {
    if (previous) {
      return RespondStatus(ex, 400, "BadRequest",
                           "previous terminated container \"" + container + "\" in pod \"" + name + "\" not found");
    }
    std::string reason = "ContainerCreating";
    {
      std::lock_guard<std::mutex> l(mu_);
      auto st = state_.find(uid);
      if (st != state_.end()) {
        auto w = st->second.waiting.find(container);
        if (w != st->second.waiting.end()) reason = w->second.reason;
      }
    }
    return RespondStatus(ex, 400, "BadRequest",
                         "container \"" + container + "\" in pod \"" + name + "\" is waiting to start: " + reason);
  }
  std::string id = pick->id, path = pick->log_path;
  auto stream = ex->StartStream(200, {{"Content-Type", "text/plain"}});
  auto finished = [this, id] {
    auto s = runtime_->GetContainerStatus(id);
    return !s.ok() || s->state == ContainerState::kExited || stopping_.load();
  };
  auto out = [&stream](std::string_view s) {
    if (s.empty()) return !stream->closed();
    return stream->Write(std::string(s));
  };
  (void)WriteLogs(path, *opts, out, finished);
  stream->Finish();
}

void Kubelet::ProbeLoop() {
  while (!stopping_.load()) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, 100ms, [this] { return stopping_.load(); });
    }
    if (stopping_.load()) break;
    std::map<std::string, Running> running;
    {
      std::lock_guard<std::mutex> l(mu_);
      running = running_;
      // Containers that stopped take their probe state with them.
      for (auto it = probes_.begin(); it != probes_.end();) {
        it = running_.count(it->first) ? std::next(it) : probes_.erase(it);
      }
    }
    auto now = std::chrono::steady_clock::now();
    for (const auto& [id, r] : running) {
      client::ObjectPtr pod = pods_->Get(r.pod_key);
      if (pod == nullptr || !api::StrAt(*pod, {"metadata", "deletionTimestamp"}).empty()) continue;
      const bj::object* spec = ContainerSpec(*pod, r.container, nullptr);
      if (spec == nullptr) continue;
      const bj::object* startup = api::ObjAt(*spec, {"startupProbe"});
      const bj::object* live = api::ObjAt(*spec, {"livenessProbe"});
      const bj::object* ready = api::ObjAt(*spec, {"readinessProbe"});
      if (!startup && !live && !ready) continue;
      std::string kind;
      const bj::object* probe = nullptr;
      {
        std::lock_guard<std::mutex> l(mu_);
        auto [it, fresh] = probes_.try_emplace(id);
        ProbeState& ps = it->second;
        if (fresh) {
          ps.pod_key = r.pod_key;
          ps.container = r.container;
          ps.started = startup == nullptr;
          // The first run comes initialDelaySeconds after the container started.
          auto wall_started = std::chrono::system_clock::time_point(
              std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(r.started_at)));
          auto since = std::chrono::system_clock::now() - wall_started;
          auto at = [&](const bj::object* p) {
            auto delay = std::chrono::seconds(p ? api::IntAt(*p, {"initialDelaySeconds"}).value_or(0) : 0);
            return now + std::max<std::chrono::steady_clock::duration>(0s, delay - since);
          };
          ps.next_start = at(startup);
          ps.next_live = at(live);
          ps.next_ready = at(ready);
        }
        if (ps.in_flight) continue;
        if (!ps.started) {
          if (startup && now >= ps.next_start) kind = "Startup", probe = startup;
        } else if (live && now >= ps.next_live) {
          kind = "Liveness", probe = live;
        } else if (ready && now >= ps.next_ready) {
          kind = "Readiness", probe = ready;
        }
        if (probe == nullptr) continue;
        ps.in_flight = true;
      }
      std::string pod_ip(api::StrAt(*pod, {"status", "podIP"}));
      probe_pool_->Submit([this, id = id, kind, p = *probe, c = *spec, pd = *pod, pod_ip]() mutable {
        ProbeOne(id, kind, std::move(p), std::move(c), std::move(pd), std::move(pod_ip));
      });
    }
  }
}

void Kubelet::ProbeOne(const std::string& id, const std::string& kind, bj::object probe, bj::object container,
                       bj::object pod, std::string pod_ip) {
  auto timeout = std::chrono::seconds(std::max<int64_t>(1, api::IntAt(probe, {"timeoutSeconds"}).value_or(1)));
  auto period = std::chrono::seconds(std::max<int64_t>(1, api::IntAt(probe, {"periodSeconds"}).value_or(10)));
  int64_t success_threshold = std::max<int64_t>(1, api::IntAt(probe, {"successThreshold"}).value_or(1));
  int64_t failure_threshold = std::max<int64_t>(1, api::IntAt(probe, {"failureThreshold"}).value_or(3));
  ProbeResult r = RunProbe(probe, container, pod_ip, id, runtime_, timeout);
  std::string name(api::StrAt(container, {"name"}));
  bool sync = false, kill = false;
  std::string pod_key;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = probes_.find(id);
    if (it == probes_.end()) return;
    ProbeState& ps = it->second;
    ps.in_flight = false;
    pod_key = ps.pod_key;
    auto next = std::chrono::steady_clock::now() + period;
    if (kind == "Startup") {
      ps.next_start = next;
      if (r.ok) {
        ps.started = true;
        sync = true;
      } else if (++ps.start_failures >= failure_threshold) {
        kill = true;
      }
    } else if (kind == "Liveness") {
      ps.next_live = next;
      if (r.ok) ps.live_failures = 0;
      else if (++ps.live_failures >= failure_threshold) kill = true;
    } else {
      ps.next_ready = next;
      if (r.ok) {
        ps.ready_failures = 0;
        if (++ps.ready_successes >= success_threshold && !ps.ready) {
          ps.ready = true;
          sync = true;
        }
      } else {
        ps.ready_successes = 0;
        if (++ps.ready_failures >= failure_threshold && ps.ready) {
          ps.ready = false;
          sync = true;
        }
        // Not ready from the start until a success.
      }
    }
  }
  if (!r.ok) Event(pod, "Warning", "Unhealthy", kind + " probe failed: " + r.message);
  if (kill) {
    Event(pod, "Normal", "Killing", "Container " + name + " failed " + (kind == "Startup" ? "startup" : "liveness") +
                                        " probe, will be restarted");
    int64_t grace = api::IntAt(probe, {"terminationGracePeriodSeconds"})
                        .value_or(api::IntAt(pod, {"spec", "terminationGracePeriodSeconds"}).value_or(30));
    (void)runtime_->StopContainer(id, std::chrono::seconds(grace));
    sync = true;
  }
  if (sync && queue_) queue_->Add(pod_key);
}

}  // namespace kubepp::kubelet
