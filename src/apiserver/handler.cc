#include "apiserver/handler.h"

#include <algorithm>

#include "api/decode.h"
#include "api/object.h"
#include "api/protobuf.h"
#include "api/yaml.h"
#include "apiserver/apiserver.h"
#include "common/json.h"
#include "common/log.h"
#include "common/version.h"

namespace kubepp::apiserver {
namespace {

const log::Logger& Log() {
  static const log::Logger l("apiserver");
  return l;
}

constexpr std::string_view kDescName =
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow "
    "a client to request the generation of an appropriate name automatically. Name is primarily intended for "
    "creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
constexpr std::string_view kDescCreated =
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It "
    "is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More "
    "info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

// One media range of an Accept header.
struct MediaRange {
  std::string type;  // "application/json"
  std::map<std::string, std::string> params;
};

std::vector<MediaRange> ParseAccept(std::string_view accept) {
  std::vector<MediaRange> out;
  size_t start = 0;
  while (start <= accept.size()) {
    size_t end = accept.find(',', start);
    if (end == std::string_view::npos) end = accept.size();
    std::string_view item = accept.substr(start, end - start);
    start = end + 1;
    MediaRange m;
    size_t p = 0;
    bool first = true;
    while (p <= item.size()) {
      size_t semi = item.find(';', p);
      if (semi == std::string_view::npos) semi = item.size();
      std::string_view part = item.substr(p, semi - p);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
      if (first) {
        m.type = std::string(part);
        first = false;
      } else if (size_t eq = part.find('='); eq != std::string_view::npos) {
        m.params[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
      }
      p = semi + 1;
    }
    if (!m.type.empty()) out.push_back(std::move(m));
  }
  return out;
}

// "v1" or "v1beta1" if the client accepts a Table, else "".
std::string TableVersion(std::string_view accept) {
  for (const auto& m : ParseAccept(accept)) {
    auto as = m.params.find("as");
    if (as != m.params.end() && as->second == "Table") {
      auto v = m.params.find("v");
      auto g = m.params.find("g");
      if (g != m.params.end() && g->second == "meta.k8s.io" && v != m.params.end() &&
          (v->second == "v1" || v->second == "v1beta1")) {
        return v->second;
      }
    }
  }
  return "";
}

// "v2" or "v2beta1" if the client asks for aggregated discovery first.
std::string AggregatedVersion(std::string_view accept) {
  for (const auto& m : ParseAccept(accept)) {
    auto as = m.params.find("as");
    if (as != m.params.end() && as->second == "APIGroupDiscoveryList") {
      auto v = m.params.find("v");
      if (v != m.params.end() && (v->second == "v2" || v->second == "v2beta1")) return v->second;
    } else if (m.type == "application/json" || m.type == "*/*") {
      return "";
    }
  }
  return "";
}

std::string_view BaseMediaType(std::string_view ct) {
  size_t semi = ct.find(';');
  std::string_view t = ct.substr(0, semi);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

bool IsHealthPath(std::string_view p) {
  for (std::string_view h : {"/healthz", "/livez", "/readyz"}) {
    if (p == h || (p.size() > h.size() && p.substr(0, h.size()) == h && p[h.size()] == '/')) return true;
  }
  return false;
}

std::string VersionJson() {
  return bj::serialize(bj::object{{"major", "1"},
                                  {"minor", "32"},
                                  {"gitVersion", "v1.32.4"},
                                  {"gitCommit", std::string("kubepp-") + kGitCommit},
                                  {"gitTreeState", "clean"},
                                  {"buildDate", "2026-11-27T00:00:00Z"},
                                  {"goVersion", "go1.23.6"},
                                  {"compiler", "gc"},
                                  {"platform", "linux/amd64"}});
}

std::string StatusJson(const Status& st) { return bj::serialize(api::StatusObject(st)); }

// Builds a Table of `objs` (parsed objects).
bj::object BuildTable(const ResourceDef& def, const std::vector<bj::object>& objs, std::string_view include_object,
                      std::string_view table_version, bool headers, const TableContext& ctx) {
  bj::object t;
  t["kind"] = "Table";
  t["apiVersion"] = "meta.k8s.io/" + std::string(table_version);
  t["metadata"] = bj::object();
  bool custom = !def.hooks.columns.empty() && def.hooks.cells;
  if (headers) {
    bj::array cols;
    if (custom) {
      for (const auto& c : def.hooks.columns) {
        cols.push_back(bj::object{{"name", c.name}, {"type", c.type}, {"format", c.format},
                                  {"description", c.description}, {"priority", c.priority}});
      }
    } else {
      cols.push_back(bj::object{{"name", "Name"}, {"type", "string"}, {"format", "name"},
                                {"description", kDescName}, {"priority", 0}});
      cols.push_back(bj::object{{"name", "Created At"}, {"type", "date"}, {"format", ""},
                                {"description", kDescCreated}, {"priority", 0}});
    }
    t["columnDefinitions"] = std::move(cols);
  } else {
    t["columnDefinitions"] = nullptr;
  }
  bj::array rows;
  for (const auto& o : objs) {
    bj::object row;
    if (custom) {
      row["cells"] = def.hooks.cells(o, ctx);
    } else {
      std::string created(api::StrAt(o, {"metadata", "creationTimestamp"}));
      row["cells"] = bj::array{bj::string(api::Name(o)), bj::string(created.empty() ? "0001-01-01T00:00:00Z" : created)};
    }
    if (def.group.empty() && def.kind == "Pod") {
      std::string_view phase = api::StrAt(o, {"status", "phase"});
      if (phase == "Succeeded" || phase == "Failed") {
        row["conditions"] = bj::array{bj::object{
            {"type", "Completed"}, {"status", "True"}, {"reason", phase},
            {"message", phase == "Succeeded" ? "The pod has completed successfully." : "The pod failed."}}};
      }
    }
    if (include_object == "None") {
      row["object"] = nullptr;
    } else if (include_object == "Object") {
      row["object"] = o;
    } else {
      bj::object meta;
      if (const auto* m = o.if_contains("metadata")) meta = m->is_object() ? m->get_object() : bj::object();
      row["object"] = bj::object{{"kind", "PartialObjectMetadata"},
                                 {"apiVersion", "meta.k8s.io/" + std::string(table_version)},
                                 {"metadata", std::move(meta)}};
    }
    rows.push_back(std::move(row));
  }
  t["rows"] = std::move(rows);
  return t;
}

std::string DefaultFieldManager(const http::Request& r) {
  std::string_view ua = r.Header("user-agent");
  size_t slash = ua.find('/');
  std::string m(ua.substr(0, slash));
  if (m.size() > 128) m.resize(128);
  return m.empty() ? "unknown" : m;
}

}  // namespace


void Handler::Respond(const std::shared_ptr<http::Exchange>& ex, int code, std::string body, std::string content_type,
                      http::Headers extra) {
  http::Response r;
  r.status = code;
  r.headers.emplace_back("Content-Type", std::move(content_type));
  r.headers.emplace_back("Cache-Control", "no-cache, private");
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  ex->Respond(std::move(r));
}

void Handler::RespondStatus(const std::shared_ptr<http::Exchange>& ex, const Status& st) {
  Respond(ex, st.HttpCode(), StatusJson(st));
}

void Handler::Handle(const std::shared_ptr<http::Exchange>& ex) {
  const http::Request& req = ex->request();
  const std::string& path = req.path;
  Log().V(4, "request", {{"verb", req.method}, {"uri", req.target}, {"remote", req.remote}});
  if (IsHealthPath(path)) {
    // Like upstream's post-start hooks: not ready (nor healthy) until the
    // bootstrap namespaces and the kubernetes service exist. Live meanwhile.
    if (path.rfind("/livez", 0) != 0 && !server_->bootstrapped_.load()) {
      return Respond(ex, 500, "[-]poststarthook/bootstrap-controller failed: not finished\nreadyz check failed\n",
                     "text/plain; charset=utf-8");
    }
    return Respond(ex, 200, "ok", "text/plain; charset=utf-8");
  }
  if (path == "/version" || path == "/version/") return Respond(ex, 200, VersionJson());
  std::optional<UserInfo> user = server_->authn_.Authenticate(req);
  if (!user && req.Header("authorization").empty() && req.method == "GET" &&
      path == "/api/v1/namespaces/kube-public/configmaps/cluster-info") {
    // The one object anonymous users may read (upstream's RBAC grants it
    // to system:anonymous): a joining node finds the cluster's CA there.
    user = UserInfo{"system:anonymous", "", {"system:unauthenticated"}};
  }
  if (!user) {
    return Respond(ex, 401, StatusJson(Status::Unauthorized("Unauthorized")));
  }
  Ctx c;
  c.ex = ex;
  c.req = &req;
  c.user = std::move(*user);
  c.query = Query::Parse(req.query);
  std::string_view accept = req.Header("accept");
  const Discovery& disc = *server_->discovery_;
  if (path == "/api" || path == "/api/" || path == "/apis" || path == "/apis/") {
    bool core = path.rfind("/api", 0) == 0 && (path == "/api" || path == "/api/");
    std::string agg = AggregatedVersion(accept);
    if (!agg.empty()) {
      return Respond(ex, 200, disc.Aggregated(core, agg),
                     "application/json;g=apidiscovery.k8s.io;v=" + agg + ";as=APIGroupDiscoveryList");
    }
    return Respond(ex, 200, core ? disc.LegacyApi() : disc.LegacyApis());
  }
  if (path == "/.well-known/openid-configuration") {
    const std::string& iss = server_->sa_tokens_->issuer();
    return Respond(ex, 200, server_->sa_tokens_->OpenIdConfiguration(iss + "/openid/v1/jwks"));
  }
  if (path == "/openid/v1/jwks") return Respond(ex, 200, server_->sa_tokens_->Jwks(), "application/jwk-set+json");
  if (path.rfind("/openapi/v3", 0) == 0) {
    if (path == "/openapi/v3" || path == "/openapi/v3/") return Respond(ex, 200, server_->openapi_->Root());
    std::string gv = path.substr(12);
    std::string hash;
    const std::string* doc = server_->openapi_->Document(gv, &hash);
    if (doc == nullptr) return RespondStatus(ex, Status::NotFound("the server could not find the requested resource"));
    std::string etag = "\"" + hash + "\"";
    http::Headers h = {{"Etag", etag}, {"Vary", "Accept"}};
    if (req.Header("if-none-match") == etag) {
      http::Response r;
      r.status = 304;
      r.headers = std::move(h);
      return ex->Respond(std::move(r));
    }
    return Respond(ex, 200, *doc, "application/json", std::move(h));
  }
  c.info = ParseRequestInfo(req.method, path);
  if (!c.info.is_resource) {
    // /api/v1, /apis/<group>, /apis/<group>/<version>
    std::string_view p = path;
    if (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
    if (p.rfind("/api/", 0) == 0 && !c.info.version.empty()) {
      if (const std::string* d = disc.LegacyResources("", c.info.version)) return Respond(ex, 200, *d);
    } else if (p.rfind("/apis/", 0) == 0) {
      std::string rest(p.substr(6));
      size_t slash = rest.find('/');
      if (slash == std::string::npos) {
        if (const std::string* d = disc.LegacyGroup(rest)) return Respond(ex, 200, *d);
      } else if (const std::string* d = disc.LegacyResources(rest.substr(0, slash), rest.substr(slash + 1))) {
        return Respond(ex, 200, *d);
      }
    }
    return RespondStatus(ex, Status::NotFound("the server could not find the requested resource"));
  }
  c.def = server_->registry_.Find(c.info.group, c.info.version, c.info.resource);
  if (c.def == nullptr || (!c.def->namespaced && !c.info.ns.empty() && c.info.resource != "namespaces")) {
    return RespondStatus(ex, Status::NotFound("the server could not find the requested resource"));
  }
  if (!c.info.subresource.empty() && !c.def->HasSubresource(c.info.subresource)) {
    return RespondStatus(ex, Status::NotFound("the server could not find the requested resource"));
  }
  // watch=true on a list is a watch.
  if (c.info.verb == "list" && c.query.Bool("watch").value_or(false)) c.info.verb = "watch";
  if (c.info.verb == "get" && c.info.watch_path) c.info.verb = "watch";
  Attributes attrs{&c.user, c.info.verb, c.info.group, c.info.resource, c.info.subresource, c.info.ns, c.info.name, ""};
  std::string why;
  if (!server_->authz_.Authorize(attrs, &why)) {
    return RespondStatus(ex, Status::Forbidden(c.def->GR().String() + " is forbidden: " + why));
  }
  c.table_version = TableVersion(accept);
  if (!c.table_version.empty()) {
    std::string inc = c.query.Get("includeObject");
    if (!inc.empty() && inc != "None" && inc != "Metadata" && inc != "Object") {
      return RespondStatus(ex, Status::BadRequest("Unable to convert to Table as requested: includeObject: Invalid value: \"" +
                                                  inc + "\": must be 'Metadata', 'Object', 'None', or empty"));
    }
  }
  ServeResource(c);
}

void Handler::ServeResource(Ctx& c) {
  const std::string& sub = c.info.subresource;
  const std::string& verb = c.info.verb;
  if (!c.def->stored) {
    if (verb != "create") {
      return RespondStatus(c.ex, api::NewMethodNotSupported(c.def->GR(), verb));
    }
    return ServeVirtualCreate(c);
  }
  if (sub == "scale") return ServeScale(c);
  if (sub == "binding" && verb == "create") return ServeBinding(c, c.info.name);
  if (sub == "eviction" && verb == "create") return ServeEviction(c);
  if (sub == "token" && verb == "create" && c.def->HasSubresource("token")) return ServeTokenRequest(c);
  if (sub == "log" && c.def->resource == "pods") return ServePodLog(c);
  if (c.def->resource == "pods" && (sub == "exec" || sub == "attach" || sub == "portforward")) {
    return ServePodStream(c);
  }
  if (sub == "proxy" && c.def->resource == "nodes") return ServeNodeProxy(c);
  if (sub == "proxy") {
    auto pod = server_->registry_store_->Get(*c.def, c.info.ns, c.info.name);
    if (!pod.ok()) return RespondStatus(c.ex, pod.status());
    std::string_view node = api::StrAt(*pod, {"spec", "nodeName"});
    if (node.empty()) {
      return RespondStatus(c.ex, Status::BadRequest("pod " + c.info.name + " does not have a host assigned"));
    }
    return RespondStatus(c.ex, Status::Unavailable("no kubelet is reachable for node " + std::string(node)));
  }
  if (!sub.empty() && sub != "status" && sub != "approval" && sub != "finalize" && sub != "ephemeralcontainers") {
    return RespondStatus(c.ex, Status::NotFound("the server could not find the requested resource"));
  }
  if (!c.def->HasVerb(verb) && sub.empty()) {
    return RespondStatus(c.ex, api::NewMethodNotSupported(c.def->GR(), verb));
  }
  if (verb == "get") return ServeGet(c);
  if (verb == "list") return ServeList(c);
  if (verb == "watch") return ServeWatch(c);
  if (verb == "create") {
    if (!sub.empty()) return RespondStatus(c.ex, api::NewMethodNotSupported(c.def->GR(), "create"));
    return ServeCreate(c);
  }
  if (verb == "update") return ServeUpdate(c);
  if (verb == "patch") return ServePatch(c);
  if (verb == "delete") return ServeDelete(c);
  if (verb == "deletecollection") return ServeDeleteCollection(c);
  RespondStatus(c.ex, api::NewMethodNotSupported(c.def->GR(), verb));
}

std::string Handler::ObjectResponse(Ctx& c, const ResourceDef& def, const bj::object& obj) {
  if (!c.table_version.empty()) {
    std::string include = c.query.Get("includeObject");
    TableContext ctx{server_->options_.clock->Now()};
    bj::object t = BuildTable(def, {obj}, include, c.table_version, true, ctx);
    bj::object& md = api::Obj(t, "metadata");
    std::string_view rv = api::ResourceVersion(obj);
    if (!rv.empty()) md["resourceVersion"] = rv;
    return bj::serialize(t);
  }
  return api::SerializeObject(obj);
}

void Handler::ServeGet(Ctx& c) {
  if (c.table_version.empty()) {
    auto json = server_->registry_store_->GetJson(*c.def, c.info.ns, c.info.name);
    if (!json.ok()) return RespondStatus(c.ex, json.status());
    http::Response r;
    r.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-cache, private"}};
    r.pieces.push_back(std::move(*json));
    return c.ex->Respond(std::move(r));
  }
  auto obj = server_->registry_store_->Get(*c.def, c.info.ns, c.info.name);
  if (!obj.ok()) return RespondStatus(c.ex, obj.status());
  Respond(c.ex, 200, ObjectResponse(c, *c.def, *obj));
}

namespace {

Result<ListOptions> ParseListOptions(const Query& q, const ResourceDef& def, const std::string& ns) {
  ListOptions o;
  o.ns = ns;
  ASSIGN_OR_RETURN(o.labels, api::LabelSelector::Parse(q.Get("labelSelector")));
  ASSIGN_OR_RETURN(o.fields, api::FieldSelector::Parse(q.Get("fieldSelector")));
  RETURN_IF_ERROR(o.fields.Check([&](std::string_view f) {
    if (f == "metadata.name" || f == "metadata.namespace") return true;
    return std::find(def.hooks.field_names.begin(), def.hooks.field_names.end(), f) != def.hooks.field_names.end();
  }));
  o.resource_version = q.Get("resourceVersion");
  o.resource_version_match = q.Get("resourceVersionMatch");
  if (!o.resource_version.empty()) {
    char* end = nullptr;
    long long v = std::strtoll(o.resource_version.c_str(), &end, 10);
    if (end == o.resource_version.c_str() || *end != '\0' || v < 0) {
      return Status::BadRequest("invalid resource version \"" + o.resource_version + "\"");
    }
  }
  if (!o.resource_version_match.empty() && o.resource_version_match != "NotOlderThan" &&
      o.resource_version_match != "Exact") {
    return Status::BadRequest("resourceVersionMatch: Unsupported value: \"" + o.resource_version_match +
                              "\": supported values: \"Exact\", \"NotOlderThan\", \"\"");
  }
  if (std::string lim = q.Get("limit"); !lim.empty()) {
    char* end = nullptr;
    o.limit = std::strtoll(lim.c_str(), &end, 10);
    if (end == lim.c_str() || *end != '\0' || o.limit < 0) o.limit = 0;
  }
  o.continue_token = q.Get("continue");
  return o;
}

}  // namespace

void Handler::ServeList(Ctx& c) {
  auto opts = ParseListOptions(c.query, *c.def, c.info.ns);
  if (!opts.ok()) return RespondStatus(c.ex, opts.status());
  auto out = server_->registry_store_->List(*c.def, *opts);
  if (!out.ok()) return RespondStatus(c.ex, out.status());
  bj::object md;
  md["resourceVersion"] = std::to_string(out->rv);
  if (!out->continue_token.empty()) md["continue"] = out->continue_token;
  if (!c.table_version.empty()) {
    std::vector<bj::object> objs;
    objs.reserve(out->items.size());
    for (const auto& j : out->items) {
      auto v = json::Parse(*j);
      if (v.ok() && v->is_object()) objs.push_back(std::move(v->get_object()));
    }
    TableContext ctx{server_->options_.clock->Now()};
    bj::object t = BuildTable(*c.def, objs, c.query.Get("includeObject"), c.table_version, true, ctx);
    t["metadata"] = std::move(md);
    return Respond(c.ex, 200, bj::serialize(t));
  }
  // The items go out straight from the cache: no copy of a large list.
  static const auto kComma = std::make_shared<const std::string>(",");
  static const auto kEnd = std::make_shared<const std::string>("]}");
  http::Response r;
  r.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-cache, private"}};
  r.pieces.reserve(out->items.size() * 2 + 2);
  r.pieces.push_back(std::make_shared<const std::string>(
      "{\"kind\":\"" + c.def->list_kind + "\",\"apiVersion\":\"" + c.def->ApiVersion() +
      "\",\"metadata\":" + bj::serialize(md) + ",\"items\":["));
  for (size_t i = 0; i < out->items.size(); ++i) {
    if (i) r.pieces.push_back(kComma);
    r.pieces.push_back(std::move(out->items[i]));
  }
  r.pieces.push_back(kEnd);
  c.ex->Respond(std::move(r));
}

void Handler::ServeWatch(Ctx& c) {
  auto opts = ParseListOptions(c.query, *c.def, c.info.ns);
  if (!opts.ok()) return RespondStatus(c.ex, opts.status());
  if (!c.info.name.empty()) {
    // A watch of one object: a field selector on its name.
    auto fs = api::FieldSelector::Parse("metadata.name=" + c.info.name);
    opts->fields = std::move(*fs);
  }
  ResourceCache* cache = server_->caches_->For(c.def);
  int64_t rv = -1;
  if (!opts->resource_version.empty()) rv = std::strtoll(opts->resource_version.c_str(), nullptr, 10);
  if (rv > 0) {
    // A revision the cache has not reached yet: wait a little, as upstream does.
    (void)server_->caches_->WaitFor(rv, std::chrono::seconds(3));
  }
  bool bookmarks = c.query.Bool("allowWatchBookmarks").value_or(false);
  int64_t timeout_s = 0;
  if (std::string t = c.query.Get("timeoutSeconds"); !t.empty()) timeout_s = std::strtoll(t.c_str(), nullptr, 10);
  if (timeout_s <= 0) {
    // Upstream: a random duration between the minimum request timeout (30 min) and twice it.
    timeout_s = 1800 + static_cast<int64_t>(std::chrono::steady_clock::now().time_since_epoch().count() % 1800);
  }
  std::string table_version = c.table_version;
  std::string include = c.query.Get("includeObject");
  const ResourceDef* def = c.def;
  bool convert = def->from_storage && server_->registry_store_->StorageDef(*def) != def;
  std::string content_type = "application/json";
  std::shared_ptr<http::Stream> stream;
  if (c.req->IsWebSocketUpgrade()) {
    // Watch over WebSocket, as upstream serves it: one text message per
    // event. Nothing the client sends matters.
    stream = c.ex->AcceptWebSocket("", nullptr);
  }
  if (stream == nullptr) {
    stream = c.ex->StartStream(200, {{"Content-Type", content_type}, {"Cache-Control", "no-cache, private"}});
  }
  Clock* clock = server_->options_.clock;
  auto first = std::make_shared<bool>(true);
  std::string kind = def->kind, api_version = def->ApiVersion();
  DeliverFn deliver = [stream, table_version, include, def, convert, first, clock, kind, api_version](
                          WatchEventType type, const CachedPtr& obj, const EventPtr& ev, int64_t rv) -> bool {
    if (stream->closed()) return false;
    if (type == WatchEventType::kClosed) {
      stream->Finish();
      return false;
    }
    if (type == WatchEventType::kBookmark) {
      bj::object o{{"kind", kind}, {"apiVersion", api_version},
                   {"metadata", bj::object{{"resourceVersion", std::to_string(rv)}}}};
      return stream->Write("{\"type\":\"BOOKMARK\",\"object\":" + bj::serialize(o) + "}\n");
    }
    if (table_version.empty() && !convert) {
      if (ev != nullptr && (ev->type == type || (type == WatchEventType::kDeleted))) {
        return stream->Write(ev->JsonLine(type));
      }
      return stream->Write("{\"type\":\"" + std::string(WatchEventTypeName(type)) + "\",\"object\":" + obj->json + "}\n");
    }
    auto parsed = json::Parse(obj->json);
    if (!parsed.ok() || !parsed->is_object()) return true;
    bj::object o = std::move(parsed->get_object());
    if (convert) def->from_storage(o);
    std::string body;
    if (!table_version.empty()) {
      TableContext ctx{clock->Now()};
      bj::object t = BuildTable(*def, {o}, include, table_version, *first, ctx);
      *first = false;
      api::Obj(t, "metadata")["resourceVersion"] = std::to_string(obj->rv);
      body = bj::serialize(t);
    } else {
      body = api::SerializeObject(o);
    }
    return stream->Write("{\"type\":\"" + std::string(WatchEventTypeName(type)) + "\",\"object\":" + body + "}\n");
  };
  WatchFilter filter{def->namespaced ? opts->ns : "", opts->labels, opts->fields};
  auto id = cache->Watch(filter, rv, deliver);
  if (!id.ok()) {
    if (id.status().IsGone()) {
      bj::value st = api::StatusObject(id.status());
      stream->Write("{\"type\":\"ERROR\",\"object\":" + bj::serialize(st) + "}\n");
    }
    stream->Finish();
    return;
  }
  uint64_t wid;
  {
    std::lock_guard<std::mutex> l(watches_mu_);
    wid = next_watch_++;
    auto now = std::chrono::steady_clock::now();
    watches_[wid] = ActiveWatch{cache, *id, stream, now + std::chrono::seconds(timeout_s), bookmarks,
                                now + std::chrono::seconds(60)};
  }
  stream->OnClose([this, wid, cache, cid = *id] {
    // On an I/O thread: only bookkeeping here; the cache drops the watcher
    // on its next delivery attempt or at Tick.
    std::lock_guard<std::mutex> l(watches_mu_);
    auto it = watches_.find(wid);
    if (it != watches_.end()) it->second.deadline = std::chrono::steady_clock::time_point::min();
  });
}

void Handler::Tick() {
  auto now = std::chrono::steady_clock::now();
  std::vector<ActiveWatch> done;
  std::vector<std::pair<ResourceCache*, uint64_t>> bookmark;
  {
    std::lock_guard<std::mutex> l(watches_mu_);
    for (auto it = watches_.begin(); it != watches_.end();) {
      ActiveWatch& w = it->second;
      if (now >= w.deadline || w.stream->closed()) {
        done.push_back(w);
        it = watches_.erase(it);
        continue;
      }
      if (w.bookmarks && now >= w.next_bookmark) {
        bookmark.emplace_back(w.cache, w.id);
        w.next_bookmark = now + std::chrono::seconds(60);
      }
      ++it;
    }
  }
  for (auto& w : done) {
    w.cache->Unwatch(w.id);
    w.stream->Finish();
  }
  for (auto& [cache, id] : bookmark) cache->Bookmark(id);
}

void Handler::CloseAll() {
  std::map<uint64_t, ActiveWatch> all;
  {
    std::lock_guard<std::mutex> l(watches_mu_);
    all.swap(watches_);
  }
  for (auto& [id, w] : all) {
    w.cache->Unwatch(w.id);
    w.stream->Finish();
  }
}

Status Handler::FinishDecode(Ctx& c, const ResourceDef& def, bj::value& v, std::vector<std::string>* warnings) {
  if (!v.is_object()) return Status::BadRequest("the body of the request must be a JSON object");
  bj::object& o = v.get_object();
  std::string_view kind = api::StrAt(o, {"kind"});
  std::string_view api_version = api::StrAt(o, {"apiVersion"});
  if (kind.empty()) o["kind"] = def.kind;
  if (api_version.empty()) o["apiVersion"] = def.ApiVersion();
  if (!kind.empty() && kind != def.kind) {
    return Status::BadRequest(std::string(kind) + " in version \"" + std::string(api_version) +
                              "\" cannot be handled as a " + def.kind + ": the object provided is unrecognized (must be of type " +
                              def.kind + ")");
  }
  if (!api_version.empty() && api_version != def.ApiVersion()) {
    return Status::BadRequest("the API version in the data (" + std::string(api_version) +
                              ") does not match the expected API version (" + def.ApiVersion() + ")");
  }
  const api::schema::Type* type = api::schema::Builtin().FindKind(def.group, def.version, def.kind);
  api::DecodeIssues issues;
  Status st = api::NormalizeObject(v, type, &issues);
  std::string prefix = def.kind + " in version \"" + def.version + "\" cannot be handled as a " + def.kind + ": ";
  if (!st.ok()) return Status::BadRequest(prefix + st.message());
  std::string mode = c.query.Get("fieldValidation", "Warn");
  if (mode != "Strict" && mode != "Warn" && mode != "Ignore") {
    return Status::BadRequest("fieldValidation: Unsupported value: \"" + mode +
                              "\": supported values: \"Ignore\", \"Strict\", \"Warn\"");
  }
  if (!issues.unknown_fields.empty()) {
    if (mode == "Strict") {
      std::string msg = prefix + "strict decoding error: ";
      for (size_t i = 0; i < issues.unknown_fields.size(); ++i) {
        if (i) msg += ", ";
        msg += "unknown field \"" + issues.unknown_fields[i] + "\"";
      }
      return Status::BadRequest(std::move(msg));
    }
    if (mode == "Warn") {
      for (const auto& f : issues.unknown_fields) warnings->push_back("unknown field \"" + f + "\"");
    }
  }
  return Status::OK();
}

Result<bj::object> Handler::DecodeBody(Ctx& c, const ResourceDef& def, std::vector<std::string>* warnings) {
  const http::Request& r = *c.req;
  std::string_view ct = BaseMediaType(r.Header("content-type"));
  bj::value v;
  if (ct == "application/vnd.kubernetes.protobuf") {
    ASSIGN_OR_RETURN(v, api::DecodeProtobufObject(r.body, api::schema::Builtin()));
  } else if (ct == "application/yaml") {
    ASSIGN_OR_RETURN(v, api::YamlToJson(r.body));
  } else if (ct == "application/json" || ct.empty()) {
    auto parsed = json::Parse(r.body);
    if (!parsed.ok()) {
      return Status::BadRequest(def.kind + " in version \"" + def.version + "\" cannot be handled as a " + def.kind +
                                ": " + parsed.status().message());
    }
    v = std::move(*parsed);
  } else {
    return Status(Code::kUnsupportedMediaType,
                  "the body of the request was in an unknown format - accepted media types include: "
                  "application/json, application/yaml, application/vnd.kubernetes.protobuf, application/cbor");
  }
  RETURN_IF_ERROR(FinishDecode(c, def, v, warnings));
  return std::move(v.get_object());
}

namespace {

Result<WriteOptions> ParseWriteOptions(const Query& q, const http::Request& r) {
  WriteOptions o;
  for (const auto& d : q.GetAll("dryRun")) {
    if (d == "All") {
      o.dry_run = true;
    } else {
      return Status::BadRequest("Invalid dry run value: dryRun: Unsupported value: \"" + d +
                                "\": supported values: \"All\"");
    }
  }
  o.field_manager = q.Get("fieldManager");
  if (o.field_manager.empty()) o.field_manager = DefaultFieldManager(r);
  o.force = q.Bool("force").value_or(false);
  return o;
}

}  // namespace

http::Headers WarningHeaders(const std::vector<std::string>& warnings) {
  http::Headers h;
  for (const auto& w : warnings) {
    std::string esc;
    for (char ch : w) {
      if (ch == '"' || ch == '\\') esc.push_back('\\');
      esc.push_back(ch);
    }
    h.emplace_back("Warning", "299 - \"" + esc + "\"");
  }
  return h;
}

bool Handler::RunsInline(const http::Request& req) const {
  if (req.method != "POST" || !server_->registry_store_ || !server_->registry_store_->async_writes()) return false;
  RequestInfo info = ParseRequestInfo(req.method, req.path);
  if (!info.is_resource || !info.subresource.empty() || !info.name.empty()) return false;
  const ResourceDef* def = server_->registry_.Find(info.group, info.version, info.resource);
  return def != nullptr && def->stored && def->HasVerb("create");
}

void Handler::ServeCreate(Ctx& c) {
  auto opts = ParseWriteOptions(c.query, *c.req);
  if (!opts.ok()) return RespondStatus(c.ex, opts.status());
  std::vector<std::string> warnings;
  auto obj = DecodeBody(c, *c.def, &warnings);
  if (!obj.ok()) return RespondStatus(c.ex, obj.status());
  if (server_->registry_store_->async_writes()) {
    // Completes on the storage thread once durable; nothing here blocks.
    auto ex = c.ex;
    std::string table_version = c.table_version;
    http::Headers headers = WarningHeaders(warnings);
    Handler* self = this;
    Ctx copy = c;
    server_->registry_store_->CreateAsync(
        *c.def, c.info.ns, std::move(*obj), *opts, c.user,
        [self, ex, copy, headers](Result<WriteResult> res) mutable {
          if (!res.ok()) return self->RespondStatus(ex, res.status());
          std::string body = copy.table_version.empty() && !res->json.empty()
                                 ? std::move(res->json)
                                 : self->ObjectResponse(copy, *copy.def, res->obj);
          self->Respond(ex, 201, std::move(body), "application/json", std::move(headers));
        });
    return;
  }
  auto res = server_->registry_store_->Create(*c.def, c.info.ns, std::move(*obj), *opts, c.user);
  if (!res.ok()) return RespondStatus(c.ex, res.status());
  Respond(c.ex, 201, c.table_version.empty() && !res->json.empty() ? std::move(res->json) : ObjectResponse(c, *c.def, res->obj),
          "application/json", WarningHeaders(warnings));
}

void Handler::ServeUpdate(Ctx& c) {
  auto opts = ParseWriteOptions(c.query, *c.req);
  if (!opts.ok()) return RespondStatus(c.ex, opts.status());
  std::vector<std::string> warnings;
  auto obj = DecodeBody(c, *c.def, &warnings);
  if (!obj.ok()) return RespondStatus(c.ex, obj.status());
  opts->subresource = c.info.subresource == "finalize" ? "" : c.info.subresource;
  if (c.info.subresource == "finalize") {
    // Only spec.finalizers may change through /finalize.
    auto cur = server_->registry_store_->Get(*c.def, c.info.ns, c.info.name);
    if (!cur.ok()) return RespondStatus(c.ex, cur.status());
    bj::object next = std::move(*cur);
    bj::value fins = bj::array();
    if (const auto* f = api::At(*obj, {"spec", "finalizers"})) fins = *f;
    api::Obj(next, "spec")["finalizers"] = std::move(fins);
    if (const auto* rv = api::At(*obj, {"metadata", "resourceVersion"})) api::Meta(next)["resourceVersion"] = *rv;
    else api::Meta(next).erase("resourceVersion");
    *obj = std::move(next);
  }
  auto res = server_->registry_store_->Update(*c.def, c.info.ns, c.info.name, std::move(*obj), *opts, c.user);
  if (!res.ok()) return RespondStatus(c.ex, res.status());
  Respond(c.ex, res->created ? 201 : 200,
          c.table_version.empty() && !res->json.empty() ? std::move(res->json) : ObjectResponse(c, *c.def, res->obj),
          "application/json", WarningHeaders(warnings));
}

void Handler::ServePatch(Ctx& c) {
  auto opts = ParseWriteOptions(c.query, *c.req);
  if (!opts.ok()) return RespondStatus(c.ex, opts.status());
  opts->subresource = c.info.subresource;
  std::string_view ct = BaseMediaType(c.req->Header("content-type"));
  PatchType type;
  bj::value patch;
  if (ct == "application/merge-patch+json") {
    type = PatchType::kMerge;
  } else if (ct == "application/json-patch+json") {
    type = PatchType::kJson;
  } else if (ct == "application/strategic-merge-patch+json") {
    type = PatchType::kStrategic;
  } else if (ct == "application/apply-patch+yaml") {
    type = PatchType::kApply;
    if (c.query.Get("fieldManager").empty()) {
      return RespondStatus(c.ex, Status::BadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"));
    }
  } else {
    return RespondStatus(c.ex, Status(Code::kUnsupportedMediaType, "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"));
  }
  if (type == PatchType::kApply) {
    auto v = api::YamlToJson(c.req->body);
    if (!v.ok()) return RespondStatus(c.ex, v.status());
    patch = std::move(*v);
  } else {
    auto v = json::Parse(c.req->body);
    if (!v.ok()) return RespondStatus(c.ex, Status::BadRequest("error decoding patch: " + v.status().message()));
    patch = std::move(*v);
  }
  if ((type == PatchType::kMerge || type == PatchType::kStrategic || type == PatchType::kApply) && !patch.is_object()) {
    return RespondStatus(c.ex, Status::BadRequest("the patch must be a JSON object"));
  }
  std::vector<std::string> warnings;
  const ResourceDef& def = *c.def;
  // The patched object is decoded like a request body: types checked,
  // unknown fields reported (per fieldValidation) and dropped.
  auto decode = [&](bj::value& v) -> Status {
    warnings.clear();
    return FinishDecode(c, def, v, &warnings);
  };
  auto res = server_->registry_store_->Patch(def, c.info.ns, c.info.name, type, patch, *opts, c.user, decode);
  if (!res.ok()) return RespondStatus(c.ex, res.status());
  Respond(c.ex, res->created ? 201 : 200,
          c.table_version.empty() && !res->json.empty() ? std::move(res->json) : ObjectResponse(c, def, res->obj),
          "application/json", WarningHeaders(warnings));
}

namespace {

Result<DeleteOptions> ParseDeleteOptions(const Query& q, const std::string& body) {
  DeleteOptions o;
  if (!body.empty()) {
    auto v = json::Parse(body);
    if (!v.ok()) return Status::BadRequest("error decoding DeleteOptions: " + v.status().message());
    if (v->is_object()) {
      const bj::object& b = v->get_object();
      if (auto g = api::IntAt(b, {"gracePeriodSeconds"})) o.grace_period_seconds = *g;
      o.propagation_policy = std::string(api::StrAt(b, {"propagationPolicy"}));
      if (const auto* od = b.if_contains("orphanDependents"); od != nullptr && od->is_bool()) o.orphan_dependents = od->get_bool();
      o.precondition_uid = std::string(api::StrAt(b, {"preconditions", "uid"}));
      o.precondition_rv = std::string(api::StrAt(b, {"preconditions", "resourceVersion"}));
      if (const auto* dr = api::ArrAt(b, {"dryRun"})) {
        for (const auto& d : *dr) {
          if (d.is_string() && d.get_string() == "All") o.dry_run = true;
        }
      }
    }
  }
  if (std::string g = q.Get("gracePeriodSeconds"); !g.empty()) o.grace_period_seconds = std::strtoll(g.c_str(), nullptr, 10);
  if (std::string p = q.Get("propagationPolicy"); !p.empty()) o.propagation_policy = p;
  if (auto od = q.Bool("orphanDependents")) o.orphan_dependents = *od;
  for (const auto& d : q.GetAll("dryRun")) {
    if (d != "All") return Status::BadRequest("Invalid dry run value: dryRun: Unsupported value: \"" + d + "\": supported values: \"All\"");
    o.dry_run = true;
  }
  if (!o.propagation_policy.empty() && o.propagation_policy != "Orphan" && o.propagation_policy != "Background" &&
      o.propagation_policy != "Foreground") {
    return Status::Invalid("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"" +
                           o.propagation_policy + "\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"");
  }
  if (o.grace_period_seconds && *o.grace_period_seconds < 0) o.grace_period_seconds = 1;
  return o;
}

}  // namespace

void Handler::ServeDelete(Ctx& c) {
  auto opts = ParseDeleteOptions(c.query, c.req->body);
  if (!opts.ok()) return RespondStatus(c.ex, opts.status());
  auto res = server_->registry_store_->Delete(*c.def, c.info.ns, c.info.name, *opts, c.user);
  if (!res.ok()) return RespondStatus(c.ex, res.status());
  Respond(c.ex, 200, api::SerializeObject(*res));
}

void Handler::ServeDeleteCollection(Ctx& c) {
  auto lopts = ParseListOptions(c.query, *c.def, c.info.ns);
  if (!lopts.ok()) return RespondStatus(c.ex, lopts.status());
  auto dopts = ParseDeleteOptions(c.query, c.req->body);
  if (!dopts.ok()) return RespondStatus(c.ex, dopts.status());
  auto list = server_->registry_store_->List(*c.def, *lopts);
  if (!list.ok()) return RespondStatus(c.ex, list.status());
  bj::array items;
  for (const auto& j : list->items) {
    auto v = json::Parse(*j);
    if (!v.ok()) continue;
    const bj::object& o = v->get_object();
    auto res = server_->registry_store_->Delete(*c.def, std::string(api::Namespace(o)), std::string(api::Name(o)), *dopts, c.user);
    if (res.ok()) {
      items.push_back(std::move(*res));
    } else if (!res.status().IsNotFound()) {
      return RespondStatus(c.ex, res.status());
    }
  }
  bj::object out{{"kind", c.def->list_kind}, {"apiVersion", c.def->ApiVersion()},
                 {"metadata", bj::object{{"resourceVersion", std::to_string(list->rv)}}}, {"items", std::move(items)}};
  Respond(c.ex, 200, bj::serialize(out));
}

}  // namespace kubepp::apiserver
