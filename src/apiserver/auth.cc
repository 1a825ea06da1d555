#include "apiserver/auth.h"

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
  std::string_view authz = req.Header("authorization");
  if (authz.size() > 7 && (authz.substr(0, 7) == "Bearer " || authz.substr(0, 7) == "bearer ")) {
    std::string_view token = authz.substr(7);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    auto it = tokens_.find(token);
    if (it != tokens_.end()) return it->second;
    return std::nullopt;
  }
  if (req.peer) {
    UserInfo u;
    u.name = req.peer->common_name;
    u.groups = req.peer->organizations;
    u.groups.push_back("system:authenticated");
    return u;
  }
  return std::nullopt;
}

bool AllowAuthenticated::Authorize(const Attributes& attrs, std::string* reason) const {
  return attrs.user != nullptr;
}

}  // namespace kubepp::apiserver
