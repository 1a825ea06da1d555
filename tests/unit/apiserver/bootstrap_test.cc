// Bootstrap tokens, the cluster-info signature, and the PKI's CSR helpers.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "apiserver/bootstrap_token.h"
#include "apiserver/pki.h"

namespace kubepp::apiserver {
namespace {

TEST(BootstrapTokenTest, ParsesOnlyUpstreamsFormat) {
  auto t = bootstrap::ParseToken("abcdef.0123456789abcdef");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->id, "abcdef");
  EXPECT_EQ(t->secret, "0123456789abcdef");
  for (const char* bad : {"", "abcdef", "abcdef.", "ABCDEF.0123456789abcdef", "abcde.0123456789abcdef",
                          "abcdef.0123456789abcde", "abcdef.0123456789abcdef0", "abc-ef.0123456789abcdef",
                          "abcdef:0123456789abcdef"}) {
    EXPECT_FALSE(bootstrap::ParseToken(bad)) << bad;
  }
  bootstrap::Token n = bootstrap::NewToken();
  EXPECT_TRUE(bootstrap::ParseToken(n.String())) << n.String();
  EXPECT_NE(n.String(), bootstrap::NewToken().String());
}

TEST(BootstrapTokenTest, DetachedSignatureMatchesUpstreamsJws) {
  // Computed independently (Python hmac): HS256 over
  // base64url(header) "." base64url(content), keyed by the token secret.
  bootstrap::Token t{"abcdef", "0123456789abcdef"};
  std::string content = "apiVersion: v1\nkind: Config\n";
  std::string jws = bootstrap::DetachedSignature(content, t);
  EXPECT_EQ(jws, "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..vH_kT4yiol-nrAWgjfCYqvum5wsKETXe0S7OOp1VgnE");
  EXPECT_TRUE(bootstrap::SignatureValid(jws, content, t));
  EXPECT_FALSE(bootstrap::SignatureValid(jws, content + " ", t));
  EXPECT_FALSE(bootstrap::SignatureValid(jws, content, bootstrap::Token{"abcdef", "0123456789abcdee"}));
}

TEST(BootstrapTokenTest, ReadsTokenSecrets) {
  std::map<std::string, std::string> data = {{"token-id", "abcdef"},
                                             {"token-secret", "0123456789abcdef"},
                                             {"usage-bootstrap-authentication", "true"},
                                             {"expiration", "2030-01-02T03:04:05Z"},
                                             {"auth-extra-groups", "system:bootstrappers:a,system:bootstrappers:b"}};
  auto s = bootstrap::ReadTokenSecret("bootstrap-token-abcdef", "bootstrap.kubernetes.io/token", data);
  EXPECT_EQ(s.invalid, "");
  EXPECT_TRUE(s.authentication);
  EXPECT_FALSE(s.signing);
  EXPECT_EQ(s.expires, 1893553445);
  EXPECT_EQ(s.extra_groups, (std::vector<std::string>{"system:bootstrappers:a", "system:bootstrappers:b"}));
  EXPECT_NE(bootstrap::ReadTokenSecret("bootstrap-token-abcdef", "Opaque", data).invalid, "");
  EXPECT_NE(bootstrap::ReadTokenSecret("bootstrap-token-zzzzzz", "bootstrap.kubernetes.io/token", data).invalid, "");
  data["auth-extra-groups"] = "system:masters";
  EXPECT_NE(bootstrap::ReadTokenSecret("bootstrap-token-abcdef", "bootstrap.kubernetes.io/token", data).invalid, "");
  data["auth-extra-groups"] = "";
  data["expiration"] = "soon";
  EXPECT_NE(bootstrap::ReadTokenSecret("bootstrap-token-abcdef", "bootstrap.kubernetes.io/token", data).invalid, "");
}

TEST(PkiCsrTest, RequestParseAndSign) {
  auto csr = NewCsr("system:node:n1", {"system:nodes"});
  ASSERT_TRUE(csr.ok()) << csr.status().ToString();
  EXPECT_EQ(csr->cert_pem.rfind("-----BEGIN CERTIFICATE REQUEST-----", 0), 0u);
  auto info = ParseCsr(csr->cert_pem);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->common_name, "system:node:n1");
  EXPECT_EQ(info->organizations, std::vector<std::string>{"system:nodes"});
  EXPECT_TRUE(info->dns_names.empty());

  auto ca = CreateCA("test-ca");
  ASSERT_TRUE(ca.ok());
  auto cert = SignCsr(*ca, csr->cert_pem, {"digital signature", "client auth"}, 3600);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_TRUE(CheckCertificatePem(*cert).ok());
  auto not_after = CertificateNotAfter(*cert);
  ASSERT_TRUE(not_after.ok());
  int64_t now = std::time(nullptr);
  EXPECT_GE(*not_after, now + 3590);
  EXPECT_LE(*not_after, now + 3610);
  // Never past the CA's own expiry.
  auto capped = SignCsr(*ca, csr->cert_pem, {"client auth"}, int64_t{100} * 365 * 24 * 3600);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(*CertificateNotAfter(*capped), *CertificateNotAfter(ca->cert_pem));

  EXPECT_FALSE(ParseCsr("junk").ok());
  EXPECT_FALSE(ParseCsr(ca->cert_pem).ok());
  // A tampered request fails its self-signature.
  std::string tampered = csr->cert_pem;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ParseCsr(tampered).ok());
}

// A CSR with the given subjectAltName extensions (each a separate extension).
std::string CsrWithSans(const std::vector<const char*>& sans) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509_REQ* req = X509_REQ_new();
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("system:node:n1"), -1, -1, 0);
  X509_REQ_set_pubkey(req, key);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  for (const char* s : sans) sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, s));
  X509_REQ_add_extensions(req, exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_sign(req, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, req);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  X509_REQ_free(req);
  EVP_PKEY_free(key);
  return pem;
}

TEST(PkiCsrTest, SubjectAltNamesAreReadOrRefused) {
  auto one = ParseCsr(CsrWithSans({"DNS:n1.example,IP:10.0.0.1"}));
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->dns_names, std::vector<std::string>{"n1.example"});
  EXPECT_EQ(one->ip_addresses, std::vector<std::string>{"10.0.0.1"});
  // Two extensions: what a checker reads and what a signer copies could
  // differ, so neither reads nor signs it.
  std::string two = CsrWithSans({"DNS:a.example", "DNS:b.example"});
  EXPECT_FALSE(ParseCsr(two).ok());
  auto ca = CreateCA("test-ca");
  ASSERT_TRUE(ca.ok());
  EXPECT_FALSE(SignCsr(*ca, two, {"client auth"}, 3600).ok());
}

TEST(PkiCsrTest, CertificatePemChecks) {
  auto ca = CreateCA("test-ca");
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(CheckCertificatePem("leading text\n" + ca->cert_pem + ca->cert_pem + "trailing").ok());
  EXPECT_FALSE(CheckCertificatePem("").ok());
  EXPECT_FALSE(CheckCertificatePem(ca->key_pem).ok());
  EXPECT_FALSE(CheckCertificatePem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
}

}  // namespace
}  // namespace kubepp::apiserver
