#include "controllers/serviceaccount/serviceaccount_controller.h"

#include "api/object.h"

namespace kubepp::controllers {
namespace {

namespace bj = boost::json;

constexpr const char* kDefault = "default";

}  // namespace

void ServiceAccountController::Init(InformerFactory* informers) {
  namespaces_ = informers->For("", "v1", "namespaces");
  accounts_ = informers->For("", "v1", "serviceaccounts");
  namespaces_->AddEventHandler(EnqueueKeys());
  accounts_->AddEventHandler({nullptr, nullptr, [this](const client::ObjectPtr& sa) {
                                if (api::Name(*sa) == kDefault) queue().Add(std::string(api::Namespace(*sa)));
                              }});
}

Status ServiceAccountController::Reconcile(const std::string& ns) {
  client::ObjectPtr nso = namespaces_->Get(ns);
  // Gone, or on its way out: nothing to create there.
  if (nso == nullptr || api::StrAt(*nso, {"status", "phase"}) == "Terminating" ||
      !api::StrAt(*nso, {"metadata", "deletionTimestamp"}).empty()) {
    return Status::OK();
  }
  if (accounts_->Get(ns + "/" + kDefault) != nullptr) return Status::OK();
  bj::object sa{{"apiVersion", "v1"}, {"kind", "ServiceAccount"},
                {"metadata", bj::object{{"name", kDefault}, {"namespace", ns}}}};
  auto r = client_->Post(client::ResourcePath("", "v1", "serviceaccounts", ns), sa);
  if (r.ok() || r.status().IsAlreadyExists()) return Status::OK();
  // A namespace being deleted refuses new content: not an error to retry.
  if (r.status().code() == Code::kForbidden || r.status().IsNotFound()) return Status::OK();
  return r.status();
}

}  // namespace kubepp::controllers
