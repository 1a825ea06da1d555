#include "controllers/resourcequota/resourcequota_controller.h"

#include <map>

#include "api/object.h"
#include "api/quantity.h"

namespace kubepp::controllers {
namespace {

using Totals = std::map<std::string, api::Quantity>;

// Adds keeping the first value's format (256Mi + 256Mi = 512Mi), as upstream's quota.Add.
void Accumulate(Totals& t, const std::string& k, const api::Quantity& v) {
  auto it = t.find(k);
  if (it == t.end()) t.emplace(k, v);
  else it->second += v;
}

void AddList(Totals& t, const bj::object* list, const std::string& prefix) {
  if (list == nullptr) return;
  for (const auto& [k, v] : *list) {
    if (!v.is_string()) continue;
    auto q = api::Quantity::Parse(v.get_string());
    if (q.ok()) Accumulate(t, prefix + std::string(k), *q);
  }
}

// A pod's requests and limits, as quota counts them (containers summed, at
// least the largest init container, plus overhead).
Totals PodUsage(const bj::object& pod) {
  Totals req, lim, init_req, init_lim;
  if (const auto* cs = api::ArrAt(pod, {"spec", "containers"})) {
    for (const auto& c : *cs) {
      AddList(req, api::ObjAt(c.get_object(), {"resources", "requests"}), "");
      AddList(lim, api::ObjAt(c.get_object(), {"resources", "limits"}), "");
    }
  }
  if (const auto* ics = api::ArrAt(pod, {"spec", "initContainers"})) {
    for (const auto& c : *ics) {
      Totals r, l;
      AddList(r, api::ObjAt(c.get_object(), {"resources", "requests"}), "");
      AddList(l, api::ObjAt(c.get_object(), {"resources", "limits"}), "");
      for (auto& [k, v] : r) {
        if (!init_req.count(k) || init_req[k] < v) init_req[k] = v;
      }
      for (auto& [k, v] : l) {
        if (!init_lim.count(k) || init_lim[k] < v) init_lim[k] = v;
      }
    }
  }
  for (auto& [k, v] : init_req) {
    if (!req.count(k) || req[k] < v) req[k] = v;
  }
  for (auto& [k, v] : init_lim) {
    if (!lim.count(k) || lim[k] < v) lim[k] = v;
  }
  AddList(req, api::ObjAt(pod, {"spec", "overhead"}), "");
  Totals out;
  for (auto& [k, v] : req) {
    Accumulate(out, "requests." + k, v);
    if (k == "cpu" || k == "memory" || k == "ephemeral-storage") Accumulate(out, k, v);
  }
  for (auto& [k, v] : lim) Accumulate(out, "limits." + k, v);
  return out;
}

bool BestEffort(const bj::object& pod) {
  if (const auto* cs = api::ArrAt(pod, {"spec", "containers"})) {
    for (const auto& c : *cs) {
      const auto* r = api::ObjAt(c.get_object(), {"resources", "requests"});
      const auto* l = api::ObjAt(c.get_object(), {"resources", "limits"});
      if ((r && !r->empty()) || (l && !l->empty())) return false;
    }
  }
  return true;
}

bool InScopes(const bj::object& quota, const bj::object& pod) {
  if (const auto* scopes = api::ArrAt(quota, {"spec", "scopes"})) {
    for (const auto& s : *scopes) {
      std::string_view sc = s.is_string() ? std::string_view(s.get_string()) : "";
      bool terminating = api::IntAt(pod, {"spec", "activeDeadlineSeconds"}).has_value();
      if (sc == "BestEffort" && !BestEffort(pod)) return false;
      if (sc == "NotBestEffort" && BestEffort(pod)) return false;
      if (sc == "Terminating" && !terminating) return false;
      if (sc == "NotTerminating" && terminating) return false;
    }
  }
  return true;
}

}  // namespace

ResourceQuotaController::ResourceQuotaController(client::RestClient* client)
    : QueueController("resourcequota", 2), client_(client) {}

void ResourceQuotaController::Init(InformerFactory* informers) {
  quotas_ = informers->For("", "v1", "resourcequotas");
  pods_ = informers->For("", "v1", "pods");
  for (auto [group, version, resource] :
       {std::tuple<const char*, const char*, const char*>{"", "v1", "services"}, {"", "v1", "configmaps"},
        {"", "v1", "secrets"}, {"", "v1", "replicationcontrollers"}, {"", "v1", "persistentvolumeclaims"},
        {"", "v1", "resourcequotas"}, {"apps", "v1", "deployments"}, {"apps", "v1", "replicasets"},
        {"apps", "v1", "statefulsets"}, {"apps", "v1", "daemonsets"}, {"batch", "v1", "jobs"}, {"batch", "v1", "cronjobs"}}) {
    counted_.push_back({resource, group, informers->For(group, version, resource)});
  }
  quotas_->AddEventHandler(EnqueueKeys());
  client::EventHandler h = OnEvery([this](const client::ObjectPtr& o) { EnqueueNamespace(std::string(api::Namespace(*o))); });
  pods_->AddEventHandler(h);
  for (auto& c : counted_) {
    if (c.resource != "resourcequotas") c.informer->AddEventHandler(h);
  }
}

void ResourceQuotaController::EnqueueNamespace(const std::string& ns) {
  for (const auto& q : quotas_->ByIndex("namespace", ns)) queue().Add(client::KeyOf(*q));
}

Status ResourceQuotaController::Reconcile(const std::string& key) {
  client::ObjectPtr qp = quotas_->Get(key);
  if (qp == nullptr) return Status::OK();
  const bj::object& quota = *qp;
  std::string ns(api::Namespace(quota)), name(api::Name(quota));
  const bj::object* hard = api::ObjAt(quota, {"spec", "hard"});
  if (hard == nullptr) return Status::OK();
  Totals used;
  int64_t pods = 0;
  for (const auto& p : pods_->ByIndex("namespace", ns)) {
    std::string_view phase = api::StrAt(*p, {"status", "phase"});
    if (phase == "Succeeded" || phase == "Failed") continue;
    if (!InScopes(quota, *p)) continue;
    ++pods;
    for (auto& [k, v] : PodUsage(*p)) Accumulate(used, k, v);
  }
  std::map<std::string, int64_t> counts;
  for (const auto& c : counted_) counts[c.resource] = static_cast<int64_t>(c.informer->ByIndex("namespace", ns).size());
  int64_t nodeports = 0, lbs = 0;
  for (const auto& c : counted_) {
    if (c.resource != "services") continue;
    for (const auto& s : c.informer->ByIndex("namespace", ns)) {
      std::string_view type = api::StrAt(*s, {"spec", "type"});
      if (type == "LoadBalancer") ++lbs;
      if (type == "NodePort" || type == "LoadBalancer") {
        if (const auto* ports = api::ArrAt(*s, {"spec", "ports"})) nodeports += static_cast<int64_t>(ports->size());
      }
    }
  }
  bj::object used_out;
  for (const auto& [k, v] : *hard) {
    std::string res(k);
    api::Quantity q;
    if (res == "pods" || res == "count/pods") q = api::Quantity::FromInt(pods);
    else if (res == "services.nodeports") q = api::Quantity::FromInt(nodeports);
    else if (res == "services.loadbalancers") q = api::Quantity::FromInt(lbs);
    else if (counts.count(res)) q = api::Quantity::FromInt(counts[res]);
    else if (res.rfind("count/", 0) == 0) {
      std::string rest = res.substr(6);
      for (const auto& c : counted_) {
        std::string full = c.group.empty() ? c.resource : c.resource + "." + c.group;
        if (rest == full) q = api::Quantity::FromInt(counts[c.resource]);
      }
    } else if (auto it = used.find(res); it != used.end()) {
      q = it->second;
    }
    used_out[res] = q.String();
  }
  const bj::value* cur_hard = api::At(quota, {"status", "hard"});
  const bj::value* cur_used = api::At(quota, {"status", "used"});
  if (cur_hard && *cur_hard == bj::value(*hard) && cur_used && *cur_used == bj::value(used_out)) return Status::OK();
  auto r = client_->Patch(client::ResourcePath("", "v1", "resourcequotas", ns, name, "status"), "application/merge-patch+json",
                          bj::object{{"status", bj::object{{"hard", *hard}, {"used", std::move(used_out)}}}});
  if (!r.ok() && !r.status().IsNotFound()) return r.status();
  return Status::OK();
}

}  // namespace kubepp::controllers
