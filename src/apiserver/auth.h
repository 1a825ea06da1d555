// Authentication: x509 client certificates (verified by the TLS handshake
// against the cluster CA), static bearer tokens (--token-auth-file, CSV
// "token,user,uid[,\"group1,group2\"]") and service account tokens (JWTs
// from TokenRequest, valid while the service account and the object they are
// bound to still exist) and bootstrap tokens (bootstrap_token.h). Anything
// else is anonymous.
// Authorization is an interface; the only implementation so far allows every
// authenticated user.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "apiserver/http/server.h"
#include "apiserver/registry/store.h"
#include "apiserver/sa_token.h"
#include "common/clock.h"
#include "common/status.h"

namespace kubepp::apiserver {

class Authenticator {
 public:
  // Reads a token file (empty path: no tokens).
  static Result<Authenticator> Load(const std::string& token_file);
  // The user of a request, or nullopt if it is anonymous.
  std::optional<UserInfo> Authenticate(const http::Request& req) const;
  void AddToken(const std::string& token, UserInfo user) { tokens_[token] = std::move(user); }

  // Accepts service account tokens signed by `tokens` for one of
  // `audiences`; `still_valid` says whether the service account (and the
  // bound object) the claims name still exist with the same uids.
  void EnableServiceAccountTokens(const ServiceAccountTokens* tokens, std::vector<std::string> audiences,
                                  std::function<bool(const TokenClaims&)> still_valid, Clock* clock);

  static UserInfo ServiceAccountUser(const TokenClaims& c);

  // Accepts bootstrap tokens ("id.secret"): `lookup` returns the
  // kube-system Secret of that name as stored (data base64), or null.
  void EnableBootstrapTokens(std::function<std::optional<bj::object>(const std::string& name)> lookup, Clock* clock);

  // A TokenReview: the user of a bearer token for `audiences` (empty: the
  // API's own); `matched` gets the audiences the token is good for.
  std::optional<UserInfo> ReviewToken(std::string_view token, std::vector<std::string> audiences,
                                      std::vector<std::string>* matched) const;

 private:
  std::optional<UserInfo> AuthenticateJwt(std::string_view token, const std::vector<std::string>& audiences,
                                          std::vector<std::string>* matched) const;

  std::optional<UserInfo> AuthenticateBootstrap(std::string_view token) const;

  std::map<std::string, UserInfo, std::less<>> tokens_;
  std::function<std::optional<bj::object>(const std::string& name)> bootstrap_lookup_;
  Clock* bootstrap_clock_ = nullptr;
  const ServiceAccountTokens* sa_tokens_ = nullptr;
  std::vector<std::string> audiences_;
  std::function<bool(const TokenClaims&)> still_valid_;
  Clock* clock_ = nullptr;
  // Verified tokens for a few seconds, as upstream's token cache: a
  // signature check per request would cost more than the request.
  struct JwtCache {
    std::mutex mu;
    std::map<std::string, std::pair<Clock::MonoTime, std::optional<UserInfo>>, std::less<>> entries;
  };
  std::shared_ptr<JwtCache> jwt_cache_ = std::make_shared<JwtCache>();
};

struct Attributes {
  const UserInfo* user;
  std::string verb;
  std::string group;
  std::string resource;
  std::string subresource;
  std::string ns;
  std::string name;
  std::string path;  // for non-resource requests
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // True if allowed; `reason` explains a denial.
  virtual bool Authorize(const Attributes& attrs, std::string* reason) const = 0;
};

// Allows every authenticated request (RBAC arrives with the security issue),
// except that bootstrap token users (group system:bootstrappers) get only
// what upstream's system:node-bootstrapper role and system:basic-user give:
// creating and reading CertificateSigningRequests and reviewing themselves.
// The anonymous user gets only kube-public/cluster-info.
class AllowAuthenticated : public Authorizer {
 public:
  bool Authorize(const Attributes& attrs, std::string* reason) const override;
};

}  // namespace kubepp::apiserver
