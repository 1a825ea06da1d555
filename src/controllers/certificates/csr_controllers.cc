#include "controllers/certificates/csr_controllers.h"

#include <algorithm>
#include <set>

#include "api/object.h"
#include "api/time.h"
#include "common/base64.h"

namespace kubepp::controllers {
namespace {

constexpr const char* kGroup = "certificates.k8s.io";
constexpr const char* kResource = "certificatesigningrequests";

std::string Join(const std::set<std::string>& s) {
  std::string out = "[";
  for (const auto& v : s) out += (out.size() > 1 ? " " : "") + v;
  return out + "]";
}

// The common rules of kubelet client and serving certificates
// (upstream's ValidateKubeletClientCSR / ValidateKubeletServingCSR).
std::string CheckKubelet(const apiserver::CsrInfo& csr, const std::set<std::string>& usages, bool serving) {
  if (csr.organizations != std::vector<std::string>{"system:nodes"}) return "subject organization is not system:nodes";
  if (serving) {
    if (csr.dns_names.empty() && csr.ip_addresses.empty()) return "DNS or IP subjectAltName is required";
  } else {
    if (!csr.dns_names.empty()) return "DNS subjectAltNames are not allowed";
    if (!csr.ip_addresses.empty()) return "IP subjectAltNames are not allowed";
  }
  if (!csr.emails.empty()) return "Email subjectAltNames are not allowed";
  if (!csr.uris.empty()) return "URI subjectAltNames are not allowed";
  std::string purpose = serving ? "server auth" : "client auth";
  std::set<std::string> rsa = {"digital signature", "key encipherment", purpose};
  std::set<std::string> no_rsa = {"digital signature", purpose};
  if (usages != rsa && usages != no_rsa) return "usages did not match " + Join(rsa);
  if (csr.common_name.rfind("system:node:", 0) != 0) return "subject common name does not begin with system:node:";
  return "";
}

bj::object Condition(std::string type, std::string reason, std::string message) {
  std::string now = api::FormatTime(std::chrono::system_clock::now());
  return bj::object{{"type", std::move(type)}, {"status", "True"},       {"reason", std::move(reason)},
                    {"message", std::move(message)}, {"lastUpdateTime", now}, {"lastTransitionTime", now}};
}

// PUTs `next` through /approval or /status.
Status PutCsr(client::RestClient* client, const bj::object& next, const char* sub) {
  auto r = client->Put(client::ResourcePath(kGroup, "v1", kResource, "", api::Name(next), sub), next);
  // Gone, or changed meanwhile (the update will enqueue it again).
  if (r.ok() || r.status().IsNotFound() || r.status().IsConflict()) return Status::OK();
  return r.status();
}

// PUTs `csr` with `cond` appended.
Status AddCondition(client::RestClient* client, const bj::object& csr, bj::object cond, const char* sub) {
  bj::object next = csr;
  api::Arr(api::Obj(next, "status"), "conditions").push_back(std::move(cond));
  return PutCsr(client, next, sub);
}

}  // namespace

std::string CheckSignerRules(std::string_view signer, const apiserver::CsrInfo& csr,
                             const std::vector<std::string>& usages) {
  std::set<std::string> set(usages.begin(), usages.end());
  if (signer == kKubeletClientSigner) return CheckKubelet(csr, set, false);
  if (signer == kKubeletServingSigner) return CheckKubelet(csr, set, true);
  if (signer == kApiServerClientSigner) {
    bool client_auth = false;
    for (const auto& u : usages) {
      if (u == "client auth") {
        client_auth = true;
      } else if (u != "digital signature" && u != "key encipherment") {
        return "invalid usage for client certificate: " + u;
      }
    }
    if (!client_auth) return "missing required usage for client certificate: client auth";
    return "";
  }
  return "unknown signer " + std::string(signer);
}

std::string CsrRequestPem(const bj::object& csr) {
  auto pem = Base64Decode(api::StrAt(csr, {"spec", "request"}));
  return pem.ok() ? std::move(*pem) : std::string();
}

std::vector<std::string> CsrUsages(const bj::object& csr) {
  std::vector<std::string> out;
  if (const bj::array* u = api::ArrAt(csr, {"spec", "usages"})) {
    for (const auto& v : *u) {
      if (v.is_string()) out.emplace_back(v.get_string());
    }
  }
  return out;
}

bool HasCsrCondition(const bj::object& csr, std::string_view type) {
  if (const bj::array* conds = api::ArrAt(csr, {"status", "conditions"})) {
    for (const auto& c : *conds) {
      if (c.is_object() && api::StrAt(c.get_object(), {"type"}) == type) return true;
    }
  }
  return false;
}

void CsrApprovingController::Init(InformerFactory* informers) {
  csrs_ = informers->For(kGroup, "v1", kResource);
  csrs_->AddEventHandler(EnqueueKeys());
}

Status CsrApprovingController::Reconcile(const std::string& name) {
  client::ObjectPtr csr = csrs_->Get(name);
  if (csr == nullptr || HasCsrCondition(*csr, "Approved") || HasCsrCondition(*csr, "Denied") ||
      !api::StrAt(*csr, {"status", "certificate"}).empty()) {
    return Status::OK();
  }
  if (api::StrAt(*csr, {"spec", "signerName"}) != kKubeletClientSigner) return Status::OK();
  auto info = apiserver::ParseCsr(CsrRequestPem(*csr));
  if (!info.ok() || !CheckSignerRules(kKubeletClientSigner, *info, CsrUsages(*csr)).empty()) return Status::OK();
  std::string_view user = api::StrAt(*csr, {"spec", "username"});
  bool bootstrapper = false, node = false;
  if (const bj::array* groups = api::ArrAt(*csr, {"spec", "groups"})) {
    for (const auto& g : *groups) {
      if (!g.is_string()) continue;
      bootstrapper |= g.get_string() == "system:bootstrappers";
      node |= g.get_string() == "system:nodes";
    }
  }
  std::string message;
  if (node && info->common_name == user) {
    message = "Auto approving self kubelet client certificate after SubjectAccessReview.";
  } else if (bootstrapper) {
    message = "Auto approving kubelet client certificate after SubjectAccessReview.";
  } else {
    return Status::OK();  // for an administrator to decide
  }
  return AddCondition(client_, *csr, Condition("Approved", "AutoApproved", message), "approval");
}

void CsrSigningController::Init(InformerFactory* informers) {
  csrs_ = informers->For(kGroup, "v1", kResource);
  csrs_->AddEventHandler(EnqueueKeys());
}

Status CsrSigningController::Reconcile(const std::string& name) {
  client::ObjectPtr csr = csrs_->Get(name);
  if (csr == nullptr || !HasCsrCondition(*csr, "Approved") || HasCsrCondition(*csr, "Failed") ||
      HasCsrCondition(*csr, "Denied") || !api::StrAt(*csr, {"status", "certificate"}).empty()) {
    return Status::OK();
  }
  std::string_view signer = api::StrAt(*csr, {"spec", "signerName"});
  if (signer != kKubeletClientSigner && signer != kApiServerClientSigner && signer != kKubeletServingSigner) {
    return Status::OK();  // another signer's
  }
  std::string pem = CsrRequestPem(*csr);
  std::vector<std::string> usages = CsrUsages(*csr);
  auto info = apiserver::ParseCsr(pem);
  std::string why = info.ok() ? CheckSignerRules(signer, *info, usages) : info.status().message();
  if (!why.empty()) return AddCondition(client_, *csr, Condition("Failed", "SignerValidationFailure", why), "status");
  int64_t seconds = max_duration_.count();
  if (auto want = api::IntAt(*csr, {"spec", "expirationSeconds"})) {
    seconds = std::clamp<int64_t>(*want, 600, seconds);
  }
  auto cert = apiserver::SignCsr(ca_, pem, usages, seconds);
  if (!cert.ok()) return cert.status();
  bj::object next = *csr;
  api::Obj(next, "status")["certificate"] = Base64Encode(*cert);
  return PutCsr(client_, next, "status");
}

}  // namespace kubepp::controllers
