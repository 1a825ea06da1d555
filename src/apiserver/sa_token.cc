#include "apiserver/sa_token.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>

#include "api/object.h"
#include "apiserver/ssl_ptr.h"
#include "common/base64.h"
#include "common/file.h"
#include "common/json.h"

namespace kubepp::apiserver {
namespace {

namespace bj = boost::json;

using EcSig = SslPtr<ECDSA_SIG, ECDSA_SIG_free>;
using Bn = SslPtr<BIGNUM, BN_free>;

constexpr int kCoord = 32;  // P-256 coordinates and signature halves

Status Invalid(std::string msg) { return Status::Unauthorized("invalid bearer token: " + std::move(msg)); }

std::string BigEndian(const BIGNUM* bn) {
  std::string out(kCoord, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), kCoord);
  return out;
}

std::string PublicDer(EVP_PKEY* key) {
  int n = i2d_PUBKEY(key, nullptr);
  if (n <= 0) return {};
  std::string der(static_cast<size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_PUBKEY(key, &p);
  return der;
}

std::vector<std::string_view> SplitDots(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
}

}  // namespace

Result<ServiceAccountTokens> ServiceAccountTokens::Load(const std::string& data_dir, std::string issuer) {
  std::string dir = JoinPath(data_dir, "pki");
  RETURN_IF_ERROR(MakeDirs(dir));
  std::string path = JoinPath(dir, "sa.key");
  EVP_PKEY* raw = nullptr;
  auto pem = ReadFile(path);
  if (pem.ok()) {
    Bio bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (raw == nullptr || EVP_PKEY_get_base_id(raw) != EVP_PKEY_EC || EVP_PKEY_get_bits(raw) != 256) {
      if (raw) EVP_PKEY_free(raw);
      return Status::Internal(path + ": not a P-256 EC private key; move it away to create a new one");
    }
  } else if (pem.status().IsNotFound()) {
    raw = EVP_EC_gen("P-256");
    if (raw == nullptr) return Status::Internal("openssl: cannot generate the service account key");
    Bio bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_PrivateKey(bio.get(), raw, nullptr, nullptr, 0, nullptr, nullptr)) {
      EVP_PKEY_free(raw);
      return Status::Internal("openssl: cannot write the service account key");
    }
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    Status st = WriteFileAtomic(path, std::string_view(data, static_cast<size_t>(n)), 0600);
    if (!st.ok()) {
      EVP_PKEY_free(raw);
      return st;
    }
  } else {
    return pem.status();
  }
  ServiceAccountTokens t;
  t.key_ = std::shared_ptr<evp_pkey_st>(raw, EVP_PKEY_free);
  t.issuer_ = std::move(issuer);
  // Upstream's key id: the URL-safe SHA-256 of the PKIX public key.
  std::string der = PublicDer(raw);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(der.data()), der.size(), digest);
  t.kid_ = Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
  return t;
}

Result<std::string> ServiceAccountTokens::Issue(const TokenClaims& c) const {
  bj::object header{{"alg", "ES256"}, {"kid", kid_}};
  bj::array aud;
  for (const auto& a : c.audiences) aud.emplace_back(bj::string(a));
  bj::object k8s{{"namespace", c.ns}, {"serviceaccount", bj::object{{"name", c.sa_name}, {"uid", c.sa_uid}}}};
  if (c.bound_kind == "Pod") {
    k8s["pod"] = bj::object{{"name", c.bound_name}, {"uid", c.bound_uid}};
    if (!c.node_name.empty()) k8s["node"] = bj::object{{"name", c.node_name}, {"uid", c.node_uid}};
  } else if (c.bound_kind == "Secret") {
    k8s["secret"] = bj::object{{"name", c.bound_name}, {"uid", c.bound_uid}};
  } else if (c.bound_kind == "Node") {
    k8s["node"] = bj::object{{"name", c.bound_name}, {"uid", c.bound_uid}};
  }
  bj::object claims{{"aud", std::move(aud)},   {"exp", c.expires_at}, {"iat", c.issued_at},
                    {"iss", issuer_},          {"jti", c.jti},        {"kubernetes.io", std::move(k8s)},
                    {"nbf", c.issued_at},      {"sub", c.Subject()}};
  std::string signing_input =
      Base64UrlEncode(bj::serialize(header)) + "." + Base64UrlEncode(bj::serialize(claims));
  MdCtx md(EVP_MD_CTX_new());
  size_t der_len = 0;
  if (EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &der_len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return Status::Internal("openssl: cannot sign the token");
  }
  std::string der(der_len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1) {
    return Status::Internal("openssl: cannot sign the token");
  }
  // JWS wants the raw r || s, not the DER ECDSA-Sig-Value OpenSSL makes.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) return Status::Internal("openssl: malformed signature");
  std::string raw = BigEndian(ECDSA_SIG_get0_r(sig.get())) + BigEndian(ECDSA_SIG_get0_s(sig.get()));
  return signing_input + "." + Base64UrlEncode(raw);
}

Result<TokenClaims> ServiceAccountTokens::Verify(std::string_view token, const std::vector<std::string>& audiences,
                                                 int64_t now) const {
  auto parts = SplitDots(token);
  if (parts.size() != 3) return Invalid("not a JWT");
  auto header_raw = Base64UrlDecode(parts[0]);
  auto claims_raw = Base64UrlDecode(parts[1]);
  auto sig_raw = Base64UrlDecode(parts[2]);
  if (!header_raw.ok() || !claims_raw.ok() || !sig_raw.ok()) return Invalid("malformed encoding");
  auto header = json::Parse(*header_raw);
  if (!header.ok() || !header->is_object()) return Invalid("malformed header");
  if (std::string(api::StrAt(header->get_object(), {"alg"})) != "ES256") return Invalid("unsupported signing algorithm");
  if (sig_raw->size() != 2 * kCoord) return Invalid("malformed signature");
  // Back to DER for OpenSSL.
  EcSig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig_raw->data()), kCoord, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig_raw->data()) + kCoord, kCoord, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return Status::Internal("openssl: cannot build the signature");
  }
  int der_len = i2d_ECDSA_SIG(sig.get(), nullptr);
  std::string der(static_cast<size_t>(std::max(der_len, 0)), '\0');
  auto* dp = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig.get(), &dp);
  size_t signed_len = parts[0].size() + 1 + parts[1].size();
  MdCtx md(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                       reinterpret_cast<const unsigned char*>(token.data()), signed_len) != 1) {
    return Invalid("signature does not verify");
  }
  auto claims_v = json::Parse(*claims_raw);
  if (!claims_v.ok() || !claims_v->is_object()) return Invalid("malformed claims");
  const bj::object& cl = claims_v->get_object();
  if (std::string(api::StrAt(cl, {"iss"})) != issuer_) return Invalid("unknown issuer");
  TokenClaims c;
  c.issued_at = api::IntAt(cl, {"iat"}).value_or(0);
  c.expires_at = api::IntAt(cl, {"exp"}).value_or(0);
  int64_t nbf = api::IntAt(cl, {"nbf"}).value_or(c.issued_at);
  // Upstream allows a minute of clock skew either way.
  if (c.expires_at == 0 || now > c.expires_at + 60) return Invalid("token has expired");
  if (now + 60 < nbf) return Invalid("token is not valid yet");
  if (auto it = cl.find("aud"); it != cl.end()) {
    if (it->value().is_string()) c.audiences.emplace_back(it->value().get_string());
    if (it->value().is_array()) {
      for (const auto& a : it->value().get_array()) {
        if (a.is_string()) c.audiences.emplace_back(a.get_string());
      }
    }
  }
  bool aud_ok = false;
  for (const auto& a : c.audiences) {
    if (std::find(audiences.begin(), audiences.end(), a) != audiences.end()) aud_ok = true;
  }
  if (!aud_ok) return Invalid("token audiences are not accepted by this server");
  c.jti = std::string(api::StrAt(cl, {"jti"}));
  const bj::object* k8s = api::ObjAt(cl, {"kubernetes.io"});
  if (k8s == nullptr) return Invalid("not a service account token");
  c.ns = std::string(api::StrAt(*k8s, {"namespace"}));
  if (const bj::object* sa = api::ObjAt(*k8s, {"serviceaccount"})) {
    c.sa_name = std::string(api::StrAt(*sa, {"name"}));
    c.sa_uid = std::string(api::StrAt(*sa, {"uid"}));
  }
  if (c.ns.empty() || c.sa_name.empty() || std::string(api::StrAt(cl, {"sub"})) != c.Subject()) return Invalid("not a service account token");
  if (const bj::object* pod = api::ObjAt(*k8s, {"pod"})) {
    c.bound_kind = "Pod";
    c.bound_name = std::string(api::StrAt(*pod, {"name"}));
    c.bound_uid = std::string(api::StrAt(*pod, {"uid"}));
  } else if (const bj::object* secret = api::ObjAt(*k8s, {"secret"})) {
    c.bound_kind = "Secret";
    c.bound_name = std::string(api::StrAt(*secret, {"name"}));
    c.bound_uid = std::string(api::StrAt(*secret, {"uid"}));
  }
  if (const bj::object* node = api::ObjAt(*k8s, {"node"})) {
    if (c.bound_kind.empty()) {
      c.bound_kind = "Node";
      c.bound_name = std::string(api::StrAt(*node, {"name"}));
      c.bound_uid = std::string(api::StrAt(*node, {"uid"}));
    } else {
      c.node_name = std::string(api::StrAt(*node, {"name"}));
      c.node_uid = std::string(api::StrAt(*node, {"uid"}));
    }
  }
  return c;
}

std::string ServiceAccountTokens::OpenIdConfiguration(const std::string& jwks_uri) const {
  return bj::serialize(bj::object{{"issuer", issuer_},
                                  {"jwks_uri", jwks_uri},
                                  {"response_types_supported", bj::array{"id_token"}},
                                  {"subject_types_supported", bj::array{"public"}},
                                  {"id_token_signing_alg_values_supported", bj::array{"ES256"}}});
}

std::string ServiceAccountTokens::Jwks() const {
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x);
  EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y);
  Bn xb(x), yb(y);
  bj::object key{{"use", "sig"}, {"kty", "EC"}, {"kid", kid_}, {"crv", "P-256"}, {"alg", "ES256"}};
  if (xb && yb) {
    key["x"] = Base64UrlEncode(BigEndian(xb.get()));
    key["y"] = Base64UrlEncode(BigEndian(yb.get()));
  }
  return bj::serialize(bj::object{{"keys", bj::array{std::move(key)}}});
}

}  // namespace kubepp::apiserver
