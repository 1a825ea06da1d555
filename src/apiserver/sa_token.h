// Service account tokens: JWTs (RFC 7519) signed with ES256 by the cluster's
// service account key (DATA_DIR/pki/sa.key, created on first start), in the
// shape upstream's TokenRequest issues: iss, sub system:serviceaccount:NS:NAME,
// aud, iat/nbf/exp, jti, and the "kubernetes.io" claim naming the namespace,
// the service account and the object the token is bound to.
//
// The issuer also publishes its key as upstream does
// (/.well-known/openid-configuration and /openid/v1/jwks).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct evp_pkey_st;

namespace kubepp::apiserver {

struct TokenClaims {
  std::string ns;
  std::string sa_name;
  std::string sa_uid;
  std::vector<std::string> audiences;
  int64_t issued_at = 0;   // unix seconds
  int64_t expires_at = 0;  // unix seconds
  std::string jti;
  // The object the token is bound to: "Pod" or "Secret", empty if unbound.
  std::string bound_kind;
  std::string bound_name;
  std::string bound_uid;
  // For pod-bound tokens, the pod's node when it has one.
  std::string node_name;
  std::string node_uid;

  std::string Subject() const { return "system:serviceaccount:" + ns + ":" + sa_name; }
};

class ServiceAccountTokens {
 public:
  // The default issuer and API audience, as upstream's kubeadm sets them.
  static constexpr std::string_view kDefaultIssuer = "https://kubernetes.default.svc.cluster.local";

  // Loads DATA_DIR/pki/sa.key, creating it when missing.
  static Result<ServiceAccountTokens> Load(const std::string& data_dir, std::string issuer);

  const std::string& issuer() const { return issuer_; }
  const std::string& key_id() const { return kid_; }

  Result<std::string> Issue(const TokenClaims& claims) const;
  // Checks the signature, the issuer, the time window (`now` in unix
  // seconds) and that the token names one of `audiences`.
  Result<TokenClaims> Verify(std::string_view token, const std::vector<std::string>& audiences, int64_t now) const;

  // The OpenID discovery document and the key set it points at.
  std::string OpenIdConfiguration(const std::string& jwks_uri) const;
  std::string Jwks() const;

 private:
  std::string issuer_;
  std::string kid_;
  std::shared_ptr<evp_pkey_st> key_;
};

}  // namespace kubepp::apiserver
