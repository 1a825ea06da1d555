#include "apiserver/bootstrap_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

#include "api/object.h"
#include "api/time.h"
#include "common/base64.h"
#include "common/strings.h"

namespace kubepp::apiserver::bootstrap {
namespace {

bool IsTokenChars(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string RandomChars(size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  while (out.size() < n) {
    unsigned char b[32];
    // getrandom blocks until the kernel's pool is ready and then never fails
    // short for 32 bytes; a token is never made from anything less.
    while (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) {
    }
    for (unsigned char c : b) {
      // 252 = 7 * 36: no modulo bias.
      if (c < 252 && out.size() < n) out.push_back(kAlphabet[c % 36]);
    }
  }
  return out;
}

// The protected header upstream's go-jose writes: keys in sorted order.
std::string Header(const Token& t) { return Base64UrlEncode(R"({"alg":"HS256","kid":")" + t.id + R"("})"); }

std::string Hs256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &n);
  return std::string(reinterpret_cast<const char*>(out), n);
}

}  // namespace

std::optional<Token> ParseToken(std::string_view text) {
  size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  Token t{std::string(text.substr(0, dot)), std::string(text.substr(dot + 1))};
  if (!IsTokenChars(t.id, 6) || !IsTokenChars(t.secret, 16)) return std::nullopt;
  return t;
}

Token NewToken() { return Token{RandomChars(6), RandomChars(16)}; }

std::string DetachedSignature(std::string_view content, const Token& token) {
  std::string header = Header(token);
  std::string signing_input = header + "." + Base64UrlEncode(content);
  return header + ".." + Base64UrlEncode(Hs256(token.secret, signing_input));
}

bool SignatureValid(std::string_view jws, std::string_view content, const Token& token) {
  return SecretsEqual(jws, DetachedSignature(content, token));
}

bool SecretsEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

TokenSecret ReadTokenSecret(std::string_view name, std::string_view type, const std::map<std::string, std::string>& data) {
  TokenSecret s;
  auto get = [&](const char* k) -> std::string {
    auto it = data.find(k);
    return it == data.end() ? std::string() : it->second;
  };
  if (type != kSecretType) {
    s.invalid = "not of type " + std::string(kSecretType);
    return s;
  }
  s.id = get("token-id");
  s.secret = get("token-secret");
  if (!IsTokenChars(s.id, 6) || !IsTokenChars(s.secret, 16)) {
    s.invalid = "malformed token-id or token-secret";
    return s;
  }
  if (name != std::string(kSecretPrefix) + s.id) {
    s.invalid = "the name does not match token-id";
    return s;
  }
  if (std::string exp = get("expiration"); !exp.empty()) {
    auto t = api::ParseTime(exp);
    if (!t) {
      s.invalid = "malformed expiration";
      return s;
    }
    s.expires = std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
  }
  s.authentication = get("usage-bootstrap-authentication") == "true";
  s.signing = get("usage-bootstrap-signing") == "true";
  std::string groups = get("auth-extra-groups");
  for (std::string_view g : SplitNonEmpty(groups)) {
    // Upstream: extra groups must stay within system:bootstrappers:.
    if (g.rfind(std::string(kGroup) + ":", 0) != 0) {
      s.invalid = "auth-extra-groups must start with " + std::string(kGroup) + ":";
      return s;
    }
    s.extra_groups.emplace_back(g);
  }
  return s;
}

TokenSecret ReadTokenSecret(const boost::json::object& secret) {
  if (api::At(secret, {"metadata", "deletionTimestamp"}) != nullptr) {
    TokenSecret s;
    s.invalid = "being deleted";
    return s;
  }
  std::map<std::string, std::string> data;
  if (const boost::json::object* d = api::ObjAt(secret, {"data"})) {
    for (const auto& [k, v] : *d) {
      if (!v.is_string()) continue;
      if (auto dec = Base64Decode(v.get_string()); dec.ok()) data[std::string(k)] = std::move(*dec);
    }
  }
  return ReadTokenSecret(api::Name(secret), api::StrAt(secret, {"type"}), data);
}

}  // namespace kubepp::apiserver::bootstrap
