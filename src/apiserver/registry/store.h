// The generic registry store (upstream's genericregistry.Store): create, get,
// list, update, patch, delete and watch for any ResourceDef, over the storage
// interface and the watch cache. It owns the object-metadata rules (names,
// generateName, uid, timestamps, resourceVersion preconditions, generation,
// managedFields, finalizers, graceful deletion) and calls the kind's hooks for
// the rest.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "api/schema/schema.h"
#include "api/selector.h"
#include "apiserver/registry/cache.h"
#include "apiserver/registry/resource.h"
#include "common/clock.h"
#include "storage/store.h"

namespace kubepp::apiserver {

struct WriteOptions {
  bool dry_run = false;
  std::string field_manager;
  std::string subresource;  // "", "status" or "approval" (scale is converted by the handler)
  bool force = false;       // server-side apply
};

struct WriteResult {
  bj::object obj;    // in the request's version, with resourceVersion
  std::string json;  // the same, encoded (empty when not computed)
  bool created = false;
};

struct ListOptions {
  std::string ns;
  api::LabelSelector labels;
  api::FieldSelector fields;
  std::string resource_version;        // "" (consistent), "0" (any), or a revision
  std::string resource_version_match;  // "", NotOlderThan, Exact
  int64_t limit = 0;
  std::string continue_token;
};

struct ListOutcome {
  std::vector<std::shared_ptr<const std::string>> items;  // JSON objects in the request's version
  int64_t rv = 0;
  std::string continue_token;
  std::optional<int64_t> remaining;
};

struct DeleteOptions {
  std::optional<int64_t> grace_period_seconds;
  std::string propagation_policy;  // "", Orphan, Background, Foreground
  std::optional<bool> orphan_dependents;
  std::string precondition_uid;
  std::string precondition_rv;
  bool dry_run = false;
};

enum class PatchType { kMerge, kJson, kStrategic, kApply };

// Admission plugins run on create and update, after defaulting and
// validation, before the write.
class Admission {
 public:
  virtual ~Admission() = default;
  // `old` is null on create. May change `obj` (mutating admission).
  virtual Status Admit(const ResourceDef& def, bj::object& obj, const bj::object* old, const UserInfo& user) = 0;
  // Called before a delete.
  virtual Status AdmitDelete(const ResourceDef& def, const bj::object& obj, const UserInfo& user) {
    return Status::OK();
  }
};

class RegistryStore {
 public:
  RegistryStore(storage::Store* store, WatchCacheSet* caches, const ResourceRegistry* registry, Clock* clock);
  void SetAdmission(Admission* admission) { admission_ = admission; }

  Result<bj::object> Get(const ResourceDef& def, const std::string& ns, const std::string& name);
  // The object's JSON from the watch cache after it caught up with storage
  // (a consistent read without parsing), in `def`'s version.
  Result<std::shared_ptr<const std::string>> GetJson(const ResourceDef& def, const std::string& ns,
                                                     const std::string& name);
  Result<ListOutcome> List(const ResourceDef& def, const ListOptions& opts);
  Result<WriteResult> Create(const ResourceDef& def, const std::string& ns, bj::object obj, const WriteOptions& opts,
                             const UserInfo& user);
  // Create without blocking when storage allows it: `done` runs when the
  // write is durable (on a storage thread), or at once on an early error.
  void CreateAsync(const ResourceDef& def, const std::string& ns, bj::object obj, const WriteOptions& opts,
                   const UserInfo& user, std::function<void(Result<WriteResult>)> done);
  bool async_writes() const { return store_->SupportsAsyncWrites(); }
  Result<WriteResult> Update(const ResourceDef& def, const std::string& ns, const std::string& name, bj::object obj,
                             const WriteOptions& opts, const UserInfo& user);
  // A server-side change of the current object in one write, retried on
  // conflicts (upstream's GuaranteedUpdate for subresources such as
  // pods/binding): `mutate` sees the stored object and returns the new one,
  // spec and status together; update validation and admission do not apply.
  Result<WriteResult> Mutate(const ResourceDef& def, const std::string& ns, const std::string& name,
                             const std::function<Result<bj::object>(const bj::object& current)>& mutate,
                             const WriteOptions& opts, const UserInfo& user);
  // Applies `patch` (already parsed) to the current object and updates it,
  // retrying on conflicts. Server-side apply creates when absent.
  // `decode` checks and normalizes the patched object like a request body.
  Result<WriteResult> Patch(const ResourceDef& def, const std::string& ns, const std::string& name, PatchType type,
                            const bj::value& patch, const WriteOptions& opts, const UserInfo& user,
                            const std::function<Status(bj::value&)>& decode = nullptr);
  // Returns the object as deleted (or as marked for deletion).
  Result<bj::object> Delete(const ResourceDef& def, const std::string& ns, const std::string& name,
                            const DeleteOptions& opts, const UserInfo& user);

  // Converts a stored object to `def`'s version (in place).
  void FromStorage(const ResourceDef& def, bj::object& obj) const;
  const ResourceDef* StorageDef(const ResourceDef& def) const;
  WatchCacheSet* caches() { return caches_; }
  storage::Store* storage() { return store_; }
  Clock* clock() { return clock_; }

 private:
  struct Current {
    bj::object obj;  // in def's version
    int64_t rev = 0;
  };
  Result<Current> Load(const ResourceDef& def, const std::string& key);
  // Everything a create does before the write: the object to store.
  Status PrepareCreate(const ResourceDef& def, const std::string& ns, bj::object& obj, const WriteOptions& opts,
                       const UserInfo& user);
  Result<WriteResult> UpdateLoop(const ResourceDef& def, const std::string& ns, const std::string& name,
                                 const std::function<Result<bj::object>(const bj::object& current)>& mutate,
                                 bool conditional_on_body_rv, const WriteOptions& opts, const UserInfo& user,
                                 bool create_if_missing);
  Status Validate(const ResourceDef& def, const bj::object& obj, const bj::object* old);
  // The answer to a write: `obj` (in def's version) at revision `rev`;
  // `stored` is its storage encoding, reused when the versions agree.
  Result<WriteResult> Finish(const ResourceDef& def, bj::object obj, const std::string& stored, int64_t rev,
                             bool created);
  std::string Encode(const ResourceDef& def, bj::object obj) const;
  // Tells the watch cache about a write it will see (saves it a parse).
  void Prime(const ResourceDef& def, const std::string& key, const std::string& json, const bj::object& obj);
  void UpdateManagedFields(const ResourceDef& def, bj::object& obj, const bj::object* old, const WriteOptions& opts,
                           std::string_view operation);

  storage::Store* store_;
  WatchCacheSet* caches_;
  const ResourceRegistry* registry_;
  Clock* clock_;
  Admission* admission_ = nullptr;
};

// A field set in the managedFields FieldsV1 format for `obj` (of `type`).
bj::object FieldSetOf(const bj::value& obj, const api::schema::Type* type);

}  // namespace kubepp::apiserver
