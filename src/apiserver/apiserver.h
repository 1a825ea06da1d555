// The Kubernetes API server: HTTPS with client certificates and bearer
// tokens, discovery, OpenAPI v3, and every built-in resource over one
// generic store with a watch cache, on the embedded store or etcd.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "apiserver/admission.h"
#include "apiserver/auth.h"
#include "apiserver/discovery.h"
#include "apiserver/http/server.h"
#include "apiserver/openapi.h"
#include "apiserver/pki.h"
#include "common/http_client.h"
#include "apiserver/registry/cache.h"
#include "apiserver/registry/resource.h"
#include "apiserver/registry/store.h"
#include "apiserver/request.h"
#include "apiserver/sa_token.h"
#include "common/clock.h"
#include "storage/store.h"

namespace kubepp::apiserver {

struct ApiServerOptions {
  std::string data_dir;
  std::string bind_address = "127.0.0.1";
  int port = 6443;  // 0: pick a free one
  std::vector<std::string> etcd_endpoints;
  std::string token_auth_file;
  std::string service_cidr = "10.43.0.0/16";
  Clock* clock = Clock::Real();
  int workers = 32;
  int io_threads = 2;
  size_t watch_cache_size = 10000;  // events per resource kept for resuming watches
  // Service account tokens: the issuer (iss) and the audiences the server
  // accepts; TokenRequest defaults to these audiences.
  std::string service_account_issuer = std::string(ServiceAccountTokens::kDefaultIssuer);
  std::vector<std::string> api_audiences;  // empty: the issuer
  // The bootstrap token agents join with ("id.secret"), kept in this file
  // (created with a new token on first start) and as its kube-system
  // Secret. Empty: <data_dir>/node-token.
  std::string node_token_file;
};

class ApiServer {
 public:
  // Opens storage, creates certificates and the kubeconfig on first start,
  // bootstraps the system namespaces and the kubernetes service, and serves.
  static Result<std::unique_ptr<ApiServer>> Start(const ApiServerOptions& options);
  ~ApiServer();
  void Stop();

  int port() const;
  std::string url() const;  // https://host:port
  std::string kubeconfig_path() const { return kubeconfig_path_; }
  const ClusterPki& pki() const { return pki_; }
  // The node join token (bootstrap_token.h) and the file it is in.
  const std::string& node_token() const { return node_token_; }
  const std::string& node_token_file() const { return options_.node_token_file; }
  storage::Store* storage() { return store_.get(); }

 private:
  friend class Handler;
  explicit ApiServer(const ApiServerOptions& options);
  Status Init();
  Status Bootstrap();
  // kube-public/cluster-info (the CA for joining nodes) and the node token.
  Status BootstrapJoin(const UserInfo& system, const WriteOptions& wo);
  void TimerLoop();
  // Whether the objects a service account token names still exist.
  bool TokenStillValid(const TokenClaims& c);
  // A core/v1 object as the watch cache has it; a miss waits once for the
  // cache to reach the store's current revision (a write a moment ago).
  std::optional<bj::object> CachedCoreObject(const char* resource, const std::string& ns, const std::string& name);

  ApiServerOptions options_;
  std::string node_token_;
  std::unique_ptr<storage::Store> store_;
  ResourceRegistry registry_;
  std::unique_ptr<WatchCacheSet> caches_;
  std::unique_ptr<RegistryStore> registry_store_;
  std::unique_ptr<DefaultAdmission> admission_;
  std::unique_ptr<Discovery> discovery_;
  std::unique_ptr<OpenApi> openapi_;
  Authenticator authn_;
  std::unique_ptr<ServiceAccountTokens> sa_tokens_;
  std::vector<std::string> api_audiences_;
  AllowAuthenticated authz_;
  ClusterPki pki_;
  // Toward kubelets: the kubelet client certificate; kubelets serve
  // self-signed certificates, which (as upstream without
  // --kubelet-certificate-authority) are not verified.
  std::shared_ptr<const kubepp::http::TlsClientConfig> kubelet_tls_;
  std::string kubeconfig_path_;
  std::unique_ptr<class Handler> handler_;
  std::unique_ptr<http::Server> http_;
  std::thread timer_;
  std::atomic<bool> stopping_{false};
  // Set once the bootstrap objects exist; /readyz fails until then.
  std::atomic<bool> bootstrapped_{false};
};

}  // namespace kubepp::apiserver
