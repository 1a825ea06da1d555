#include "apiserver/pki.h"

#include <arpa/inet.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include <memory>
#include <optional>

#include "apiserver/ssl_ptr.h"
#include "common/base64.h"
#include "common/file.h"

namespace kubepp::apiserver {
namespace {

using Cert = SslPtr<X509, X509_free>;

Status SslError(const std::string& what) { return Status::Internal("openssl: " + what); }

Result<PKey> NewKey() {
  PKey key(EVP_EC_gen("P-256"));
  if (!key) return SslError("cannot generate an EC key");
  return key;
}

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) return SslError("write key");
  return BioString(bio.get());
}

Result<std::string> CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) return SslError("write certificate");
  return BioString(bio.get());
}

Result<PKey> ParseKey(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return SslError("cannot parse private key");
  return key;
}

Result<Cert> ParseCert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return SslError("cannot parse certificate");
  return cert;
}

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext != nullptr) {
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
}

Result<Cert> NewCert(EVP_PKEY* subject_key, const std::string& cn, const std::vector<std::string>& orgs, int days) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  // Valid from a little in the past, for clocks that disagree by a few minutes.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -5 * 60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 24 * 3600);
  X509_set_pubkey(cert.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& o : orgs) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

}  // namespace

Result<KeyPair> CreateCA(const std::string& common_name, int days) {
  ASSIGN_OR_RETURN(PKey key, NewKey());
  ASSIGN_OR_RETURN(Cert cert, NewCert(key.get(), common_name, {}, days));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  AddExt(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExt(cert.get(), cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign");
  AddExt(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) return SslError("sign CA");
  KeyPair kp;
  ASSIGN_OR_RETURN(kp.cert_pem, CertPem(cert.get()));
  ASSIGN_OR_RETURN(kp.key_pem, KeyPem(key.get()));
  return kp;
}

Result<KeyPair> IssueCertificate(const KeyPair& ca, const CertRequest& req) {
  ASSIGN_OR_RETURN(PKey ca_key, ParseKey(ca.key_pem));
  ASSIGN_OR_RETURN(Cert ca_cert, ParseCert(ca.cert_pem));
  ASSIGN_OR_RETURN(PKey key, NewKey());
  ASSIGN_OR_RETURN(Cert cert, NewCert(key.get(), req.common_name, req.organizations, req.days));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  AddExt(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExt(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  AddExt(cert.get(), ca_cert.get(), NID_ext_key_usage, req.server ? "serverAuth" : "clientAuth");
  AddExt(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  std::string sans;
  for (const auto& d : req.dns_names) sans += (sans.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : req.ip_addresses) sans += (sans.empty() ? "" : ",") + std::string("IP:") + ip;
  if (!sans.empty()) AddExt(cert.get(), ca_cert.get(), NID_subject_alt_name, sans);
  if (!X509_sign(cert.get(), ca_key.get(), EVP_sha256())) return SslError("sign certificate");
  KeyPair kp;
  ASSIGN_OR_RETURN(kp.cert_pem, CertPem(cert.get()));
  ASSIGN_OR_RETURN(kp.key_pem, KeyPem(key.get()));
  return kp;
}

namespace {

Result<std::optional<KeyPair>> LoadPair(const std::string& dir, const std::string& name) {
  auto cert = ReadFile(JoinPath(dir, name + ".crt"));
  auto key = ReadFile(JoinPath(dir, name + ".key"));
  if (cert.status().IsNotFound() || key.status().IsNotFound()) return std::optional<KeyPair>();
  RETURN_IF_ERROR(cert.status());
  RETURN_IF_ERROR(key.status());
  return std::optional<KeyPair>(KeyPair{std::move(*cert), std::move(*key)});
}

Status SavePair(const std::string& dir, const std::string& name, const KeyPair& kp) {
  RETURN_IF_ERROR(WriteFileAtomic(JoinPath(dir, name + ".key"), kp.key_pem, 0600));
  return WriteFileAtomic(JoinPath(dir, name + ".crt"), kp.cert_pem, 0644);
}

bool CoversSans(const std::string& cert_pem, const std::vector<std::string>& ips, const std::vector<std::string>& dns) {
  auto cert = ParseCert(cert_pem);
  if (!cert.ok()) return false;
  for (const auto& ip : ips) {
    if (X509_check_ip_asc(cert->get(), ip.c_str(), 0) != 1) return false;
  }
  for (const auto& d : dns) {
    if (X509_check_host(cert->get(), d.c_str(), d.size(), 0, nullptr) != 1) return false;
  }
  // Also reissue when close to expiry (30 days).
  return X509_cmp_time(X509_get0_notAfter(cert->get()), nullptr) > 0;
}

// A client certificate in group system:masters, issued on first use.
Result<KeyPair> LoadOrIssueClient(const std::string& dir, const std::string& file, const KeyPair& ca,
                                  const std::string& common_name) {
  ASSIGN_OR_RETURN(auto have, LoadPair(dir, file));
  if (have) return std::move(*have);
  CertRequest req;
  req.common_name = common_name;
  req.organizations = {"system:masters"};
  ASSIGN_OR_RETURN(KeyPair kp, IssueCertificate(ca, req));
  RETURN_IF_ERROR(SavePair(dir, file, kp));
  return kp;
}

}  // namespace

Result<ClusterPki> EnsurePki(const std::string& data_dir, const std::vector<std::string>& ip_sans,
                             const std::vector<std::string>& dns_sans) {
  std::string dir = JoinPath(data_dir, "pki");
  RETURN_IF_ERROR(MakeDirs(dir));
  ClusterPki pki;
  ASSIGN_OR_RETURN(auto ca, LoadPair(dir, "ca"));
  if (!ca) {
    ASSIGN_OR_RETURN(pki.ca, CreateCA("kubepp-ca"));
    RETURN_IF_ERROR(SavePair(dir, "ca", pki.ca));
  } else {
    pki.ca = std::move(*ca);
  }
  ASSIGN_OR_RETURN(auto serving, LoadPair(dir, "apiserver"));
  if (!serving || !CoversSans(serving->cert_pem, ip_sans, dns_sans)) {
    CertRequest req;
    req.common_name = "kube-apiserver";
    req.dns_names = dns_sans;
    req.ip_addresses = ip_sans;
    req.server = true;
    ASSIGN_OR_RETURN(pki.serving, IssueCertificate(pki.ca, req));
    RETURN_IF_ERROR(SavePair(dir, "apiserver", pki.serving));
  } else {
    pki.serving = std::move(*serving);
  }
  ASSIGN_OR_RETURN(pki.admin, LoadOrIssueClient(dir, "admin", pki.ca, "kubernetes-admin"));
  ASSIGN_OR_RETURN(pki.kubelet_client,
                   LoadOrIssueClient(dir, "apiserver-kubelet-client", pki.ca, "kube-apiserver-kubelet-client"));
  return pki;
}

Result<KeyPair> SelfSignedServing(const std::string& common_name, const std::vector<std::string>& ip_sans,
                                  const std::vector<std::string>& dns_sans) {
  // A CA of its own that signs the serving certificate (the chain is sent).
  ASSIGN_OR_RETURN(KeyPair ca, CreateCA(common_name + "-ca@" + std::to_string(std::time(nullptr))));
  CertRequest req;
  req.common_name = common_name;
  req.ip_addresses = ip_sans;
  req.dns_names = dns_sans;
  req.server = true;
  ASSIGN_OR_RETURN(KeyPair kp, IssueCertificate(ca, req));
  kp.cert_pem += ca.cert_pem;
  return kp;
}

std::string AdminKubeconfig(const std::string& server, const ClusterPki& pki) {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "clusters:\n"
         "- cluster:\n"
         "    certificate-authority-data: " + Base64Encode(pki.ca.cert_pem) + "\n"
         "    server: " + server + "\n"
         "  name: kubepp\n"
         "contexts:\n"
         "- context:\n"
         "    cluster: kubepp\n"
         "    user: admin\n"
         "  name: kubepp\n"
         "current-context: kubepp\n"
         "preferences: {}\n"
         "users:\n"
         "- name: admin\n"
         "  user:\n"
         "    client-certificate-data: " + Base64Encode(pki.admin.cert_pem) + "\n"
         "    client-key-data: " + Base64Encode(pki.admin.key_pem) + "\n";
}

}  // namespace kubepp::apiserver
