// Subresources and create-only resources: scale, binding, eviction, and the
// review kinds (access reviews, self-subject review, token review).
#include "api/object.h"
#include "api/patch.h"
#include "apiserver/apiserver.h"
#include "apiserver/handler.h"
#include "common/json.h"

namespace kubepp::apiserver {


namespace {

// The autoscaling/v1 Scale of a scalable object.
bj::object ScaleOf(const ResourceDef& def, const bj::object& obj) {
  bj::object meta{{"name", api::Name(obj)}, {"namespace", api::Namespace(obj)},
                  {"uid", api::Uid(obj)}, {"resourceVersion", api::ResourceVersion(obj)}};
  if (const auto* ct = api::At(obj, {"metadata", "creationTimestamp"})) meta["creationTimestamp"] = *ct;
  bj::object spec{{"replicas", api::IntAt(obj, {"spec", "replicas"}).value_or(1)}};
  bj::object status{{"replicas", api::IntAt(obj, {"status", "replicas"}).value_or(0)}};
  std::string selector;
  if (def.kind == "ReplicationController") {
    if (const auto* sel = api::ObjAt(obj, {"spec", "selector"})) {
      std::vector<std::string> parts;
      for (const auto& [k, v] : *sel) parts.push_back(std::string(k) + "=" + (v.is_string() ? std::string(v.get_string()) : ""));
      std::sort(parts.begin(), parts.end());
      for (size_t i = 0; i < parts.size(); ++i) selector += (i ? "," : "") + parts[i];
    }
  } else if (auto s = api::LabelSelector::FromObject(api::At(obj, {"spec", "selector"})); s.ok()) {
    selector = s->String();
  }
  if (!selector.empty()) status["selector"] = selector;
  return bj::object{{"kind", "Scale"}, {"apiVersion", "autoscaling/v1"}, {"metadata", std::move(meta)},
                    {"spec", std::move(spec)}, {"status", std::move(status)}};
}

}  // namespace

void Handler::ServeScale(Ctx& c) {
  RegistryStore& store = *server_->registry_store_;
  const ResourceDef& def = *c.def;
  if (c.info.verb == "get") {
    auto obj = store.Get(def, c.info.ns, c.info.name);
    if (!obj.ok()) return RespondStatus(c.ex, obj.status());
    return Respond(c.ex, 200, bj::serialize(ScaleOf(def, *obj)));
  }
  if (c.info.verb != "update" && c.info.verb != "patch") {
    return RespondStatus(c.ex, api::NewMethodNotSupported(def.GR(), c.info.verb));
  }
  auto opts_body = json::Parse(c.req->body);
  if (!opts_body.ok()) return RespondStatus(c.ex, Status::BadRequest(opts_body.status().message()));
  WriteOptions opts;
  opts.field_manager = c.query.Get("fieldManager");
  opts.dry_run = c.query.Get("dryRun") == "All";
  std::string_view ct = c.req->Header("content-type");
  std::string type(ct.substr(0, ct.find(';')));
  // Compute the new Scale, then write spec.replicas through the main resource.
  std::optional<int64_t> want_rv;
  auto mutate = [&](const bj::object& cur) -> Result<bj::object> {
    bj::object scale = ScaleOf(def, cur);
    bj::value next;
    if (c.info.verb == "update") {
      next = *opts_body;
    } else if (type == "application/json-patch+json") {
      ASSIGN_OR_RETURN(next, api::JsonPatch(scale, *opts_body));
    } else if (type == "application/merge-patch+json" || type == "application/strategic-merge-patch+json" ||
               type == "application/apply-patch+yaml") {
      next = api::MergePatch(scale, *opts_body);
    } else {
      return Status(Code::kUnsupportedMediaType, "unsupported patch type " + type);
    }
    auto replicas = api::IntAt(next.as_object(), {"spec", "replicas"});
    if (!replicas) return Status::BadRequest("the Scale has no spec.replicas");
    if (*replicas < 0) {
      return api::NewInvalid("autoscaling", "Scale", c.info.name,
                             {api::Invalid("spec.replicas", bj::value(*replicas), "must be greater than or equal to 0")});
    }
    bj::object out = cur;
    api::Obj(out, "spec")["replicas"] = *replicas;
    std::string_view rv = api::StrAt(next.as_object(), {"metadata", "resourceVersion"});
    if (!rv.empty() && c.info.verb == "update") api::Meta(out)["resourceVersion"] = std::string(rv);
    else api::Meta(out).erase("resourceVersion");
    return out;
  };
  auto cur = store.Get(def, c.info.ns, c.info.name);
  if (!cur.ok()) return RespondStatus(c.ex, cur.status());
  auto next = mutate(*cur);
  if (!next.ok()) return RespondStatus(c.ex, next.status());
  auto res = store.Update(def, c.info.ns, c.info.name, std::move(*next), opts, c.user);
  if (!res.ok()) return RespondStatus(c.ex, res.status());
  Respond(c.ex, 200, bj::serialize(ScaleOf(def, res->obj)));
}

void Handler::ServeBinding(Ctx& c, const std::string& pod_name) {
  auto body = json::Parse(c.req->body);
  if (!body.ok() || !body->is_object()) return RespondStatus(c.ex, Status::BadRequest("the body must be a Binding object"));
  std::string target(api::StrAt(body->get_object(), {"target", "name"}));
  std::string name = pod_name.empty() ? std::string(api::Name(body->get_object())) : pod_name;
  if (target.empty()) {
    return RespondStatus(c.ex, api::NewInvalid("", "Binding", name, {api::Required("target.name")}));
  }
  const ResourceDef* pods = server_->registry_.Find("", "v1", "pods");
  RegistryStore& store = *server_->registry_store_;
  WriteOptions opts;
  opts.field_manager = c.query.Get("fieldManager");
  // One write, checked against the stored pod inside the update (upstream's
  // assignPod): a bound or terminating pod answers 409.
  const bj::object* ann = api::ObjAt(body->get_object(), {"metadata", "annotations"});
  std::string want_uid(api::StrAt(body->get_object(), {"metadata", "uid"}));
  std::string now = api::FormatTime(server_->options_.clock->Now());
  auto res = store.Mutate(
      *pods, c.info.ns, name,
      [&](const bj::object& cur) -> Result<bj::object> {
        if (!want_uid.empty() && api::Uid(cur) != want_uid) {
          return api::NewConflict({"", "pods/binding"}, name,
                                  "Precondition failed: UID in precondition: " + want_uid +
                                      ", UID in object meta: " + std::string(api::Uid(cur)));
        }
        std::string_view bound = api::StrAt(cur, {"spec", "nodeName"});
        if (!bound.empty()) {
          return api::NewConflict({"", "pods/binding"}, name,
                                  "pod " + name + " is already assigned to node \"" + std::string(bound) + "\"");
        }
        if (api::At(cur, {"metadata", "deletionTimestamp"}) != nullptr) {
          return api::NewConflict({"", "pods/binding"}, name,
                                  "pod " + name + " is being deleted, cannot be assigned to a host");
        }
        bj::object pod = cur;
        api::Obj(pod, "spec")["nodeName"] = target;
        // The PodScheduled condition, as the binding REST storage sets it.
        bj::object& status = api::Obj(pod, "status");
        bj::array& conds = api::Arr(status, "conditions");
        bj::array kept;
        for (auto& cnd : conds) {
          if (cnd.is_object() && api::StrAt(cnd.get_object(), {"type"}) == "PodScheduled") continue;
          kept.push_back(cnd);
        }
        kept.push_back(bj::object{{"type", "PodScheduled"}, {"status", "True"}, {"lastProbeTime", nullptr},
                                  {"lastTransitionTime", now}});
        status["conditions"] = std::move(kept);
        if (ann != nullptr) {
          bj::object& a = api::Obj(api::Meta(pod), "annotations");
          for (const auto& [k, v] : *ann) a[k] = v;
        }
        return pod;
      },
      opts, c.user);
  if (!res.ok()) return RespondStatus(c.ex, res.status());
  Respond(c.ex, 201, bj::serialize(api::SuccessStatusObject()));
}

void Handler::ServeEviction(Ctx& c) {
  RegistryStore& store = *server_->registry_store_;
  auto pod = store.Get(*c.def, c.info.ns, c.info.name);
  if (!pod.ok()) return RespondStatus(c.ex, pod.status());
  DeleteOptions dopts;
  auto body = json::Parse(c.req->body.empty() ? "{}" : c.req->body);
  if (body.ok() && body->is_object()) {
    if (auto g = api::IntAt(body->get_object(), {"deleteOptions", "gracePeriodSeconds"})) dopts.grace_period_seconds = *g;
    if (api::StrAt(body->get_object(), {"deleteOptions", "dryRun", "0"}) == "All") dopts.dry_run = true;
  }
  // Pod disruption budgets: refuse when one covering the pod allows no disruption.
  std::string_view phase = api::StrAt(*pod, {"status", "phase"});
  if (phase != "Succeeded" && phase != "Failed" && phase != "Pending") {
    const ResourceDef* pdbs = server_->registry_.Find("policy", "v1", "poddisruptionbudgets");
    ListOptions lo;
    lo.ns = c.info.ns;
    lo.resource_version = "0";
    auto list = store.List(*pdbs, lo);
    if (list.ok()) {
      auto labels = api::ObjectLabels(*pod);
      for (const auto& j : list->items) {
        auto v = json::Parse(*j);
        if (!v.ok()) continue;
        auto sel = api::LabelSelector::FromObject(api::At(*v, {"spec", "selector"}));
        if (!sel.ok() || !sel->Matches(labels)) continue;
        if (api::IntAt(v->get_object(), {"status", "disruptionsAllowed"}).value_or(0) < 1) {
          return RespondStatus(c.ex, Status(Code::kTooManyRequests,
                                            "Cannot evict pod as it would violate the pod's disruption budget.")
                                         .WithDetails({"", "", "", "", 10}));
        }
      }
    }
  }
  auto res = store.Delete(*c.def, c.info.ns, c.info.name, dopts, c.user);
  if (!res.ok()) return RespondStatus(c.ex, res.status());
  Respond(c.ex, 201, bj::serialize(api::SuccessStatusObject()));
}

void Handler::ServeVirtualCreate(Ctx& c) {
  const ResourceDef& def = *c.def;
  if (def.kind == "Binding") {
    auto body = json::Parse(c.req->body);
    std::string name = body.ok() && body->is_object() ? std::string(api::Name(body->get_object())) : "";
    return ServeBinding(c, name);
  }
  std::vector<std::string> warnings;
  auto obj = DecodeBody(c, def, &warnings);
  if (!obj.ok()) return RespondStatus(c.ex, obj.status());
  bj::object out = std::move(*obj);
  bj::object& status = api::Obj(out, "status");
  const UserInfo& u = c.user;
  auto user_info = [&] {
    bj::array groups;
    for (const auto& g : u.groups) groups.emplace_back(bj::string(g));
    bj::object ui{{"username", u.name}, {"groups", std::move(groups)}};
    if (!u.uid.empty()) ui["uid"] = u.uid;
    return ui;
  };
  if (def.kind == "SelfSubjectAccessReview" || def.kind == "SubjectAccessReview" ||
      def.kind == "LocalSubjectAccessReview") {
    // Every authenticated user may do everything until RBAC is enforced.
    status["allowed"] = true;
    status["reason"] = "kubepp authorizes every authenticated user";
  } else if (def.kind == "SelfSubjectRulesReview") {
    status["resourceRules"] = bj::array{bj::object{{"verbs", bj::array{"*"}}, {"apiGroups", bj::array{"*"}}, {"resources", bj::array{"*"}}}};
    status["nonResourceRules"] = bj::array{bj::object{{"verbs", bj::array{"*"}}, {"nonResourceURLs", bj::array{"*"}}}};
    status["incomplete"] = false;
  } else if (def.kind == "SelfSubjectReview") {
    status["userInfo"] = user_info();
  } else if (def.kind == "TokenReview") {
    std::string token(api::StrAt(out, {"spec", "token"}));
    std::vector<std::string> wanted, matched;
    if (const bj::array* auds = api::ArrAt(out, {"spec", "audiences"})) {
      for (const auto& a : *auds) {
        if (a.is_string()) wanted.emplace_back(a.get_string());
      }
    }
    auto who = server_->authn_.ReviewToken(token, wanted, &matched);
    status["authenticated"] = who.has_value();
    if (who) {
      bj::array groups;
      for (const auto& g : who->groups) groups.emplace_back(bj::string(g));
      bj::object user{{"username", who->name}, {"groups", std::move(groups)}};
      if (!who->uid.empty()) user["uid"] = who->uid;
      status["user"] = std::move(user);
      bj::array auds;
      for (const auto& a : matched) auds.emplace_back(bj::string(a));
      status["audiences"] = std::move(auds);
    } else {
      status["error"] = "token lookup failed";
    }
  }
  api::Meta(out)["creationTimestamp"] = nullptr;
  Respond(c.ex, 201, bj::serialize(out));
}

void Handler::ServeTokenRequest(Ctx& c) {
  static const ResourceDef kTokenRequest = [] {
    ResourceDef d;
    d.group = "authentication.k8s.io";
    d.version = "v1";
    d.resource = "tokenrequests";
    d.kind = "TokenRequest";
    d.stored = false;
    return d;
  }();
  std::vector<std::string> warnings;
  auto body = DecodeBody(c, kTokenRequest, &warnings);
  if (!body.ok()) return RespondStatus(c.ex, body.status());
  bj::object& req = *body;
  std::string_view body_name = api::Name(req);
  std::string_view body_ns = api::Namespace(req);
  if (!body_name.empty() && body_name != c.info.name) {
    return RespondStatus(c.ex, Status::BadRequest("name in URL does not match name in TokenRequest object"));
  }
  if (!body_ns.empty() && body_ns != c.info.ns) {
    return RespondStatus(c.ex, Status::BadRequest("namespace in URL does not match namespace in TokenRequest object"));
  }
  bj::object& spec = api::Obj(req, "spec");
  int64_t expiration = api::IntAt(req, {"spec", "expirationSeconds"}).value_or(3600);
  api::FieldErrors errs;
  if (expiration < 600) {
    errs.push_back(api::Invalid("spec.expirationSeconds", expiration, "may not specify a duration less than 10 minutes"));
  } else if (expiration > (int64_t{1} << 32)) {
    errs.push_back(api::Invalid("spec.expirationSeconds", expiration, "may not specify a duration larger than 2^32 seconds"));
  }
  if (!errs.empty()) return RespondStatus(c.ex, api::NewInvalid(kTokenRequest.group, kTokenRequest.kind, "", errs));
  RegistryStore& store = *server_->registry_store_;
  auto sa = store.Get(*c.def, c.info.ns, c.info.name);
  if (!sa.ok()) return RespondStatus(c.ex, sa.status());
  TokenClaims claims;
  claims.ns = c.info.ns;
  claims.sa_name = c.info.name;
  claims.sa_uid = std::string(api::Uid(*sa));
  if (const bj::array* auds = api::ArrAt(req, {"spec", "audiences"}); auds != nullptr && !auds->empty()) {
    for (const auto& a : *auds) {
      if (a.is_string()) claims.audiences.emplace_back(a.get_string());
    }
  } else {
    claims.audiences = server_->api_audiences_;
  }
  if (const bj::object* ref = api::ObjAt(req, {"spec", "boundObjectRef"})) {
    std::string kind(api::StrAt(*ref, {"kind"}));
    std::string api_version(api::StrAt(*ref, {"apiVersion"}));
    std::string name(api::StrAt(*ref, {"name"}));
    std::string uid(api::StrAt(*ref, {"uid"}));
    const char* resource = nullptr;
    if (api_version == "v1" && kind == "Pod") resource = "pods";
    if (api_version == "v1" && kind == "Secret") resource = "secrets";
    if (api_version == "v1" && kind == "Node") resource = "nodes";
    if (resource == nullptr) {
      return RespondStatus(c.ex, Status::BadRequest("cannot bind token for serviceaccount \"" + c.info.name +
                                                    "\" to object of type " + api_version + ", Kind=" + kind));
    }
    const ResourceDef* def = server_->registry_.Find("", "v1", resource);
    auto obj = store.Get(*def, kind == "Node" ? "" : c.info.ns, name);
    if (!obj.ok()) return RespondStatus(c.ex, obj.status());
    std::string actual(api::Uid(*obj));
    if (!uid.empty() && uid != actual) {
      return RespondStatus(c.ex, api::NewConflict({"", kind}, name,
                                                  "the UID in the bound object reference (" + uid +
                                                      ") does not match the UID in record. The object might have been "
                                                      "deleted and then recreated"));
    }
    claims.bound_kind = kind;
    claims.bound_name = name;
    claims.bound_uid = actual;
    if (kind == "Pod") {
      // A pod-bound token also names the pod's node, as upstream's does.
      std::string node(api::StrAt(*obj, {"spec", "nodeName"}));
      if (!node.empty()) {
        auto n = store.Get(*server_->registry_.Find("", "v1", "nodes"), "", node);
        if (n.ok()) {
          claims.node_name = node;
          claims.node_uid = std::string(api::Uid(*n));
        }
      }
    }
    bj::object& out_ref = api::Obj(spec, "boundObjectRef");
    out_ref["uid"] = actual;
  }
  auto now = server_->options_.clock->Now();
  claims.issued_at = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  claims.expires_at = claims.issued_at + expiration;
  claims.jti = api::NewUid();
  auto token = server_->sa_tokens_->Issue(claims);
  if (!token.ok()) return RespondStatus(c.ex, token.status());
  bj::array auds;
  for (const auto& a : claims.audiences) auds.emplace_back(bj::string(a));
  spec["audiences"] = std::move(auds);
  spec["expirationSeconds"] = expiration;
  bj::object& meta = api::Meta(req);
  meta["name"] = c.info.name;
  meta["namespace"] = c.info.ns;
  meta["creationTimestamp"] = api::FormatTime(now);
  req["status"] = bj::object{{"token", std::move(*token)},
                             {"expirationTimestamp", api::FormatTime(now + std::chrono::seconds(expiration))}};
  Respond(c.ex, 201, bj::serialize(req), "application/json", WarningHeaders(warnings));
}

}  // namespace kubepp::apiserver
