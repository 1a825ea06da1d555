#include "scheduler/scheduler.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>

#include "api/object.h"
#include "api/time.h"
#include "common/log.h"

namespace kubepp::scheduler {
namespace {

const log::Logger& Log() {
  static const log::Logger l("scheduler");
  return l;
}

constexpr int kMinFeasibleNodesToFind = 100;
constexpr int kMinFeasibleNodesPercentageToFind = 5;

// Upstream's numFeasibleNodesToFind.
size_t NumFeasibleNodesToFind(int32_t percentage, size_t num_all) {
  if (num_all < static_cast<size_t>(kMinFeasibleNodesToFind)) return num_all;
  int64_t adaptive = percentage;
  if (adaptive <= 0) {
    adaptive = 50 - static_cast<int64_t>(num_all) / 125;
    if (adaptive < kMinFeasibleNodesPercentageToFind) adaptive = kMinFeasibleNodesPercentageToFind;
  }
  size_t n = num_all * static_cast<size_t>(adaptive) / 100;
  return std::max<size_t>(n, kMinFeasibleNodesToFind);
}

bool NodeChangeMatters(const bj::object& a, const bj::object& b) {
  return !api::SameAt(a, b, {"metadata", "labels"}) || !api::SameAt(a, b, {"spec", "taints"}) ||
         !api::SameAt(a, b, {"spec", "unschedulable"}) || !api::SameAt(a, b, {"status", "allocatable"}) ||
         !api::SameAt(a, b, {"status", "images"});
}

}  // namespace

struct Scheduler::Run {
  client::RestClient* client;
  const SchedulerOptions* options;
  std::atomic<uint64_t>* scheduled;

  std::mutex mu;  // the cache
  Cache cache;
  std::map<std::string, Labels> ns_labels;  // GUARDED_BY(mu)
  std::map<std::string, std::unique_ptr<Framework>> profiles;
  std::unique_ptr<SchedulingQueue> queue;
  std::unique_ptr<client::Informer> pods, nodes, namespaces;
  std::unique_ptr<client::EventRecorder> events;
  std::unique_ptr<ThreadPool> binders;
  std::thread loop;
  std::atomic<bool> stopping{false};
  size_t next_start = 0;
  std::mt19937_64 rng{std::random_device{}()};

  Framework* ProfileFor(const std::string& name) {
    auto it = profiles.find(name);
    return it == profiles.end() ? nullptr : it->second.get();
  }

  void Event(const bj::object& pod, const std::string& type, const std::string& reason, const std::string& action,
             const std::string& msg) {
    events->Record(client::ObjectReference(pod, "v1", "Pod"), type, reason, msg, action);
  }

  // ---- informer handlers ----
  void OnPod(const client::ObjectPtr& old_obj, const client::ObjectPtr& obj) {
    PodInfoPtr p = ParsePod(obj);
    bool finished = p->phase == "Succeeded" || p->phase == "Failed";
    if (!p->node_name.empty()) {
      bool labels_changed = false;
      bool known;
      {
        std::lock_guard<std::mutex> l(mu);
        known = cache.Has(p->key) && !cache.IsAssumed(p->key);
        if (finished) {
          cache.RemovePod(p->key);
        } else {
          if (old_obj) labels_changed = api::ObjectLabels(*old_obj) != p->labels;
          cache.AddOrUpdatePod(p);
        }
      }
      queue->Delete(p->key);
      if (finished) queue->MoveAllToActiveOrBackoff(ClusterEvent::kAssignedPodDelete);
      else if (!known) queue->MoveAllToActiveOrBackoff(ClusterEvent::kAssignedPodAdd);
      else if (labels_changed) queue->MoveAllToActiveOrBackoff(ClusterEvent::kAssignedPodUpdate);
      return;
    }
    if (ProfileFor(p->scheduler_name) == nullptr) return;
    if (p->terminating || finished) {
      queue->Delete(p->key);
      return;
    }
    {
      std::lock_guard<std::mutex> l(mu);
      if (cache.IsAssumed(p->key)) return;  // binding in flight
    }
    if (old_obj) queue->Update(p);
    else queue->Add(p);
  }

  void OnPodDelete(const client::ObjectPtr& obj) {
    std::string key = client::KeyOf(*obj);
    bool had;
    {
      std::lock_guard<std::mutex> l(mu);
      had = cache.Has(key);
      cache.RemovePod(key);
    }
    queue->Delete(key);
    if (had) queue->MoveAllToActiveOrBackoff(ClusterEvent::kAssignedPodDelete);
  }

  void OnNode(const client::ObjectPtr& old_obj, const client::ObjectPtr& obj) {
    if (old_obj && !NodeChangeMatters(*old_obj, *obj)) return;
    {
      std::lock_guard<std::mutex> l(mu);
      cache.AddOrUpdateNode(obj);
    }
    queue->MoveAllToActiveOrBackoff(old_obj ? ClusterEvent::kNodeUpdate : ClusterEvent::kNodeAdd);
  }

  void OnNodeDelete(const client::ObjectPtr& obj) {
    std::lock_guard<std::mutex> l(mu);
    cache.RemoveNode(std::string(api::Name(*obj)));
  }

  void OnNamespace(const client::ObjectPtr& obj, bool deleted) {
    std::lock_guard<std::mutex> l(mu);
    if (deleted) ns_labels.erase(std::string(api::Name(*obj)));
    else ns_labels[std::string(api::Name(*obj))] = api::ObjectLabels(*obj);
  }

  // ---- the scheduling cycle ----
  void Loop() {
    while (!stopping.load()) {
      auto qp = queue->Pop();
      if (!qp) return;
      ScheduleOne(std::move(*qp));
    }
  }

  void ScheduleOne(QueuedPod qp) {
    PodInfoPtr pod = qp.pod;
    Framework* fw = ProfileFor(pod->scheduler_name);
    if (fw == nullptr) {
      queue->Done(pod->key);
      return;
    }
    std::unique_lock<std::mutex> l(mu);
    if (cache.Has(pod->key)) {  // assumed or bound meanwhile
      l.unlock();
      queue->Done(pod->key);
      return;
    }
    Snapshot& snap = const_cast<Snapshot&>(cache.UpdateSnapshot());
    snap.namespace_labels = [this](const std::string& ns) -> const Labels* {
      auto it = ns_labels.find(ns);
      return it == ns_labels.end() ? nullptr : &it->second;
    };
    if (snap.nodes.empty()) {
      l.unlock();
      Fail(std::move(qp), fw, "no nodes available to schedule pods", "", {}, false);
      return;
    }
    auto state = std::make_shared<CycleState>();
    NodeStatusMap statuses;
    std::string prefilter_msg;
    std::set<std::string> failed_plugins;
    std::vector<NodeInfo*> feasible;
    PluginStatus pst = fw->RunPreFilter(*state, *pod, snap);
    if (pst.code() == PluginStatus::Code::kError) {
      l.unlock();
      Fail(std::move(qp), fw, "running PreFilter plugin \"" + pst.plugin() + "\": " + pst.Message(), "", {}, true);
      return;
    }
    if (pst.IsRejected()) {
      prefilter_msg = pst.Message();
      failed_plugins.insert(pst.plugin());
      for (NodeInfo* n : snap.nodes) statuses[n->name] = pst;
    } else {
      FindFeasible(fw, *state, *pod, snap, &feasible, &statuses, &failed_plugins);
    }
    if (feasible.empty()) {
      PostFilterResult pr;
      std::string post_msg;
      bool nominate = false;
      if (fw->HasPostFilter()) {
        PluginStatus post = fw->RunPostFilter(*state, *pod, snap, statuses, &pr);
        if (post.ok()) nominate = true;
        else post_msg = post.Message();
      }
      std::string msg = FitErrorMessage(snap.nodes.size(), prefilter_msg, statuses, post_msg);
      l.unlock();
      Fail(std::move(qp), fw, msg, nominate ? pr.nominated_node : "", failed_plugins, false,
           /*clear_nomination=*/!nominate);
      return;
    }
    NodeInfo* host = feasible.front();
    if (feasible.size() > 1) {
      PluginStatus ps = fw->RunPreScore(*state, *pod, feasible, snap);
      if (!ps.ok()) {
        l.unlock();
        Fail(std::move(qp), fw, "running PreScore plugin \"" + ps.plugin() + "\": " + ps.Message(), "", {}, true);
        return;
      }
      std::vector<int64_t> scores = fw->RunScore(*state, *pod, feasible);
      int64_t best = INT64_MIN;
      size_t ties = 0;
      for (size_t i = 0; i < feasible.size(); ++i) {
        if (scores[i] > best) {
          best = scores[i];
          host = feasible[i];
          ties = 1;
        } else if (scores[i] == best && rng() % ++ties == 0) {
          host = feasible[i];
        }
      }
    }
    std::string node = host->name;
    auto assumed = std::make_shared<PodInfo>(*pod);
    assumed->node_name = node;
    cache.AssumePod(assumed);
    PluginStatus rs = fw->RunReserve(*state, *pod, node);
    if (rs.ok()) rs = fw->RunPermit(*state, *pod, node);
    if (!rs.ok()) {
      fw->RunUnreserve(*state, *pod, node);
      cache.ForgetPod(pod->key);
      l.unlock();
      bool rejected = rs.IsRejected();
      Fail(std::move(qp), fw, rs.Message(), "", rejected ? std::set<std::string>{rs.plugin()} : std::set<std::string>{},
           !rejected);
      return;
    }
    l.unlock();
    queue->AddNominated(pod, "");
    queue->Done(pod->key);
    binders->Submit([this, fw, state, qp = std::move(qp), node]() mutable { Bind(fw, *state, std::move(qp), node); });
  }

  void FindFeasible(Framework* fw, const CycleState& state, const PodInfo& pod, const Snapshot& snap,
                    std::vector<NodeInfo*>* feasible, NodeStatusMap* statuses, std::set<std::string>* failed_plugins) {
    // The nominated node (after a preemption) is tried first and alone.
    if (!pod.nominated_node_name.empty()) {
      if (NodeInfo* n = snap.Get(pod.nominated_node_name)) {
        if (fw->RunFilterWithNominatedPods(state, pod, *n).ok()) {
          feasible->push_back(n);
          return;
        }
      }
    }
    size_t all = snap.nodes.size();
    size_t want = NumFeasibleNodesToFind(options->config.percentage_of_nodes_to_score, all);
    size_t start = next_start % all;
    size_t processed = 0;
    for (; processed < all && feasible->size() < want; ++processed) {
      NodeInfo* n = snap.nodes[(start + processed) % all];
      PluginStatus st = fw->RunFilterWithNominatedPods(state, pod, *n);
      if (st.ok()) {
        feasible->push_back(n);
      } else {
        failed_plugins->insert(st.plugin());
        (*statuses)[n->name] = std::move(st);
      }
    }
    next_start = (start + processed) % all;
  }

  void Bind(Framework* fw, CycleState& state, QueuedPod qp, const std::string& node) {
    const PodInfo& pod = *qp.pod;
    PluginStatus st = fw->RunPreBind(state, pod, node);
    if (st.ok()) st = fw->RunBind(state, pod, node);
    if (!st.ok()) {
      {
        std::lock_guard<std::mutex> l(mu);
        cache.ForgetPod(pod.key);
      }
      fw->RunUnreserve(state, pod, node);
      // Requeue unless the pod is gone or bound (by another scheduler).
      client::ObjectPtr cur = pods->Get(pod.key);
      if (cur == nullptr || !api::StrAt(*cur, {"spec", "nodeName"}).empty()) return;
      Log().V(1, "binding failed", {{"pod", pod.key}, {"node", node}, {"err", st.Message()}});
      Fail(std::move(qp), fw, "Binding rejected: " + st.Message(), "", {}, true, false, /*readd=*/true);
      return;
    }
    scheduled->fetch_add(1);
    Event(*pod.obj, "Normal", "Scheduled", "Binding", "Successfully assigned " + pod.key + " to " + node);
    fw->RunPostBind(state, pod, node);
  }

  // A failed attempt: back to the queue, PodScheduled=False and an event.
  void Fail(QueuedPod qp, Framework* fw, const std::string& msg, const std::string& nominated,
            std::set<std::string> plugins, bool backoff, bool clear_nomination = false, bool readd = false) {
    PodInfoPtr pod = qp.pod;
    qp.unschedulable_plugins = std::move(plugins);
    queue->AddUnschedulable(std::move(qp), backoff, readd);
    if (!readd) queue->Done(pod->key);
    if (!nominated.empty()) queue->AddNominated(pod, nominated);
    Log().V(2, "unable to schedule pod", {{"pod", pod->key}, {"err", msg}});
    Event(*pod->obj, "Warning", "FailedScheduling", "Scheduling", msg);
    // Status: only when it changes, so our own write does not come back as
    // an update that looks like news.
    bool cond_same = false;
    if (const auto* conds = api::ArrAt(*pod->obj, {"status", "conditions"})) {
      for (const auto& c : *conds) {
        if (!c.is_object() || api::StrAt(c.get_object(), {"type"}) != "PodScheduled") continue;
        cond_same = api::StrAt(c.get_object(), {"status"}) == "False" &&
                    api::StrAt(c.get_object(), {"reason"}) == "Unschedulable" &&
                    api::StrAt(c.get_object(), {"message"}) == msg;
      }
    }
    bool nom_change = (!nominated.empty() && nominated != pod->nominated_node_name) ||
                      (clear_nomination && !pod->nominated_node_name.empty());
    if (cond_same && !nom_change) return;
    bj::object status;
    if (!cond_same) {
      status["conditions"] = bj::array{bj::object{{"type", "PodScheduled"},
                                                  {"status", "False"},
                                                  {"reason", "Unschedulable"},
                                                  {"message", msg},
                                                  {"lastProbeTime", nullptr},
                                                  {"lastTransitionTime", api::FormatTime(std::chrono::system_clock::now())}}};
    }
    if (nom_change) status["nominatedNodeName"] = nominated.empty() ? bj::value(nullptr) : bj::value(nominated);
    std::string ns = pod->ns, name = pod->name;
    binders->Submit([this, ns, name, status = std::move(status)] {
      bj::object patch{{"status", status}};
      auto r = client->Patch(client::ResourcePath("", "v1", "pods", ns, name, "status"),
                             "application/strategic-merge-patch+json", patch);
      if (!r.ok() && !r.status().IsNotFound()) {
        Log().V(1, "cannot update pod status", {{"pod", ns + "/" + name}, {"err", r.status().ToString()}});
      }
    });
  }
};

Scheduler::Scheduler(client::RestClient* client, SchedulerOptions options)
    : client_(client), options_(std::move(options)) {
  if (options_.config.profiles.empty()) options_.config.profiles.push_back(DefaultProfile());
  if (options_.identity.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    options_.identity = std::string(host) + "_" + api::NewUid();
  }
}

Scheduler::~Scheduler() { Stop(); }

Status Scheduler::Validate() {
  for (const auto& p : options_.config.profiles) {
    ASSIGN_OR_RETURN(auto fw, Framework::New(p, Handle{client_}));
  }
  return Status::OK();
}

void Scheduler::Start() {
  if (!options_.leader_elect) {
    StartScheduling();
    return;
  }
  client::LeaderElectionConfig le;
  le.lease_name = options_.lease_name;
  le.identity = options_.identity;
  le.on_started_leading = [this] { StartScheduling(); };
  le.on_stopped_leading = [this] { StopScheduling(); };
  elector_ = std::make_unique<client::LeaderElector>(client_, le);
  elector_->Start();
}

void Scheduler::StartScheduling() {
  std::lock_guard<std::mutex> g(run_mu_);
  if (run_) return;
  auto r = std::make_unique<Run>();
  Run* run = r.get();
  r->client = client_;
  r->options = &options_;
  r->scheduled = &scheduled_;
  r->events = std::make_unique<client::EventRecorder>(client_, options_.config.profiles.front().scheduler_name);
  r->binders = std::make_unique<ThreadPool>(options_.bind_workers, "sched-bind");
  for (const auto& p : options_.config.profiles) {
    Handle h;
    h.client = client_;
    h.nominated_pods = [run](const std::string& node) { return run->queue->NominatedPods(node); };
    h.event = [run](const bj::object& obj, std::string type, std::string reason, std::string action, std::string msg) {
      run->Event(obj, type, reason, action, msg);
    };
    auto fw = Framework::New(p, h);
    if (!fw.ok()) {
      Log().Error("invalid profile", {{"profile", p.scheduler_name}, {"err", fw.status().ToString()}});
      continue;
    }
    r->profiles[p.scheduler_name] = std::move(*fw);
  }
  if (r->profiles.empty()) return;
  Framework* first = r->profiles.begin()->second.get();
  r->queue = std::make_unique<SchedulingQueue>(
      [first](const PodInfo& a, int64_t at, const PodInfo& b, int64_t bt) { return first->QueueLess(a, at, b, bt); },
      [run](const PodInfo& p) {
        Framework* fw = run->ProfileFor(p.scheduler_name);
        return fw == nullptr || fw->RunPreEnqueue(p).ok();
      },
      options_.config.pod_initial_backoff, options_.config.pod_max_backoff);
  client::InformerOptions po;
  po.resource = "pods";
  r->pods = std::make_unique<client::Informer>(client_, po);
  r->pods->AddEventHandler({[run](const client::ObjectPtr& o) { run->OnPod(nullptr, o); },
                            [run](const client::ObjectPtr& a, const client::ObjectPtr& b) { run->OnPod(a, b); },
                            [run](const client::ObjectPtr& o) { run->OnPodDelete(o); }});
  client::InformerOptions no;
  no.resource = "nodes";
  r->nodes = std::make_unique<client::Informer>(client_, no);
  r->nodes->AddEventHandler({[run](const client::ObjectPtr& o) { run->OnNode(nullptr, o); },
                             [run](const client::ObjectPtr& a, const client::ObjectPtr& b) { run->OnNode(a, b); },
                             [run](const client::ObjectPtr& o) { run->OnNodeDelete(o); }});
  client::InformerOptions nso;
  nso.resource = "namespaces";
  r->namespaces = std::make_unique<client::Informer>(client_, nso);
  r->namespaces->AddEventHandler({[run](const client::ObjectPtr& o) { run->OnNamespace(o, false); },
                                  [run](const client::ObjectPtr&, const client::ObjectPtr& o) { run->OnNamespace(o, false); },
                                  [run](const client::ObjectPtr& o) { run->OnNamespace(o, true); }});
  // Informers sync on the loop thread (this runs on the elector's, which
  // must return promptly): nodes and namespaces first, so the first pods see them.
  r->nodes->Start();
  r->namespaces->Start();
  r->loop = std::thread([run] {
    while (!run->stopping.load() && !(run->nodes->WaitForSync(std::chrono::milliseconds(200)) &&
                                      run->namespaces->WaitForSync(std::chrono::milliseconds(200)))) {
    }
    if (run->stopping.load()) return;
    run->pods->Start();
    while (!run->stopping.load() && !run->pods->WaitForSync(std::chrono::milliseconds(200))) {
    }
    run->Loop();
  });
  pthread_setname_np(r->loop.native_handle(), "sched-loop");
  run_ = std::move(r);
  leading_.store(true);
  Log().Info("scheduler started", {{"identity", options_.identity},
                                   {"profiles", std::to_string(run_->profiles.size())}});
}

void Scheduler::StopScheduling() {
  std::unique_ptr<Run> r;
  {
    std::lock_guard<std::mutex> g(run_mu_);
    r = std::move(run_);
  }
  leading_.store(false);
  if (!r) return;
  r->stopping.store(true);
  r->queue->ShutDown();
  if (r->loop.joinable()) r->loop.join();
  r->pods->Stop();
  r->nodes->Stop();
  r->namespaces->Stop();
  r->binders->Stop();
  r->events->Stop();
}

void Scheduler::Stop() {
  if (elector_) {
    elector_->Stop();
    elector_.reset();
  }
  StopScheduling();
}

}  // namespace kubepp::scheduler
