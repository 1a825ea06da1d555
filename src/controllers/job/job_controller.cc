#include "controllers/job/job_controller.h"

#include <algorithm>

#include "api/object.h"
#include "api/time.h"
#include "common/log.h"

namespace kubepp::controllers {
namespace {

constexpr const char* kIndexAnnotation = "batch.kubernetes.io/job-completion-index";
constexpr auto kBackoffBase = std::chrono::seconds(10);
constexpr auto kBackoffMax = std::chrono::seconds(360);

const log::Logger& Log() {
  static const log::Logger l("job-controller");
  return l;
}

bool HasCondition(const bj::object& job, std::string_view type) {
  if (const auto* conds = api::ArrAt(job, {"status", "conditions"})) {
    for (const auto& c : *conds) {
      if (c.is_object() && api::StrAt(c.get_object(), {"type"}) == type && api::StrAt(c.get_object(), {"status"}) == "True") {
        return true;
      }
    }
  }
  return false;
}

std::optional<int64_t> IndexOf(const bj::object& pod) {
  std::string_view v = api::StrAt(pod, {"metadata", "annotations", kIndexAnnotation});
  if (v.empty()) return std::nullopt;
  return std::strtoll(std::string(v).c_str(), nullptr, 10);
}

std::optional<std::chrono::system_clock::time_point> FinishedAt(const bj::object& pod) {
  std::optional<std::chrono::system_clock::time_point> last;
  if (const auto* cs = api::ArrAt(pod, {"status", "containerStatuses"})) {
    for (const auto& c : *cs) {
      if (auto t = api::ParseTime(api::StrAt(c.get_object(), {"state", "terminated", "finishedAt"}))) {
        if (!last || *t > *last) last = t;
      }
    }
  }
  return last;
}

}  // namespace

std::string CompressIndexes(const std::set<int64_t>& idx) {
  std::string out;
  for (auto it = idx.begin(); it != idx.end();) {
    int64_t start = *it, end = start;
    ++it;
    while (it != idx.end() && *it == end + 1) end = *it++;
    if (!out.empty()) out += ",";
    out += std::to_string(start);
    if (end > start) out += "-" + std::to_string(end);
  }
  return out;
}

JobController::JobController(client::RestClient* client) : QueueController("job", 5), client_(client) {}

void JobController::Init(InformerFactory* informers) {
  EnableEvents(client_, "job-controller");
  jobs_ = informers->For("batch", "v1", "jobs");
  pods_ = informers->For("", "v1", "pods");
  client::EventHandler jobs = EnqueueKeys();
  jobs.on_delete = [this](const client::ObjectPtr& o) { expectations_.Delete(client::KeyOf(*o)); };
  jobs_->AddEventHandler(jobs);
  pods_->AddEventHandler({[this](const client::ObjectPtr& p) {
                            std::string k = OwnerKey(*p);
                            if (k.empty()) return;
                            expectations_.CreationObserved(k);
                            queue().Add(k);
                          },
                          [this](const client::ObjectPtr&, const client::ObjectPtr& p) {
                            std::string k = OwnerKey(*p);
                            if (!k.empty()) queue().Add(k);
                          },
                          [this](const client::ObjectPtr& p) {
                            std::string k = OwnerKey(*p);
                            if (k.empty()) return;
                            expectations_.DeletionObserved(k);
                            queue().Add(k);
                          }});
}


std::string JobController::OwnerKey(const bj::object& pod) const {
  auto ref = GetControllerRef(pod);
  if (!ref || ref->kind != "Job") return "";
  return std::string(api::Namespace(pod)) + "/" + ref->name;
}

Status JobController::DeletePods(const bj::object& job, const std::vector<client::ObjectPtr>& pods) {
  for (const auto& p : pods) {
    auto r = client_->Delete(client::ResourcePath("", "v1", "pods", std::string(api::Namespace(*p)), std::string(api::Name(*p))));
    if (!r.ok() && !r.status().IsNotFound()) return r.status();
    events().Record(client::ObjectReference(job, "batch/v1", "Job"), "Normal", "SuccessfulDelete",
                    "Deleted pod: " + std::string(api::Name(*p)));
  }
  return Status::OK();
}

Status JobController::Finish(const bj::object& job, bj::object status, const std::vector<client::ObjectPtr>& active,
                             const std::string& type, const std::string& reason, const std::string& msg) {
  RETURN_IF_ERROR(DeletePods(job, active));
  std::string now = api::FormatTime(std::chrono::system_clock::now());
  bj::array conds;
  if (const auto* cur = api::ArrAt(job, {"status", "conditions"})) conds = *cur;
  std::string first = type == "Complete" ? "SuccessCriteriaMet" : "FailureTarget";
  for (const auto& t : {first, type}) {
    conds.push_back(bj::object{{"type", t}, {"status", "True"}, {"lastProbeTime", now},
                               {"lastTransitionTime", now}, {"reason", reason}, {"message", msg}});
  }
  status["conditions"] = std::move(conds);
  status["active"] = 0;
  if (type == "Complete") status["completionTime"] = now;
  auto r = client_->Patch(client::ResourcePath("batch", "v1", "jobs", std::string(api::Namespace(job)),
                                               std::string(api::Name(job)), "status"),
                          "application/merge-patch+json", bj::object{{"status", std::move(status)}});
  if (!r.ok()) return r.status();
  events().Record(client::ObjectReference(job, "batch/v1", "Job"), type == "Complete" ? "Normal" : "Warning",
                  type == "Complete" ? "Completed" : reason, type == "Complete" ? "Job completed" : msg);
  return Status::OK();
}

Status JobController::Reconcile(const std::string& key) {
  client::ObjectPtr jp = jobs_->Get(key);
  if (jp == nullptr) return Status::OK();
  const bj::object& job = *jp;
  std::string ns(api::Namespace(job)), name(api::Name(job)), uid(api::Uid(job));
  auto now = std::chrono::system_clock::now();
  std::string now_s = api::FormatTime(now);

  if (HasCondition(job, "Complete") || HasCondition(job, "Failed")) {
    // ttlSecondsAfterFinished (upstream's ttl-after-finished controller).
    if (auto ttl = api::IntAt(job, {"spec", "ttlSecondsAfterFinished"})) {
      std::string_view fin = api::StrAt(job, {"status", "completionTime"});
      if (fin.empty()) {
        if (const auto* conds = api::ArrAt(job, {"status", "conditions"})) {
          for (const auto& c : *conds) {
            std::string_view t = api::StrAt(c.get_object(), {"type"});
            if (t == "Complete" || t == "Failed") fin = api::StrAt(c.get_object(), {"lastTransitionTime"});
          }
        }
      }
      auto at = api::ParseTime(fin).value_or(now) + std::chrono::seconds(*ttl);
      if (at > now) {
        queue().AddAfter(key, at - now);
      } else if (api::At(job, {"metadata", "deletionTimestamp"}) == nullptr) {
        bj::value opts = bj::object{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"propagationPolicy", "Foreground"},
                                    {"preconditions", bj::object{{"uid", uid}}}};
        auto r = client_->Delete(client::ResourcePath("batch", "v1", "jobs", ns, name), &opts);
        if (!r.ok() && !r.status().IsNotFound() && !r.status().IsConflict()) return r.status();
      }
    }
    return Status::OK();
  }
  if (api::At(job, {"metadata", "deletionTimestamp"}) != nullptr) return Status::OK();

  std::vector<client::ObjectPtr> active;
  int64_t succeeded = 0, failed = 0, ready = 0;
  std::set<int64_t> done_indexes, active_indexes;
  std::optional<std::chrono::system_clock::time_point> last_failure;
  for (const auto& p : pods_->ByIndex("namespace", ns)) {
    auto ref = GetControllerRef(*p);
    if (!ref || ref->uid != uid) continue;
    std::string_view phase = api::StrAt(*p, {"status", "phase"});
    if (phase == "Succeeded") {
      ++succeeded;
      if (auto i = IndexOf(*p)) done_indexes.insert(*i);
    } else if (phase == "Failed") {
      ++failed;
      auto f = FinishedAt(*p);
      if (f && (!last_failure || *f > *last_failure)) last_failure = f;
    } else if (api::At(*p, {"metadata", "deletionTimestamp"}) == nullptr) {
      active.push_back(p);
      if (IsPodReady(*p)) ++ready;
      if (auto i = IndexOf(*p)) active_indexes.insert(*i);
    }
  }
  // Counts never go down (a finished pod may be removed later).
  succeeded = std::max(succeeded, api::IntAt(job, {"status", "succeeded"}).value_or(0));
  failed = std::max(failed, api::IntAt(job, {"status", "failed"}).value_or(0));

  bool indexed = api::StrAt(job, {"spec", "completionMode"}) == "Indexed";
  int64_t parallelism = api::IntAt(job, {"spec", "parallelism"}).value_or(1);
  std::optional<int64_t> completions = api::IntAt(job, {"spec", "completions"});
  int64_t backoff_limit = api::IntAt(job, {"spec", "backoffLimit"}).value_or(6);
  bool suspended = api::BoolAt(job, {"spec", "suspend"});

  bj::object status{{"active", static_cast<int64_t>(active.size())},
                    {"succeeded", succeeded},
                    {"failed", failed},
                    {"ready", ready},
                    {"terminating", 0},
                    {"uncountedTerminatedPods", bj::object()}};
  if (indexed) status["completedIndexes"] = CompressIndexes(done_indexes);
  std::string start(api::StrAt(job, {"status", "startTime"}));
  if (start.empty() && !suspended) {
    start = now_s;
    status["startTime"] = start;
  }
  if (auto ads = api::IntAt(job, {"spec", "activeDeadlineSeconds"}); ads && !start.empty()) {
    auto started = api::ParseTime(start).value_or(now);
    if (now >= started + std::chrono::seconds(*ads)) {
      return Finish(job, std::move(status), active, "Failed", "DeadlineExceeded",
                    "Job was active longer than specified deadline");
    }
    queue().AddAfter(key, started + std::chrono::seconds(*ads) - now);
  }
  if (failed > backoff_limit) {
    return Finish(job, std::move(status), active, "Failed", "BackoffLimitExceeded",
                  "Job has reached the specified backoff limit");
  }
  bool complete = indexed ? completions && static_cast<int64_t>(done_indexes.size()) >= *completions
                          : completions ? succeeded >= *completions : succeeded > 0 && active.empty();
  if (complete) {
    status["succeeded"] = indexed ? static_cast<int64_t>(done_indexes.size()) : succeeded;
    return Finish(job, std::move(status), active, "Complete", "CompletionsReached",
                  "Reached expected number of succeeded pods");
  }

  Status manage;
  if (suspended) {
    manage = DeletePods(job, active);
  } else if (expectations_.Satisfied(key)) {
    int64_t want;
    if (!completions) want = succeeded > 0 ? static_cast<int64_t>(active.size()) : parallelism;
    else want = std::min(parallelism, *completions - (indexed ? static_cast<int64_t>(done_indexes.size()) : succeeded));
    want = std::max<int64_t>(want, 0);
    int64_t have = static_cast<int64_t>(active.size());
    if (have > want) {
      SortPodsForDeletion(active);
      active.resize(static_cast<size_t>(have - want));
      manage = DeletePods(job, active);
    } else if (have < want) {
      // Exponential delay after failures.
      if (failed > 0 && last_failure) {
        auto delay = kBackoffBase;
        for (int64_t i = 1; i < failed && delay < kBackoffMax; ++i) delay *= 2;
        delay = std::min(delay, std::chrono::duration_cast<std::chrono::seconds>(kBackoffMax));
        if (now < *last_failure + delay) {
          queue().AddAfter(key, *last_failure + delay - now);
          want = have;
        }
      }
      std::vector<int64_t> indexes;
      if (indexed) {
        for (int64_t i = 0; i < *completions && static_cast<int64_t>(indexes.size()) < want - have; ++i) {
          if (!done_indexes.count(i) && !active_indexes.count(i)) indexes.push_back(i);
        }
      }
      int n = static_cast<int>(indexed ? static_cast<int64_t>(indexes.size()) : want - have);
      if (n > 0) {
        const bj::object* tmpl = api::ObjAt(job, {"spec", "template"});
        bj::object ref = NewControllerRef(job, "batch/v1", "Job");
        expectations_.Expect(key, n, 0);
        int made = SlowStartBatch(n, [&](int i) {
          bj::object pod = PodFromTemplate(tmpl ? *tmpl : bj::object(), ns, name, ref);
          if (indexed) {
            std::string idx = std::to_string(indexes[static_cast<size_t>(i)]);
            bj::object& meta = api::Meta(pod);
            meta["generateName"] = name + "-" + idx + "-";
            api::Obj(meta, "annotations")[kIndexAnnotation] = idx;
            api::Obj(meta, "labels")[kIndexAnnotation] = idx;
            bj::object& spec = api::Obj(pod, "spec");
            spec["hostname"] = name + "-" + idx;
            for (auto& c : api::Arr(spec, "containers")) {
              api::Arr(c.as_object(), "env").push_back(bj::object{{"name", "JOB_COMPLETION_INDEX"}, {"value", idx}});
            }
          }
          auto r = client_->Post(client::ResourcePath("", "v1", "pods", ns), pod);
          if (!r.ok()) {
            Log().V(1, "create pod failed", {{"job", key}, {"err", r.status().ToString()}});
            return false;
          }
          events().Record(client::ObjectReference(job, "batch/v1", "Job"), "Normal", "SuccessfulCreate",
                          "Created pod: " + std::string(api::StrAt(r->get_object(), {"metadata", "name"})));
          return true;
        });
        expectations_.Lower(key, n - made, 0);
        if (made < n) manage = Status::Internal("could not create every pod");
      }
    }
  }
  // Suspended condition.
  bj::array conds;
  if (const auto* cur = api::ArrAt(job, {"status", "conditions"})) conds = *cur;
  bool has_suspended = HasCondition(job, "Suspended");
  if (suspended != has_suspended) {
    bj::array kept;
    for (const auto& c : conds) {
      if (api::StrAt(c.get_object(), {"type"}) != "Suspended") kept.push_back(c);
    }
    kept.push_back(bj::object{{"type", "Suspended"}, {"status", suspended ? "True" : "False"}, {"lastProbeTime", now_s},
                              {"lastTransitionTime", now_s}, {"reason", suspended ? "JobSuspended" : "JobResumed"},
                              {"message", suspended ? "Job suspended" : "Job resumed"}});
    status["conditions"] = std::move(kept);
  }
  bool changed = status.contains("conditions") || status.contains("startTime");
  for (const char* k : {"active", "succeeded", "failed", "ready"}) {
    if (api::IntAt(job, {"status", k}).value_or(-1) != status[k].as_int64()) changed = true;
  }
  if (indexed && api::StrAt(job, {"status", "completedIndexes"}) != status["completedIndexes"].as_string()) changed = true;
  if (changed) {
    auto r = client_->Patch(client::ResourcePath("batch", "v1", "jobs", ns, name, "status"), "application/merge-patch+json",
                            bj::object{{"status", std::move(status)}});
    if (!r.ok() && !r.status().IsNotFound()) return r.status();
  }
  return manage;
}

}  // namespace kubepp::controllers
