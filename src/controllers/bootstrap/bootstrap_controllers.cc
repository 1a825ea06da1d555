#include "controllers/bootstrap/bootstrap_controllers.h"

#include <map>

#include "api/object.h"
#include "apiserver/bootstrap_token.h"

namespace kubepp::controllers {
namespace {

namespace boot = apiserver::bootstrap;

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

client::Informer* BootstrapTokenInformer(InformerFactory* informers) {
  client::InformerOptions o;
  o.resource = "secrets";
  o.ns = "kube-system";
  o.field_selector = "type=" + std::string(boot::kSecretType);
  return informers->For(o);
}

void BootstrapSignerController::Init(InformerFactory* informers) {
  client::InformerOptions o;
  o.resource = "configmaps";
  o.ns = std::string(boot::kPublicNamespace);
  o.field_selector = "metadata.name=" + std::string(boot::kClusterInfo);
  config_maps_ = informers->For(o);
  tokens_ = BootstrapTokenInformer(informers);
  std::string key = std::string(boot::kPublicNamespace) + "/" + std::string(boot::kClusterInfo);
  auto enqueue = OnEvery([this, key](const client::ObjectPtr&) { queue().Add(key); });
  config_maps_->AddEventHandler(enqueue);
  tokens_->AddEventHandler(enqueue);
}

Status BootstrapSignerController::Reconcile(const std::string& key) {
  client::ObjectPtr cm = config_maps_->Get(key);
  if (cm == nullptr) return Status::OK();
  std::string_view content = api::StrAt(*cm, {"data", "kubeconfig"});
  if (content.empty()) return Status::OK();
  std::map<std::string, std::string> want;
  int64_t now = UnixNow();
  int64_t next_expiry = 0;
  for (const auto& s : tokens_->List()) {
    boot::TokenSecret ts = boot::ReadTokenSecret(*s);
    if (!ts.invalid.empty() || !ts.signing) continue;
    if (ts.expires && *ts.expires <= now) continue;
    if (ts.expires && (next_expiry == 0 || *ts.expires < next_expiry)) next_expiry = *ts.expires;
    want[std::string(boot::kJwsPrefix) + ts.id] = boot::DetachedSignature(content, boot::Token{ts.id, ts.secret});
  }
  // An expiring token's signature goes when the token does.
  if (next_expiry > 0) queue().AddAfter(key, std::chrono::seconds(next_expiry - now + 1));
  std::map<std::string, std::string> have;
  if (const bj::object* d = api::ObjAt(*cm, {"data"})) {
    for (const auto& [k, v] : *d) {
      if (k.starts_with(boot::kJwsPrefix) && v.is_string()) have[std::string(k)] = std::string(v.get_string());
    }
  }
  if (have == want) return Status::OK();
  bj::object next = *cm;
  bj::object& data = api::Obj(next, "data");
  for (const auto& [k, v] : have) data.erase(k);
  for (const auto& [k, v] : want) data[k] = v;
  auto r = client_->Put(client::ResourcePath("", "v1", "configmaps", boot::kPublicNamespace, boot::kClusterInfo), next);
  if (r.ok() || r.status().IsNotFound() || r.status().IsConflict()) return Status::OK();
  return r.status();
}

void TokenCleanerController::Init(InformerFactory* informers) {
  tokens_ = BootstrapTokenInformer(informers);
  tokens_->AddEventHandler(EnqueueKeys());
}

Status TokenCleanerController::Reconcile(const std::string& key) {
  client::ObjectPtr s = tokens_->Get(key);
  if (s == nullptr) return Status::OK();
  boot::TokenSecret ts = boot::ReadTokenSecret(*s);  // not for one being deleted: no expiry read
  if (!ts.expires) return Status::OK();
  int64_t now = UnixNow();
  if (*ts.expires > now) {
    queue().AddAfter(key, std::chrono::seconds(*ts.expires - now + 1));
    return Status::OK();
  }
  // Only the Secret we looked at: a uid precondition.
  bj::value opts = bj::object{{"kind", "DeleteOptions"},
                  {"apiVersion", "v1"},
                  {"preconditions", bj::object{{"uid", std::string(api::Uid(*s))}}}};
  auto r = client_->Delete(client::ResourcePath("", "v1", "secrets", api::Namespace(*s), api::Name(*s)), &opts);
  if (r.ok() || r.status().IsNotFound() || r.status().IsConflict()) return Status::OK();
  return r.status();
}

}  // namespace kubepp::controllers
