#include "apiserver/openapi.h"

#include <openssl/sha.h>

#include <boost/json.hpp>
#include <functional>
#include <set>

#include "api/schema/schema.h"
#include "common/version.h"

namespace kubepp::apiserver {
namespace {

using api::schema::Field;
using api::schema::Kind;
using api::schema::Type;
using api::schema::TypeRef;

constexpr std::string_view kRefPrefix = "#/components/schemas/";

std::string Sha512Hex(const std::string& s) {
  unsigned char d[SHA512_DIGEST_LENGTH];
  SHA512(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : d) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

struct SchemaBuilder {
  bj::object schemas;
  std::set<std::string> done;

  bj::object Ref(const std::string& name) { return bj::object{{"$ref", std::string(kRefPrefix) + name}}; }

  void AddBuiltin(const std::string& name, bj::object schema) {
    if (done.insert(name).second) schemas[name] = std::move(schema);
  }

  // The schema of a value of type `t` (not carrying a description).
  bj::object Of(const TypeRef& t) {
    switch (t.kind) {
      case Kind::kString: return bj::object{{"type", "string"}};
      case Kind::kBool: return bj::object{{"type", "boolean"}};
      case Kind::kInt32: return bj::object{{"type", "integer"}, {"format", "int32"}};
      case Kind::kInt64: return bj::object{{"type", "integer"}, {"format", "int64"}};
      case Kind::kDouble: return bj::object{{"type", "number"}, {"format", "double"}};
      case Kind::kBytes: return bj::object{{"type", "string"}, {"format", "byte"}};
      case Kind::kAny: return bj::object{{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
      case Kind::kDuration: return bj::object{{"type", "string"}};
      case Kind::kArray: {
        bj::object items = Of(*t.elem);
        if (t.elem->kind == Kind::kStruct) items = bj::object{{"allOf", bj::array{Of(*t.elem)}}, {"default", bj::object()}};
        if (t.elem->kind == Kind::kString) items["default"] = "";
        return bj::object{{"type", "array"}, {"items", std::move(items)}};
      }
      case Kind::kMap: {
        bj::object items = Of(*t.elem);
        if (t.elem->kind == Kind::kStruct) items = bj::object{{"allOf", bj::array{Of(*t.elem)}}, {"default", bj::object()}};
        if (t.elem->kind == Kind::kString) items["default"] = "";
        return bj::object{{"type", "object"}, {"additionalProperties", std::move(items)}};
      }
      case Kind::kStruct:
        if (t.type == nullptr) return bj::object{{"type", "object"}};
        Add(*t.type);
        return Ref(t.type->full_name);
      case Kind::kTime:
        AddBuiltin("io.k8s.apimachinery.pkg.apis.meta.v1.Time",
                   bj::object{{"description", "A point in time, serialized as an RFC 3339 string."},
                              {"type", "string"}, {"format", "date-time"}});
        return Ref("io.k8s.apimachinery.pkg.apis.meta.v1.Time");
      case Kind::kMicroTime:
        AddBuiltin("io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
                   bj::object{{"description", "A point in time with microsecond precision, as an RFC 3339 string."},
                              {"type", "string"}, {"format", "date-time"}});
        return Ref("io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime");
      case Kind::kQuantity:
        AddBuiltin("io.k8s.apimachinery.pkg.api.resource.Quantity",
                   bj::object{{"description", "A fixed-point number with an optional suffix, such as 100m or 2Gi."},
                              {"oneOf", bj::array{bj::object{{"type", "string"}}, bj::object{{"type", "number"}}}}});
        return Ref("io.k8s.apimachinery.pkg.api.resource.Quantity");
      case Kind::kIntOrString:
        AddBuiltin("io.k8s.apimachinery.pkg.util.intstr.IntOrString",
                   bj::object{{"description", "A value that is either an integer or a string."},
                              {"type", "string"}, {"format", "int-or-string"}});
        return Ref("io.k8s.apimachinery.pkg.util.intstr.IntOrString");
      case Kind::kRawExtension:
        AddBuiltin("io.k8s.apimachinery.pkg.runtime.RawExtension",
                   bj::object{{"description", "An embedded object of any kind."}, {"type", "object"}});
        return Ref("io.k8s.apimachinery.pkg.runtime.RawExtension");
      case Kind::kFieldsV1:
        AddBuiltin("io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
                   bj::object{{"description", "A set of fields, in the FieldsV1 format."}, {"type", "object"}});
        return Ref("io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1");
    }
    return bj::object{{"type", "object"}};
  }

  bj::object FieldSchema(const Field& f) {
    bj::object s;
    bj::object inner = Of(f.type);
    if (inner.contains("$ref")) {
      s["allOf"] = bj::array{std::move(inner)};
      if (f.type.kind == Kind::kStruct) s["default"] = bj::object();
    } else {
      s = std::move(inner);
      if (f.type.kind == Kind::kString && f.required) s["default"] = "";
    }
    if (!f.doc.empty()) s["description"] = f.doc;
    if (!f.enum_values.empty()) {
      bj::array e;
      for (const auto& v : f.enum_values) e.emplace_back(bj::string(v));
      s["enum"] = std::move(e);
    }
    if (!f.list_type.empty()) s["x-kubernetes-list-type"] = f.list_type;
    if (!f.list_keys.empty()) {
      bj::array k;
      for (const auto& v : f.list_keys) k.emplace_back(bj::string(v));
      s["x-kubernetes-list-map-keys"] = std::move(k);
    }
    if (!f.merge_key.empty()) s["x-kubernetes-patch-merge-key"] = f.merge_key;
    if (!f.strategy.empty()) s["x-kubernetes-patch-strategy"] = f.strategy;
    return s;
  }

  void AddProperties(const Type& t, bj::object& props, bj::array& required) {
    for (const Field& f : t.fields) {
      if (f.inline_ && f.type.type != nullptr) {
        AddProperties(*f.type.type, props, required);
        continue;
      }
      props[f.name] = FieldSchema(f);
      if (f.required) required.emplace_back(bj::string(f.name));
    }
  }

  void Add(const Type& t) {
    if (!done.insert(t.full_name).second) return;
    bj::object s;
    if (!t.doc.empty()) s["description"] = t.doc;
    s["type"] = "object";
    bj::object props;
    bj::array required;
    if (t.is_kind()) {
      props["apiVersion"] = bj::object{{"description", "The versioned schema of this representation of an object."},
                                       {"type", "string"}};
      props["kind"] = bj::object{{"description", "The REST resource this object represents."}, {"type", "string"}};
    }
    AddProperties(t, props, required);
    s["properties"] = std::move(props);
    if (!required.empty()) s["required"] = std::move(required);
    if (t.is_kind()) {
      bj::array gvks;
      for (const auto& g : t.gvks) gvks.push_back(bj::object{{"group", g.group}, {"kind", g.kind}, {"version", g.version}});
      s["x-kubernetes-group-version-kind"] = std::move(gvks);
    }
    schemas[t.full_name] = std::move(s);
  }
};

bj::object Param(std::string name, std::string in, std::string description, bool required = false,
                 std::string type = "string") {
  bj::object p{{"name", name}, {"in", in}, {"description", description},
               {"schema", bj::object{{"type", type}, {"uniqueItems", true}}}};
  if (required) p["required"] = true;
  return p;
}

bj::array WriteParams() {
  return bj::array{Param("dryRun", "query", "When present, modifications are not persisted: All processes every stage but storage."),
                   Param("fieldManager", "query", "The name of the actor making these changes."),
                   Param("fieldValidation", "query",
                         "How to treat unknown or duplicate fields: Ignore, Warn (the default) or Strict.")};
}

bj::object Content(const std::string& ref) {
  bj::object c;
  for (const char* mt : {"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}) {
    c[mt] = bj::object{{"schema", bj::object{{"$ref", std::string(kRefPrefix) + ref}}}};
  }
  return c;
}

bj::object Responses(const std::string& ref, std::initializer_list<const char*> codes) {
  bj::object r;
  for (const char* code : codes) {
    r[code] = bj::object{{"description", std::string_view(code) == "201" ? "Created" : std::string_view(code) == "202" ? "Accepted" : "OK"},
                         {"content", Content(ref)}};
  }
  r["401"] = bj::object{{"description", "Unauthorized"}};
  return r;
}

bj::object Gvk(const ResourceDef& d, const std::string& kind) {
  return bj::object{{"group", d.group}, {"version", d.version}, {"kind", kind}};
}

std::string OpId(const std::string& verb, const ResourceDef& d, bool namespaced, const std::string& suffix) {
  std::string g = d.group.empty() ? "core" : d.group.substr(0, d.group.find('.'));
  std::string v = d.version;
  auto cap = [](std::string s) {
    if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    return s;
  };
  return verb + cap(g) + cap(v) + (namespaced ? "Namespaced" : "") + d.kind + suffix;
}

}  // namespace

OpenApi::OpenApi(const ResourceRegistry& registry) : registry_(registry) {}

void OpenApi::BuildAll() {
  const auto& schema = api::schema::Builtin();
  std::map<std::string, std::vector<const ResourceDef*>> by_gv;
  for (const auto& d : registry_.resources()) {
    std::string path = d->group.empty() ? "api/" + d->version : "apis/" + d->group + "/" + d->version;
    by_gv[path].push_back(d.get());
  }
  bj::object root_paths;
  for (const auto& [gv_path, defs] : by_gv) {
    SchemaBuilder sb;
    bj::object paths;
    for (const ResourceDef* d : defs) {
      const Type* t = schema.FindKind(d->group, d->version, d->kind);
      std::string kind_ref = t != nullptr ? t->full_name : "";
      std::string list_ref;
      if (t != nullptr) {
        sb.Add(*t);
        if (const Type* lt = schema.FindKind(d->group, d->version, d->list_kind)) {
          sb.Add(*lt);
          list_ref = lt->full_name;
        }
      }
      std::string base = "/" + gv_path;
      std::string coll = d->namespaced ? base + "/namespaces/{namespace}/" + d->resource : base + "/" + d->resource;
      bj::array path_params;
      if (d->namespaced) path_params.push_back(Param("namespace", "path", "object name and auth scope, such as for teams and projects", true));
      path_params.push_back(Param("pretty", "query", "If 'true', then the output is pretty printed."));
      bj::object coll_item{{"parameters", path_params}};
      if (d->HasVerb("list") && !list_ref.empty()) {
        coll_item["get"] = bj::object{{"description", "list or watch objects of kind " + d->kind},
                                      {"operationId", OpId("list", *d, d->namespaced, "")},
                                      {"responses", Responses(list_ref, {"200"})},
                                      {"x-kubernetes-action", "list"},
                                      {"x-kubernetes-group-version-kind", Gvk(*d, d->kind)}};
      }
      if (d->HasVerb("create") && !kind_ref.empty()) {
        coll_item["post"] = bj::object{{"description", "create a " + d->kind},
                                       {"operationId", OpId("create", *d, d->namespaced, "")},
                                       {"parameters", WriteParams()},
                                       {"requestBody", bj::object{{"content", Content(kind_ref)}, {"required", true}}},
                                       {"responses", Responses(kind_ref, {"200", "201", "202"})},
                                       {"x-kubernetes-action", "post"},
                                       {"x-kubernetes-group-version-kind", Gvk(*d, d->kind)}};
      }
      paths[coll] = std::move(coll_item);
      if (!d->HasVerb("get") || kind_ref.empty()) continue;
      bj::array item_params = path_params;
      item_params.insert(item_params.begin(), Param("name", "path", "name of the " + d->kind, true));
      bj::object item{{"parameters", item_params}};
      item["get"] = bj::object{{"description", "read the specified " + d->kind},
                               {"operationId", OpId("read", *d, d->namespaced, "")},
                               {"responses", Responses(kind_ref, {"200"})},
                               {"x-kubernetes-action", "get"},
                               {"x-kubernetes-group-version-kind", Gvk(*d, d->kind)}};
      item["put"] = bj::object{{"description", "replace the specified " + d->kind},
                               {"operationId", OpId("replace", *d, d->namespaced, "")},
                               {"parameters", WriteParams()},
                               {"requestBody", bj::object{{"content", Content(kind_ref)}, {"required", true}}},
                               {"responses", Responses(kind_ref, {"200", "201"})},
                               {"x-kubernetes-action", "put"},
                               {"x-kubernetes-group-version-kind", Gvk(*d, d->kind)}};
      bj::array patch_params = WriteParams();
      patch_params.push_back(Param("force", "query", "Force is going to \"force\" Apply requests.", false, "boolean"));
      bj::object patch_content;
      for (const char* mt : {"application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
                             "application/strategic-merge-patch+json"}) {
        patch_content[mt] = bj::object{{"schema", bj::object{{"type", "object"}}}};
      }
      item["patch"] = bj::object{{"description", "partially update the specified " + d->kind},
                                 {"operationId", OpId("patch", *d, d->namespaced, "")},
                                 {"parameters", patch_params},
                                 {"requestBody", bj::object{{"content", std::move(patch_content)}, {"required", true}}},
                                 {"responses", Responses(kind_ref, {"200", "201"})},
                                 {"x-kubernetes-action", "patch"},
                                 {"x-kubernetes-group-version-kind", Gvk(*d, d->kind)}};
      item["delete"] = bj::object{{"description", "delete a " + d->kind},
                                  {"operationId", OpId("delete", *d, d->namespaced, "")},
                                  {"responses", Responses(kind_ref, {"200", "202"})},
                                  {"x-kubernetes-action", "delete"},
                                  {"x-kubernetes-group-version-kind", Gvk(*d, d->kind)}};
      paths[coll + "/{name}"] = std::move(item);
      if (d->HasSubresource("status")) {
        bj::object st{{"parameters", item_params}};
        st["get"] = bj::object{{"description", "read status of the specified " + d->kind},
                               {"operationId", OpId("read", *d, d->namespaced, "Status")},
                               {"responses", Responses(kind_ref, {"200"})},
                               {"x-kubernetes-action", "get"},
                               {"x-kubernetes-group-version-kind", Gvk(*d, d->kind)}};
        st["patch"] = bj::object{{"description", "partially update status of the specified " + d->kind},
                                 {"operationId", OpId("patch", *d, d->namespaced, "Status")},
                                 {"parameters", WriteParams()},
                                 {"responses", Responses(kind_ref, {"200", "201"})},
                                 {"x-kubernetes-action", "patch"},
                                 {"x-kubernetes-group-version-kind", Gvk(*d, d->kind)}};
        paths[coll + "/{name}/status"] = std::move(st);
      }
      if (d->HasSubresource("scale")) {
        if (const Type* scale = schema.FindKind("autoscaling", "v1", "Scale")) {
          sb.Add(*scale);
          bj::object sc{{"parameters", item_params}};
          sc["patch"] = bj::object{{"description", "partially update scale of the specified " + d->kind},
                                   {"operationId", OpId("patch", *d, d->namespaced, "Scale")},
                                   {"parameters", WriteParams()},
                                   {"responses", Responses(scale->full_name, {"200", "201"})},
                                   {"x-kubernetes-action", "patch"},
                                   {"x-kubernetes-group-version-kind", bj::object{{"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"}}}};
          paths[coll + "/{name}/scale"] = std::move(sc);
        }
      }
    }
    // Kinds of the group-version that are not resources (e.g. Eviction, DeleteOptions).
    for (const auto& t : schema.types()) {
      for (const auto& g : t->gvks) {
        std::string p = g.group.empty() ? "api/" + g.version : "apis/" + g.group + "/" + g.version;
        if (p == gv_path) sb.Add(*t);
      }
    }
    if (const Type* st = schema.Find("io.k8s.apimachinery.pkg.apis.meta.v1.Status")) sb.Add(*st);
    if (const Type* dopt = schema.Find("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")) sb.Add(*dopt);
    bj::object doc{{"openapi", "3.0.0"},
                   {"info", bj::object{{"title", "Kubernetes"}, {"version", "v1.32.4"}}},
                   {"paths", std::move(paths)},
                   {"components", bj::object{{"schemas", std::move(sb.schemas)}}}};
    std::string text = bj::serialize(doc);
    std::string hash = Sha512Hex(text);
    root_paths[gv_path] = bj::object{{"serverRelativeURL", "/openapi/v3/" + gv_path + "?hash=" + hash}};
    docs_[gv_path] = {std::move(text), std::move(hash)};
  }
  root_ = bj::serialize(bj::object{{"paths", std::move(root_paths)}});
  built_ = true;
}

const std::string& OpenApi::Root() {
  std::lock_guard<std::mutex> l(mu_);
  if (!built_) BuildAll();
  return root_;
}

const std::string* OpenApi::Document(const std::string& gv_path, std::string* hash) {
  std::lock_guard<std::mutex> l(mu_);
  if (!built_) BuildAll();
  auto it = docs_.find(gv_path);
  if (it == docs_.end()) return nullptr;
  *hash = it->second.second;
  return &it->second.first;
}

}  // namespace kubepp::apiserver
