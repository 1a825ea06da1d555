// The cluster's certificates: a CA, the API server's serving certificate and
// an admin client certificate (group system:masters), created on first start
// in DATA_DIR/pki and reused after; and the admin kubeconfig.
//
// Keys are ECDSA P-256 (fast to create: the first start stays in
// milliseconds); certificates are X.509 v3 signed with SHA-256.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace kubepp::apiserver {

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

struct CertRequest {
  std::string common_name;
  std::vector<std::string> organizations;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  bool server = false;  // serverAuth usage (else clientAuth)
  int days = 365;
};

Result<KeyPair> CreateCA(const std::string& common_name, int days = 3650);
Result<KeyPair> IssueCertificate(const KeyPair& ca, const CertRequest& req);

struct ClusterPki {
  KeyPair ca;
  KeyPair serving;
  KeyPair admin;
  KeyPair kubelet_client;  // the API server's identity toward kubelets (logs, exec)
};

// Loads DATA_DIR/pki, creating what is missing. The serving certificate is
// reissued when the wanted SANs are not all in it.
Result<ClusterPki> EnsurePki(const std::string& data_dir, const std::vector<std::string>& ip_sans,
                             const std::vector<std::string>& dns_sans);

// A self-signed serving certificate (what a kubelet serves with when it has
// no certificate from the cluster, as upstream's default).
Result<KeyPair> SelfSignedServing(const std::string& common_name, const std::vector<std::string>& ip_sans,
                                  const std::vector<std::string>& dns_sans);

// A certificate signing request as a signer sees it.
struct CsrInfo {
  std::string common_name;
  std::vector<std::string> organizations;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::vector<std::string> emails;
  std::vector<std::string> uris;
};

// Parses a PEM "CERTIFICATE REQUEST" and checks its self-signature.
Result<CsrInfo> ParseCsr(std::string_view pem);

// A new key and a CSR for it (PEM "CERTIFICATE REQUEST" in cert_pem).
Result<KeyPair> NewCsr(const std::string& common_name, const std::vector<std::string>& organizations);

// Issues a certificate for a CSR, signed by `ca`: the request's subject,
// public key and subject alternative names; key usages and extended key
// usages from `usages` (the names of certificates.k8s.io: "digital
// signature", "client auth", ...); valid from five minutes ago for
// `seconds`, but never past the CA's own expiry.
Result<std::string> SignCsr(const KeyPair& ca, std::string_view csr_pem, const std::vector<std::string>& usages,
                            int64_t seconds);

// Whether `pem` holds one or more well-formed CERTIFICATE blocks (other
// text may surround them), as certificates.k8s.io validates status.certificate.
Status CheckCertificatePem(std::string_view pem);

// The expiry (notAfter) of the first certificate in `pem`, as Unix seconds.
Result<int64_t> CertificateNotAfter(std::string_view pem);
// Its start (notBefore), as Unix seconds.
Result<int64_t> CertificateNotBefore(std::string_view pem);

// A kubeconfig for `server` (https://host:port) with the CA and the client
// certificate embedded.
std::string AdminKubeconfig(const std::string& server, const ClusterPki& pki);
std::string ClientKubeconfig(const std::string& server, const std::string& ca_pem, const KeyPair& client,
                             const std::string& user);

}  // namespace kubepp::apiserver
