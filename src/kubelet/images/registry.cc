#include "kubelet/images/registry.h"

#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "api/image_ref.h"
#include "api/object.h"
#include "common/base64.h"
#include "common/file.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/sha256.h"
#include "common/url.h"

namespace kubepp::kubelet::images {
namespace {

namespace bj = boost::json;

constexpr auto kTimeout = std::chrono::seconds(60);
constexpr std::string_view kDenied = "pull access denied, repository does not exist or may require authorization: ";
constexpr const char* kManifestTypes =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

struct Url {
  bool tls = true;
  std::string host;  // with :port when one was given
  std::string target = "/";
};

Result<Url> ParseUrl(std::string_view s) {
  Url u;
  if (s.starts_with("https://")) {
    s.remove_prefix(8);
  } else if (s.starts_with("http://")) {
    u.tls = false;
    s.remove_prefix(7);
  } else {
    return Status::BadRequest("not an http(s) URL: " + std::string(s));
  }
  size_t slash = s.find('/');
  u.host = std::string(s.substr(0, slash));
  if (slash != std::string_view::npos) u.target = std::string(s.substr(slash));
  if (u.host.empty()) return Status::BadRequest("URL without a host");
  return u;
}

Result<http::Endpoint> EndpointOf(const Url& u, bool verify) {
  http::Endpoint ep;
  ep.tls = u.tls;
  ep.host = u.host;
  ep.port = u.tls ? 443 : 80;
  std::string_view port;
  if (!ep.host.empty() && ep.host.front() == '[') {  // [v6]:port
    size_t close = ep.host.find(']');
    if (close == std::string::npos) return Status::BadRequest("bad host " + u.host);
    if (close + 1 < ep.host.size() && ep.host[close + 1] == ':') port = std::string_view(u.host).substr(close + 2);
    ep.host = u.host.substr(1, close - 1);
  } else if (size_t colon = ep.host.rfind(':'); colon != std::string::npos) {
    port = std::string_view(u.host).substr(colon + 1);
    ep.host = u.host.substr(0, colon);
  }
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), ep.port);
    if (ec != std::errc() || end != port.data() + port.size()) return Status::BadRequest("bad port in " + u.host);
  }
  if (u.tls) {
    auto cfg = std::make_shared<http::TlsClientConfig>();
    cfg->insecure_skip_verify = !verify;
    ep.tls_config = cfg;
  }
  return ep;
}

bool IsLocalhost(const std::string& host) {
  std::string h = host.substr(0, host.rfind(':') == std::string::npos || host.back() == ']' ? host.size() : host.rfind(':'));
  return h == "localhost" || h.starts_with("127.") || h == "[::1]" || h == "::1";
}

// Parses `Bearer realm="…",service="…",scope="…"` into its scheme and params.
std::pair<std::string, std::map<std::string, std::string>> ParseChallenge(std::string_view h) {
  std::map<std::string, std::string> params;
  size_t sp = h.find(' ');
  std::string scheme(h.substr(0, sp));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (sp == std::string_view::npos) return {scheme, params};
  std::string_view rest = h.substr(sp + 1);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',')) rest.remove_prefix(1);
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    std::string key(rest.substr(0, eq));
    rest.remove_prefix(eq + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      size_t end = rest.find('"', 1);
      value = std::string(rest.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1));
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    } else {
      size_t end = rest.find(',');
      value = std::string(rest.substr(0, end));
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    params[key] = value;
  }
  return {scheme, params};
}

std::string NormalizeRegistryKey(std::string k) {
  for (const char* p : {"https://", "http://"}) {
    if (k.starts_with(p)) k = k.substr(std::string_view(p).size());
  }
  k = k.substr(0, k.find('/'));
  if (k == "index.docker.io" || k == "registry-1.docker.io") k = "docker.io";
  return k;
}

// One pull from one registry: its transport and the token it handed out.
class Session {
 public:
  Session(std::string registry, std::string repo, bool tls, bool verify, const RegistryAuth* auth)
      : registry_(std::move(registry)), repo_(std::move(repo)), tls_(tls), verify_(verify), auth_(auth) {}

  Result<http::Response> Get(const std::string& path, const std::string& accept) {
    Url u;
    u.tls = tls_;
    u.host = registry_ == "docker.io" ? "registry-1.docker.io" : registry_;
    u.target = "/v2/" + repo_ + path;
    bool retried = false;
    for (int hops = 0; hops < 6; ++hops) {
      http::Request req;
      req.target = u.target;
      req.headers.push_back({"Accept", accept});
      req.headers.push_back({"User-Agent", "kubepp"});
      bool same_host = u.host == (registry_ == "docker.io" ? "registry-1.docker.io" : registry_);
      if (same_host && !authorization_.empty()) req.headers.push_back({"Authorization", authorization_});
      ASSIGN_OR_RETURN(http::Response r, Do(u, req));
      if (r.status == 401 && !retried && same_host) {
        retried = true;
        RETURN_IF_ERROR(Authorize(std::string(r.GetHeader("WWW-Authenticate"))));
        --hops;
        continue;
      }
      if (r.status == 301 || r.status == 302 || r.status == 303 || r.status == 307 || r.status == 308) {
        std::string loc(r.GetHeader("Location"));
        if (loc.empty()) return Status::Internal("redirect without a Location");
        if (loc.front() == '/') {
          u.target = loc;
        } else {
          ASSIGN_OR_RETURN(u, ParseUrl(loc));
        }
        continue;
      }
      return r;
    }
    return Status::Internal("too many redirects fetching " + path);
  }

 private:
  Result<http::Response> Do(const Url& u, const http::Request& req) {
    ASSIGN_OR_RETURN(http::Endpoint ep, EndpointOf(u, verify_ || u.host != registry_));
    auto conn = http::Connection::Open(ep, kTimeout);
    if (!conn.ok()) return conn.status();
    return (*conn)->RoundTrip(req);
  }

  Status Authorize(const std::string& challenge) {
    auto [scheme, params] = ParseChallenge(challenge);
    std::string basic;
    if (auth_ != nullptr && !auth_->username.empty()) basic = "Basic " + Base64Encode(auth_->username + ":" + auth_->password);
    if (scheme == "basic") {
      if (basic.empty()) return Status::Unauthorized(std::string(kDenied) + "the registry asks for credentials and none were given");
      authorization_ = basic;
      return Status::OK();
    }
    if (scheme != "bearer" || params["realm"].empty()) {
      return Status::Unauthorized("unsupported authentication challenge: " + challenge);
    }
    ASSIGN_OR_RETURN(Url realm, ParseUrl(params["realm"]));
    std::string q;
    if (!params["service"].empty()) q += "service=" + QueryEscape(params["service"]);
    q += std::string(q.empty() ? "" : "&") + "scope=" +
         QueryEscape(params["scope"].empty() ? "repository:" + repo_ + ":pull" : params["scope"]);
    realm.target += (realm.target.find('?') == std::string::npos ? "?" : "&") + q;
    http::Request req;
    req.target = realm.target;
    if (!basic.empty()) req.headers.push_back({"Authorization", basic});
    ASSIGN_OR_RETURN(http::Response r, Do(realm, req));
    if (r.status == 401 || r.status == 403) return Status::Unauthorized(std::string(kDenied) + "the token service refused the credentials");
    if (r.status != 200) return Status::Internal("token service answered " + std::to_string(r.status));
    auto v = json::Parse(r.body);
    if (!v.ok() || !v->is_object()) return Status::Internal("token service answer is not JSON");
    std::string token(json::GetString(*v, "token"));
    if (token.empty()) token = std::string(json::GetString(*v, "access_token"));
    if (token.empty()) return Status::Internal("token service gave no token");
    authorization_ = "Bearer " + token;
    return Status::OK();
  }

  std::string registry_, repo_;
  bool tls_, verify_;
  const RegistryAuth* auth_;
  std::string authorization_;
};

std::string ErrorText(const http::Response& r) {
  // {"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}
  auto v = json::Parse(r.body);
  if (v.ok() && v->is_object()) {
    if (const auto* errs = v->get_object().if_contains("errors"); errs && errs->is_array() && !errs->get_array().empty()) {
      const auto& e = errs->get_array().front();
      if (e.is_object()) return std::string(json::GetString(e, "message"));
    }
  }
  return "status " + std::to_string(r.status);
}

}  // namespace

Result<AuthConfigs> ParseDockerConfig(std::string_view text) {
  auto v = json::Parse(text);
  if (!v.ok() || !v->is_object()) return Status::BadRequest("docker config is not a JSON object");
  const bj::object* auths = &v->get_object();
  if (const auto* a = auths->if_contains("auths"); a != nullptr && a->is_object()) auths = &a->get_object();
  AuthConfigs out;
  for (const auto& [key, e] : *auths) {
    if (!e.is_object()) continue;
    RegistryAuth a;
    a.username = std::string(json::GetString(e, "username"));
    a.password = std::string(json::GetString(e, "password"));
    a.identity_token = std::string(json::GetString(e, "identitytoken"));
    std::string_view enc = json::GetString(e, "auth");
    if (!enc.empty()) {
      auto dec = Base64Decode(enc);
      if (dec.ok()) {
        size_t colon = dec->find(':');
        a.username = dec->substr(0, colon);
        a.password = colon == std::string::npos ? "" : dec->substr(colon + 1);
      }
    }
    out[NormalizeRegistryKey(std::string(key))] = std::move(a);
  }
  return out;
}

Result<Image> Puller::Pull(const std::string& image, const std::vector<AuthConfigs>& auths) {
  ASSIGN_OR_RETURN(api::ImageRef ref, api::ParseImageRef(image));
  {
    // A registry that could not be reached is not asked again for a while:
    // on a machine without a network each pull would wait on DNS.
    std::lock_guard<std::mutex> l(mu_);
    auto it = unreachable_.find(ref.domain);
    if (it != unreachable_.end() && std::chrono::steady_clock::now() < it->second.first) return it->second.second;
  }
  auto result = PullFrom(ref, image, auths);
  std::lock_guard<std::mutex> l(mu_);
  if (!result.ok() && result.status().code() == Code::kServiceUnavailable) {
    unreachable_[ref.domain] = {std::chrono::steady_clock::now() + std::chrono::seconds(30), result.status()};
  } else {
    unreachable_.erase(ref.domain);
  }
  return result;
}

Result<Image> Puller::PullFrom(const api::ImageRef& ref, const std::string& image, const std::vector<AuthConfigs>& auths) {
  const RegistryAuth* auth = nullptr;
  for (const auto& a : auths) {
    if (auto it = a.find(ref.domain); it != a.end()) {
      auth = &it->second;
      break;
    }
  }
  bool insecure = IsLocalhost(ref.domain) || std::find(insecure_.begin(), insecure_.end(), ref.domain) != insecure_.end();
  std::string reference = ref.digest.empty() ? ref.tag : ref.digest;
  // Secure registries: HTTPS, verified. Insecure ones: HTTPS unverified,
  // then HTTP (remembered per registry).
  std::vector<bool> plain_options = {false};
  if (insecure) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = plain_http_.find(ref.domain);
    plain_options = it != plain_http_.end() ? std::vector<bool>{it->second} : std::vector<bool>{false, true};
  }
  Result<http::Response> manifest = Status::Internal("no attempt");
  std::unique_ptr<Session> session;
  for (bool plain : plain_options) {
    session = std::make_unique<Session>(ref.domain, ref.path, !plain, !insecure, auth);
    manifest = session->Get("/manifests/" + reference, kManifestTypes);
    // Only a registry that cannot speak TLS at all is tried over HTTP (an
    // answer, even a refusal, settles the question).
    bool no_tls = !plain && !manifest.ok() && manifest.status().code() == Code::kServiceUnavailable;
    if (!no_tls) {
      if (insecure && (manifest.ok() || plain)) {
        std::lock_guard<std::mutex> l(mu_);
        plain_http_[ref.domain] = plain;
      }
      break;
    }
  }
  if (!manifest.ok()) return manifest.status();
  if (manifest->status == 404) {
    return Status::NotFound(ref.String() + ": not found: " + ErrorText(*manifest));
  }
  if (manifest->status == 401 || manifest->status == 403) {
    return Status::Unauthorized(std::string(kDenied) + ErrorText(*manifest));
  }
  if (manifest->status != 200) return Status::Internal("registry answered " + ErrorText(*manifest));
  std::string digest = Sha256Digest(manifest->body);
  if (!ref.digest.empty() && digest != ref.digest) {
    return Status::Corruption("manifest of " + image + " does not match its digest " + ref.digest);
  }
  // Children of an index are manifests (fetched as such); the rest blobs.
  std::set<std::string> child_manifests;
  if (auto v = json::Parse(manifest->body); v.ok() && v->is_object()) {
    if (const auto* list = api::ArrAt(v->get_object(), {"manifests"})) {
      for (const auto& d : *list) {
        if (d.is_object()) child_manifests.insert(std::string(api::StrAt(d.get_object(), {"digest"})));
      }
    }
  }
  (void)MakeDirs(tmp_, 0700);
  std::vector<std::string> files;
  BlobSource blobs = [&](const std::string& d) -> Result<std::string> {
    if (!d.starts_with("sha256:") || d.size() != 71 || d.find_first_not_of("0123456789abcdef", 7) != std::string::npos) {
      return Status::BadRequest("unsupported digest \"" + d + "\"");
    }
    bool is_manifest = child_manifests.count(d) > 0;
    ASSIGN_OR_RETURN(http::Response r, session->Get((is_manifest ? "/manifests/" : "/blobs/") + d,
                                                    is_manifest ? kManifestTypes : "*/*"));
    if (r.status != 200) return Status::NotFound("blob " + d + ": " + ErrorText(r));
    std::string path = tmp_ + "/" + d.substr(7) + "." + std::to_string(::getpid()) + "." +
                       std::to_string(reinterpret_cast<uintptr_t>(&files));
    RETURN_IF_ERROR(WriteFile(path, r.body, 0600));
    files.push_back(path);
    return path;
  };
  std::vector<std::string> refs = {ref.String()};
  auto im = store_->Store(manifest->body, blobs, refs, digest);
  for (const auto& f : files) ::unlink(f.c_str());
  return im;
}

}  // namespace kubepp::kubelet::images
