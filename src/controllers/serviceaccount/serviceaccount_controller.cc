#include "controllers/serviceaccount/serviceaccount_controller.h"

#include <pthread.h>

#include "api/object.h"
#include "common/log.h"

namespace kubepp::controllers {
namespace {

namespace bj = boost::json;

const log::Logger& Log() {
  static const log::Logger l("serviceaccount-controller");
  return l;
}

constexpr const char* kDefault = "default";

}  // namespace

void ServiceAccountController::Init(InformerFactory* informers) {
  namespaces_ = informers->For("", "v1", "namespaces");
  accounts_ = informers->For("", "v1", "serviceaccounts");
  auto ns_changed = [this](const client::ObjectPtr& ns) { queue_->Add(std::string(api::Name(*ns))); };
  namespaces_->AddEventHandler({ns_changed, [ns_changed](const client::ObjectPtr&, const client::ObjectPtr& ns) {
                                  ns_changed(ns);
                                },
                                nullptr});
  accounts_->AddEventHandler({nullptr, nullptr, [this](const client::ObjectPtr& sa) {
                                if (api::Name(*sa) == kDefault) queue_->Add(std::string(api::Namespace(*sa)));
                              }});
}

void ServiceAccountController::Run() {
  for (int i = 0; i < 2; ++i) {
    workers_.emplace_back([this] {
      while (auto ns = queue_->Get()) {
        Status st = Reconcile(*ns);
        if (st.ok()) {
          queue_->Forget(*ns);
        } else {
          Log().V(1, "reconcile failed", {{"namespace", *ns}, {"err", st.ToString()}});
          queue_->AddRateLimited(*ns);
        }
        queue_->Done(*ns);
      }
    });
    pthread_setname_np(workers_.back().native_handle(), "ctl-sa");
  }
}

void ServiceAccountController::Stop() {
  queue_->ShutDown();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
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
