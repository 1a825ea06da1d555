#include "controllers/nodelifecycle/node_lifecycle_controller.h"

#include "api/object.h"
#include "api/time.h"
#include "common/log.h"
#include "controllers/controller_utils.h"

namespace kubepp::controllers {
namespace {

constexpr const char* kNotReady = "node.kubernetes.io/not-ready";
constexpr const char* kUnreachable = "node.kubernetes.io/unreachable";

const log::Logger& Log() {
  static const log::Logger l("node-lifecycle-controller");
  return l;
}

std::string ReadyStatus(const bj::object& node) {
  if (const auto* conds = api::ArrAt(node, {"status", "conditions"})) {
    for (const auto& c : *conds) {
      if (c.is_object() && api::StrAt(c.get_object(), {"type"}) == "Ready") {
        return std::string(api::StrAt(c.get_object(), {"status"}));
      }
    }
  }
  return "";  // never posted
}

std::optional<std::chrono::system_clock::time_point> Heartbeat(const bj::object& node) {
  if (const auto* conds = api::ArrAt(node, {"status", "conditions"})) {
    for (const auto& c : *conds) {
      if (c.is_object() && api::StrAt(c.get_object(), {"type"}) == "Ready") {
        return api::ParseTime(api::StrAt(c.get_object(), {"lastHeartbeatTime"}));
      }
    }
  }
  return std::nullopt;
}


}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double v = std::strtod(std::string(s.substr(0, i)).c_str(), nullptr);
  std::string_view unit = s.substr(i);
  double ms;
  if (unit == "ms") ms = v;
  else if (unit == "s" || unit.empty()) ms = v * 1000;
  else if (unit == "m") ms = v * 60000;
  else if (unit == "h") ms = v * 3600000;
  else return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

NodeLifecycleController::NodeLifecycleController(client::RestClient* client, std::chrono::milliseconds grace,
                                                 double eviction_rate)
    : QueueController("nodelifecycle", 3), client_(client), grace_(grace), noexecute_limiter_(eviction_rate, 1) {}

void NodeLifecycleController::Init(InformerFactory* informers) {
  EnableEvents(client_, "node-controller");
  nodes_ = informers->For("", "v1", "nodes");
  leases_ = informers->For("coordination.k8s.io", "v1", "leases");
  pods_ = informers->For("", "v1", "pods");
  pods_->AddIndex("nodeName", [](const bj::object& p) {
    std::string_view n = api::StrAt(p, {"spec", "nodeName"});
    return n.empty() ? std::vector<std::string>{} : std::vector<std::string>{std::string(n)};
  });
  auto node_changed = [this](const client::ObjectPtr& n) {
    queue().Add("node/" + std::string(api::Name(*n)));
    EnqueuePodsOn(std::string(api::Name(*n)));
  };
  nodes_->AddEventHandler({node_changed,
                           [this, node_changed](const client::ObjectPtr& a, const client::ObjectPtr& b) {
                             if (!api::SameAt(*a, *b, {"spec", "taints"})) node_changed(b);
                             else queue().Add("node/" + std::string(api::Name(*b)));
                           },
                           nullptr});
  // Only pods on nodes with NoExecute taints need a look (node taint changes
  // enqueue the node's pods themselves).
  pods_->AddEventHandler(OnEvery([this](const client::ObjectPtr& p) { EnqueueIfNoExecute(p); }, false));
}

void NodeLifecycleController::Run() {
  QueueController::Run();
  stop_.store(false);
  // The monitor: every node is looked at periodically, since a silent node
  // sends no events.
  auto period = std::max(std::chrono::milliseconds(200), std::min(grace_ / 4, std::chrono::milliseconds(5000)));
  ticker_ = std::thread([this, period] {
    while (!stop_.load()) {
      for (int i = 0; i < 10 && !stop_.load(); ++i) std::this_thread::sleep_for(period / 10);
      if (stop_.load()) break;
      for (const auto& n : nodes_->List()) queue().Add("node/" + std::string(api::Name(*n)));
    }
  });
}

void NodeLifecycleController::Stop() {
  stop_.store(true);
  if (ticker_.joinable()) ticker_.join();
  QueueController::Stop();
}

void NodeLifecycleController::EnqueueIfNoExecute(const client::ObjectPtr& p) {
  std::string_view node = api::StrAt(*p, {"spec", "nodeName"});
  if (node.empty()) return;
  client::ObjectPtr n = nodes_->Get(std::string(node));
  if (n == nullptr) return;
  const auto* taints = api::ArrAt(*n, {"spec", "taints"});
  if (taints == nullptr) return;
  for (const auto& t : *taints) {
    if (api::StrAt(t.get_object(), {"effect"}) == "NoExecute") {
      queue().Add("pod/" + client::KeyOf(*p));
      return;
    }
  }
}

void NodeLifecycleController::EnqueuePodsOn(const std::string& node) {
  for (const auto& p : pods_->ByIndex("nodeName", node)) queue().Add("pod/" + client::KeyOf(*p));
}

Status NodeLifecycleController::Reconcile(const std::string& key) {
  if (key.rfind("node/", 0) == 0) return ReconcileNode(key.substr(5));
  if (key.rfind("pod/", 0) == 0) return ReconcilePod(key.substr(4));
  return Status::OK();
}

Status NodeLifecycleController::ReconcileNode(const std::string& name) {
  client::ObjectPtr node = nodes_->Get(name);
  if (node == nullptr) return Status::OK();
  auto now = std::chrono::system_clock::now();
  std::string now_s = api::FormatTime(now);
  // The last sign of life: the lease's renewal or the Ready heartbeat.
  std::optional<std::chrono::system_clock::time_point> last = Heartbeat(*node);
  if (client::ObjectPtr lease = leases_->Get("kube-node-lease/" + name)) {
    if (auto r = api::ParseTime(api::StrAt(*lease, {"spec", "renewTime"})); r && (!last || *r > *last)) last = r;
  }
  if (!last) last = api::ParseTime(api::StrAt(*node, {"metadata", "creationTimestamp"}));
  std::string ready = ReadyStatus(*node);
  bool silent = last && now - *last > grace_;
  if (silent && ready != "Unknown") {
    // (A node that never posted a Ready condition gets one now, as upstream's
    // "never posted" case.)
    bj::array conds;
    for (const char* type : {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}) {
      bj::object c{{"type", type},
                   {"status", "Unknown"},
                   {"reason", "NodeStatusUnknown"},
                   {"message", "Kubelet stopped posting node status."},
                   {"lastTransitionTime", now_s}};
      if (const auto* cur = api::ArrAt(*node, {"status", "conditions"})) {
        for (const auto& cc : *cur) {
          if (api::StrAt(cc.get_object(), {"type"}) == type) {
            c["lastHeartbeatTime"] = api::StrAt(cc.get_object(), {"lastHeartbeatTime"});
          }
        }
      }
      conds.push_back(std::move(c));
    }
    bj::object patch{{"status", bj::object{{"conditions", std::move(conds)}}}};
    auto r = client_->Patch(client::ResourcePath("", "v1", "nodes", "", name, "status"),
                            "application/strategic-merge-patch+json", patch);
    if (!r.ok()) return r.status();
    events().Record(client::ObjectReference(*node, "v1", "Node"), "Normal", "NodeNotReady",
                    "Node " + name + " status is now: NodeNotReady");
    Log().Info("node stopped posting status", {{"node", name}});
    return Status::OK();  // the update brings the node back here with Ready=Unknown
  }
  // Taints for the Ready condition.
  std::string want_key = ready == "False" ? kNotReady : ready == "Unknown" ? kUnreachable : "";
  // (Whether every node is down only matters for a node that is, so a
  // healthy cluster's heartbeats never scan the node list.)
  bool all_down = !want_key.empty() && AllNodesDown();
  // Taints for the pressure conditions (upstream's TaintNodesByCondition):
  // NoSchedule while the kubelet reports the pressure.
  std::map<std::string, bool> pressure;  // taint key -> wanted
  for (const auto& [type, key] : {std::pair<const char*, const char*>{"MemoryPressure", "node.kubernetes.io/memory-pressure"},
                                  {"DiskPressure", "node.kubernetes.io/disk-pressure"},
                                  {"PIDPressure", "node.kubernetes.io/pid-pressure"}}) {
    bool on = false;
    if (const auto* conds = api::ArrAt(*node, {"status", "conditions"})) {
      for (const auto& c : *conds) {
        if (c.is_object() && api::StrAt(c.get_object(), {"type"}) == type) on = api::StrAt(c.get_object(), {"status"}) == "True";
      }
    }
    pressure[key] = on;
  }
  bj::array kept;
  bool have_ns = false, have_ne = false, extra = false;
  if (const auto* taints = api::ArrAt(*node, {"spec", "taints"})) {
    for (const auto& t : *taints) {
      std::string_view k = api::StrAt(t.get_object(), {"key"});
      std::string_view e = api::StrAt(t.get_object(), {"effect"});
      if (auto p = pressure.find(std::string(k)); p != pressure.end() && e == "NoSchedule") {
        if (!p->second) {
          extra = true;  // the pressure is over
          continue;
        }
        pressure.erase(p);  // wanted and there
      } else if (k == kNotReady || k == kUnreachable) {
        if (k == want_key && e == "NoSchedule") have_ns = true;
        else if (k == want_key && e == "NoExecute") have_ne = true;
        else {
          extra = true;
          continue;
        }
      }
      kept.push_back(t);
    }
  }
  bool want_ne = !want_key.empty() && !all_down;
  bool add_ns = !want_key.empty() && !have_ns;
  bool add_ne = want_ne && !have_ne;
  if (add_ne) {
    // One token per node: a node told to wait keeps its reserved slot.
    std::lock_guard<std::mutex> l(mu_);
    auto steady = std::chrono::steady_clock::now();
    auto it = noexecute_at_.find(name);
    if (it == noexecute_at_.end()) {
      auto wait = noexecute_limiter_.When(name);
      it = noexecute_at_.emplace(name, steady + wait).first;
    }
    if (it->second > steady) {
      queue().AddAfter("node/" + name, it->second - steady);
      add_ne = false;
    } else {
      noexecute_at_.erase(it);
    }
  } else if (want_key.empty()) {
    std::lock_guard<std::mutex> l(mu_);
    noexecute_at_.erase(name);
  }
  bool add_pressure = false;
  for (const auto& [key, wanted] : pressure) {
    if (!wanted) continue;
    kept.push_back(bj::object{{"key", key}, {"effect", "NoSchedule"}, {"timeAdded", now_s}});
    add_pressure = true;
  }
  if (!add_ns && !add_ne && !extra && !add_pressure) return Status::OK();
  if (add_ns) kept.push_back(bj::object{{"key", want_key}, {"effect", "NoSchedule"}, {"timeAdded", now_s}});
  if (add_ne) kept.push_back(bj::object{{"key", want_key}, {"effect", "NoExecute"}, {"timeAdded", now_s}});
  bj::object patch{{"metadata", bj::object{{"resourceVersion", api::ResourceVersion(*node)}}},
                   {"spec", bj::object{{"taints", std::move(kept)}}}};
  auto r = client_->Patch(client::ResourcePath("", "v1", "nodes", "", name), "application/merge-patch+json", patch);
  if (!r.ok() && !r.status().IsNotFound()) return r.status();
  return Status::OK();
}

bool NodeLifecycleController::AllNodesDown() {
  // One scan per monitor period at most: a mass failure reconciles every
  // node, and a scan per node would be quadratic.
  std::lock_guard<std::mutex> l(mu_);
  auto now = std::chrono::steady_clock::now();
  if (now - all_down_checked_ < std::chrono::milliseconds(500)) return all_down_;
  all_down_ = true;
  for (const auto& n : nodes_->List()) {
    if (ReadyStatus(*n) == "True") {
      all_down_ = false;
      break;
    }
  }
  all_down_checked_ = now;
  return all_down_;
}

Status NodeLifecycleController::ReconcilePod(const std::string& key) {
  client::ObjectPtr pod = pods_->Get(key);
  if (pod == nullptr || api::At(*pod, {"metadata", "deletionTimestamp"}) != nullptr) return Status::OK();
  std::string node_name(api::StrAt(*pod, {"spec", "nodeName"}));
  client::ObjectPtr node = node_name.empty() ? nullptr : nodes_->Get(node_name);
  if (node == nullptr) return Status::OK();
  auto now = std::chrono::system_clock::now();
  std::optional<std::chrono::system_clock::time_point> evict_at;
  bool evict_now = false;
  if (const auto* taints = api::ArrAt(*node, {"spec", "taints"})) {
    for (const auto& tv : *taints) {
      const bj::object& taint = tv.get_object();
      if (api::StrAt(taint, {"effect"}) != "NoExecute") continue;
      bool tolerated = false;
      std::optional<int64_t> seconds;  // smallest bound among tolerations that match
      bool forever = false;
      if (const auto* tols = api::ArrAt(*pod, {"spec", "tolerations"})) {
        for (const auto& tol : *tols) {
          if (!tol.is_object() || !TolerationMatches(tol.get_object(), taint)) continue;
          tolerated = true;
          auto s = api::IntAt(tol.get_object(), {"tolerationSeconds"});
          if (!s) forever = true;
          else if (!seconds || *s < *seconds) seconds = *s;
        }
      }
      if (!tolerated) {
        evict_now = true;
        break;
      }
      if (forever && !seconds) continue;
      auto added = api::ParseTime(api::StrAt(taint, {"timeAdded"})).value_or(now);
      auto at = added + std::chrono::seconds(std::max<int64_t>(*seconds, 0));
      if (!evict_at || at < *evict_at) evict_at = at;
    }
  }
  if (!evict_now && evict_at && *evict_at <= now) evict_now = true;
  if (!evict_now) {
    if (evict_at) queue().AddAfter("pod/" + key, *evict_at - now);
    return Status::OK();
  }
  std::string ns(api::Namespace(*pod)), name(api::Name(*pod));
  bj::object patch{{"status", bj::object{{"conditions", bj::array{bj::object{
                                                           {"type", "DisruptionTarget"},
                                                           {"status", "True"},
                                                           {"reason", "DeletionByTaintManager"},
                                                           {"message", "Taint manager: deleting due to NoExecute taint"},
                                                           {"lastTransitionTime", api::FormatTime(now)}}}}}}};
  (void)client_->Patch(client::ResourcePath("", "v1", "pods", ns, name, "status"), "application/strategic-merge-patch+json",
                       patch);
  bj::value opts = bj::object{{"kind", "DeleteOptions"}, {"apiVersion", "v1"},
                              {"preconditions", bj::object{{"uid", api::Uid(*pod)}}}};
  auto r = client_->Delete(client::ResourcePath("", "v1", "pods", ns, name), &opts);
  if (!r.ok() && !r.status().IsNotFound() && !r.status().IsConflict()) return r.status();
  events().Record(client::ObjectReference(*pod, "v1", "Pod"), "Normal", "TaintManagerEviction",
                  "Marking for deletion Pod " + key);
  return Status::OK();
}

}  // namespace kubepp::controllers
