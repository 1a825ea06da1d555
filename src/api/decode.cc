#include "api/decode.h"

#include <boost/json.hpp>
#include <cmath>

#include "api/time.h"
#include "common/base64.h"

namespace kubepp::api {
namespace bj = boost::json;
namespace {

using schema::Field;
using schema::Kind;
using schema::TypeRef;

std::string JsonKindName(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::string: return "string";
    case bj::kind::bool_: return "bool";
    case bj::kind::array: return "array";
    case bj::kind::object: return "object";
    case bj::kind::null: return "null";
    default: return "number";
  }
}

// The Go-ish type name upstream prints ("[]v1.Container", "map[string]string").
std::string GoTypeName(const TypeRef& t) {
  switch (t.kind) {
    case Kind::kString: return "string";
    case Kind::kBool: return "bool";
    case Kind::kInt32: return "int32";
    case Kind::kInt64: return "int64";
    case Kind::kDouble: return "float64";
    case Kind::kBytes: return "[]uint8";
    case Kind::kAny: return "interface {}";
    case Kind::kArray: return "[]" + GoTypeName(*t.elem);
    case Kind::kMap: return "map[string]" + GoTypeName(*t.elem);
    case Kind::kStruct: {
      if (t.type == nullptr) return t.name;
      // "io.k8s.api.core.v1.Container" -> "v1.Container"
      const std::string& pkg = t.type->package;
      size_t dot = pkg.rfind('.');
      return (dot == std::string::npos ? pkg : pkg.substr(dot + 1)) + "." + t.type->name;
    }
    case Kind::kTime: return "v1.Time";
    case Kind::kMicroTime: return "v1.MicroTime";
    case Kind::kDuration: return "v1.Duration";
    case Kind::kQuantity: return "resource.Quantity";
    case Kind::kIntOrString: return "intstr.IntOrString";
    case Kind::kRawExtension: return "runtime.RawExtension";
    case Kind::kFieldsV1: return "v1.FieldsV1";
  }
  return "unknown";
}

struct Walker {
  DecodeIssues* issues;
  // Path with indices (for unknown-field reports) and the Go-style field path.
  std::string Join(const std::string& base, std::string_view key) {
    return base.empty() ? std::string(key) : base + "." + std::string(key);
  }

  Status Mismatch(const bj::value& v, const TypeRef& t, const std::string& struct_name, const std::string& go_path) {
    return Status::BadRequest("json: cannot unmarshal " + JsonKindName(v) + " into Go struct field " + struct_name +
                              "." + go_path + " of type " + GoTypeName(t));
  }

  Status Value(bj::value& v, const TypeRef& t, const std::string& path, const std::string& go_path,
               const std::string& struct_name) {
    switch (t.kind) {
      case Kind::kString:
      case Kind::kDuration:
        if (!v.is_string()) return Mismatch(v, t, struct_name, go_path);
        return Status::OK();
      case Kind::kBool:
        if (!v.is_bool()) return Mismatch(v, t, struct_name, go_path);
        return Status::OK();
      case Kind::kInt32:
      case Kind::kInt64: {
        if (v.is_double()) {
          double d = v.get_double();
          if (std::floor(d) != d || std::abs(d) > 9.2e18) {
            return Status::BadRequest("json: cannot unmarshal number " + bj::serialize(v) + " into Go struct field " +
                                      struct_name + "." + go_path + " of type " + GoTypeName(t));
          }
          v = static_cast<int64_t>(d);
        }
        if (v.is_uint64()) {
          if (v.get_uint64() > static_cast<uint64_t>(INT64_MAX)) return Mismatch(v, t, struct_name, go_path);
          v = static_cast<int64_t>(v.get_uint64());
        }
        if (!v.is_int64()) return Mismatch(v, t, struct_name, go_path);
        if (t.kind == Kind::kInt32 && (v.get_int64() > INT32_MAX || v.get_int64() < INT32_MIN)) {
          return Status::BadRequest("json: cannot unmarshal number " + bj::serialize(v) + " into Go struct field " +
                                    struct_name + "." + go_path + " of type int32");
        }
        return Status::OK();
      }
      case Kind::kDouble:
        if (!v.is_number()) return Mismatch(v, t, struct_name, go_path);
        return Status::OK();
      case Kind::kBytes: {
        if (!v.is_string()) return Mismatch(v, t, struct_name, go_path);
        auto d = Base64Decode(v.get_string());
        if (!d.ok()) return Status::BadRequest(d.status().message());
        return Status::OK();
      }
      case Kind::kAny:
      case Kind::kRawExtension:
      case Kind::kFieldsV1:
        return Status::OK();
      case Kind::kTime:
      case Kind::kMicroTime:
        if (!v.is_string()) return Mismatch(v, t, struct_name, go_path);
        if (!ParseTime(v.get_string())) {
          return Status::BadRequest("parsing time \"" + std::string(v.get_string()) +
                                    "\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"" +
                                    std::string(v.get_string()) + "\" as \"2006\"");
        }
        return Status::OK();
      case Kind::kQuantity:
        if (v.is_number()) {
          v = bj::string(bj::serialize(v));
          return Status::OK();
        }
        if (!v.is_string()) {
          return Status::BadRequest("quantities must match the regular expression "
                                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
        }
        return Status::OK();
      case Kind::kIntOrString:
        if (v.is_double() || v.is_uint64()) v = static_cast<int64_t>(v.to_number<double>());
        if (!v.is_string() && !v.is_int64()) return Mismatch(v, t, struct_name, go_path);
        return Status::OK();
      case Kind::kArray: {
        if (!v.is_array()) return Mismatch(v, t, struct_name, go_path);
        bj::array& a = v.get_array();
        for (size_t i = 0; i < a.size(); ++i) {
          if (a[i].is_null()) continue;
          RETURN_IF_ERROR(Value(a[i], *t.elem, path + "[" + std::to_string(i) + "]", go_path, struct_name));
        }
        return Status::OK();
      }
      case Kind::kMap: {
        if (!v.is_object()) return Mismatch(v, t, struct_name, go_path);
        for (auto& [k, mv] : v.get_object()) {
          if (mv.is_null()) continue;
          RETURN_IF_ERROR(Value(mv, *t.elem, path + "." + std::string(k), go_path, struct_name));
        }
        return Status::OK();
      }
      case Kind::kStruct:
        if (!v.is_object()) return Mismatch(v, t, struct_name, go_path);
        return Struct(v.get_object(), t.type, path, go_path);
    }
    return Status::OK();
  }

  Status Struct(bj::object& o, const schema::Type* type, const std::string& path, const std::string& go_path) {
    if (type == nullptr) return Status::OK();
    std::vector<std::string> drop;
    for (auto& [k, v] : o) {
      if (type->is_kind() && (k == "apiVersion" || k == "kind")) {
        if (!v.is_string() && !v.is_null()) {
          return Status::BadRequest("json: cannot unmarshal " + JsonKindName(v) + " into Go struct field " +
                                    type->name + "." + std::string(k) + " of type string");
        }
        continue;
      }
      const Field* f = type->FindField(k);
      std::string member_path = Join(path, k);
      if (f == nullptr) {
        issues->unknown_fields.push_back(member_path);
        drop.emplace_back(k);
        continue;
      }
      if (v.is_null()) {
        drop.emplace_back(k);
        continue;
      }
      RETURN_IF_ERROR(Value(v, f->type, member_path, Join(go_path, k), type->name));
      // Go's encoder drops an empty slice or map behind `omitempty`; only required lists
      // (upstream has no omitempty there) and those marked `zero` keep `[]` and `{}`.
      if (!f->required && !f->keep_zero &&
          ((f->type.kind == Kind::kArray && v.get_array().empty()) ||
           (f->type.kind == Kind::kMap && v.get_object().empty()))) {
        drop.emplace_back(k);
      }
    }
    for (const auto& k : drop) o.erase(k);
    return Status::OK();
  }
};

}  // namespace

Status NormalizeObject(bj::value& obj, const schema::Type* type, DecodeIssues* issues) {
  if (!obj.is_object()) return Status::BadRequest("the object must be a JSON object");
  Walker w{issues};
  return w.Struct(obj.get_object(), type, "", "");
}

}  // namespace kubepp::api
