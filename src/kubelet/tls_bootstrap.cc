#include "kubelet/tls_bootstrap.h"

#include <algorithm>
#include <ctime>
#include <random>
#include <thread>

#include "api/object.h"
#include "api/yaml.h"
#include "apiserver/bootstrap_token.h"
#include "apiserver/pki.h"
#include "common/base64.h"
#include "common/file.h"
#include "common/log.h"

namespace kubepp::kubelet {
namespace {

namespace bj = boost::json;
namespace boot = apiserver::bootstrap;

const log::Logger& Log() {
  static const log::Logger l("kubelet");
  return l;
}

constexpr auto kPoll = std::chrono::milliseconds(500);

// Still valid: use it (as upstream's kubelet); rotation renews it early.
bool CertificateValid(const std::string& kubeconfig_path) {
  auto cfg = client::LoadKubeconfig(kubeconfig_path);
  if (!cfg.ok() || !cfg->endpoint.tls_config || cfg->endpoint.tls_config->cert_pem.empty()) return false;
  auto not_after = apiserver::CertificateNotAfter(cfg->endpoint.tls_config->cert_pem);
  return not_after.ok() && *not_after > static_cast<int64_t>(std::time(nullptr));
}

bool Cancelled(const BootstrapOptions& o) { return o.cancelled && o.cancelled(); }

// Sleeps `seconds`, waking early when cancelled. False if cancelled.
bool SleepFor(int64_t seconds, const BootstrapOptions& o) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (Cancelled(o)) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(200), until - std::chrono::steady_clock::now()));
  }
  return !Cancelled(o);
}

// The CA of cluster-info, once its signature for `token` checks out.
Result<std::string> TrustedCa(const std::string& server, const boot::Token& token, const BootstrapOptions& o,
                              std::chrono::steady_clock::time_point deadline) {
  ASSIGN_OR_RETURN(http::Endpoint ep, http::Endpoint::Parse(server));
  if (!ep.tls) return Status::BadRequest("--server must be an https:// URL");
  auto tls = std::make_shared<http::TlsClientConfig>();
  tls->insecure_skip_verify = true;  // not yet trusted: nothing secret is sent
  ep.tls_config = tls;
  client::ClientConfig cc;
  cc.endpoint = ep;
  cc.user_agent = "kubelet";
  cc.timeout = std::chrono::seconds(10);
  client::RestClient anonymous(cc);
  std::string path = client::ResourcePath("", "v1", "configmaps", boot::kPublicNamespace, boot::kClusterInfo);
  std::string jws_key = std::string(boot::kJwsPrefix) + token.id;
  Status last;
  while (std::chrono::steady_clock::now() < deadline && !Cancelled(o)) {
    auto cm = anonymous.Get(path);
    if (cm.ok() && cm->is_object()) {
      const bj::object& obj = cm->get_object();
      std::string_view content = api::StrAt(obj, {"data", "kubeconfig"});
      std::string_view jws = api::StrAt(obj, {"data", jws_key});
      if (content.empty()) {
        last = Status::NotFound("cluster-info has no kubeconfig");
      } else if (jws.empty()) {
        last = Status::NotFound("cluster-info has no signature for token " + token.id + " yet");
      } else if (!boot::SignatureValid(jws, content, token)) {
        // Someone who does not know the token: never trust it.
        return Status::Unauthorized("the signature of cluster-info for token " + token.id +
                                    " does not verify: the server does not know this token");
      } else {
        ASSIGN_OR_RETURN(bj::value kc, api::YamlToJson(content));
        const bj::array* clusters = kc.is_object() ? api::ArrAt(kc.get_object(), {"clusters"}) : nullptr;
        if (clusters == nullptr || clusters->empty() || !(*clusters)[0].is_object()) {
          return Status::BadRequest("cluster-info's kubeconfig names no cluster");
        }
        std::string_view ca64 = api::StrAt((*clusters)[0].get_object(), {"cluster", "certificate-authority-data"});
        ASSIGN_OR_RETURN(std::string ca, Base64Decode(ca64));
        if (ca.empty()) return Status::BadRequest("cluster-info's kubeconfig has no certificate-authority-data");
        return ca;
      }
    } else {
      last = cm.status();
    }
    Log().V(1, "waiting for cluster-info", {{"err", last.ToString()}});
    std::this_thread::sleep_for(kPoll * 2);
  }
  return Status::Unavailable("cannot read a signed cluster-info from " + server + ": " + last.ToString());
}

// Creates the CSR and waits for its certificate.
Result<std::string> RequestCertificate(client::RestClient& rc, const std::string& csr_pem, const BootstrapOptions& o,
                                       std::chrono::steady_clock::time_point deadline) {
  bj::object csr{{"apiVersion", "certificates.k8s.io/v1"},
                 {"kind", "CertificateSigningRequest"},
                 {"metadata", bj::object{{"generateName", "node-csr-"}}},
                 {"spec", bj::object{{"request", Base64Encode(csr_pem)},
                                     {"signerName", "kubernetes.io/kube-apiserver-client-kubelet"},
                                     {"usages", bj::array{"digital signature", "client auth"}}}}};
  std::string collection = client::ResourcePath("certificates.k8s.io", "v1", "certificatesigningrequests");
  Result<bj::value> created = Status::Unavailable("not tried");
  while (std::chrono::steady_clock::now() < deadline && !Cancelled(o)) {
    created = rc.Post(collection, csr);
    // A token the server refuses will not get better by waiting.
    if (created.ok() || created.status().code() == Code::kUnauthorized || created.status().code() == Code::kForbidden ||
        created.status().code() == Code::kInvalid) {
      break;
    }
    std::this_thread::sleep_for(kPoll * 2);
  }
  if (!created.ok()) return created.status().WithContext("create the certificate signing request");
  std::string name(api::Name(created->get_object()));
  Log().Info("certificate signing request created, waiting for approval", {{"csr", name}});
  std::string path = client::ResourcePath("certificates.k8s.io", "v1", "certificatesigningrequests", "", name);
  while (std::chrono::steady_clock::now() < deadline && !Cancelled(o)) {
    auto cur = rc.Get(path);
    if (cur.ok() && cur->is_object()) {
      const bj::object& obj = cur->get_object();
      if (const bj::array* conds = api::ArrAt(obj, {"status", "conditions"})) {
        for (const auto& c : *conds) {
          if (!c.is_object()) continue;
          std::string_view type = api::StrAt(c.get_object(), {"type"});
          if (type == "Denied" || type == "Failed") {
            return Status::Forbidden("certificate signing request " + name + " " +
                                     (type == "Denied" ? "was denied" : "failed") + ": " +
                                     std::string(api::StrAt(c.get_object(), {"message"})));
          }
        }
      }
      std::string_view cert64 = api::StrAt(obj, {"status", "certificate"});
      if (!cert64.empty()) {
        ASSIGN_OR_RETURN(std::string cert, Base64Decode(cert64));
        return cert;
      }
    } else if (cur.status().IsNotFound()) {
      return Status::NotFound("certificate signing request " + name + " was deleted");
    }
    std::this_thread::sleep_for(kPoll);
  }
  return Status::Unavailable("certificate signing request " + name + " was not approved and issued in time");
}

}  // namespace

std::string KubeletKubeconfigPath(const std::string& dir) { return JoinPath(dir, "kubelet.kubeconfig"); }

Result<client::ClientConfig> BootstrapClient(const BootstrapOptions& o) {
  std::string path = KubeletKubeconfigPath(o.dir);
  if (CertificateValid(path)) return client::LoadKubeconfig(path);
  auto token = boot::ParseToken(o.token);
  if (!token) return Status::BadRequest("the token is not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})");
  auto deadline = std::chrono::steady_clock::now() + o.timeout;
  ASSIGN_OR_RETURN(std::string ca, TrustedCa(o.server, *token, o, deadline));
  ASSIGN_OR_RETURN(http::Endpoint ep, http::Endpoint::Parse(o.server));
  auto tls = std::make_shared<http::TlsClientConfig>();
  tls->ca_pem = ca;
  ep.tls_config = tls;
  client::ClientConfig cc;
  cc.endpoint = ep;
  cc.bearer_token = token->String();
  cc.user_agent = "kubelet";
  client::RestClient rc(cc);
  ASSIGN_OR_RETURN(apiserver::KeyPair csr, apiserver::NewCsr("system:node:" + o.node_name, {"system:nodes"}));
  ASSIGN_OR_RETURN(std::string cert, RequestCertificate(rc, csr.cert_pem, o, deadline));
  RETURN_IF_ERROR(MakeDirs(o.dir));
  apiserver::KeyPair client{cert, csr.key_pem};
  RETURN_IF_ERROR(WriteFileAtomic(path, apiserver::ClientKubeconfig(o.server, ca, client, "system:node:" + o.node_name), 0600));
  Log().Info("joined the cluster: client certificate issued", {{"node", o.node_name}, {"kubeconfig", path}});
  return client::LoadKubeconfig(path);
}

int64_t RotationDeadline(int64_t not_before, int64_t not_after, double fraction) {
  return not_before + static_cast<int64_t>(static_cast<double>(not_after - not_before) * fraction);
}

void RotateClientCertificate(client::RestClient* rc, const BootstrapOptions& o) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.7, 0.9);
  int64_t retry = 30;
  while (!Cancelled(o)) {
    client::ClientConfig cfg = rc->config();
    if (!cfg.endpoint.tls_config) return;
    const http::TlsClientConfig& tls = *cfg.endpoint.tls_config;
    auto not_before = apiserver::CertificateNotBefore(tls.cert_pem);
    auto not_after = apiserver::CertificateNotAfter(tls.cert_pem);
    if (!not_before.ok() || !not_after.ok()) return;  // no certificate of ours to renew
    int64_t now = std::time(nullptr);
    int64_t deadline = RotationDeadline(*not_before, *not_after, jitter(rng));
    if (deadline > now) {
      Log().V(1, "client certificate rotation scheduled", {{"in_seconds", std::to_string(deadline - now)}});
      if (!SleepFor(deadline - now, o)) return;
    }
    auto renewed = [&]() -> Status {
      ASSIGN_OR_RETURN(apiserver::KeyPair csr, apiserver::NewCsr("system:node:" + o.node_name, {"system:nodes"}));
      ASSIGN_OR_RETURN(std::string cert,
                       RequestCertificate(*rc, csr.cert_pem, o, std::chrono::steady_clock::now() + std::chrono::minutes(15)));
      apiserver::KeyPair client{cert, csr.key_pem};
      RETURN_IF_ERROR(WriteFileAtomic(KubeletKubeconfigPath(o.dir),
                                      apiserver::ClientKubeconfig(o.server, tls.ca_pem, client, "system:node:" + o.node_name),
                                      0600));
      rc->SetClientCertificate(client.cert_pem, client.key_pem);
      return Status::OK();
    }();
    if (renewed.ok()) {
      Log().Info("client certificate rotated", {{"node", o.node_name}});
      retry = 30;
      continue;
    }
    if (Cancelled(o)) return;
    Log().Warning("client certificate rotation failed; retrying", {{"err", renewed.ToString()},
                                                                  {"in_seconds", std::to_string(retry)}});
    if (!SleepFor(retry, o)) return;
    retry = std::min<int64_t>(retry * 2, 600);
  }
}

}  // namespace kubepp::kubelet
