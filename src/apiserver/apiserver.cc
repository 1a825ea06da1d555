#include "apiserver/apiserver.h"

#include <pthread.h>
#include <unistd.h>

#include "api/object.h"
#include "apiserver/bootstrap_token.h"
#include "apiserver/handler.h"
#include "common/base64.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strings.h"
#include "storage/open.h"

namespace kubepp::apiserver {
namespace {

const log::Logger& Log() {
  static const log::Logger l("apiserver");
  return l;
}

}  // namespace

ApiServer::ApiServer(const ApiServerOptions& options) : options_(options) {}

ApiServer::~ApiServer() { Stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::Start(const ApiServerOptions& options) {
  std::unique_ptr<ApiServer> s(new ApiServer(options));
  RETURN_IF_ERROR(s->Init());
  return s;
}

Status ApiServer::Init() {
  if (options_.data_dir.empty()) return Status::BadRequest("apiserver: --data-dir is required");
  RETURN_IF_ERROR(MakeDirs(options_.data_dir));
  storage::StoreConfig sc;
  sc.data_dir = JoinPath(options_.data_dir, "db");
  sc.etcd_endpoints = options_.etcd_endpoints;
  ASSIGN_OR_RETURN(store_, storage::OpenStore(sc));
  InstallAllResources(registry_);
  registry_.Prefer("autoscaling", "v2");
  caches_ = std::make_unique<WatchCacheSet>(store_.get(), &registry_, options_.watch_cache_size);
  RETURN_IF_ERROR(caches_->Start());
  registry_store_ = std::make_unique<RegistryStore>(store_.get(), caches_.get(), &registry_, options_.clock);
  AdmissionConfig ac;
  ac.service_cidr = options_.service_cidr;
  admission_ = std::make_unique<DefaultAdmission>(registry_store_.get(), &registry_, ac);
  registry_store_->SetAdmission(admission_.get());

  std::string host = options_.bind_address == "0.0.0.0" ? "127.0.0.1" : options_.bind_address;
  std::vector<std::string> ips = {"127.0.0.1", admission_->FirstServiceIP()};
  if (host != "127.0.0.1") ips.push_back(host);
  char hostname[256] = {};
  ::gethostname(hostname, sizeof hostname - 1);
  std::vector<std::string> dns = {"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                  "kubernetes.default.svc.cluster.local"};
  if (hostname[0] != '\0') dns.emplace_back(hostname);
  ASSIGN_OR_RETURN(pki_, EnsurePki(options_.data_dir, ips, dns));
  {
    auto tls = std::make_shared<kubepp::http::TlsClientConfig>();
    tls->cert_pem = pki_.kubelet_client.cert_pem;
    tls->key_pem = pki_.kubelet_client.key_pem;
    tls->insecure_skip_verify = true;
    kubelet_tls_ = std::move(tls);
  }
  ASSIGN_OR_RETURN(authn_, Authenticator::Load(options_.token_auth_file));
  ASSIGN_OR_RETURN(auto sat, ServiceAccountTokens::Load(options_.data_dir, options_.service_account_issuer));
  sa_tokens_ = std::make_unique<ServiceAccountTokens>(std::move(sat));
  api_audiences_ = options_.api_audiences.empty() ? std::vector<std::string>{options_.service_account_issuer}
                                                  : options_.api_audiences;
  authn_.EnableServiceAccountTokens(
      sa_tokens_.get(), api_audiences_, [this](const TokenClaims& c) { return TokenStillValid(c); }, options_.clock);
  authn_.EnableBootstrapTokens(
      [this](const std::string& name) { return CachedCoreObject("secrets", "kube-system", name); },
      options_.clock);
  if (options_.node_token_file.empty()) options_.node_token_file = JoinPath(options_.data_dir, "node-token");

  openapi_ = std::make_unique<OpenApi>(registry_);
  handler_ = std::make_unique<Handler>(this);
  http::ServerOptions ho;
  ho.address = options_.bind_address;
  ho.port = options_.port;
  ho.tls = http::TlsConfig{pki_.serving.cert_pem + pki_.ca.cert_pem, pki_.serving.key_pem, pki_.ca.cert_pem};
  ho.workers = options_.workers;
  ho.io_threads = options_.io_threads;
  ho.run_inline = [this](const http::Request& r) { return handler_->RunsInline(r); };
  // Discovery names the address clients reach us by, known once bound.
  discovery_ = std::make_unique<Discovery>(registry_, host + ":" + std::to_string(options_.port));
  ASSIGN_OR_RETURN(http_, http::Server::Start(ho, [this](std::shared_ptr<http::Exchange> ex) { handler_->Handle(ex); }));
  if (options_.port == 0) {
    discovery_ = std::make_unique<Discovery>(registry_, host + ":" + std::to_string(http_->port()));
  }
  kubeconfig_path_ = JoinPath(options_.data_dir, "kubeconfig");
  RETURN_IF_ERROR(WriteFileAtomic(kubeconfig_path_, AdminKubeconfig(url(), pki_), 0600));
  RETURN_IF_ERROR(Bootstrap());
  bootstrapped_.store(true);
  timer_ = std::thread([this] { TimerLoop(); });
  pthread_setname_np(timer_.native_handle(), "api-timer");
  Log().Info("API server ready", {{"url", url()}, {"kubeconfig", kubeconfig_path_}, {"node-token", options_.node_token_file}});
  return Status::OK();
}

int ApiServer::port() const { return http_ ? http_->port() : 0; }

std::string ApiServer::url() const {
  std::string host = options_.bind_address == "0.0.0.0" ? "127.0.0.1" : options_.bind_address;
  return "https://" + host + ":" + std::to_string(port());
}

Status ApiServer::Bootstrap() {
  UserInfo system{"system:apiserver", "", {"system:masters"}};
  WriteOptions wo;
  wo.field_manager = "kube-apiserver";
  const ResourceDef* ns = registry_.Find("", "v1", "namespaces");
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    bj::object o{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", bj::object{{"name", name}}}};
    auto r = registry_store_->Create(*ns, "", std::move(o), wo, system);
    if (!r.ok() && !r.status().IsAlreadyExists()) return r.status().WithContext(std::string("bootstrap namespace ") + name);
  }
  // The kubernetes service and its endpoints point at this server.
  const ResourceDef* svc = registry_.Find("", "v1", "services");
  bj::object s{{"apiVersion", "v1"},
               {"kind", "Service"},
               {"metadata", bj::object{{"name", "kubernetes"}, {"labels", bj::object{{"component", "apiserver"}, {"provider", "kubernetes"}}}}},
               {"spec", bj::object{{"clusterIP", admission_->FirstServiceIP()},
                                   {"type", "ClusterIP"},
                                   {"sessionAffinity", "None"},
                                   {"ports", bj::array{bj::object{{"name", "https"}, {"port", 443}, {"protocol", "TCP"}, {"targetPort", port()}}}}}}};
  auto r = registry_store_->Create(*svc, "default", std::move(s), wo, system);
  if (!r.ok() && !r.status().IsAlreadyExists()) return r.status().WithContext("bootstrap kubernetes service");
  RETURN_IF_ERROR(BootstrapJoin(system, wo));
  std::string host = options_.bind_address == "0.0.0.0" ? "127.0.0.1" : options_.bind_address;
  // Endpoints may not be loopback addresses (as upstream validates): a
  // server bound to loopback only has no endpoint pods could use.
  if (host.rfind("127.", 0) == 0) return Status::OK();
  const ResourceDef* ep = registry_.Find("", "v1", "endpoints");
  bj::object e{{"apiVersion", "v1"},
               {"kind", "Endpoints"},
               {"metadata", bj::object{{"name", "kubernetes"}, {"labels", bj::object{{"endpointslice.kubernetes.io/skip-mirror", "true"}}}}},
               {"subsets", bj::array{bj::object{{"addresses", bj::array{bj::object{{"ip", host}}}},
                                                 {"ports", bj::array{bj::object{{"name", "https"}, {"port", port()}, {"protocol", "TCP"}}}}}}}};
  auto cur = registry_store_->Get(*ep, "default", "kubernetes");
  if (cur.ok()) {
    api::Meta(e)["resourceVersion"] = bj::string(api::ResourceVersion(*cur));
    auto u = registry_store_->Update(*ep, "default", "kubernetes", std::move(e), wo, system);
    if (!u.ok() && !u.status().IsConflict()) return u.status().WithContext("bootstrap kubernetes endpoints");
  } else {
    auto c = registry_store_->Create(*ep, "default", std::move(e), wo, system);
    if (!c.ok() && !c.status().IsAlreadyExists()) return c.status().WithContext("bootstrap kubernetes endpoints");
  }
  return Status::OK();
}

Status ApiServer::BootstrapJoin(const UserInfo& system, const WriteOptions& wo) {
  // cluster-info as kubeadm writes it: a kubeconfig with the CA and the
  // server, no user. The bootstrapsigner controller adds a signature per
  // token so a node holding a token can tell it is genuine.
  std::string kubeconfig = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: " +
                           Base64Encode(pki_.ca.cert_pem) + "\n    server: " + url() +
                           "\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n";
  const ResourceDef* cm = registry_.Find("", "v1", "configmaps");
  std::string ns(bootstrap::kPublicNamespace);
  std::string name(bootstrap::kClusterInfo);
  auto cur = registry_store_->Get(*cm, ns, name);
  if (cur.ok()) {
    if (api::StrAt(*cur, {"data", "kubeconfig"}) != kubeconfig) {
      bj::object next = std::move(*cur);
      api::Obj(next, "data")["kubeconfig"] = kubeconfig;
      auto u = registry_store_->Update(*cm, ns, name, std::move(next), wo, system);
      if (!u.ok() && !u.status().IsConflict()) return u.status().WithContext("bootstrap cluster-info");
    }
  } else {
    bj::object o{{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", bj::object{{"name", name}, {"namespace", ns}}},
                 {"data", bj::object{{"kubeconfig", kubeconfig}}}};
    auto c = registry_store_->Create(*cm, ns, std::move(o), wo, system);
    if (!c.ok() && !c.status().IsAlreadyExists()) return c.status().WithContext("bootstrap cluster-info");
  }

  // The node token: the file's while its Secret exists. Deleting the
  // Secret revokes it; the next start then writes a new token (never
  // bringing the revoked one back).
  const ResourceDef* secrets = registry_.Find("", "v1", "secrets");
  auto secret_of = [](const bootstrap::Token& t) { return std::string(bootstrap::kSecretPrefix) + t.id; };
  std::optional<bootstrap::Token> token;
  if (auto text = ReadFile(options_.node_token_file); text.ok()) {
    token = bootstrap::ParseToken(TrimSpace(*text));
    if (!token) return Status::BadRequest(options_.node_token_file + ": not a bootstrap token (want [a-z0-9]{6}.[a-z0-9]{16})");
    auto cur = registry_store_->Get(*secrets, "kube-system", secret_of(*token));
    if (cur.ok()) {
      node_token_ = token->String();
      return Status::OK();
    }
    if (!cur.status().IsNotFound()) return cur.status();
    Log().Warning("the node token's Secret is gone (revoked): writing a new token",
                  {{"secret", secret_of(*token)}, {"file", options_.node_token_file}});
  } else if (!text.status().IsNotFound()) {
    return text.status();
  }
  token = bootstrap::NewToken();
  bj::object sec{{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", bj::object{{"name", secret_of(*token)}, {"namespace", "kube-system"}}},
                 {"type", std::string(bootstrap::kSecretType)},
                 {"data", bj::object{{"token-id", Base64Encode(token->id)},
                                     {"token-secret", Base64Encode(token->secret)},
                                     {"description", Base64Encode("The token kubepp agents join this cluster with.")},
                                     {"usage-bootstrap-authentication", Base64Encode("true")},
                                     {"usage-bootstrap-signing", Base64Encode("true")},
                                     {"auth-extra-groups", Base64Encode("system:bootstrappers:kubepp:default-node-token")}}}};
  // The file first: a crash before the Secret exists leaves a token that
  // the next start replaces, never a valid Secret nobody knows of.
  RETURN_IF_ERROR(WriteFileAtomic(options_.node_token_file, token->String() + "\n", 0600));
  auto c = registry_store_->Create(*secrets, "kube-system", std::move(sec), wo, system);
  if (!c.ok()) return c.status().WithContext("bootstrap node token");
  node_token_ = token->String();
  return Status::OK();
}

std::optional<bj::object> ApiServer::CachedCoreObject(const char* resource, const std::string& ns,
                                                      const std::string& name) {
  const ResourceDef* def = registry_.Find("", "v1", resource);
  if (def == nullptr) return std::nullopt;
  ResourceCache* cache = caches_->For(def);
  CachedPtr o = cache->Get(def->Key(ns, name));
  if (o == nullptr) {
    if (auto rev = store_->CurrentRevision(); rev.ok()) (void)caches_->WaitFor(*rev, std::chrono::seconds(1));
    o = cache->Get(def->Key(ns, name));
  }
  if (o == nullptr) return std::nullopt;
  auto v = json::Parse(o->json);
  if (!v.ok() || !v->is_object()) return std::nullopt;
  return std::move(v->get_object());
}

bool ApiServer::TokenStillValid(const TokenClaims& c) {
  // The uid of an object as the watch cache has it ("" when absent).
  auto uid_of = [this](const char* resource, const std::string& ns, const std::string& name) -> std::string {
    std::optional<bj::object> o = CachedCoreObject(resource, ns, name);
    if (!o) return {};
    if (!api::StrAt(*o, {"metadata", "deletionTimestamp"}).empty() && std::string_view(resource) == "pods") {
      return {};  // a pod on its way out no longer vouches for its tokens
    }
    return std::string(api::StrAt(*o, {"metadata", "uid"}));
  };
  std::string sa_uid = uid_of("serviceaccounts", c.ns, c.sa_name);
  if (sa_uid.empty() || (!c.sa_uid.empty() && sa_uid != c.sa_uid)) return false;
  if (c.bound_kind == "Pod" || c.bound_kind == "Secret" || c.bound_kind == "Node") {
    const char* res = c.bound_kind == "Pod" ? "pods" : c.bound_kind == "Secret" ? "secrets" : "nodes";
    std::string uid = uid_of(res, c.bound_kind == "Node" ? "" : c.ns, c.bound_name);
    if (uid.empty() || (!c.bound_uid.empty() && uid != c.bound_uid)) return false;
  }
  return true;
}

void ApiServer::TimerLoop() {
  while (!stopping_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (handler_) handler_->Tick();
  }
}

void ApiServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (timer_.joinable()) timer_.join();
  if (handler_) handler_->CloseAll();
  if (http_) http_->Stop();
  if (caches_) caches_->Stop();
  if (store_) store_->Close();
}

}  // namespace kubepp::apiserver
