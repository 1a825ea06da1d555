#include "controllers/cronjob/cronjob_controller.h"

#include <algorithm>

#include "api/object.h"
#include "api/time.h"
#include "controllers/cronjob/cron_schedule.h"

namespace kubepp::controllers {
namespace {

std::string Finished(const bj::object& job) {
  if (const auto* conds = api::ArrAt(job, {"status", "conditions"})) {
    for (const auto& c : *conds) {
      std::string_view t = api::StrAt(c.get_object(), {"type"});
      if ((t == "Complete" || t == "Failed") && api::StrAt(c.get_object(), {"status"}) == "True") return std::string(t);
    }
  }
  return "";
}

}  // namespace

CronJobController::CronJobController(client::RestClient* client) : QueueController("cronjob", 3), client_(client) {}

void CronJobController::Init(InformerFactory* informers) {
  EnableEvents(client_, "cronjob-controller");
  cronjobs_ = informers->For("batch", "v1", "cronjobs");
  jobs_ = informers->For("batch", "v1", "jobs");
  cronjobs_->AddEventHandler(EnqueueKeys());
  jobs_->AddEventHandler(EnqueueOwners("CronJob"));
}


Status CronJobController::Reconcile(const std::string& key) {
  client::ObjectPtr cp = cronjobs_->Get(key);
  if (cp == nullptr) return Status::OK();
  const bj::object& cj = *cp;
  if (api::At(cj, {"metadata", "deletionTimestamp"}) != nullptr) return Status::OK();
  std::string ns(api::Namespace(cj)), name(api::Name(cj)), uid(api::Uid(cj));
  auto now = std::chrono::system_clock::now();
  bj::object ref_owner = NewControllerRef(cj, "batch/v1", "CronJob");

  std::vector<client::ObjectPtr> active, succeeded, failed;
  std::set<std::string> names;
  std::optional<std::chrono::system_clock::time_point> last_success;
  for (const auto& j : jobs_->ByIndex("namespace", ns)) {
    auto ref = GetControllerRef(*j);
    if (!ref || ref->uid != uid) continue;
    names.insert(std::string(api::Name(*j)));
    std::string fin = Finished(*j);
    if (fin.empty()) {
      if (api::At(*j, {"metadata", "deletionTimestamp"}) == nullptr) active.push_back(j);
    } else if (fin == "Complete") {
      succeeded.push_back(j);
      if (auto t = api::ParseTime(api::StrAt(*j, {"status", "completionTime"})); t && (!last_success || *t > *last_success)) {
        last_success = t;
      }
    } else {
      failed.push_back(j);
    }
  }
  // History limits: oldest finished jobs beyond the limits go.
  auto prune = [&](std::vector<client::ObjectPtr>& jobs, int64_t limit) {
    std::sort(jobs.begin(), jobs.end(), [](const client::ObjectPtr& a, const client::ObjectPtr& b) {
      return api::StrAt(*a, {"metadata", "creationTimestamp"}) < api::StrAt(*b, {"metadata", "creationTimestamp"});
    });
    for (size_t i = 0; i + static_cast<size_t>(std::max<int64_t>(limit, 0)) < jobs.size(); ++i) {
      bj::value opts = bj::object{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"propagationPolicy", "Background"}};
      (void)client_->Delete(client::ResourcePath("batch", "v1", "jobs", ns, std::string(api::Name(*jobs[i]))), &opts);
      events().Record(client::ObjectReference(cj, "batch/v1", "CronJob"), "Normal", "SuccessfulDelete",
                      "Deleted job " + std::string(api::Name(*jobs[i])));
    }
  };
  prune(succeeded, api::IntAt(cj, {"spec", "successfulJobsHistoryLimit"}).value_or(3));
  prune(failed, api::IntAt(cj, {"spec", "failedJobsHistoryLimit"}).value_or(1));

  std::optional<std::chrono::system_clock::time_point> scheduled_at;
  std::string created_name;
  auto sched = CronSchedule::Parse(api::StrAt(cj, {"spec", "schedule"}));
  if (!sched.ok()) {
    events().Record(client::ObjectReference(cj, "batch/v1", "CronJob"), "Warning", "UnparseableSchedule",
                    "unparseable schedule: \"" + std::string(api::StrAt(cj, {"spec", "schedule"})) + "\" : " +
                        sched.status().message());
  } else if (!api::BoolAt(cj, {"spec", "suspend"})) {
    std::string_view last_s = api::StrAt(cj, {"status", "lastScheduleTime"});
    auto earliest = api::ParseTime(last_s.empty() ? api::StrAt(cj, {"metadata", "creationTimestamp"}) : last_s).value_or(now);
    auto sds = api::IntAt(cj, {"spec", "startingDeadlineSeconds"});
    if (sds && earliest < now - std::chrono::seconds(*sds)) earliest = now - std::chrono::seconds(*sds);
    std::optional<std::chrono::system_clock::time_point> latest;
    for (auto t = sched->Next(earliest); t <= now; t = sched->Next(t)) latest = t;
    if (latest) {
      std::string job_name = name + "-" + std::to_string(std::chrono::duration_cast<std::chrono::minutes>(
                                                             latest->time_since_epoch()).count());
      std::string_view policy = api::StrAt(cj, {"spec", "concurrencyPolicy"}, "Allow");
      bool skip = names.count(job_name) > 0;
      if (!skip && policy == "Forbid" && !active.empty()) {
        events().Record(client::ObjectReference(cj, "batch/v1", "CronJob"), "Normal", "JobAlreadyActive",
                        "Not starting job because prior execution is running and concurrency policy is Forbid");
        skip = true;
      }
      if (!skip && policy == "Replace") {
        for (const auto& j : active) {
          bj::value opts = bj::object{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"propagationPolicy", "Background"}};
          (void)client_->Delete(client::ResourcePath("batch", "v1", "jobs", ns, std::string(api::Name(*j))), &opts);
          events().Record(client::ObjectReference(cj, "batch/v1", "CronJob"), "Normal", "SuccessfulDelete",
                          "Deleted job " + std::string(api::Name(*j)));
        }
        active.clear();
      }
      if (!skip) {
        const bj::object* tmpl = api::ObjAt(cj, {"spec", "jobTemplate"});
        bj::object meta{{"name", job_name}, {"namespace", ns}, {"ownerReferences", bj::array{ref_owner}}};
        if (tmpl != nullptr) {
          if (const auto* l = api::ObjAt(*tmpl, {"metadata", "labels"})) meta["labels"] = *l;
          if (const auto* a = api::ObjAt(*tmpl, {"metadata", "annotations"})) meta["annotations"] = *a;
        }
        api::Obj(meta, "annotations")["batch.kubernetes.io/cronjob-scheduled-timestamp"] = api::FormatTime(*latest);
        bj::object job{{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", std::move(meta)}};
        if (tmpl != nullptr && api::ObjAt(*tmpl, {"spec"})) job["spec"] = *api::ObjAt(*tmpl, {"spec"});
        auto r = client_->Post(client::ResourcePath("batch", "v1", "jobs", ns), job);
        if (!r.ok() && !r.status().IsAlreadyExists()) {
          events().Record(client::ObjectReference(cj, "batch/v1", "CronJob"), "Warning", "FailedCreate",
                          "Error creating job: " + r.status().message());
          return r.status();
        }
        if (r.ok()) {
          events().Record(client::ObjectReference(cj, "batch/v1", "CronJob"), "Normal", "SuccessfulCreate",
                          "Created job " + job_name);
          active.push_back(std::make_shared<const bj::object>(r->get_object()));
        }
      }
      scheduled_at = latest;
    }
    auto next = sched->Next(now);
    queue().AddAfter(key, next - now + std::chrono::milliseconds(100));
  }
  // Status.
  bj::array refs;
  for (const auto& j : active) {
    refs.push_back(bj::object{{"kind", "Job"}, {"namespace", ns}, {"name", api::Name(*j)}, {"uid", api::Uid(*j)},
                              {"apiVersion", "batch/v1"}, {"resourceVersion", api::ResourceVersion(*j)}});
  }
  bj::object status;
  const bj::value* cur_active = api::At(cj, {"status", "active"});
  bool active_changed = (cur_active == nullptr ? refs.size() != 0 : !cur_active->is_array() ||
                                                                       cur_active->get_array().size() != refs.size());
  if (active_changed) status["active"] = refs.empty() ? bj::value(nullptr) : bj::value(refs);
  if (scheduled_at && api::StrAt(cj, {"status", "lastScheduleTime"}) != api::FormatTime(*scheduled_at)) {
    status["lastScheduleTime"] = api::FormatTime(*scheduled_at);
  }
  if (last_success && api::StrAt(cj, {"status", "lastSuccessfulTime"}) != api::FormatTime(*last_success)) {
    status["lastSuccessfulTime"] = api::FormatTime(*last_success);
  }
  if (status.empty()) return Status::OK();
  auto r = client_->Patch(client::ResourcePath("batch", "v1", "cronjobs", ns, name, "status"), "application/merge-patch+json",
                          bj::object{{"status", std::move(status)}});
  if (!r.ok() && !r.status().IsNotFound()) return r.status();
  return Status::OK();
}

}  // namespace kubepp::controllers
