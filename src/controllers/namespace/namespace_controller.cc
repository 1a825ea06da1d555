#include "controllers/namespace/namespace_controller.h"

#include <set>

#include "api/object.h"
#include "common/log.h"

namespace kubepp::controllers {
namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

const log::Logger& Log() {
  static const log::Logger l("namespace-controller");
  return l;
}

bool Has(const bj::array* a, std::string_view v) {
  if (a == nullptr) return false;
  for (const auto& x : *a) {
    if (x.is_string() && x.get_string() == v) return true;
  }
  return false;
}

}  // namespace

void NamespaceController::Init(InformerFactory* informers) {
  namespaces_ = informers->For("", "v1", "namespaces");
  namespaces_->AddEventHandler(OnEvery(
      [this](const client::ObjectPtr& ns) {
        if (!api::StrAt(*ns, {"metadata", "deletionTimestamp"}).empty()) queue().Add(std::string(api::Name(*ns)));
      },
      false));
}

Result<std::vector<std::pair<std::string, std::string>>> NamespaceController::Resources() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!resources_.empty()) return resources_;
  }
  std::vector<std::string> group_versions = {"/api/v1"};
  ASSIGN_OR_RETURN(bj::value groups, client_->Get("/apis"));
  if (const bj::array* gs = api::ArrAt(groups.as_object(), {"groups"})) {
    for (const auto& g : *gs) {
      // Every served version: content may exist only in an older one's view
      // but all share storage, so the preferred version is enough.
      std::string_view gv = api::StrAt(g.as_object(), {"preferredVersion", "groupVersion"});
      if (!gv.empty()) group_versions.push_back("/apis/" + std::string(gv));
    }
  }
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string> seen;
  for (const auto& gv : group_versions) {
    ASSIGN_OR_RETURN(bj::value list, client_->Get(gv));
    const bj::array* rs = api::ArrAt(list.as_object(), {"resources"});
    if (rs == nullptr) continue;
    for (const auto& r : *rs) {
      const bj::object& ro = r.as_object();
      std::string_view name = api::StrAt(ro, {"name"});
      if (name.find('/') != std::string_view::npos || !api::BoolAt(ro, {"namespaced"})) continue;
      const bj::array* verbs = api::ArrAt(ro, {"verbs"});
      if (!Has(verbs, "list") || !Has(verbs, "deletecollection")) continue;
      if (!seen.insert(gv + "/" + std::string(name)).second) continue;
      out.emplace_back(gv, std::string(name));
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  resources_ = out;
  return out;
}

Result<size_t> NamespaceController::DeleteContent(const std::string& ns) {
  ASSIGN_OR_RETURN(auto resources, Resources());
  size_t remaining = 0;
  for (const auto& [gv, resource] : resources) {
    std::string path = gv + "/namespaces/" + ns + "/" + resource;
    auto del = client_->Delete(path);
    if (!del.ok() && !del.status().IsNotFound() && del.status().code() != Code::kMethodNotAllowed) {
      return del.status().WithContext("delete " + resource);
    }
    ASSIGN_OR_RETURN(bj::value left, client_->Get(path + "?limit=1"));
    const bj::array* items = api::ArrAt(left.as_object(), {"items"});
    if (items != nullptr && !items->empty()) {
      ++remaining;
      Log().V(2, "content remains", {{"namespace", ns}, {"resource", resource}});
    }
  }
  return remaining;
}

Status NamespaceController::Reconcile(const std::string& name) {
  // Read it fresh: the informer may lag a delete that just happened.
  auto cur = client_->Get(client::ResourcePath("", "v1", "namespaces", "", name));
  if (!cur.ok()) return cur.status().IsNotFound() ? Status::OK() : cur.status();
  bj::object& ns = cur->as_object();
  if (api::StrAt(ns, {"metadata", "deletionTimestamp"}).empty()) return Status::OK();
  const bj::array* fins = api::ArrAt(ns, {"spec", "finalizers"});
  if (!Has(fins, "kubernetes")) return Status::OK();
  ASSIGN_OR_RETURN(size_t remaining, DeleteContent(name));
  if (remaining > 0) {
    return Status::Unavailable(std::to_string(remaining) + " resource types still have content");
  }
  bj::array kept;
  for (const auto& f : *fins) {
    if (!(f.is_string() && f.get_string() == "kubernetes")) kept.push_back(f);
  }
  api::Obj(ns, "spec")["finalizers"] = std::move(kept);
  auto r = client_->Put(client::ResourcePath("", "v1", "namespaces", "", name, "finalize"), ns);
  if (!r.ok() && !r.status().IsNotFound()) return r.status();
  Log().V(1, "namespace finalized", {{"namespace", name}});
  return Status::OK();
}

}  // namespace kubepp::controllers
