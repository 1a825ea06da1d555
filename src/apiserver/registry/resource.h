// What the API server serves: one ResourceDef per (group, version, resource),
// with the per-kind behaviour (the upstream "strategy": defaulting,
// validation, what an update may change, table columns, field selectors).
// Install*Resources() functions fill a ResourceRegistry explicitly.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "api/errors.h"
#include "api/time.h"
#include "common/status.h"

namespace kubepp::apiserver {

namespace bj = boost::json;

struct TableColumn {
  std::string name;
  std::string type = "string";
  std::string format;
  std::string description;
  int priority = 0;
};

struct TableContext {
  api::WallTime now;
};

struct Subresource {
  std::string name;     // "status", "scale", "log", ...
  std::string group;    // the kind it answers with ("" and "v1" for Pod)
  std::string version;
  std::string kind;
  std::vector<std::string> verbs;
};

// How names of a kind are validated.
enum class NameRule { kSubdomain, kLabel, kLabel1035, kPathSegment };

// The user a request came from (authentication's answer).
struct UserInfo {
  std::string name;
  std::string uid;
  std::vector<std::string> groups;
};

// The per-kind behaviour. Every hook is optional.
struct KindHooks {
  // Defaults, applied to every create and update (after decoding).
  std::function<void(bj::object& obj)> defaults;
  // Before a create: reset status and server-set fields.
  std::function<void(bj::object& obj)> prepare_create;
  // Before an update of the main resource: `obj` is the new object; keep what
  // the main resource may not change (usually status) from `old`.
  std::function<void(bj::object& obj, const bj::object& old)> prepare_update;
  // On create, after prepare_create: fields the server records from the
  // requesting user (a CertificateSigningRequest's spec.username).
  std::function<void(bj::object& obj, const UserInfo& user)> record_user;
  // Before an update through a status-like subresource (`sub` is "status"
  // or "approval"): `obj` is the old object with the new status; put back
  // from `old` what `sub` may not change.
  std::function<void(bj::object& obj, const bj::object& old, std::string_view sub)> prepare_status_update;
  // Validation; `old` is null on create.
  std::function<void(const bj::object& obj, const bj::object* old, api::FieldErrors& errs)> validate;
  // Extra field-selector fields (beyond metadata.name and metadata.namespace)
  // and how to read them.
  std::vector<std::string> field_names;
  std::function<std::optional<std::string>(const bj::object& obj, std::string_view field)> fields;
  // Table columns and the cells of one object.
  std::vector<TableColumn> columns;
  std::function<bj::array(const bj::object& obj, const TableContext& ctx)> cells;
  // Kind-specific deletion (namespaces): on delete, may mark the object
  // instead (returns true: keep it, with deletionTimestamp set).
  std::function<bool(bj::object& obj)> soft_delete;
  // True while kind-specific finalizers (namespace spec.finalizers) remain.
  std::function<bool(const bj::object& obj)> pending_finalizers;
  // Graceful deletion: the grace period to use when the request gives none
  // (nullopt: delete at once).
  std::function<std::optional<int64_t>(const bj::object& obj)> grace_period;
};

struct ResourceDef {
  std::string group;
  std::string version;
  std::string resource;  // plural
  std::string singular;
  std::string kind;
  std::string list_kind;
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<std::string> verbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
  std::vector<Subresource> subresources;
  // Storage: objects of every version of a resource live under one key
  // prefix, in the storage version; to_storage/from_storage convert.
  std::string storage_resource;  // defaults to `resource`
  std::string key_prefix;        // overrides the storage prefix (events.k8s.io shares core's)
  bool stored = true;            // false: create-only (reviews)
  std::function<void(bj::object& obj)> to_storage;
  std::function<void(bj::object& obj)> from_storage;
  NameRule name_rule = NameRule::kSubdomain;
  bool has_status = true;         // the status subresource owns .status
  bool track_generation = false;  // metadata.generation counts spec changes
  bool allow_create_on_update = false;
  KindHooks hooks;
  // Create for non-stored resources: computes the answer.
  std::function<Result<bj::value>(const bj::object& obj)> virtual_create;

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  api::GroupResource GR() const { return {group, resource}; }
  bool HasSubresource(std::string_view name) const;
  // The storage key prefix, "/registry/<group>/<resource>/".
  std::string KeyPrefix() const;
  std::string Key(std::string_view ns, std::string_view name) const;
  bool HasVerb(std::string_view verb) const;
};

// A group's served versions, in preference order.
struct GroupInfo {
  std::string name;
  std::vector<std::string> versions;
};

class ResourceRegistry {
 public:
  ResourceDef& Add(ResourceDef def);
  const ResourceDef* Find(std::string_view group, std::string_view version, std::string_view resource) const;
  const ResourceDef* FindKind(std::string_view group, std::string_view version, std::string_view kind) const;
  const std::vector<std::unique_ptr<ResourceDef>>& resources() const { return resources_; }
  // Groups in registration order ("" first), each with versions in preference order.
  const std::vector<GroupInfo>& groups() const { return groups_; }
  // Sets the preferred (first) version of a group.
  void Prefer(std::string_view group, std::string_view version);
  // Calls `fn` for every served version of group/kind.
  void ForKind(std::string_view group, std::string_view kind, const std::function<void(ResourceDef&)>& fn);

 private:
  std::vector<std::unique_ptr<ResourceDef>> resources_;
  std::vector<GroupInfo> groups_;
};

// Every built-in resource.
void InstallAllResources(ResourceRegistry& registry);

}  // namespace kubepp::apiserver
