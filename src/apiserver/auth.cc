#include "apiserver/auth.h"

#include <algorithm>

#include "api/object.h"
#include "apiserver/bootstrap_token.h"
#include "common/file.h"

namespace kubepp::apiserver {
namespace {

// Splits one CSV line, honouring double quotes.
std::vector<std::string> SplitCsv(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(std::move(cur));
  return out;
}

}  // namespace

Result<Authenticator> Authenticator::Load(const std::string& token_file) {
  Authenticator a;
  if (token_file.empty()) return a;
  ASSIGN_OR_RETURN(std::string text, ReadFile(token_file));
  size_t start = 0;
  int lineno = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    auto f = SplitCsv(line);
    if (f.size() < 3 || f[0].empty() || f[1].empty()) {
      return Status::BadRequest(token_file + ":" + std::to_string(lineno) + ": want token,user,uid[,\"groups\"]");
    }
    UserInfo u{f[1], f[2], {}};
    if (f.size() > 3) {
      std::string_view gs = f[3];
      size_t s = 0;
      while (s <= gs.size()) {
        size_t e = gs.find(',', s);
        if (e == std::string_view::npos) e = gs.size();
        if (e > s) u.groups.emplace_back(gs.substr(s, e - s));
        s = e + 1;
      }
    }
    u.groups.push_back("system:authenticated");
    a.tokens_[f[0]] = std::move(u);
  }
  return a;
}

std::optional<UserInfo> Authenticator::Authenticate(const http::Request& req) const {
  // Upstream's order: a verified client certificate wins over a token.
  if (req.peer) {
    UserInfo u;
    u.name = req.peer->common_name;
    u.groups = req.peer->organizations;
    u.groups.push_back("system:authenticated");
    return u;
  }
  std::string_view authz = req.Header("authorization");
  if (authz.size() > 7 && (authz.substr(0, 7) == "Bearer " || authz.substr(0, 7) == "bearer ")) {
    std::string_view token = authz.substr(7);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    auto it = tokens_.find(token);
    if (it != tokens_.end()) return it->second;
    if (auto u = AuthenticateBootstrap(token)) return u;
    if (sa_tokens_ != nullptr && std::count(token.begin(), token.end(), '.') == 2) return AuthenticateJwt(token, audiences_, nullptr);
  }
  return std::nullopt;
}

void Authenticator::EnableServiceAccountTokens(const ServiceAccountTokens* tokens, std::vector<std::string> audiences,
                                               std::function<bool(const TokenClaims&)> still_valid, Clock* clock) {
  sa_tokens_ = tokens;
  audiences_ = std::move(audiences);
  still_valid_ = std::move(still_valid);
  clock_ = clock;
}

UserInfo Authenticator::ServiceAccountUser(const TokenClaims& c) {
  UserInfo u;
  u.name = c.Subject();
  u.uid = c.sa_uid;
  u.groups = {"system:serviceaccounts", "system:serviceaccounts:" + c.ns, "system:authenticated"};
  return u;
}

std::optional<UserInfo> Authenticator::ReviewToken(std::string_view token, std::vector<std::string> audiences,
                                                   std::vector<std::string>* matched) const {
  if (audiences.empty()) audiences = audiences_;
  matched->clear();
  if (auto it = tokens_.find(token); it != tokens_.end()) {
    // Static tokens know no audience: they are good for the API's own.
    for (const auto& a : audiences) {
      if (std::find(audiences_.begin(), audiences_.end(), a) != audiences_.end()) matched->push_back(a);
    }
    if (matched->empty()) return std::nullopt;
    return it->second;
  }
  if (auto u = AuthenticateBootstrap(token)) {
    // Like static tokens: good for the API's own audiences.
    for (const auto& a : audiences) {
      if (std::find(audiences_.begin(), audiences_.end(), a) != audiences_.end()) matched->push_back(a);
    }
    if (matched->empty()) return std::nullopt;
    return u;
  }
  if (sa_tokens_ == nullptr || std::count(token.begin(), token.end(), '.') != 2) return std::nullopt;
  return AuthenticateJwt(token, audiences, matched);
}

std::optional<UserInfo> Authenticator::AuthenticateJwt(std::string_view token, const std::vector<std::string>& audiences,
                                                       std::vector<std::string>* matched) const {
  constexpr auto kTtl = std::chrono::seconds(10);
  constexpr size_t kMaxEntries = 4096;
  // Only requests for the API's own audiences are cached.
  bool cacheable = matched == nullptr;
  auto now = clock_->Monotonic();
  if (cacheable) {
    std::lock_guard<std::mutex> l(jwt_cache_->mu);
    auto it = jwt_cache_->entries.find(token);
    if (it != jwt_cache_->entries.end() && it->second.first > now) return it->second.second;
  }
  int64_t unix_now = std::chrono::duration_cast<std::chrono::seconds>(clock_->Now().time_since_epoch()).count();
  std::optional<UserInfo> user;
  auto claims = sa_tokens_->Verify(token, audiences, unix_now);
  if (claims.ok() && (!still_valid_ || still_valid_(*claims))) {
    user = ServiceAccountUser(*claims);
    if (matched != nullptr) {
      for (const auto& a : claims->audiences) {
        if (std::find(audiences.begin(), audiences.end(), a) != audiences.end()) matched->push_back(a);
      }
    }
  }
  if (!cacheable) return user;
  auto until = now + kTtl;
  if (claims.ok()) {
    // Never cache past the token's own expiry.
    auto left = std::chrono::seconds(std::max<int64_t>(0, claims->expires_at - unix_now));
    if (left < kTtl) until = now + left;
  }
  std::lock_guard<std::mutex> l(jwt_cache_->mu);
  if (jwt_cache_->entries.size() >= kMaxEntries) {
    for (auto it = jwt_cache_->entries.begin(); it != jwt_cache_->entries.end();) {
      it = it->second.first <= now ? jwt_cache_->entries.erase(it) : std::next(it);
    }
    if (jwt_cache_->entries.size() >= kMaxEntries) jwt_cache_->entries.clear();
  }
  jwt_cache_->entries[std::string(token)] = {until, user};
  return user;
}

void Authenticator::EnableBootstrapTokens(std::function<std::optional<bj::object>(const std::string& name)> lookup,
                                          Clock* clock) {
  bootstrap_lookup_ = std::move(lookup);
  bootstrap_clock_ = clock;
}

std::optional<UserInfo> Authenticator::AuthenticateBootstrap(std::string_view text) const {
  if (!bootstrap_lookup_) return std::nullopt;
  auto token = bootstrap::ParseToken(text);
  if (!token) return std::nullopt;
  std::string name = std::string(bootstrap::kSecretPrefix) + token->id;
  std::optional<bj::object> secret = bootstrap_lookup_(name);
  if (!secret) return std::nullopt;
  bootstrap::TokenSecret ts = bootstrap::ReadTokenSecret(*secret);
  if (!ts.invalid.empty() || !ts.authentication || !bootstrap::SecretsEqual(ts.secret, token->secret)) {
    return std::nullopt;
  }
  if (ts.expires) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(bootstrap_clock_->Now().time_since_epoch()).count();
    if (*ts.expires <= now) return std::nullopt;
  }
  UserInfo u;
  u.name = std::string(bootstrap::kUserPrefix) + token->id;
  u.groups.emplace_back(bootstrap::kGroup);
  for (auto& g : ts.extra_groups) u.groups.push_back(std::move(g));
  u.groups.push_back("system:authenticated");
  return u;
}

namespace {

bool InGroup(const UserInfo& u, std::string_view g) { return std::find(u.groups.begin(), u.groups.end(), g) != u.groups.end(); }

// Upstream's RBAC denial text.
std::string Denied(const Attributes& a) {
  std::string resource = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
  std::string where = a.ns.empty() ? "at the cluster scope" : "in the namespace \"" + a.ns + "\"";
  return "User \"" + a.user->name + "\" cannot " + a.verb + " resource \"" + resource + "\" in API group \"" + a.group +
         "\" " + where;
}

}  // namespace

bool AllowAuthenticated::Authorize(const Attributes& attrs, std::string* reason) const {
  if (attrs.user == nullptr) return false;
  const UserInfo& u = *attrs.user;
  if (u.name == "system:anonymous") {
    bool ok = attrs.verb == "get" && attrs.group.empty() && attrs.resource == "configmaps" && attrs.subresource.empty() &&
              attrs.ns == bootstrap::kPublicNamespace && attrs.name == bootstrap::kClusterInfo;
    if (!ok) *reason = Denied(attrs);
    return ok;
  }
  if (InGroup(u, bootstrap::kGroup) && !InGroup(u, "system:masters")) {
    bool csr = attrs.group == "certificates.k8s.io" && attrs.resource == "certificatesigningrequests" &&
               attrs.subresource.empty() &&
               (attrs.verb == "create" || attrs.verb == "get" || attrs.verb == "list" || attrs.verb == "watch");
    bool self_review = attrs.verb == "create" && attrs.subresource.empty() &&
                       ((attrs.group == "authentication.k8s.io" && attrs.resource == "selfsubjectreviews") ||
                        (attrs.group == "authorization.k8s.io" &&
                         (attrs.resource == "selfsubjectaccessreviews" || attrs.resource == "selfsubjectrulesreviews")));
    if (!csr && !self_review) {
      *reason = Denied(attrs);
      return false;
    }
  }
  return true;
}

}  // namespace kubepp::apiserver
