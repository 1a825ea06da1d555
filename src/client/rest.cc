#include "client/rest.h"

#include "api/object.h"
#include "api/yaml.h"
#include "common/base64.h"
#include "common/file.h"
#include "common/json.h"

namespace kubepp::client {
namespace {

const bj::object* FindNamed(const bj::value& root, std::string_view list, std::string_view name) {
  if (!root.is_object()) return nullptr;
  const bj::value* items = root.get_object().if_contains(list);
  if (items == nullptr || !items->is_array()) return nullptr;
  for (const auto& it : items->get_array()) {
    if (!it.is_object()) continue;
    const bj::value* n = it.get_object().if_contains("name");
    if (n != nullptr && n->is_string() && n->get_string() == name) return &it.get_object();
  }
  return nullptr;
}

// A string member of an object that may be absent.
std::string Str(const bj::object* o, std::string_view key) {
  return o == nullptr ? std::string() : std::string(api::StrAt(*o, {key}));
}

// Inline base64 data, or the file it names (relative to `dir`).
Result<std::string> DataOrFile(const bj::object* o, std::string_view data_key, std::string_view file_key,
                               const std::string& dir) {
  std::string data = Str(o, data_key);
  if (!data.empty()) {
    auto decoded = Base64Decode(data);
    if (!decoded.ok()) return Status::BadRequest(std::string(data_key) + ": " + decoded.status().message());
    return std::move(*decoded);
  }
  std::string file = Str(o, file_key);
  if (file.empty()) return std::string();
  if (file[0] != '/') file = JoinPath(dir, file);
  return ReadFile(file);
}

Code CodeForReason(std::string_view reason, int http_code) {
  static const std::pair<std::string_view, Code> kReasons[] = {
      {"BadRequest", Code::kBadRequest},
      {"Unauthorized", Code::kUnauthorized},
      {"Forbidden", Code::kForbidden},
      {"NotFound", Code::kNotFound},
      {"MethodNotAllowed", Code::kMethodNotAllowed},
      {"NotAcceptable", Code::kNotAcceptable},
      {"AlreadyExists", Code::kAlreadyExists},
      {"Conflict", Code::kConflict},
      {"Gone", Code::kGone},
      {"Expired", Code::kExpired},
      {"RequestEntityTooLarge", Code::kRequestEntityTooLarge},
      {"UnsupportedMediaType", Code::kUnsupportedMediaType},
      {"Invalid", Code::kInvalid},
      {"TooManyRequests", Code::kTooManyRequests},
      {"InternalError", Code::kInternal},
      {"ServiceUnavailable", Code::kServiceUnavailable},
      {"Timeout", Code::kTimeout},
  };
  for (const auto& [r, c] : kReasons) {
    if (r == reason) return c;
  }
  switch (http_code) {
    case 400: return Code::kBadRequest;
    case 401: return Code::kUnauthorized;
    case 403: return Code::kForbidden;
    case 404: return Code::kNotFound;
    case 405: return Code::kMethodNotAllowed;
    case 409: return Code::kConflict;
    case 410: return Code::kGone;
    case 413: return Code::kRequestEntityTooLarge;
    case 415: return Code::kUnsupportedMediaType;
    case 422: return Code::kInvalid;
    case 429: return Code::kTooManyRequests;
    case 503: return Code::kServiceUnavailable;
    case 504: return Code::kTimeout;
    default: return Code::kInternal;
  }
}

}  // namespace

Result<ClientConfig> LoadKubeconfig(const std::string& path, const std::string& context) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto root = api::YamlToJson(text);
  if (!root.ok()) return Status::BadRequest(path + ": " + root.status().message());
  std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  if (dir.empty()) dir = ".";
  std::string ctx_name = context;
  if (ctx_name.empty() && root->is_object()) ctx_name = Str(&root->get_object(), "current-context");
  const bj::object* ctx_entry = FindNamed(*root, "contexts", ctx_name);
  if (ctx_entry == nullptr) return Status::NotFound(path + ": no context \"" + ctx_name + "\"");
  const bj::value* ctx_v = ctx_entry->if_contains("context");
  const bj::object* ctx = ctx_v != nullptr && ctx_v->is_object() ? &ctx_v->get_object() : nullptr;
  const bj::object* cluster_entry = FindNamed(*root, "clusters", Str(ctx, "cluster"));
  const bj::object* user_entry = FindNamed(*root, "users", Str(ctx, "user"));
  if (cluster_entry == nullptr) return Status::NotFound(path + ": no cluster \"" + Str(ctx, "cluster") + "\"");
  const bj::value* cl_v = cluster_entry->if_contains("cluster");
  const bj::object* cluster = cl_v != nullptr && cl_v->is_object() ? &cl_v->get_object() : nullptr;
  const bj::object* user = nullptr;
  if (user_entry != nullptr) {
    const bj::value* u = user_entry->if_contains("user");
    if (u != nullptr && u->is_object()) user = &u->get_object();
  }
  ClientConfig cfg;
  ASSIGN_OR_RETURN(cfg.endpoint, http::Endpoint::Parse(Str(cluster, "server")));
  auto tls = std::make_shared<http::TlsClientConfig>();
  ASSIGN_OR_RETURN(tls->ca_pem, DataOrFile(cluster, "certificate-authority-data", "certificate-authority", dir));
  const bj::value* skip = cluster != nullptr ? cluster->if_contains("insecure-skip-tls-verify") : nullptr;
  tls->insecure_skip_verify = skip != nullptr && skip->is_bool() && skip->get_bool();
  ASSIGN_OR_RETURN(tls->cert_pem, DataOrFile(user, "client-certificate-data", "client-certificate", dir));
  ASSIGN_OR_RETURN(tls->key_pem, DataOrFile(user, "client-key-data", "client-key", dir));
  cfg.endpoint.tls_config = std::move(tls);
  cfg.bearer_token = Str(user, "token");
  if (std::string tf = Str(user, "tokenFile"); cfg.bearer_token.empty() && !tf.empty()) {
    ASSIGN_OR_RETURN(cfg.bearer_token, ReadFile(tf[0] == '/' ? tf : JoinPath(dir, tf)));
    while (!cfg.bearer_token.empty() && (cfg.bearer_token.back() == '\n' || cfg.bearer_token.back() == '\r')) {
      cfg.bearer_token.pop_back();
    }
  }
  return cfg;
}

std::string ResourcePath(std::string_view group, std::string_view version, std::string_view resource,
                         std::string_view ns, std::string_view name, std::string_view subresource) {
  std::string p = group.empty() ? "/api/" + std::string(version) : "/apis/" + std::string(group) + "/" + std::string(version);
  if (!ns.empty()) p += "/namespaces/" + std::string(ns);
  p += "/" + std::string(resource);
  if (!name.empty()) p += "/" + std::string(name);
  if (!subresource.empty()) p += "/" + std::string(subresource);
  return p;
}

Status StatusFromResponse(int http_code, std::string_view body) {
  std::string message = "the server answered " + std::to_string(http_code);
  std::string reason;
  auto v = json::Parse(body);
  if (v.ok() && v->is_object()) {
    const bj::object& o = v->get_object();
    if (std::string m = Str(&o, "message"); !m.empty()) message = std::move(m);
    reason = Str(&o, "reason");
  }
  return Status(CodeForReason(reason, http_code), std::move(message));
}

void WatchHandle::Stop() {
  stopped_.store(true);
  std::lock_guard<std::mutex> l(mu_);
  if (conn_ != nullptr) conn_->Shutdown();
}

RestClient::RestClient(ClientConfig config) : config_(std::move(config)), pool_(config_.endpoint, config_.timeout) {}

ClientConfig RestClient::config() const {
  ClientConfig c = config_;
  c.endpoint = pool_.endpoint();
  return c;
}

void RestClient::SetClientCertificate(std::string cert_pem, std::string key_pem) {
  http::Endpoint ep = pool_.endpoint();
  auto tls = ep.tls_config ? std::make_shared<http::TlsClientConfig>(*ep.tls_config)
                           : std::make_shared<http::TlsClientConfig>();
  tls->cert_pem = std::move(cert_pem);
  tls->key_pem = std::move(key_pem);
  ep.tls_config = std::move(tls);
  pool_.SetEndpoint(std::move(ep));
}

http::Request RestClient::NewRequest(std::string_view method, const std::string& path) const {
  http::Request r;
  r.method = std::string(method);
  r.target = path;
  r.headers.push_back({"Accept", "application/json"});
  r.headers.push_back({"User-Agent", config_.user_agent});
  if (!config_.bearer_token.empty()) r.headers.push_back({"Authorization", "Bearer " + config_.bearer_token});
  return r;
}

Result<bj::value> RestClient::Do(std::string_view method, const std::string& path, std::string body,
                                 std::string_view content_type) {
  http::Request r = NewRequest(method, path);
  if (!body.empty()) {
    r.headers.push_back({"Content-Type", std::string(content_type)});
    r.body = std::move(body);
  }
  ASSIGN_OR_RETURN(http::Response resp, pool_.Do(r));
  if (resp.status < 200 || resp.status >= 300) return StatusFromResponse(resp.status, resp.body);
  if (resp.body.empty()) return bj::value();
  // Plain-text answers (/readyz, /healthz, logs) come back as a string.
  std::string_view type = resp.GetHeader("Content-Type");
  if (!type.empty() && type.find("json") == std::string_view::npos) return bj::value(bj::string(resp.body));
  return json::Parse(resp.body);
}

Result<bj::value> RestClient::Get(const std::string& path) { return Do("GET", path); }
Result<bj::value> RestClient::Post(const std::string& path, const bj::value& body) {
  return Do("POST", path, bj::serialize(body));
}
Result<bj::value> RestClient::Put(const std::string& path, const bj::value& body) {
  return Do("PUT", path, bj::serialize(body));
}
Result<bj::value> RestClient::Patch(const std::string& path, std::string_view content_type, const bj::value& body) {
  return Do("PATCH", path, bj::serialize(body), content_type);
}
Result<bj::value> RestClient::Delete(const std::string& path, const bj::value* options) {
  return Do("DELETE", path, options != nullptr ? bj::serialize(*options) : std::string());
}

Status RestClient::Watch(const std::string& path,
                         const std::function<bool(std::string_view type, bj::object& obj)>& on_event,
                         WatchHandle* handle) {
  ASSIGN_OR_RETURN(auto conn, http::Connection::Open(pool_.endpoint(), config_.timeout));
  if (handle != nullptr) {
    std::lock_guard<std::mutex> l(handle->mu_);
    if (handle->stopped()) return Status::Cancelled("watch stopped");
    handle->conn_ = conn.get();
  }
  struct Unregister {
    WatchHandle* h;
    ~Unregister() {
      if (h == nullptr) return;
      std::lock_guard<std::mutex> l(h->mu_);
      h->conn_ = nullptr;
    }
  } unregister{handle};
  http::Request r = NewRequest("GET", path);
  ASSIGN_OR_RETURN(int code, conn->StartStream(r));
  std::string buf;
  if (code != 200) {
    // The body of a refused watch is a Status.
    while (true) {
      auto more = conn->ReadStream(&buf);
      if (!more.ok() || !*more) break;
    }
    return StatusFromResponse(code, buf);
  }
  size_t start = 0;
  while (true) {
    size_t nl;
    while ((nl = buf.find('\n', start)) != std::string::npos) {
      std::string_view line(buf.data() + start, nl - start);
      start = nl + 1;
      if (line.empty()) continue;
      auto ev = json::Parse(line);
      if (!ev.ok() || !ev->is_object()) return Status::Internal("malformed watch event: " + std::string(line.substr(0, 200)));
      bj::object& e = ev->get_object();
      std::string type = Str(&e, "type");
      bj::value* obj = e.if_contains("object");
      if (obj == nullptr || !obj->is_object()) return Status::Internal("watch event without an object");
      if (type == "ERROR") {
        const bj::object& st = obj->get_object();
        const bj::value* c = st.if_contains("code");
        int http_code = c != nullptr && c->is_int64() ? static_cast<int>(c->get_int64()) : 500;
        return StatusFromResponse(http_code, bj::serialize(st));
      }
      if (!on_event(type, obj->get_object())) return Status::OK();
    }
    buf.erase(0, start);
    start = 0;
    auto more = conn->ReadStream(&buf);
    if (handle != nullptr && handle->stopped()) return Status::Cancelled("watch stopped");
    if (!more.ok()) return more.status();
    if (!*more) return Status::OK();
  }
}

}  // namespace kubepp::client
