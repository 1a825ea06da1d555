#include "controllers/deployment/deployment_controller.h"

#include <algorithm>
#include <cmath>

#include "api/object.h"
#include "api/selector.h"
#include "api/time.h"
#include "common/log.h"

namespace kubepp::controllers {
namespace {

constexpr const char* kRevision = "deployment.kubernetes.io/revision";
constexpr const char* kDesired = "deployment.kubernetes.io/desired-replicas";
constexpr const char* kMaxReplicas = "deployment.kubernetes.io/max-replicas";
constexpr const char* kHashLabel = "pod-template-hash";

int64_t Revision(const bj::object& rs) {
  std::string_view r = api::StrAt(rs, {"metadata", "annotations", kRevision});
  return r.empty() ? 0 : std::strtoll(std::string(r).c_str(), nullptr, 10);
}

int64_t Replicas(const bj::object& o) { return api::IntAt(o, {"spec", "replicas"}).value_or(0); }
int64_t StatusInt(const bj::object& o, std::string_view k) { return api::IntAt(o, {"status", k}).value_or(0); }

// An int-or-percent of `total` (surge rounds up, unavailable down).
int64_t IntOrPercent(const bj::value* v, int64_t total, bool round_up, int64_t def_percent) {
  if (v == nullptr) return round_up ? (total * def_percent + 99) / 100 : total * def_percent / 100;
  if (v->is_int64()) return v->get_int64();
  if (v->is_string()) {
    std::string s(v->get_string());
    if (!s.empty() && s.back() == '%') {
      int64_t p = std::strtoll(s.c_str(), nullptr, 10);
      return round_up ? (total * p + 99) / 100 : total * p / 100;
    }
    return std::strtoll(s.c_str(), nullptr, 10);
  }
  return 0;
}

bj::object TemplateWithoutHash(const bj::object& tmpl) {
  bj::object t = tmpl;
  if (auto* meta = t.if_contains("metadata"); meta && meta->is_object()) {
    if (auto* labels = meta->as_object().if_contains("labels"); labels && labels->is_object()) {
      labels->as_object().erase(kHashLabel);
      if (labels->as_object().empty()) meta->as_object().erase("labels");
    }
  }
  return t;
}

bj::object SetCondition(const bj::object* current, const std::string& type, const std::string& status,
                        const std::string& reason, const std::string& msg, const std::string& now) {
  bj::object c{{"type", type}, {"status", status}, {"lastUpdateTime", now}, {"lastTransitionTime", now},
               {"reason", reason}, {"message", msg}};
  if (current != nullptr && api::StrAt(*current, {"status"}) == status) {
    c["lastTransitionTime"] = api::StrAt(*current, {"lastTransitionTime"});
    if (api::StrAt(*current, {"reason"}) == reason && api::StrAt(*current, {"message"}) == msg) {
      c["lastUpdateTime"] = api::StrAt(*current, {"lastUpdateTime"});
    }
  }
  return c;
}

const bj::object* FindCondition(const bj::object& d, std::string_view type) {
  if (const auto* conds = api::ArrAt(d, {"status", "conditions"})) {
    for (const auto& c : *conds) {
      if (c.is_object() && api::StrAt(c.get_object(), {"type"}) == type) return &c.get_object();
    }
  }
  return nullptr;
}

}  // namespace

std::string PodTemplateHash(const bj::object& tmpl, int64_t collision_count) {
  std::string data = bj::serialize(tmpl);
  if (collision_count > 0) data += std::to_string(collision_count);
  uint32_t h = 2166136261u;
  for (unsigned char c : data) {
    h ^= c;
    h *= 16777619u;
  }
  static const char kAlphanums[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string dec = std::to_string(h), out;
  for (unsigned char c : dec) out += kAlphanums[c % 27];
  return out;
}

DeploymentController::DeploymentController(client::RestClient* client)
    : QueueController("deployment", 5), client_(client) {}

void DeploymentController::Init(InformerFactory* informers) {
  EnableEvents(client_, "deployment-controller");
  deployments_ = informers->For("apps", "v1", "deployments");
  replicasets_ = informers->For("apps", "v1", "replicasets");
  pods_ = informers->For("", "v1", "pods");
  deployments_->AddEventHandler(EnqueueKeys(true));
  replicasets_->AddEventHandler(OnEvery([this](const client::ObjectPtr& o) { EnqueueOwnerOf(*o); }));
  // Recreate waits for old pods to go.
  pods_->AddEventHandler({nullptr, nullptr, [this](const client::ObjectPtr& p) {
                            auto ref = GetControllerRef(*p);
                            if (!ref || ref->kind != "ReplicaSet") return;
                            if (auto rs = replicasets_->Get(std::string(api::Namespace(*p)) + "/" + ref->name)) {
                              EnqueueOwnerOf(*rs);
                            }
                          }});
}


void DeploymentController::EnqueueOwnerOf(const bj::object& rs) {
  std::string ns(api::Namespace(rs));
  if (auto ref = GetControllerRef(rs)) {
    if (ref->kind == "Deployment") queue().Add(ns + "/" + ref->name);
    return;
  }
  for (const auto& d : deployments_->ByIndex("namespace", ns)) {
    auto sel = api::LabelSelector::FromObject(api::At(*d, {"spec", "selector"}));
    if (sel.ok() && !sel->empty() && sel->MatchesObject(rs)) queue().Add(client::KeyOf(*d));
  }
}

Status DeploymentController::Scale(const bj::object& d, const bj::object& rs, int64_t to, int64_t max_surge) {
  int64_t from = Replicas(rs);
  int64_t want = Replicas(d);
  bj::object patch{{"metadata", bj::object{{"annotations", bj::object{{kDesired, std::to_string(want)},
                                                                       {kMaxReplicas, std::to_string(want + max_surge)}}}}},
                   {"spec", bj::object{{"replicas", to}}}};
  auto r = client_->Patch(client::ResourcePath("apps", "v1", "replicasets", std::string(api::Namespace(rs)),
                                               std::string(api::Name(rs))),
                          "application/merge-patch+json", patch);
  if (!r.ok()) return r.status();
  if (from != to) {
    events().Record(client::ObjectReference(d, "apps/v1", "Deployment"), "Normal", "ScalingReplicaSet",
                    std::string("Scaled ") + (to > from ? "up" : "down") + " replica set " + std::string(api::Name(rs)) +
                        " to " + std::to_string(to) + " from " + std::to_string(from));
  }
  return Status::OK();
}

Result<bj::object> DeploymentController::CreateNewReplicaSet(const bj::object& d, const std::string& hash,
                                                             int64_t replicas, int64_t revision, int64_t max_surge) {
  std::string ns(api::Namespace(d)), name = std::string(api::Name(d)) + "-" + hash;
  bj::object tmpl = *api::ObjAt(d, {"spec", "template"});
  api::Obj(api::Obj(tmpl, "metadata"), "labels")[kHashLabel] = hash;
  bj::object selector = *api::ObjAt(d, {"spec", "selector"});
  api::Obj(selector, "matchLabels")[kHashLabel] = hash;
  bj::object labels = api::ObjAt(tmpl, {"metadata", "labels"}) ? *api::ObjAt(tmpl, {"metadata", "labels"}) : bj::object();
  int64_t want = Replicas(d);
  bj::object rs{{"apiVersion", "apps/v1"},
                {"kind", "ReplicaSet"},
                {"metadata", bj::object{{"name", name},
                                        {"namespace", ns},
                                        {"labels", labels},
                                        {"annotations", bj::object{{kRevision, std::to_string(revision)},
                                                                   {kDesired, std::to_string(want)},
                                                                   {kMaxReplicas, std::to_string(want + max_surge)}}},
                                        {"ownerReferences", bj::array{NewControllerRef(d, "apps/v1", "Deployment")}}}},
                {"spec", bj::object{{"replicas", replicas},
                                    {"minReadySeconds", api::IntAt(d, {"spec", "minReadySeconds"}).value_or(0)},
                                    {"selector", std::move(selector)},
                                    {"template", std::move(tmpl)}}}};
  auto r = client_->Post(client::ResourcePath("apps", "v1", "replicasets", ns), rs);
  if (!r.ok()) return r.status();
  if (replicas > 0) {
    events().Record(client::ObjectReference(d, "apps/v1", "Deployment"), "Normal", "ScalingReplicaSet",
                    "Scaled up replica set " + name + " to " + std::to_string(replicas) + " from 0");
  }
  return r->get_object();
}

Status DeploymentController::Reconcile(const std::string& key) {
  client::ObjectPtr dp = deployments_->Get(key);
  if (dp == nullptr) return Status::OK();
  const bj::object& d = *dp;
  if (api::At(d, {"metadata", "deletionTimestamp"}) != nullptr) return Status::OK();
  std::string ns(api::Namespace(d)), name(api::Name(d)), uid(api::Uid(d));
  auto sel = api::LabelSelector::FromObject(api::At(d, {"spec", "selector"}));
  if (!sel.ok() || sel->empty()) return Status::OK();  // validation refuses these; nothing to select

  // Claim replica sets.
  std::vector<client::ObjectPtr> all;
  for (const auto& rs : replicasets_->ByIndex("namespace", ns)) {
    auto ref = GetControllerRef(*rs);
    bool matches = sel->MatchesObject(*rs);
    if (ref && ref->uid == uid) {
      if (matches) all.push_back(rs);
    } else if (!ref && matches) {
      bj::array refs;
      if (const auto* cur = api::ArrAt(*rs, {"metadata", "ownerReferences"})) refs = *cur;
      refs.push_back(NewControllerRef(d, "apps/v1", "Deployment"));
      bj::object patch{{"metadata", bj::object{{"ownerReferences", std::move(refs)}, {"uid", api::Uid(*rs)}}}};
      if (client_->Patch(client::ResourcePath("apps", "v1", "replicasets", ns, std::string(api::Name(*rs))),
                         "application/merge-patch+json", patch)
              .ok()) {
        all.push_back(rs);
      }
    }
  }
  const bj::object* tmpl = api::ObjAt(d, {"spec", "template"});
  if (tmpl == nullptr) return Status::OK();
  int64_t collisions = api::IntAt(d, {"status", "collisionCount"}).value_or(0);
  std::string hash = PodTemplateHash(*tmpl, collisions);
  std::string new_name = name + "-" + hash;
  client::ObjectPtr new_rs;
  std::vector<client::ObjectPtr> olds;
  std::sort(all.begin(), all.end(), [](const client::ObjectPtr& a, const client::ObjectPtr& b) {
    return api::StrAt(*a, {"metadata", "creationTimestamp"}) < api::StrAt(*b, {"metadata", "creationTimestamp"});
  });
  for (const auto& rs : all) {
    bool same = api::Name(*rs) == new_name;
    if (!same) {
      if (const auto* t = api::ObjAt(*rs, {"spec", "template"})) same = TemplateWithoutHash(*t) == *tmpl;
    }
    if (same && new_rs == nullptr) new_rs = rs;
    else olds.push_back(rs);
  }
  int64_t max_old_rev = 0;
  for (const auto& rs : olds) max_old_rev = std::max(max_old_rev, Revision(*rs));
  int64_t want = Replicas(d);
  bool recreate = api::StrAt(d, {"spec", "strategy", "type"}) == "Recreate";
  int64_t max_surge = 0, max_unavailable = 0;
  if (!recreate) {
    max_surge = IntOrPercent(api::At(d, {"spec", "strategy", "rollingUpdate", "maxSurge"}), want, true, 25);
    max_unavailable = IntOrPercent(api::At(d, {"spec", "strategy", "rollingUpdate", "maxUnavailable"}), want, false, 25);
    if (max_surge == 0 && max_unavailable == 0) max_unavailable = 1;
    max_unavailable = std::min(max_unavailable, want);
  }
  bool paused = api::BoolAt(d, {"spec", "paused"});
  std::string progress_reason, progress_msg;

  if (paused) {
    // Scaling still applies to a paused deployment's current replica set.
    if (new_rs != nullptr && Replicas(*new_rs) != want && olds.empty()) RETURN_IF_ERROR(Scale(d, *new_rs, want, max_surge));
    return SyncStatus(d, all, new_rs.get(), "DeploymentPaused", "Deployment is paused");
  }

  // Proportional scaling: the deployment was scaled while several replica
  // sets are active; each takes its share of the change (upstream's scale()).
  if (!recreate) {
    std::vector<client::ObjectPtr> active;
    for (const auto& rs : all) {
      if (Replicas(*rs) > 0) active.push_back(rs);
    }
    bool scaling = false;
    for (const auto& rs : active) {
      std::string_view desired = api::StrAt(*rs, {"metadata", "annotations", kDesired});
      if (!desired.empty() && desired != std::to_string(want)) scaling = true;
    }
    if (active.size() > 1 && scaling) {
      int64_t total = 0;
      for (const auto& rs : active) total += Replicas(*rs);
      int64_t allowed = want + max_surge;
      int64_t to_add = allowed - total;
      // Larger sets first when growing, smaller first when shrinking.
      std::sort(active.begin(), active.end(), [to_add](const client::ObjectPtr& a, const client::ObjectPtr& b) {
        return to_add > 0 ? Replicas(*a) > Replicas(*b) : Replicas(*a) < Replicas(*b);
      });
      std::vector<int64_t> sizes;
      int64_t added = 0;
      for (const auto& rs : active) {
        int64_t cur = Replicas(*rs);
        std::string_view max_s = api::StrAt(*rs, {"metadata", "annotations", kMaxReplicas});
        int64_t annotated_max = max_s.empty() ? total : std::strtoll(std::string(max_s).c_str(), nullptr, 10);
        int64_t proportion = 0;
        if (to_add != 0 && annotated_max > 0) {
          int64_t fraction = want == 0 ? -cur
                                       : std::llround(static_cast<double>(cur * allowed) / static_cast<double>(annotated_max)) - cur;
          int64_t remaining = to_add - added;
          proportion = to_add > 0 ? std::min(fraction, remaining) : std::max(fraction, remaining);
        }
        added += proportion;
        sizes.push_back(cur + proportion);
      }
      if (!sizes.empty()) sizes[0] = std::max<int64_t>(0, sizes[0] + to_add - added);  // leftovers to the first
      for (size_t i = 0; i < active.size(); ++i) RETURN_IF_ERROR(Scale(d, *active[i], sizes[i], max_surge));
      return SyncStatus(d, all, new_rs.get(), "", "");
    }
  }

  // The new replica set: created, or re-marked as the latest revision (rollback).
  if (new_rs == nullptr) {
    int64_t replicas = want;
    if (!recreate) {
      int64_t total = 0;
      for (const auto& rs : olds) total += Replicas(*rs);
      replicas = total == 0 ? want : std::max<int64_t>(0, std::min(want, want + max_surge - total));
    } else {
      for (const auto& rs : olds) {
        if (Replicas(*rs) > 0) replicas = 0;
      }
    }
    auto r = CreateNewReplicaSet(d, hash, replicas, max_old_rev + 1, max_surge);
    if (!r.ok()) {
      if (r.status().IsAlreadyExists()) return Status::Conflict("replica set " + new_name + " exists; waiting for the cache");
      return r.status();
    }
    new_rs = std::make_shared<const bj::object>(std::move(*r));
    all.push_back(new_rs);
    progress_reason = "NewReplicaSetCreated";
    progress_msg = "Created new replica set \"" + new_name + "\"";
  } else if (Revision(*new_rs) <= max_old_rev) {
    bj::object patch{{"metadata", bj::object{{"annotations", bj::object{{kRevision, std::to_string(max_old_rev + 1)}}}}}};
    RETURN_IF_ERROR(client_->Patch(client::ResourcePath("apps", "v1", "replicasets", ns, std::string(api::Name(*new_rs))),
                                   "application/merge-patch+json", patch)
                        .status());
  }
  // The deployment carries its current revision too.
  std::string rev = std::to_string(std::max(Revision(*new_rs), max_old_rev + 1));
  if (api::StrAt(d, {"metadata", "annotations", kRevision}) != rev) {
    bj::object patch{{"metadata", bj::object{{"annotations", bj::object{{kRevision, rev}}}}}};
    (void)client_->Patch(client::ResourcePath("apps", "v1", "deployments", ns, name), "application/merge-patch+json", patch);
  }

  if (recreate) {
    bool scaled_down = false;
    for (const auto& rs : olds) {
      if (Replicas(*rs) > 0) {
        RETURN_IF_ERROR(Scale(d, *rs, 0, 0));
        scaled_down = true;
      }
    }
    if (scaled_down) return SyncStatus(d, all, new_rs.get(), progress_reason, progress_msg);
    for (const auto& rs : olds) {
      for (const auto& p : pods_->ByIndex("namespace", ns)) {
        auto ref = GetControllerRef(*p);
        if (ref && ref->uid == api::Uid(*rs)) return SyncStatus(d, all, new_rs.get(), progress_reason, progress_msg);
      }
    }
    if (Replicas(*new_rs) != want) RETURN_IF_ERROR(Scale(d, *new_rs, want, 0));
  } else {
    // reconcileNewReplicaSet
    int64_t total = 0;
    for (const auto& rs : all) total += Replicas(*rs);
    int64_t cur = Replicas(*new_rs);
    bool scaled = false;
    if (cur > want) {
      RETURN_IF_ERROR(Scale(d, *new_rs, want, max_surge));
      scaled = true;
    } else if (cur < want) {
      int64_t to = std::min(want, want + max_surge - total + cur);
      if (to > cur) {
        RETURN_IF_ERROR(Scale(d, *new_rs, to, max_surge));
        scaled = true;
      }
    }
    if (!scaled) {
      // reconcileOldReplicaSets
      int64_t old_total = 0, all_total = 0;
      for (const auto& rs : olds) old_total += Replicas(*rs);
      for (const auto& rs : all) all_total += Replicas(*rs);
      if (old_total > 0) {
        int64_t min_available = want - max_unavailable;
        int64_t new_unavailable = Replicas(*new_rs) - StatusInt(*new_rs, "availableReplicas");
        int64_t max_scaled_down = all_total - min_available - new_unavailable;
        if (max_scaled_down > 0) {
          // First old pods that are not available anyway, then available ones down to minAvailable.
          int64_t all_available = 0;
          for (const auto& rs : all) all_available += StatusInt(*rs, "availableReplicas");
          int64_t budget = max_scaled_down;
          for (const auto& rs : olds) {
            if (budget <= 0) break;
            int64_t unhealthy = Replicas(*rs) - StatusInt(*rs, "availableReplicas");
            int64_t down = std::min(budget, std::max<int64_t>(0, unhealthy));
            if (down > 0) {
              RETURN_IF_ERROR(Scale(d, *rs, Replicas(*rs) - down, max_surge));
              budget -= down;
              all_total -= down;
            }
          }
          int64_t total_down = std::min(all_available - min_available, budget);
          for (const auto& rs : olds) {
            if (total_down <= 0) break;
            int64_t curr = Replicas(*rs);
            if (curr == 0) continue;
            int64_t down = std::min(curr, total_down);
            RETURN_IF_ERROR(Scale(d, *rs, curr - down, max_surge));
            total_down -= down;
          }
        }
      }
    }
  }
  // revisionHistoryLimit: old replica sets with nothing left, oldest first.
  int64_t limit = api::IntAt(d, {"spec", "revisionHistoryLimit"}).value_or(10);
  std::vector<client::ObjectPtr> empty_olds;
  for (const auto& rs : olds) {
    if (Replicas(*rs) == 0 && StatusInt(*rs, "replicas") == 0 && api::At(*rs, {"metadata", "deletionTimestamp"}) == nullptr) {
      empty_olds.push_back(rs);
    }
  }
  std::sort(empty_olds.begin(), empty_olds.end(),
            [](const client::ObjectPtr& a, const client::ObjectPtr& b) { return Revision(*a) < Revision(*b); });
  for (size_t i = 0; i + static_cast<size_t>(std::max<int64_t>(limit, 0)) < empty_olds.size(); ++i) {
    (void)client_->Delete(client::ResourcePath("apps", "v1", "replicasets", ns, std::string(api::Name(*empty_olds[i]))));
  }
  return SyncStatus(d, all, new_rs.get(), progress_reason, progress_msg);
}

Status DeploymentController::SyncStatus(const bj::object& d, const std::vector<client::ObjectPtr>& all,
                                        const bj::object* new_rs, const std::string& progress_reason,
                                        const std::string& progress_msg) {
  int64_t want = Replicas(d);
  int64_t replicas = 0, ready = 0, available = 0;
  for (const auto& rs : all) {
    replicas += StatusInt(*rs, "replicas");
    ready += StatusInt(*rs, "readyReplicas");
    available += StatusInt(*rs, "availableReplicas");
  }
  int64_t updated = new_rs ? StatusInt(*new_rs, "replicas") : 0;
  bool recreate = api::StrAt(d, {"spec", "strategy", "type"}) == "Recreate";
  int64_t max_unavailable =
      recreate ? want : std::min(want, IntOrPercent(api::At(d, {"spec", "strategy", "rollingUpdate", "maxUnavailable"}), want, false, 25));
  std::string now = api::FormatTime(std::chrono::system_clock::now());
  const bj::object* cur_avail = FindCondition(d, "Available");
  const bj::object* cur_prog = FindCondition(d, "Progressing");
  bj::object avail = available >= want - max_unavailable
                         ? SetCondition(cur_avail, "Available", "True", "MinimumReplicasAvailable",
                                        "Deployment has minimum availability.", now)
                         : SetCondition(cur_avail, "Available", "False", "MinimumReplicasUnavailable",
                                        "Deployment does not have minimum availability.", now);
  std::string rs_name = new_rs ? std::string(api::Name(*new_rs)) : "";
  int64_t deadline = api::IntAt(d, {"spec", "progressDeadlineSeconds"}).value_or(600);
  bool complete = updated == want && replicas == want && available == want && new_rs != nullptr &&
                  Replicas(*new_rs) == want;
  bj::object prog;
  if (progress_reason == "DeploymentPaused") {
    prog = SetCondition(cur_prog, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now);
  } else if (complete) {
    prog = SetCondition(cur_prog, "Progressing", "True", "NewReplicaSetAvailable",
                        "ReplicaSet \"" + rs_name + "\" has successfully progressed.", now);
  } else if (!progress_reason.empty()) {
    prog = SetCondition(cur_prog, "Progressing", "True", progress_reason, progress_msg, now);
  } else {
    // Progress is any change in the counts since the last status.
    bool moved = updated != StatusInt(d, "updatedReplicas") || available != StatusInt(d, "availableReplicas") ||
                 ready != StatusInt(d, "readyReplicas") || replicas != StatusInt(d, "replicas") || cur_prog == nullptr ||
                 api::StrAt(*cur_prog, {"reason"}) == "DeploymentPaused" ||
                 api::StrAt(*cur_prog, {"reason"}) == "NewReplicaSetAvailable";
    auto last = cur_prog ? api::ParseTime(api::StrAt(*cur_prog, {"lastUpdateTime"})) : std::nullopt;
    bool timed_out = !moved && last && std::chrono::system_clock::now() - *last > std::chrono::seconds(deadline);
    if (cur_prog && api::StrAt(*cur_prog, {"reason"}) == "ProgressDeadlineExceeded" && !moved) timed_out = true;
    if (timed_out) {
      prog = SetCondition(cur_prog, "Progressing", "False", "ProgressDeadlineExceeded",
                          "ReplicaSet \"" + rs_name + "\" has timed out progressing.", now);
    } else if (moved) {
      prog = SetCondition(nullptr, "Progressing", "True", "ReplicaSetUpdated",
                          "ReplicaSet \"" + rs_name + "\" is progressing.", now);
      if (cur_prog && api::StrAt(*cur_prog, {"status"}) == "True") prog["lastTransitionTime"] = api::StrAt(*cur_prog, {"lastTransitionTime"});
    } else {
      prog = *cur_prog;
    }
    if (!complete) queue().AddAfter(client::KeyOf(d), std::chrono::seconds(deadline + 1));
  }
  bj::object status{{"observedGeneration", api::IntAt(d, {"metadata", "generation"}).value_or(0)},
                    {"replicas", replicas},
                    {"updatedReplicas", updated},
                    {"readyReplicas", ready},
                    {"availableReplicas", available},
                    {"unavailableReplicas", std::max<int64_t>(0, want - available)},
                    {"conditions", bj::array{avail, prog}}};
  if (auto cc = api::IntAt(d, {"status", "collisionCount"})) status["collisionCount"] = *cc;
  const bj::object* cur = api::ObjAt(d, {"status"});
  if (cur != nullptr && *cur == status) return Status::OK();
  bj::object patch{{"status", status}};
  auto r = client_->Patch(client::ResourcePath("apps", "v1", "deployments", std::string(api::Namespace(d)),
                                               std::string(api::Name(d)), "status"),
                          "application/merge-patch+json", patch);
  if (!r.ok() && !r.status().IsNotFound()) return r.status();
  return Status::OK();
}

}  // namespace kubepp::controllers
