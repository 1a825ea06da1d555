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

// A v3 certificate with a random serial, valid from five minutes ago (for
// clocks that disagree a little, as upstream backdates) for `seconds`.
Cert BlankCert(int64_t seconds) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -5 * 60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(seconds));
  return cert;
}

Result<Cert> NewCert(EVP_PKEY* subject_key, const std::string& cn, const std::vector<std::string>& orgs, int days) {
  Cert cert = BlankCert(static_cast<int64_t>(days) * 24 * 3600);
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

namespace {

using Req = SslPtr<X509_REQ, X509_REQ_free>;
using Names = SslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;

std::string Asn1String(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s)));
}

void ReadSans(const GENERAL_NAMES* names, CsrInfo& out) {
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    switch (n->type) {
      case GEN_DNS:
        out.dns_names.push_back(Asn1String(n->d.dNSName));
        break;
      case GEN_EMAIL:
        out.emails.push_back(Asn1String(n->d.rfc822Name));
        break;
      case GEN_URI:
        out.uris.push_back(Asn1String(n->d.uniformResourceIdentifier));
        break;
      case GEN_IPADD: {
        std::string raw = Asn1String(n->d.iPAddress);
        char buf[INET6_ADDRSTRLEN] = {};
        int af = raw.size() == 4 ? AF_INET : AF_INET6;
        if ((raw.size() == 4 || raw.size() == 16) && inet_ntop(af, raw.data(), buf, sizeof buf) != nullptr) {
          out.ip_addresses.emplace_back(buf);
        }
        break;
      }
      default:
        break;
    }
  }
}

Result<Req> ReadCsr(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Req req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) return Status::BadRequest("PEM block type must be CERTIFICATE REQUEST");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr || X509_REQ_verify(req.get(), key) != 1) {
    return Status::BadRequest("x509: the signature of the certificate request does not verify");
  }
  return req;
}

// certificates.k8s.io usages as OpenSSL extension values.
void UsageExtensions(const std::vector<std::string>& usages, std::string* key_usage, std::string* ext_usage) {
  static const std::pair<const char*, const char*> kKey[] = {
      {"signing", "digitalSignature"},         {"digital signature", "digitalSignature"},
      {"content commitment", "nonRepudiation"}, {"key encipherment", "keyEncipherment"},
      {"key agreement", "keyAgreement"},       {"data encipherment", "dataEncipherment"},
      {"cert sign", "keyCertSign"},            {"crl sign", "cRLSign"},
      {"encipher only", "encipherOnly"},       {"decipher only", "decipherOnly"}};
  static const std::pair<const char*, const char*> kExt[] = {
      {"any", "anyExtendedKeyUsage"},       {"server auth", "serverAuth"},     {"client auth", "clientAuth"},
      {"code signing", "codeSigning"},      {"email protection", "emailProtection"},
      {"s/mime", "emailProtection"},        {"ipsec end system", "ipsecEndSystem"},
      {"ipsec tunnel", "ipsecTunnel"},      {"ipsec user", "ipsecUser"},
      {"timestamping", "timeStamping"},     {"ocsp signing", "OCSPSigning"},
      {"microsoft sgc", "msSGC"},           {"netscape sgc", "nsSGC"}};
  auto add = [](std::string* to, const char* v) {
    if (to->find(v) != std::string::npos) return;
    if (!to->empty()) *to += ",";
    *to += v;
  };
  for (const auto& u : usages) {
    for (const auto& [name, ext] : kKey) {
      if (u == name) add(key_usage, ext);
    }
    for (const auto& [name, ext] : kExt) {
      if (u == name) add(ext_usage, ext);
    }
  }
}

}  // namespace

Result<CsrInfo> ParseCsr(std::string_view pem) {
  ASSIGN_OR_RETURN(Req req, ReadCsr(pem));
  CsrInfo info;
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    std::string v = Asn1String(X509_NAME_ENTRY_get_data(e));
    if (nid == NID_commonName) info.common_name = v;
    if (nid == NID_organizationName) info.organizations.push_back(v);
  }
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req.get());
  if (exts != nullptr) {
    // -1: none; -2: more than one; else found, and null if it does not
    // decode. Anything but none or one readable extension is refused: the
    // signer copies the extension as sent, so what is checked must be it.
    int crit = -1;
    Names sans(static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, &crit, nullptr)));
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (crit == -2) return Status::BadRequest("x509: certificate request has more than one subjectAltName extension");
    if (crit != -1 && !sans) return Status::BadRequest("x509: malformed subjectAltName extension");
    if (sans) ReadSans(sans.get(), info);
  }
  return info;
}

Result<KeyPair> NewCsr(const std::string& common_name, const std::vector<std::string>& organizations) {
  ASSIGN_OR_RETURN(PKey key, NewKey());
  Req req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  for (const auto& o : organizations) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key.get());
  if (!X509_REQ_sign(req.get(), key.get(), EVP_sha256())) return SslError("sign certificate request");
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509_REQ(bio.get(), req.get())) return SslError("write certificate request");
  KeyPair kp;
  kp.cert_pem = BioString(bio.get());
  ASSIGN_OR_RETURN(kp.key_pem, KeyPem(key.get()));
  return kp;
}

Result<std::string> SignCsr(const KeyPair& ca, std::string_view csr_pem, const std::vector<std::string>& usages,
                            int64_t seconds) {
  ASSIGN_OR_RETURN(Req req, ReadCsr(csr_pem));
  RETURN_IF_ERROR(ParseCsr(csr_pem).status());  // what the approver and the signer's rules saw
  ASSIGN_OR_RETURN(PKey ca_key, ParseKey(ca.key_pem));
  ASSIGN_OR_RETURN(Cert ca_cert, ParseCert(ca.cert_pem));
  Cert cert = BlankCert(seconds);
  if (X509_cmp_time(X509_get0_notAfter(ca_cert.get()), nullptr) > 0 &&
      ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(ca_cert.get())) > 0) {
    X509_set1_notAfter(cert.get(), X509_get0_notAfter(ca_cert.get()));
  }
  X509_set_subject_name(cert.get(), X509_REQ_get_subject_name(req.get()));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  X509_set_pubkey(cert.get(), X509_REQ_get0_pubkey(req.get()));
  AddExt(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  std::string key_usage, ext_usage;
  UsageExtensions(usages, &key_usage, &ext_usage);
  if (!key_usage.empty()) AddExt(cert.get(), ca_cert.get(), NID_key_usage, "critical," + key_usage);
  if (!ext_usage.empty()) AddExt(cert.get(), ca_cert.get(), NID_ext_key_usage, ext_usage);
  AddExt(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req.get());
  if (exts != nullptr) {
    int at = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
    if (at >= 0) X509_add_ext(cert.get(), X509v3_get_ext(exts, at), -1);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  }
  if (!X509_sign(cert.get(), ca_key.get(), EVP_sha256())) return SslError("sign certificate");
  return CertPem(cert.get());
}

Status CheckCertificatePem(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  size_t pos = 0;
  int certs = 0;
  while ((pos = pem.find(kBegin, pos)) != std::string_view::npos) {
    size_t label_end = pem.find("-----", pos + kBegin.size());
    if (label_end == std::string_view::npos) break;
    std::string_view label = pem.substr(pos + kBegin.size(), label_end - pos - kBegin.size());
    std::string end_marker = "-----END " + std::string(label) + "-----";
    size_t end = pem.find(end_marker, label_end);
    if (end == std::string_view::npos) return Status::BadRequest("incomplete PEM block");
    if (label != "CERTIFICATE") return Status::BadRequest("only CERTIFICATE PEM blocks are allowed, found \"" + std::string(label) + "\"");
    std::string_view block = pem.substr(pos, end + end_marker.size() - pos);
    if (block.find(':') != std::string_view::npos) return Status::BadRequest("no PEM block headers are permitted");
    if (!ParseCert(std::string(block)).ok()) return Status::BadRequest("x509: malformed certificate");
    ++certs;
    pos = end + end_marker.size();
  }
  if (certs == 0) return Status::BadRequest("must contain at least one CERTIFICATE PEM block");
  return Status::OK();
}

namespace {

Result<int64_t> CertificateTime(std::string_view pem, bool after) {
  ASSIGN_OR_RETURN(Cert cert, ParseCert(std::string(pem)));
  struct tm tm {};
  const ASN1_TIME* t = after ? X509_get0_notAfter(cert.get()) : X509_get0_notBefore(cert.get());
  if (ASN1_TIME_to_tm(t, &tm) != 1) return SslError("certificate validity");
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

Result<int64_t> CertificateNotAfter(std::string_view pem) { return CertificateTime(pem, true); }
Result<int64_t> CertificateNotBefore(std::string_view pem) { return CertificateTime(pem, false); }

std::string AdminKubeconfig(const std::string& server, const ClusterPki& pki) {
  return ClientKubeconfig(server, pki.ca.cert_pem, pki.admin, "admin");
}

std::string ClientKubeconfig(const std::string& server, const std::string& ca_pem, const KeyPair& client,
                             const std::string& user) {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "clusters:\n"
         "- cluster:\n"
         "    certificate-authority-data: " + Base64Encode(ca_pem) + "\n"
         "    server: " + server + "\n"
         "  name: kubepp\n"
         "contexts:\n"
         "- context:\n"
         "    cluster: kubepp\n"
         "    user: " + user + "\n"
         "  name: kubepp\n"
         "current-context: kubepp\n"
         "preferences: {}\n"
         "users:\n"
         "- name: " + user + "\n"
         "  user:\n"
         "    client-certificate-data: " + Base64Encode(client.cert_pem) + "\n"
         "    client-key-data: " + Base64Encode(client.key_pem) + "\n";
}

}  // namespace kubepp::apiserver
