#include "sim/hollow.h"

#include <pthread.h>

#include <atomic>

#include "api/object.h"
#include "api/time.h"
#include "client/node_lease.h"
#include "common/log.h"

namespace kubepp::sim {
namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

const log::Logger& Log() {
  static const log::Logger l("sim");
  return l;
}

constexpr std::string_view kExitCode = "kubepp.io/sim-exit-code";
constexpr std::string_view kRunSeconds = "kubepp.io/sim-run-seconds";

std::string Now() { return api::FormatTime(std::chrono::system_clock::now()); }

std::string NodeIp(int i) { return "100.64." + std::to_string(i / 256) + "." + std::to_string(i % 256); }

// A pod's simulated-completion setting: the annotation, else an env var of
// its first container that has one.
std::optional<std::string> SimSetting(const bj::object& pod, std::string_view key) {
  if (const bj::object* ann = api::ObjAt(pod, {"metadata", "annotations"})) {
    if (const bj::value* v = ann->if_contains(key); v != nullptr && v->is_string()) return std::string(v->get_string());
  }
  if (const bj::array* cs = api::ArrAt(pod, {"spec", "containers"})) {
    for (const auto& c : *cs) {
      if (!c.is_object()) continue;
      const bj::array* env = api::ArrAt(c.get_object(), {"env"});
      if (env == nullptr) continue;
      for (const auto& e : *env) {
        if (e.is_object() && api::StrAt(e.get_object(), {"name"}) == key) {
          return std::string(api::StrAt(e.get_object(), {"value"}));
        }
      }
    }
  }
  return std::nullopt;
}

bj::array PodConditions(const std::string& now, bool ready) {
  bj::array out;
  for (const char* t : {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
    bool is_ready = std::string_view(t) == "Ready" || std::string_view(t) == "ContainersReady";
    bj::object c{{"type", t}, {"status", !is_ready || ready ? "True" : "False"}, {"lastProbeTime", nullptr},
                 {"lastTransitionTime", now}};
    if (is_ready && !ready) c["reason"] = "PodCompleted";
    out.emplace_back(std::move(c));
  }
  return out;
}

// The status of each container: running, or terminated with `state`.
bj::array ContainerStatuses(const bj::object& pod, bool running, bj::object state) {
  bj::array out;
  const bj::array* containers = api::ArrAt(pod, {"spec", "containers"});
  if (containers == nullptr) return out;
  for (const auto& c : *containers) {
    std::string_view cname = api::StrAt(c.as_object(), {"name"});
    out.emplace_back(bj::object{
        {"name", cname},
        {"image", api::StrAt(c.as_object(), {"image"})},
        {"imageID", ""},
        {"containerID", "hollow://" + std::string(api::Uid(pod)).substr(0, 8) + "-" + std::string(cname)},
        {"ready", running},
        {"started", running},
        {"restartCount", 0},
        {"state", state}});
  }
  return out;
}

}  // namespace

HollowCluster::HollowCluster(client::RestClient* client, HollowOptions options)
    : client_(client), options_(std::move(options)) {
  node_uids_.resize(static_cast<size_t>(options_.nodes));
}

HollowCluster::~HollowCluster() { Stop(); }

std::string HollowCluster::NodeName(int i) const { return options_.name_prefix + "-" + std::to_string(i); }

std::string HollowCluster::PodCidr(int i) const {
  return "10." + std::to_string(128 + i / 256) + "." + std::to_string(i % 256) + ".0/24";
}

int HollowCluster::NodeIndex(std::string_view node) const {
  std::string prefix = options_.name_prefix + "-";
  if (node.size() <= prefix.size() || node.substr(0, prefix.size()) != prefix) return -1;
  int i = 0;
  for (char c : node.substr(prefix.size())) {
    if (c < '0' || c > '9') return -1;
    i = i * 10 + (c - '0');
    if (i >= options_.nodes) return -1;
  }
  return i;
}

Status HollowCluster::RegisterNode(int i) {
  std::string name = NodeName(i);
  bj::object node{{"apiVersion", "v1"},
                  {"kind", "Node"},
                  {"metadata", bj::object{{"name", name},
                                          {"labels", bj::object{{"kubernetes.io/hostname", name},
                                                                {"kubernetes.io/os", "linux"},
                                                                {"kubernetes.io/arch", "amd64"},
                                                                {"beta.kubernetes.io/os", "linux"},
                                                                {"beta.kubernetes.io/arch", "amd64"},
                                                                {"kubepp.io/hollow", "true"}}}}},
                  {"spec", bj::object{{"podCIDR", PodCidr(i)}, {"podCIDRs", bj::array{bj::value(PodCidr(i))}}}}};
  auto created = client_->Post(client::ResourcePath("", "v1", "nodes"), node);
  std::string uid;
  if (created.ok()) {
    uid = std::string(api::Uid(created->as_object()));
  } else if (created.status().IsAlreadyExists()) {
    auto cur = client_->Get(client::ResourcePath("", "v1", "nodes", "", name));
    if (!cur.ok()) return cur.status();
    uid = std::string(api::Uid(cur->as_object()));
  } else {
    return created.status();
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    node_uids_[static_cast<size_t>(i)] = uid;
  }
  RETURN_IF_ERROR(ReportStatus(i));
  return RenewLease(i);
}

Status HollowCluster::ReportStatus(int i) {
  std::string now = Now();
  std::string name = NodeName(i);
  bj::object resources{{"cpu", options_.cpu}, {"memory", options_.memory}, {"pods", options_.pods},
                       {"ephemeral-storage", "100Gi"}};
  auto cond = [&](const char* type, const char* status, const char* reason, const char* message) {
    return bj::object{{"type", type},          {"status", status},          {"lastHeartbeatTime", now},
                      {"lastTransitionTime", now}, {"reason", reason}, {"message", message}};
  };
  bj::object status{
      {"capacity", resources},
      {"allocatable", resources},
      {"conditions",
       bj::array{cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                 cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                 cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                 cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")}},
      {"addresses", bj::array{bj::object{{"type", "InternalIP"}, {"address", NodeIp(i)}},
                              bj::object{{"type", "Hostname"}, {"address", name}}}},
      {"daemonEndpoints", bj::object{{"kubeletEndpoint", bj::object{{"Port", 10250}}}}},
      {"nodeInfo", bj::object{{"machineID", name},
                              {"systemUUID", name},
                              {"bootID", name},
                              {"kernelVersion", "hollow"},
                              {"osImage", "kubepp hollow node"},
                              {"containerRuntimeVersion", "kubepp://0.1.0"},
                              {"kubeletVersion", "v1.32.4"},
                              {"kubeProxyVersion", "v1.32.4"},
                              {"operatingSystem", "linux"},
                              {"architecture", "amd64"}}}};
  auto r = client_->Patch(client::ResourcePath("", "v1", "nodes", "", name, "status"), "application/merge-patch+json",
                          bj::object{{"status", std::move(status)}});
  return r.status();
}

Status HollowCluster::RenewLease(int i) {
  std::string uid;
  {
    std::lock_guard<std::mutex> l(mu_);
    uid = node_uids_[static_cast<size_t>(i)];
  }
  return client::RenewNodeLease(client_, NodeName(i), uid);
}

Status HollowCluster::Start() {
  for (int i = 0; i < options_.nodes; ++i) RETURN_IF_ERROR(RegisterNode(i).WithContext("register " + NodeName(i)));
  queue_ = std::make_unique<client::WorkQueue>("hollow-pods");
  client::InformerOptions io;
  io.resource = "pods";
  io.field_selector = "spec.nodeName!=";
  pods_ = std::make_unique<client::Informer>(client_, io);
  auto enqueue = [this](const client::ObjectPtr& p) {
    if (NodeIndex(api::StrAt(*p, {"spec", "nodeName"})) >= 0) queue_->Add(client::KeyOf(*p));
  };
  pods_->AddEventHandler({enqueue, [enqueue](const client::ObjectPtr&, const client::ObjectPtr& p) { enqueue(p); },
                          [this](const client::ObjectPtr& p) {
                            std::lock_guard<std::mutex> l(mu_);
                            started_.erase(std::string(api::Uid(*p)));
                          }});
  pods_->Start();
  for (int w = 0; w < options_.workers; ++w) {
    threads_.emplace_back([this] { Worker(); });
    pthread_setname_np(threads_.back().native_handle(), "hollow-pods");
  }
  threads_.emplace_back([this] { HeartbeatLoop(); });
  pthread_setname_np(threads_.back().native_handle(), "hollow-beat");
  Log().Info("hollow nodes registered", {{"nodes", std::to_string(options_.nodes)}});
  return Status::OK();
}

void HollowCluster::Stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    cv_.notify_all();
  }
  if (queue_) queue_->ShutDown();
  if (pods_) pods_->Stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void HollowCluster::HeartbeatLoop() {
  // Spread the nodes over the period in ticks, as many kubelets would be;
  // each tick's renewals go out in parallel, and ticks follow the clock, so
  // a slow API server delays a renewal but never lets the schedule drift.
  constexpr auto kTick = 100ms;
  constexpr int kBeatThreads = 8;
  int64_t lease_ticks = std::max<int64_t>(1, options_.lease_period / kTick);
  int64_t status_ticks = std::max<int64_t>(1, options_.status_period / kTick);
  auto start = std::chrono::steady_clock::now();
  int64_t done_tick = 0;
  while (!stopping_.load()) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, kTick, [this] { return stopping_.load(); });
    }
    int64_t now_tick = (std::chrono::steady_clock::now() - start) / kTick;
    std::vector<std::pair<int, bool>> due;  // node, lease (else status)
    for (int64_t tick = done_tick + 1; tick <= now_tick; ++tick) {
      for (int i = 0; i < options_.nodes; ++i) {
        if (i % lease_ticks == tick % lease_ticks) due.emplace_back(i, true);
        if (i % status_ticks == tick % status_ticks) due.emplace_back(i, false);
      }
    }
    done_tick = std::max(done_tick, now_tick);
    std::atomic<size_t> next{0};
    auto run = [&] {
      for (size_t k = next++; k < due.size() && !stopping_.load(); k = next++) {
        auto [i, lease] = due[k];
        Status st = lease ? RenewLease(i) : ReportStatus(i);
        if (!st.ok()) {
          Log().V(1, lease ? "lease renewal failed" : "status report failed", {{"node", NodeName(i)}, {"err", st.ToString()}});
        }
      }
    };
    if (due.size() <= 4) {
      run();
      continue;
    }
    std::vector<std::thread> beat;
    for (int t = 0; t < kBeatThreads; ++t) beat.emplace_back(run);
    for (auto& t : beat) t.join();
  }
}

void HollowCluster::Worker() {
  while (auto key = queue_->Get()) {
    Status st = SyncPod(*key);
    if (st.ok()) {
      queue_->Forget(*key);
    } else if (!st.IsNotFound()) {
      Log().V(1, "pod sync failed", {{"pod", *key}, {"err", st.ToString()}});
      queue_->AddRateLimited(*key);
    }
    queue_->Done(*key);
  }
}

Status HollowCluster::SyncPod(const std::string& key) {
  client::ObjectPtr pod = pods_->Get(key);
  if (pod == nullptr) return Status::OK();
  const bj::object& p = *pod;
  int node = NodeIndex(api::StrAt(p, {"spec", "nodeName"}));
  if (node < 0) return Status::OK();
  std::string ns(api::Namespace(p)), name(api::Name(p));
  std::string path = client::ResourcePath("", "v1", "pods", ns, name);
  if (!api::StrAt(p, {"metadata", "deletionTimestamp"}).empty()) {
    // Nothing runs: the containers are gone at once; finish the deletion.
    bj::value opts = bj::object{{"kind", "DeleteOptions"},
                                {"apiVersion", "v1"},
                                {"gracePeriodSeconds", 0},
                                {"preconditions", bj::object{{"uid", api::Uid(p)}}}};
    auto r = client_->Delete(path, &opts);
    return r.ok() || r.status().IsNotFound() || r.status().IsConflict() ? Status::OK() : r.status();
  }
  std::string_view phase = api::StrAt(p, {"status", "phase"});
  if (phase == "Succeeded" || phase == "Failed") return Status::OK();
  auto now_tp = std::chrono::system_clock::now();
  std::string now = api::FormatTime(now_tp);
  std::string_view restart = api::StrAt(p, {"spec", "restartPolicy"}, "Always");
  auto exit_code = SimSetting(p, kExitCode);
  auto run_seconds = SimSetting(p, kRunSeconds);
  bool completes = restart != "Always" && (exit_code || run_seconds);
  if (phase == "Running") {
    if (!completes) return Status::OK();
    auto started = api::ParseTime(api::StrAt(p, {"status", "startTime"}));
    double run = run_seconds ? std::strtod(run_seconds->c_str(), nullptr) : 0;
    auto done_at = (started ? *started : now_tp) + std::chrono::milliseconds(static_cast<int64_t>(run * 1000));
    if (now_tp < done_at) {
      queue_->AddAfter(key, done_at - now_tp + 50ms);
      return Status::OK();
    }
    int code = exit_code ? std::atoi(exit_code->c_str()) : 0;
    bj::array statuses = ContainerStatuses(
        p, false,
        bj::object{{"terminated", bj::object{{"exitCode", code},
                                             {"reason", code == 0 ? "Completed" : "Error"},
                                             {"startedAt", api::StrAt(p, {"status", "startTime"})},
                                             {"finishedAt", now}}}});
    bj::object status{{"phase", code == 0 ? "Succeeded" : "Failed"},
                      {"conditions", PodConditions(now, false)},
                      {"containerStatuses", std::move(statuses)}};
    return client_->Patch(path + "/status", "application/merge-patch+json", bj::object{{"status", std::move(status)}})
        .status();
  }
  // Pending: start it, once (the informer may not show our own write yet).
  {
    std::lock_guard<std::mutex> l(mu_);
    if (started_.count(std::string(api::Uid(p)))) return Status::OK();
  }
  if (options_.startup_delay.count() > 0) {
    auto created = api::ParseTime(api::StrAt(p, {"metadata", "creationTimestamp"}));
    if (created && now_tp < *created + options_.startup_delay) {
      queue_->AddAfter(key, *created + options_.startup_delay - now_tp);
      return Status::OK();
    }
  }
  uint32_t n = next_ip_.fetch_add(1);
  std::string cidr = PodCidr(node);
  std::string ip = cidr.substr(0, cidr.rfind('.') + 1) + std::to_string(2 + n % 250);
  bj::array statuses = ContainerStatuses(p, true, bj::object{{"running", bj::object{{"startedAt", now}}}});
  bj::object status{{"phase", "Running"},
                    {"hostIP", NodeIp(node)},
                    {"hostIPs", bj::array{bj::object{{"ip", NodeIp(node)}}}},
                    {"podIP", ip},
                    {"podIPs", bj::array{bj::object{{"ip", ip}}}},
                    {"startTime", now},
                    {"conditions", PodConditions(now, true)},
                    {"containerStatuses", std::move(statuses)}};
  auto r = client_->Patch(path + "/status", "application/merge-patch+json", bj::object{{"status", std::move(status)}});
  if (!r.ok()) return r.status();
  std::lock_guard<std::mutex> l(mu_);
  started_.insert(std::string(api::Uid(p)));
  return Status::OK();
}

}  // namespace kubepp::sim
