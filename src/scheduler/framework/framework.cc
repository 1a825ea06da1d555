#include "scheduler/framework/framework.h"

#include <algorithm>

#include "api/object.h"
#include "api/yaml.h"

namespace kubepp::scheduler {
namespace {

const char* const kPoints[] = {"preEnqueue", "queueSort", "preFilter", "filter", "postFilter", "preScore",
                               "score",      "reserve",   "permit",    "preBind", "bind",       "postBind"};

template <typename T>
bool Implements(Plugin* p) {
  return dynamic_cast<T*>(p) != nullptr;
}

bool ImplementsPoint(Plugin* p, std::string_view point) {
  if (point == "preEnqueue") return Implements<PreEnqueuePlugin>(p);
  if (point == "queueSort") return Implements<QueueSortPlugin>(p);
  if (point == "preFilter") return Implements<PreFilterPlugin>(p);
  if (point == "filter") return Implements<FilterPlugin>(p);
  if (point == "postFilter") return Implements<PostFilterPlugin>(p);
  if (point == "preScore") return Implements<PreScorePlugin>(p);
  if (point == "score") return Implements<ScorePlugin>(p);
  if (point == "reserve") return Implements<ReservePlugin>(p);
  if (point == "permit") return Implements<PermitPlugin>(p);
  if (point == "preBind") return Implements<PreBindPlugin>(p);
  if (point == "bind") return Implements<BindPlugin>(p);
  if (point == "postBind") return Implements<PostBindPlugin>(p);
  return false;
}

}  // namespace

std::string PluginStatus::Message() const {
  std::string out;
  for (const auto& r : reasons_) {
    if (!out.empty()) out += ", ";
    out += r;
  }
  return out;
}

std::string FitErrorMessage(size_t num_nodes, const std::string& prefilter_msg, const NodeStatusMap& statuses,
                            const std::string& postfilter_msg) {
  std::string msg = "0/" + std::to_string(num_nodes) + " nodes are available:";
  if (!prefilter_msg.empty()) {
    msg += " " + prefilter_msg + ".";
  } else {
    std::map<std::string, int> reasons;
    for (const auto& [n, st] : statuses) {
      for (const auto& r : st.reasons()) ++reasons[r];
    }
    std::vector<std::string> parts;
    for (const auto& [r, c] : reasons) parts.push_back(std::to_string(c) + " " + r);
    std::sort(parts.begin(), parts.end());
    if (!parts.empty()) {
      msg += " ";
      for (size_t i = 0; i < parts.size(); ++i) msg += (i ? ", " : "") + parts[i];
      msg += ".";
    }
  }
  if (!postfilter_msg.empty()) msg += " " + postfilter_msg + ".";
  return msg;
}

CycleState CycleState::Clone() const {
  CycleState c;
  for (const auto& [k, v] : data_) c.data_[k] = v->Clone();
  c.skip_filter = skip_filter;
  c.skip_filter_mask = skip_filter_mask;
  c.skip_score = skip_score;
  return c;
}

ProfileConfig DefaultProfile(const std::string& scheduler_name) {
  ProfileConfig p;
  p.scheduler_name = scheduler_name;
  // Upstream's v1 defaults (pkg/scheduler/apis/config/v1/default_plugins.go),
  // without the volume plugins: kubepp has no persistent volume binding yet.
  p.multi_point = {{"SchedulingGates", 0},  {"PrioritySort", 0},      {"NodeUnschedulable", 0},
                   {"NodeName", 0},         {"TaintToleration", 3},   {"NodeAffinity", 2},
                   {"NodePorts", 0},        {"NodeResourcesFit", 1},  {"PodTopologySpread", 2},
                   {"InterPodAffinity", 2}, {"DefaultPreemption", 0}, {"NodeResourcesBalancedAllocation", 1},
                   {"ImageLocality", 1},    {"DefaultBinder", 0}};
  return p;
}

Result<SchedulerConfig> ParseSchedulerConfig(std::string_view text) {
  ASSIGN_OR_RETURN(bj::value doc, api::YamlToJson(text));
  if (!doc.is_object()) return Status::BadRequest("scheduler configuration: not an object");
  const bj::object& o = doc.get_object();
  std::string_view av = api::StrAt(o, {"apiVersion"});
  if (av != "kubescheduler.config.k8s.io/v1" || api::StrAt(o, {"kind"}) != "KubeSchedulerConfiguration") {
    return Status::BadRequest("scheduler configuration: want apiVersion kubescheduler.config.k8s.io/v1, "
                                   "kind KubeSchedulerConfiguration; got " +
                                   std::string(av) + ", " + std::string(api::StrAt(o, {"kind"})));
  }
  SchedulerConfig cfg;
  cfg.percentage_of_nodes_to_score = static_cast<int32_t>(api::IntAt(o, {"percentageOfNodesToScore"}).value_or(0));
  if (cfg.percentage_of_nodes_to_score < 0 || cfg.percentage_of_nodes_to_score > 100) {
    return Status::BadRequest("percentageOfNodesToScore: not in valid range [0-100]");
  }
  if (auto v = api::IntAt(o, {"podInitialBackoffSeconds"})) cfg.pod_initial_backoff = std::chrono::seconds(*v);
  if (auto v = api::IntAt(o, {"podMaxBackoffSeconds"})) cfg.pod_max_backoff = std::chrono::seconds(*v);
  std::set<std::string> names;
  if (const auto* profiles = api::ArrAt(o, {"profiles"})) {
    for (const auto& pv : *profiles) {
      if (!pv.is_object()) return Status::BadRequest("profiles: each must be an object");
      const auto& po = pv.get_object();
      ProfileConfig p = DefaultProfile(std::string(api::StrAt(po, {"schedulerName"}, "default-scheduler")));
      if (!names.insert(p.scheduler_name).second) {
        return Status::BadRequest("profiles: duplicate schedulerName \"" + p.scheduler_name + "\"");
      }
      if (const auto* plugins = api::ObjAt(po, {"plugins"})) {
        for (const auto& [point, set] : *plugins) {
          if (!set.is_object()) continue;
          std::string pt(point);
          if (pt != "multiPoint" && std::find(std::begin(kPoints), std::end(kPoints), pt) == std::end(kPoints)) {
            return Status::BadRequest("plugins: unknown extension point \"" + pt + "\"");
          }
          std::set<std::string> disabled;
          if (const auto* dis = api::ArrAt(set.get_object(), {"disabled"})) {
            for (const auto& d : *dis) {
              if (d.is_object()) disabled.insert(std::string(api::StrAt(d.get_object(), {"name"})));
            }
          }
          std::vector<PluginRef> enabled;
          if (const auto* en = api::ArrAt(set.get_object(), {"enabled"})) {
            for (const auto& e : *en) {
              if (!e.is_object()) continue;
              enabled.push_back({std::string(api::StrAt(e.get_object(), {"name"})),
                                 static_cast<int32_t>(api::IntAt(e.get_object(), {"weight"}).value_or(0))});
            }
          }
          if (pt == "multiPoint") {
            std::vector<PluginRef> kept;
            if (!disabled.count("*")) {
              for (auto& r : p.multi_point) {
                if (!disabled.count(r.name)) kept.push_back(r);
              }
            }
            for (auto& e : enabled) {
              auto it = std::find_if(kept.begin(), kept.end(), [&](const PluginRef& r) { return r.name == e.name; });
              if (it != kept.end()) kept.erase(it);
              kept.push_back(e);
            }
            p.multi_point = std::move(kept);
          } else {
            p.disabled[pt].insert(disabled.begin(), disabled.end());
            auto& list = p.enabled[pt];
            list.insert(list.end(), enabled.begin(), enabled.end());
          }
        }
      }
      if (const auto* pcs = api::ArrAt(po, {"pluginConfig"})) {
        for (const auto& pc : *pcs) {
          if (!pc.is_object()) continue;
          const auto* args = api::ObjAt(pc.get_object(), {"args"});
          p.args[std::string(api::StrAt(pc.get_object(), {"name"}))] = args ? *args : bj::object();
        }
      }
      cfg.profiles.push_back(std::move(p));
    }
  }
  if (cfg.profiles.empty()) cfg.profiles.push_back(DefaultProfile());
  return cfg;
}

Result<std::unique_ptr<Framework>> Framework::New(const ProfileConfig& config, Handle handle) {
  auto f = std::make_unique<Framework>();
  f->scheduler_name_ = config.scheduler_name;
  f->handle_ = std::move(handle);
  f->handle_.framework = f.get();
  const auto& registry = InTreeRegistry();
  auto instance = [&](const std::string& name) -> Result<Plugin*> {
    auto it = f->plugins_.find(name);
    if (it != f->plugins_.end()) return it->second.get();
    auto fit = registry.find(name);
    if (fit == registry.end()) {
      return Status::BadRequest("profile \"" + config.scheduler_name + "\": plugin \"" + name + "\" does not exist");
    }
    auto ait = config.args.find(name);
    static const PluginArgs kNone;
    ASSIGN_OR_RETURN(auto plugin, fit->second(ait == config.args.end() ? kNone : ait->second, &f->handle_));
    Plugin* raw = plugin.get();
    f->plugins_[name] = std::move(plugin);
    return raw;
  };
  for (const char* point : kPoints) {
    std::vector<std::pair<Plugin*, int32_t>> list;
    auto dis_it = config.disabled.find(point);
    const std::set<std::string> none;
    const auto& disabled = dis_it == config.disabled.end() ? none : dis_it->second;
    auto en_it = config.enabled.find(point);
    std::set<std::string> enabled_here;
    if (en_it != config.enabled.end()) {
      for (const auto& r : en_it->second) enabled_here.insert(r.name);
    }
    if (!disabled.count("*")) {
      for (const auto& r : config.multi_point) {
        if (disabled.count(r.name) || enabled_here.count(r.name)) continue;
        ASSIGN_OR_RETURN(Plugin * p, instance(r.name));
        if (ImplementsPoint(p, point)) list.emplace_back(p, r.weight);
      }
    }
    if (en_it != config.enabled.end()) {
      for (const auto& r : en_it->second) {
        ASSIGN_OR_RETURN(Plugin * p, instance(r.name));
        if (!ImplementsPoint(p, point)) {
          return Status::BadRequest("plugin \"" + r.name + "\" does not extend " + std::string(point) + " plugin");
        }
        int32_t w = r.weight;
        if (w == 0) {
          for (const auto& m : config.multi_point) {
            if (m.name == r.name) w = m.weight;
          }
        }
        list.emplace_back(p, w);
      }
    }
    std::string_view pt = point;
    for (auto& [p, w] : list) {
      if (pt == "preEnqueue") f->pre_enqueue_.push_back(dynamic_cast<PreEnqueuePlugin*>(p));
      else if (pt == "queueSort") {
        if (f->queue_sort_ == nullptr) f->queue_sort_ = dynamic_cast<QueueSortPlugin*>(p);
      } else if (pt == "preFilter") f->pre_filter_.push_back(dynamic_cast<PreFilterPlugin*>(p));
      else if (pt == "filter") f->filter_.push_back(dynamic_cast<FilterPlugin*>(p));
      else if (pt == "postFilter") f->post_filter_.push_back(dynamic_cast<PostFilterPlugin*>(p));
      else if (pt == "preScore") f->pre_score_.push_back(dynamic_cast<PreScorePlugin*>(p));
      else if (pt == "score") f->score_.emplace_back(dynamic_cast<ScorePlugin*>(p), w > 0 ? w : 1);
      else if (pt == "reserve") f->reserve_.push_back(dynamic_cast<ReservePlugin*>(p));
      else if (pt == "permit") f->permit_.push_back(dynamic_cast<PermitPlugin*>(p));
      else if (pt == "preBind") f->pre_bind_.push_back(dynamic_cast<PreBindPlugin*>(p));
      else if (pt == "bind") f->bind_.push_back(dynamic_cast<BindPlugin*>(p));
      else if (pt == "postBind") f->post_bind_.push_back(dynamic_cast<PostBindPlugin*>(p));
    }
  }
  if (f->filter_.size() > 64) return Status::BadRequest("profile \"" + config.scheduler_name + "\": too many filter plugins");
  for (auto* pf : f->pre_filter_) {
    uint64_t bit = 0;
    for (size_t i = 0; i < f->filter_.size(); ++i) {
      if (f->filter_[i]->Name() == pf->Name()) bit = uint64_t(1) << i;
    }
    f->pre_filter_skip_bits_.push_back(bit);
  }
  if (f->queue_sort_ == nullptr) return Status::BadRequest("profile \"" + config.scheduler_name + "\": no queueSort plugin");
  if (f->bind_.empty()) return Status::BadRequest("profile \"" + config.scheduler_name + "\": no bind plugin");
  return f;
}

std::vector<std::string> Framework::PluginNames(const std::string& point) const {
  std::vector<std::string> out;
  auto add = [&](Plugin* p) { out.push_back(p->Name()); };
  if (point == "preEnqueue") for (auto* p : pre_enqueue_) add(p);
  if (point == "queueSort" && queue_sort_) add(queue_sort_);
  if (point == "preFilter") for (auto* p : pre_filter_) add(p);
  if (point == "filter") for (auto* p : filter_) add(p);
  if (point == "postFilter") for (auto* p : post_filter_) add(p);
  if (point == "preScore") for (auto* p : pre_score_) add(p);
  if (point == "score") for (auto& [p, w] : score_) out.push_back(p->Name() + ":" + std::to_string(w));
  if (point == "reserve") for (auto* p : reserve_) add(p);
  if (point == "permit") for (auto* p : permit_) add(p);
  if (point == "preBind") for (auto* p : pre_bind_) add(p);
  if (point == "bind") for (auto* p : bind_) add(p);
  if (point == "postBind") for (auto* p : post_bind_) add(p);
  return out;
}

PluginStatus Framework::RunPreEnqueue(const PodInfo& pod) {
  for (auto* p : pre_enqueue_) {
    PluginStatus s = p->PreEnqueue(pod);
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return {};
}

bool Framework::QueueLess(const PodInfo& a, int64_t a_ts, const PodInfo& b, int64_t b_ts) {
  return queue_sort_->Less(a, a_ts, b, b_ts);
}

PluginStatus Framework::RunPreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snap) {
  for (size_t i = 0; i < pre_filter_.size(); ++i) {
    PreFilterPlugin* p = pre_filter_[i];
    PluginStatus s = p->PreFilter(state, pod, snap);
    if (s.IsSkip()) {
      state.skip_filter.insert(p->Name());
      state.skip_filter_mask |= pre_filter_skip_bits_[i];
      continue;
    }
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return {};
}

void Framework::RunPreFilterAddPod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node) {
  for (auto* p : pre_filter_) {
    if (!state.skip_filter.count(p->Name())) p->AddPod(state, pod, other, node);
  }
}

void Framework::RunPreFilterRemovePod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node) {
  for (auto* p : pre_filter_) {
    if (!state.skip_filter.count(p->Name())) p->RemovePod(state, pod, other, node);
  }
}

PluginStatus Framework::RunFilter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) {
  for (size_t i = 0; i < filter_.size(); ++i) {
    if (state.skip_filter_mask & (uint64_t(1) << i)) continue;
    FilterPlugin* p = filter_[i];
    PluginStatus s = p->Filter(state, pod, node);
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return {};
}

PluginStatus Framework::RunFilterWithNominatedPods(const CycleState& state, const PodInfo& pod, const NodeInfo& node) {
  std::vector<PodInfoPtr> nominated;
  if (handle_.nominated_pods) {
    for (auto& np : handle_.nominated_pods(node.name)) {
      if (np->key != pod.key && np->priority >= pod.priority) nominated.push_back(std::move(np));
    }
  }
  if (!nominated.empty()) {
    NodeInfo with = node;
    CycleState st = state.Clone();
    for (const auto& np : nominated) {
      with.AddPod(np);
      RunPreFilterAddPod(st, pod, *np, with);
    }
    PluginStatus s = RunFilter(st, pod, with);
    if (!s.ok()) return s;
  }
  return RunFilter(state, pod, node);
}

PluginStatus Framework::RunPostFilter(CycleState& state, const PodInfo& pod, const Snapshot& snap,
                                      const NodeStatusMap& st, PostFilterResult* result) {
  PluginStatus last = PluginStatus::Unschedulable("");
  for (auto* p : post_filter_) {
    PluginStatus s = p->PostFilter(state, pod, snap, st, result);
    s.set_plugin(p->Name());
    if (s.ok() || s.code() == PluginStatus::Code::kError) return s;
    last = s;
  }
  return last;
}

PluginStatus Framework::RunPreScore(CycleState& state, const PodInfo& pod, const std::vector<NodeInfo*>& nodes,
                                    const Snapshot& snap) {
  for (auto* p : pre_score_) {
    PluginStatus s = p->PreScore(state, pod, nodes, snap);
    if (s.IsSkip()) {
      state.skip_score.insert(p->Name());
      continue;
    }
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return {};
}

std::vector<int64_t> Framework::RunScore(CycleState& state, const PodInfo& pod, const std::vector<NodeInfo*>& nodes) {
  std::vector<int64_t> total(nodes.size(), 0);
  std::vector<int64_t> scores(nodes.size());
  for (auto& [p, weight] : score_) {
    if (!state.skip_score.empty() && state.skip_score.count(p->Name())) continue;
    for (size_t i = 0; i < nodes.size(); ++i) scores[i] = p->Score(state, pod, *nodes[i]);
    p->NormalizeScore(state, pod, scores);
    for (size_t i = 0; i < nodes.size(); ++i) total[i] += scores[i] * weight;
  }
  return total;
}

PluginStatus Framework::RunReserve(CycleState& state, const PodInfo& pod, const std::string& node) {
  for (auto* p : reserve_) {
    PluginStatus s = p->Reserve(state, pod, node);
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return {};
}

void Framework::RunUnreserve(CycleState& state, const PodInfo& pod, const std::string& node) {
  for (auto it = reserve_.rbegin(); it != reserve_.rend(); ++it) (*it)->Unreserve(state, pod, node);
}

PluginStatus Framework::RunPermit(CycleState& state, const PodInfo& pod, const std::string& node) {
  for (auto* p : permit_) {
    PluginStatus s = p->Permit(state, pod, node);
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return {};
}

PluginStatus Framework::RunPreBind(CycleState& state, const PodInfo& pod, const std::string& node) {
  for (auto* p : pre_bind_) {
    PluginStatus s = p->PreBind(state, pod, node);
    if (!s.ok()) {
      s.set_plugin(p->Name());
      return s;
    }
  }
  return {};
}

PluginStatus Framework::RunBind(CycleState& state, const PodInfo& pod, const std::string& node) {
  for (auto* p : bind_) {
    PluginStatus s = p->Bind(state, pod, node);
    if (s.IsSkip()) continue;
    s.set_plugin(p->Name());
    return s;
  }
  return PluginStatus::Error("no bind plugin bound the pod");
}

void Framework::RunPostBind(CycleState& state, const PodInfo& pod, const std::string& node) {
  for (auto* p : post_bind_) p->PostBind(state, pod, node);
}

}  // namespace kubepp::scheduler
