// The schema model: every served type, its fields, their JSON and protobuf
// encodings and their patch semantics, parsed from defs/*.schema (README.md
// there has the syntax). One model drives OpenAPI, strict field validation,
// strategic merge patch and protobuf decoding.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace kubepp::api::schema {

enum class Kind {
  kString,
  kBool,
  kInt32,
  kInt64,
  kDouble,
  kBytes,        // base64 string in JSON
  kAny,          // any JSON ("object" in the files)
  kArray,        // []T
  kMap,          // map[T], string keys
  kStruct,       // a named type
  kTime,         // RFC 3339 string; proto Timestamp{seconds=1, nanos=2}
  kMicroTime,    // RFC 3339 with microseconds; same proto
  kDuration,     // Go duration string; proto {duration=1} nanoseconds
  kQuantity,     // string ("100m", "1Gi"); proto {string=1}
  kIntOrString,  // number or string; proto {type=1, intVal=2, strVal=3}
  kRawExtension, // any JSON object; proto {raw=1} bytes of JSON
  kFieldsV1,     // any JSON object; proto {Raw=1} bytes of JSON
};

struct Type;

struct TypeRef {
  Kind kind = Kind::kString;
  std::string name;                // kStruct: the referenced name as written
  const Type* type = nullptr;      // kStruct: resolved
  std::shared_ptr<TypeRef> elem;   // kArray, kMap
};

struct Field {
  std::string name;  // JSON name
  TypeRef type;
  int number = 0;    // protobuf field number; 0 = none
  bool required = false;
  bool keep_zero = false;
  bool inline_ = false;  // embedded struct: its members are the parent's in JSON
  std::string merge_key;  // x-kubernetes-patch-merge-key
  std::string strategy;   // x-kubernetes-patch-strategy
  std::string list_type;  // x-kubernetes-list-type
  std::vector<std::string> list_keys;
  std::vector<std::string> enum_values;
  std::string doc;
};

struct GroupVersionKind {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
  bool operator==(const GroupVersionKind&) const = default;
  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
};

struct Type {
  std::string package;    // io.k8s.api.core.v1
  std::string name;       // Pod
  std::string full_name;  // io.k8s.api.core.v1.Pod
  std::string doc;
  std::vector<GroupVersionKind> gvks;
  std::vector<Field> fields;

  // Looks a JSON member up, through inline fields. *via (if given) receives
  // the inline field the member belongs to, or null for a direct member.
  const Field* FindField(std::string_view json_name, const Field** via = nullptr) const;
  const Field* FindFieldByNumber(int number) const;
  // Top-level kinds carry apiVersion and kind in JSON (not as fields).
  bool is_kind() const { return !gvks.empty(); }

 private:
  friend class Registry;
  std::unordered_map<std::string, size_t> by_name_;
  std::unordered_map<int, size_t> by_number_;
};

class Registry {
 public:
  // Adds the types of one file. BadRequest naming file:line on a syntax error.
  Status Parse(std::string_view text, std::string_view filename);
  // Links every type reference. BadRequest listing the unresolved names.
  Status Resolve();

  const Type* Find(std::string_view full_name) const;
  const Type* FindKind(std::string_view group, std::string_view version, std::string_view kind) const;
  const std::vector<std::unique_ptr<Type>>& types() const { return types_; }

 private:
  std::vector<std::unique_ptr<Type>> types_;
  std::unordered_map<std::string, Type*> by_full_name_;
};

// The registry of every served type, parsed from the definitions compiled
// into the binary on first use. Never null; aborts if they do not parse.
const Registry& Builtin();

}  // namespace kubepp::api::schema
