// Authentication: x509 client certificates (verified by the TLS handshake
// against the cluster CA) and static bearer tokens (--token-auth-file, CSV
// "token,user,uid[,\"group1,group2\"]"). Anything else is anonymous.
// Authorization is an interface; the only implementation so far allows every
// authenticated user.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apiserver/http/server.h"
#include "apiserver/registry/store.h"
#include "common/status.h"

namespace kubepp::apiserver {

class Authenticator {
 public:
  // Reads a token file (empty path: no tokens).
  static Result<Authenticator> Load(const std::string& token_file);
  // The user of a request, or nullopt if it is anonymous.
  std::optional<UserInfo> Authenticate(const http::Request& req) const;
  void AddToken(const std::string& token, UserInfo user) { tokens_[token] = std::move(user); }

 private:
  std::map<std::string, UserInfo, std::less<>> tokens_;
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

// Allows every authenticated request (RBAC arrives with the security issue).
class AllowAuthenticated : public Authorizer {
 public:
  bool Authorize(const Attributes& attrs, std::string* reason) const override;
};

}  // namespace kubepp::apiserver
