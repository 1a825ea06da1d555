#include "apiserver/registry/store.h"

#include <algorithm>

#include "api/names.h"
#include "api/object.h"
#include "api/patch.h"
#include "api/schema/schema.h"
#include "common/base64.h"
#include "common/json.h"

namespace kubepp::apiserver {
namespace schema = api::schema;
namespace {

constexpr int kMaxConflictRetries = 16;

std::string ConflictReason() {
  return "the object has been modified; please apply your changes to the latest version and try again";
}

const schema::Type* TypeOf(const ResourceDef& def) {
  return schema::Builtin().FindKind(def.group, def.version, def.kind);
}

// Fields the server owns: a client's value is replaced by the stored one.
void KeepServerMetadata(bj::object& meta, const bj::object& old_meta) {
  for (std::string_view k : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                             "generation", "managedFields", "selfLink"}) {
    if (const auto* v = old_meta.if_contains(k)) {
      meta[k] = *v;
    } else {
      meta.erase(k);
    }
  }
}

// Everything except metadata and status: what counts as the spec for
// generation tracking.
bool SpecChanged(const bj::object& a, const bj::object& b) {
  auto strip = [](const bj::object& o) {
    bj::object c = o;
    c.erase("metadata");
    c.erase("status");
    c.erase("apiVersion");
    c.erase("kind");
    return c;
  };
  return strip(a) != strip(b);
}

bool SameIgnoringVolatile(const bj::object& a, const bj::object& b) {
  auto strip = [](const bj::object& o) {
    bj::object c = o;
    if (auto* m = c.if_contains("metadata"); m != nullptr && m->is_object()) {
      m->get_object().erase("managedFields");
      m->get_object().erase("resourceVersion");
    }
    return c;
  };
  return strip(a) == strip(b);
}

void ValidateMetadata(const ResourceDef& def, const bj::object& obj, const bj::object* old, api::FieldErrors& errs) {
  std::string_view name = api::Name(obj);
  if (name.empty()) {
    errs.push_back(api::Required("metadata.name", "name or generateName is required"));
  } else {
    std::vector<std::string> problems;
    switch (def.name_rule) {
      case NameRule::kSubdomain: problems = api::IsDNS1123Subdomain(name); break;
      case NameRule::kLabel: problems = api::IsDNS1123Label(name); break;
      case NameRule::kLabel1035: problems = api::IsDNS1035Label(name); break;
      case NameRule::kPathSegment: problems = api::IsValidPathSegmentName(name); break;
    }
    for (const auto& p : problems) errs.push_back(api::InvalidString("metadata.name", name, p));
  }
  const bj::object* meta = api::ObjAt(obj, {"metadata"});
  if (meta == nullptr) return;
  if (const auto* labels = meta->if_contains("labels"); labels != nullptr && labels->is_object()) {
    for (const auto& [k, v] : labels->get_object()) {
      for (const auto& p : api::IsQualifiedName(k)) {
        errs.push_back(api::InvalidString("metadata.labels", k, p));
      }
      if (v.is_string()) {
        for (const auto& p : api::IsValidLabelValue(v.get_string())) {
          errs.push_back(api::InvalidString("metadata.labels", v.get_string(), p));
        }
      }
    }
  }
  if (const auto* ann = meta->if_contains("annotations"); ann != nullptr && ann->is_object()) {
    size_t total = 0;
    for (const auto& [k, v] : ann->get_object()) {
      for (const auto& p : api::IsQualifiedName(api::IsQualifiedName(k).empty() ? std::string_view(k) : std::string_view(k))) {
        errs.push_back(api::InvalidString("metadata.annotations", k, p));
      }
      total += k.size() + (v.is_string() ? v.get_string().size() : 0);
    }
    if (total > 256 * 1024) errs.push_back(api::TooLong("metadata.annotations", 256 * 1024));
  }
  if (old != nullptr) {
    // The server's own fields may not be changed by a client.
    if (api::Uid(obj) != api::Uid(*old) && !api::Uid(obj).empty()) {
      errs.push_back(api::InvalidString("metadata.uid", api::Uid(obj), "field is immutable"));
    }
  }
}

}  // namespace

RegistryStore::RegistryStore(storage::Store* store, WatchCacheSet* caches, const ResourceRegistry* registry,
                             Clock* clock)
    : store_(store), caches_(caches), registry_(registry), clock_(clock) {}

const ResourceDef* RegistryStore::StorageDef(const ResourceDef& def) const {
  ResourceCache* c = caches_ != nullptr ? caches_->For(&def) : nullptr;
  return c != nullptr ? c->def() : &def;
}

void RegistryStore::FromStorage(const ResourceDef& def, bj::object& obj) const {
  if (def.from_storage && StorageDef(def) != &def) def.from_storage(obj);
}

void RegistryStore::Prime(const ResourceDef& def, const std::string& key, const std::string& json,
                          const bj::object& obj) {
  // The cache extracts from the storage version; skip when `obj` is another.
  if (def.to_storage && StorageDef(def) != &def) return;
  if (ResourceCache* c = caches_ != nullptr ? caches_->For(&def) : nullptr) c->Prime(key, json, obj);
}

std::string RegistryStore::Encode(const ResourceDef& def, bj::object obj) const {
  if (def.to_storage && StorageDef(def) != &def) def.to_storage(obj);
  if (auto* m = obj.if_contains("metadata"); m != nullptr && m->is_object()) m->get_object().erase("resourceVersion");
  return api::SerializeObject(obj);
}

Result<RegistryStore::Current> RegistryStore::Load(const ResourceDef& def, const std::string& key) {
  ASSIGN_OR_RETURN(storage::KeyValue kv, store_->Get(key));
  ASSIGN_OR_RETURN(bj::value v, json::Parse(api::WithResourceVersion(kv.value, kv.mod_revision)));
  if (!v.is_object()) return Status::Internal("stored object is not a JSON object: " + key);
  Current c;
  c.obj = std::move(v.get_object());
  c.rev = kv.mod_revision;
  FromStorage(def, c.obj);
  return c;
}

Result<bj::object> RegistryStore::Get(const ResourceDef& def, const std::string& ns, const std::string& name) {
  auto cur = Load(def, def.Key(ns, name));
  if (!cur.ok()) {
    if (cur.status().IsNotFound()) return api::NewNotFound(def.GR(), name);
    return std::move(cur).TakeStatus();
  }
  return std::move(cur->obj);
}

Result<std::shared_ptr<const std::string>> RegistryStore::GetJson(const ResourceDef& def, const std::string& ns,
                                                                 const std::string& name) {
  ResourceCache* cache = caches_->For(&def);
  if (cache == nullptr || (def.from_storage && StorageDef(def) != &def)) {
    ASSIGN_OR_RETURN(bj::object o, Get(def, ns, name));
    return std::make_shared<const std::string>(api::SerializeObject(o));
  }
  ASSIGN_OR_RETURN(int64_t want, store_->CurrentRevision());
  RETURN_IF_ERROR(caches_->WaitFor(want, std::chrono::seconds(3)));
  CachedPtr o = cache->Get(def.Key(ns, name));
  if (o == nullptr) return api::NewNotFound(def.GR(), name);
  return std::shared_ptr<const std::string>(o, &o->json);
}

Result<ListOutcome> RegistryStore::List(const ResourceDef& def, const ListOptions& opts) {
  ResourceCache* cache = caches_->For(&def);
  if (cache == nullptr) return Status::Internal("no cache for " + def.resource);
  WatchFilter filter{def.namespaced ? opts.ns : "", opts.labels, opts.fields};
  bool convert = def.from_storage && StorageDef(def) != &def;
  auto encode = [&](const CachedPtr& o) -> std::shared_ptr<const std::string> {
    std::shared_ptr<const std::string> json(o, &o->json);  // shares the cache entry
    if (!convert) return json;
    auto v = json::Parse(*json);
    if (!v.ok()) return json;
    def.from_storage(v->get_object());
    return std::make_shared<const std::string>(bj::serialize(*v));
  };
  ListOutcome out;
  // Consistent reads: the cache must hold everything committed before now.
  if (opts.resource_version.empty() || (opts.resource_version != "0" && opts.resource_version_match != "Exact")) {
    int64_t want = 0;
    if (opts.resource_version.empty()) {
      ASSIGN_OR_RETURN(want, store_->CurrentRevision());
    } else {
      want = std::strtoll(opts.resource_version.c_str(), nullptr, 10);
    }
    RETURN_IF_ERROR(caches_->WaitFor(want, std::chrono::seconds(3)));
  }
  int64_t start_rv = 0;
  std::string start_key;
  if (!opts.continue_token.empty()) {
    // Our token: base64("<rv>/<key>").
    auto raw = Base64Decode(opts.continue_token);
    size_t slash = raw.ok() ? raw->find('/') : std::string::npos;
    if (slash == std::string::npos) return Status::BadRequest("continue key is not valid: illegal base64 data");
    start_rv = std::strtoll(raw->substr(0, slash).c_str(), nullptr, 10);
    start_key = raw->substr(slash + 1);
  }
  bool exact = opts.resource_version_match == "Exact" && !opts.resource_version.empty() && opts.resource_version != "0";
  if (opts.limit > 0 || start_rv > 0 || exact) {
    // Paged (or exact) lists read storage at one revision so that every page
    // sees the same snapshot.
    std::string prefix = def.KeyPrefix();
    if (def.namespaced && !opts.ns.empty()) prefix += opts.ns + "/";
    int64_t rev = start_rv;
    if (exact) rev = std::strtoll(opts.resource_version.c_str(), nullptr, 10);
    std::string from = start_key.empty() ? prefix : start_key + '\0';
    for (;;) {
      storage::ListOptions lo;
      lo.prefix = prefix;
      lo.start_key = from;
      lo.revision = rev;
      lo.limit = opts.limit > 0 ? std::max<int64_t>(opts.limit - static_cast<int64_t>(out.items.size()), 1) : 0;
      auto page = store_->List(lo);
      if (!page.ok()) {
        if (page.status().IsGone()) {
          return Status::Expired(start_rv > 0 ? "The provided continue parameter is too old to display a consistent "
                                                "list result. You can start a new list without the continue parameter."
                                              : "too old resource version: " + std::to_string(rev));
        }
        return std::move(page).TakeStatus();
      }
      rev = page->revision;
      for (const auto& kv : page->kvs) {
        CachedPtr o = cache->MakeObject(kv.key, kv.value, kv.mod_revision);
        if (o == nullptr || !filter.Matches(*o)) continue;
        out.items.push_back(encode(o));
        if (opts.limit > 0 && static_cast<int64_t>(out.items.size()) >= opts.limit) {
          // More may follow: hand back where to resume.
          if (page->more || &kv != &page->kvs.back()) {
            out.continue_token = Base64Encode(std::to_string(rev) + "/" + kv.key);
          }
          out.rv = rev;
          return out;
        }
      }
      if (!page->more || page->kvs.empty()) break;
      from = page->kvs.back().key + '\0';
    }
    out.rv = rev;
    return out;
  }
  auto objs = cache->List(filter, &out.rv);
  out.items.reserve(objs.size());
  for (const auto& o : objs) out.items.push_back(encode(o));
  return out;
}

Status RegistryStore::Validate(const ResourceDef& def, const bj::object& obj, const bj::object* old) {
  api::FieldErrors errs;
  ValidateMetadata(def, obj, old, errs);
  if (def.hooks.validate) def.hooks.validate(obj, old, errs);
  if (!errs.empty()) return api::NewInvalid(def.group, def.kind, api::Name(obj), errs);
  return Status::OK();
}

Result<WriteResult> RegistryStore::Finish(const ResourceDef& def, bj::object obj, const std::string& stored,
                                          int64_t rev, bool created) {
  WriteResult r;
  bj::object& meta = api::Meta(obj);
  if (rev > 0) {
    meta["resourceVersion"] = std::to_string(rev);
  } else {
    meta.erase("resourceVersion");
  }
  bool same_version = !(def.to_storage && StorageDef(def) != &def);
  r.json = same_version ? (rev > 0 ? api::WithResourceVersion(stored, rev) : stored) : api::SerializeObject(obj);
  r.obj = std::move(obj);
  r.created = created;
  return r;
}

void RegistryStore::UpdateManagedFields(const ResourceDef& def, bj::object& obj, const bj::object* old,
                                        const WriteOptions& opts, std::string_view operation) {
  if (opts.field_manager.empty()) return;
  bj::object& meta = api::Meta(obj);
  bj::array entries;
  if (old != nullptr) {
    if (const auto* mf = api::ArrAt(*old, {"metadata", "managedFields"})) entries = *mf;
  }
  // This manager's fields: what it set now (everything for a create or an
  // apply; what it changed for an update), on top of what it had.
  bj::object view = obj;
  view.erase("apiVersion");
  view.erase("kind");
  if (auto* m = view.if_contains("metadata"); m != nullptr && m->is_object()) {
    bj::object& vm = m->get_object();
    for (std::string_view k : {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                               "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink",
                               "generateName"}) {
      vm.erase(k);
    }
    if (vm.empty()) view.erase("metadata");
  }
  if (opts.subresource == "status" || opts.subresource == "approval") {
    bj::object only;
    if (const auto* st = view.if_contains("status")) only["status"] = *st;
    view = std::move(only);
  } else if (def.has_status) {
    view.erase("status");
  }
  if (old != nullptr && operation == "Update") {
    // Keep only the members that changed.
    std::function<void(bj::object&, const bj::object*)> diff = [&](bj::object& n, const bj::object* o) {
      std::vector<std::string> same;
      for (auto& [k, v] : n) {
        const bj::value* ov = o != nullptr ? o->if_contains(k) : nullptr;
        if (ov != nullptr && *ov == v) {
          same.emplace_back(k);
        } else if (ov != nullptr && v.is_object() && ov->is_object()) {
          diff(v.get_object(), &ov->get_object());
          if (v.get_object().empty()) same.emplace_back(k);
        }
      }
      for (const auto& k : same) n.erase(k);
    };
    diff(view, old);
  }
  bj::object fields = FieldSetOf(view, schema::Builtin().FindKind(def.group, def.version, def.kind));
  bj::value* mine = nullptr;
  for (auto& e : entries) {
    if (!e.is_object()) continue;
    const bj::object& eo = e.get_object();
    if (api::StrAt(eo, {"manager"}) == opts.field_manager && api::StrAt(eo, {"operation"}) == operation &&
        api::StrAt(eo, {"subresource"}) == opts.subresource) {
      mine = &e;
    }
  }
  if (mine == nullptr && fields.empty()) {
    if (!entries.empty()) meta["managedFields"] = std::move(entries);
    return;
  }
  bj::object entry;
  entry["manager"] = opts.field_manager;
  entry["operation"] = std::string(operation);
  entry["apiVersion"] = def.ApiVersion();
  entry["time"] = api::FormatTime(clock_->Now());
  entry["fieldsType"] = "FieldsV1";
  bj::object merged;
  if (mine != nullptr && operation == "Update") {
    if (const auto* f = api::ObjAt(mine->get_object(), {"fieldsV1"})) merged = *f;
  }
  bj::value fv = api::MergePatch(merged, fields);
  entry["fieldsV1"] = std::move(fv);
  if (!opts.subresource.empty()) entry["subresource"] = opts.subresource;
  if (mine != nullptr) {
    *mine = std::move(entry);
  } else {
    entries.push_back(std::move(entry));
  }
  meta["managedFields"] = std::move(entries);
}

Status RegistryStore::PrepareCreate(const ResourceDef& def, const std::string& ns, bj::object& obj,
                                    const WriteOptions& opts, const UserInfo& user) {
  bj::object& meta = api::Meta(obj);
  if (def.namespaced) {
    std::string_view body_ns = api::StrAt(obj, {"metadata", "namespace"});
    if (!body_ns.empty() && body_ns != ns) {
      return Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  if (!api::StrAt(obj, {"metadata", "resourceVersion"}).empty()) {
    return Status::BadRequest("resourceVersion should not be set on objects to be created");
  }
  std::string_view generate = api::StrAt(obj, {"metadata", "generateName"});
  if (api::Name(obj).empty() && !generate.empty()) {
    std::string base(generate.substr(0, 58));
    meta["name"] = base + api::RandomSuffix(5);
  }
  for (std::string_view k : {"deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"}) {
    meta.erase(k);
  }
  // The uid first: defaulting may derive from it (a Job's controller-uid selector).
  meta["uid"] = api::NewUid();
  if (def.hooks.prepare_create) def.hooks.prepare_create(obj);
  if (def.hooks.record_user) def.hooks.record_user(obj, user);
  if (def.hooks.defaults) def.hooks.defaults(obj);
  if (admission_ != nullptr) RETURN_IF_ERROR(admission_->Admit(def, obj, nullptr, user));
  RETURN_IF_ERROR(Validate(def, obj, nullptr));
  bj::object& m = api::Meta(obj);
  m["creationTimestamp"] = api::FormatTime(clock_->Now());
  if (def.track_generation) m["generation"] = 1;
  UpdateManagedFields(def, obj, nullptr, opts, "Update");
  return Status::OK();
}

Result<WriteResult> RegistryStore::Create(const ResourceDef& def, const std::string& ns, bj::object obj,
                                          const WriteOptions& opts, const UserInfo& user) {
  RETURN_IF_ERROR(PrepareCreate(def, ns, obj, opts, user));
  std::string json = Encode(def, obj);
  if (opts.dry_run) return Finish(def, std::move(obj), json, 0, true);
  std::string name(api::Name(obj));
  Prime(def, def.Key(ns, name), json, obj);
  auto kv = store_->Create(def.Key(ns, name), json);
  if (!kv.ok()) {
    if (kv.status().IsAlreadyExists()) return api::NewAlreadyExists(def.GR(), name);
    return std::move(kv).TakeStatus();
  }
  return Finish(def, std::move(obj), json, kv->mod_revision, true);
}

void RegistryStore::CreateAsync(const ResourceDef& def, const std::string& ns, bj::object obj,
                                const WriteOptions& opts, const UserInfo& user,
                                std::function<void(Result<WriteResult>)> done) {
  Status st = PrepareCreate(def, ns, obj, opts, user);
  if (!st.ok()) return done(std::move(st));
  auto json = std::make_shared<std::string>(Encode(def, obj));
  if (opts.dry_run) return done(Finish(def, std::move(obj), *json, 0, true));
  std::string name(api::Name(obj));
  std::string key = def.Key(ns, name);
  Prime(def, key, *json, obj);
  auto held = std::make_shared<bj::object>(std::move(obj));
  store_->CreateAsync(key, *json, [this, &def, name, json, held, done = std::move(done)](Result<storage::KeyValue> kv) {
    if (!kv.ok()) {
      if (kv.status().IsAlreadyExists()) return done(api::NewAlreadyExists(def.GR(), name));
      return done(std::move(kv).TakeStatus());
    }
    done(Finish(def, std::move(*held), *json, kv->mod_revision, true));
  });
}

Result<WriteResult> RegistryStore::UpdateLoop(
    const ResourceDef& def, const std::string& ns, const std::string& name,
    const std::function<Result<bj::object>(const bj::object& current)>& mutate, bool conditional,
    const WriteOptions& opts, const UserInfo& user, bool create_if_missing) {
  std::string key = def.Key(ns, name);
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    auto cur = Load(def, key);
    if (!cur.ok()) {
      if (cur.status().IsNotFound()) {
        if (create_if_missing) {
          ASSIGN_OR_RETURN(bj::object fresh, mutate(bj::object()));
          return Create(def, ns, std::move(fresh), opts, user);
        }
        return api::NewNotFound(def.GR(), name);
      }
      return std::move(cur).TakeStatus();
    }
    const bj::object& old = cur->obj;
    ASSIGN_OR_RETURN(bj::object obj, mutate(old));
    // A resourceVersion in the new object is a precondition.
    std::string_view want_rv = api::StrAt(obj, {"metadata", "resourceVersion"});
    if (!want_rv.empty() && want_rv != std::to_string(cur->rev)) {
      return api::NewConflict(def.GR(), name, ConflictReason());
    }
    bj::object& meta = api::Meta(obj);
    if (def.namespaced) {
      std::string_view body_ns = api::StrAt(obj, {"metadata", "namespace"});
      if (!body_ns.empty() && body_ns != ns) {
        return Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request");
      }
      meta["namespace"] = ns;
    }
    if (api::Name(obj) != name) {
      return Status::BadRequest("the name of the object (" + std::string(api::Name(obj)) +
                                ") does not match the name on the URL (" + name + ")");
    }
    const bj::object* old_meta = api::ObjAt(old, {"metadata"});
    if (old_meta != nullptr) KeepServerMetadata(meta, *old_meta);
    bool internal = opts.subresource == "internal";
    if (internal) {
      // Mutate: the object as the server made it.
    } else if (opts.subresource == "status" || opts.subresource == "approval") {
      // Only .status may change through /status (and metadata labels/annotations).
      bj::object next = old;
      if (const auto* st = obj.if_contains("status")) {
        next["status"] = *st;
      } else {
        next.erase("status");
      }
      bj::object& nm = api::Meta(next);
      for (std::string_view k : {"labels", "annotations"}) {
        if (const auto* v = meta.if_contains(k)) {
          nm[k] = *v;
        }
      }
      obj = std::move(next);
      if (def.hooks.prepare_status_update) def.hooks.prepare_status_update(obj, old, opts.subresource);
    } else {
      if (def.has_status) {
        if (const auto* st = old.if_contains("status")) {
          obj["status"] = *st;
        } else {
          obj.erase("status");
        }
      }
      if (def.hooks.prepare_update) def.hooks.prepare_update(obj, old);
      if (def.hooks.defaults) def.hooks.defaults(obj);
      if (def.track_generation && SpecChanged(obj, old)) {
        api::Meta(obj)["generation"] = api::IntAt(old, {"metadata", "generation"}).value_or(0) + 1;
      }
    }
    if (admission_ != nullptr && !internal) RETURN_IF_ERROR(admission_->Admit(def, obj, &old, user));
    if (!internal) RETURN_IF_ERROR(Validate(def, obj, &old));
    if (SameIgnoringVolatile(obj, old)) {
      // Nothing to write: the object and its resourceVersion stay.
      WriteResult r;
      r.obj = old;
      return r;
    }
    UpdateManagedFields(def, obj, &old, opts, "Update");
    // Finalization: an object marked for deletion goes once its last finalizer does.
    bool finalize = api::At(obj, {"metadata", "deletionTimestamp"}) != nullptr;
    if (finalize) {
      const bj::array* fins = api::ArrAt(obj, {"metadata", "finalizers"});
      finalize = (fins == nullptr || fins->empty()) &&
                 !(def.hooks.pending_finalizers && def.hooks.pending_finalizers(obj));
    }
    std::string json = Encode(def, obj);
    if (opts.dry_run) return Finish(def, std::move(obj), json, cur->rev, false);
    if (finalize) {
      auto d = store_->Delete(key, cur->rev);
      if (d.ok()) return Finish(def, std::move(obj), json, d->revision, false);
      if (d.status().IsConflict()) continue;
      if (d.status().IsNotFound()) return api::NewNotFound(def.GR(), name);
      return std::move(d).TakeStatus();
    }
    Prime(def, key, json, obj);
    auto kv = store_->Update(key, json, cur->rev);
    if (kv.ok()) return Finish(def, std::move(obj), json, kv->mod_revision, false);
    if (kv.status().IsConflict()) {
      if (conditional) return api::NewConflict(def.GR(), name, ConflictReason());
      continue;
    }
    if (kv.status().IsNotFound()) return api::NewNotFound(def.GR(), name);
    return std::move(kv).TakeStatus();
  }
  return api::NewConflict(def.GR(), name, ConflictReason());
}

Result<WriteResult> RegistryStore::Update(const ResourceDef& def, const std::string& ns, const std::string& name,
                                          bj::object obj, const WriteOptions& opts, const UserInfo& user) {
  if (api::Name(obj) != name) {
    return Status::BadRequest("the name of the object (" + std::string(api::Name(obj)) +
                              ") does not match the name on the URL (" + name + ")");
  }
  bool conditional = !api::StrAt(obj, {"metadata", "resourceVersion"}).empty();
  return UpdateLoop(
      def, ns, name, [&](const bj::object&) -> Result<bj::object> { return obj; }, conditional, opts, user,
      def.allow_create_on_update);
}

Result<WriteResult> RegistryStore::Mutate(const ResourceDef& def, const std::string& ns, const std::string& name,
                                          const std::function<Result<bj::object>(const bj::object& current)>& mutate,
                                          const WriteOptions& opts, const UserInfo& user) {
  WriteOptions o = opts;
  o.subresource = "internal";
  return UpdateLoop(def, ns, name, mutate, false, o, user, false);
}

Result<WriteResult> RegistryStore::Patch(const ResourceDef& def, const std::string& ns, const std::string& name,
                                         PatchType type, const bj::value& patch, const WriteOptions& opts,
                                         const UserInfo& user, const std::function<Status(bj::value&)>& decode) {
  const schema::Type* stype = TypeOf(def);
  bool conditional = api::At(patch, {"metadata", "resourceVersion"}) != nullptr;
  auto mutate = [&](const bj::object& current) -> Result<bj::object> {
    bj::value cur = current;
    bj::value out;
    switch (type) {
      case PatchType::kMerge:
        out = api::MergePatch(cur, patch);
        break;
      case PatchType::kJson: {
        ASSIGN_OR_RETURN(out, api::JsonPatch(cur, patch));
        break;
      }
      case PatchType::kStrategic: {
        ASSIGN_OR_RETURN(out, api::StrategicMergePatch(cur, patch, stype));
        break;
      }
      case PatchType::kApply: {
        if (current.empty()) {
          out = patch;
        } else {
          // Server-side apply, simplified: the applied configuration is merged
          // into the live object by the schema's merge keys.
          bj::value applied = patch;
          if (auto* m = applied.if_object(); m != nullptr) m->erase("status");
          ASSIGN_OR_RETURN(out, api::StrategicMergePatch(cur, applied, stype));
        }
        break;
      }
    }
    if (!out.is_object()) return Status::BadRequest("the patch did not produce an object");
    if (decode) RETURN_IF_ERROR(decode(out));
    // The patched object must keep its identity.
    bj::object& o = out.get_object();
    if (!current.empty()) {
      if (api::Name(o) != api::Name(current)) {
        return Status::BadRequest("the name of the object (" + std::string(api::Name(o)) +
                                  ") does not match the name on the URL (" + name + ")");
      }
      if (!conditional && api::At(o, {"metadata", "resourceVersion"}) != nullptr) {
        api::Meta(o).erase("resourceVersion");
      }
    } else {
      bj::object& m = api::Meta(o);
      if (api::Name(o).empty()) m["name"] = name;
    }
    if (!o.contains("apiVersion")) o["apiVersion"] = def.ApiVersion();
    if (!o.contains("kind")) o["kind"] = def.kind;
    return std::move(o);
  };
  WriteOptions wo = opts;
  return UpdateLoop(def, ns, name, mutate, conditional, wo, user, type == PatchType::kApply);
}

Result<bj::object> RegistryStore::Delete(const ResourceDef& def, const std::string& ns, const std::string& name,
                                         const DeleteOptions& opts, const UserInfo& user) {
  std::string key = def.Key(ns, name);
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    auto cur = Load(def, key);
    if (!cur.ok()) {
      if (cur.status().IsNotFound()) return api::NewNotFound(def.GR(), name);
      return std::move(cur).TakeStatus();
    }
    bj::object obj = std::move(cur->obj);
    if (!opts.precondition_uid.empty() && opts.precondition_uid != api::Uid(obj)) {
      return api::NewConflict(def.GR(), name,
                              "Precondition failed: UID in precondition: " + opts.precondition_uid +
                                  ", UID in object meta: " + std::string(api::Uid(obj)));
    }
    if (!opts.precondition_rv.empty() && opts.precondition_rv != std::to_string(cur->rev)) {
      return api::NewConflict(def.GR(), name,
                              "Precondition failed: ResourceVersion in precondition: " + opts.precondition_rv +
                                  ", ResourceVersion in object meta: " + std::to_string(cur->rev));
    }
    if (admission_ != nullptr) RETURN_IF_ERROR(admission_->AdmitDelete(def, obj, user));
    bj::object& meta = api::Meta(obj);
    std::optional<int64_t> grace = opts.grace_period_seconds;
    if (!grace && def.hooks.grace_period) grace = def.hooks.grace_period(obj);
    bool already = meta.contains("deletionTimestamp");
    // Finalizers requested by the propagation policy.
    std::vector<std::string> fins;
    if (const auto* f = meta.if_contains("finalizers"); f != nullptr && f->is_array()) {
      for (const auto& v : f->get_array()) {
        if (v.is_string()) fins.emplace_back(v.get_string());
      }
    }
    auto add_fin = [&](const std::string& f) {
      if (std::find(fins.begin(), fins.end(), f) == fins.end()) fins.push_back(f);
    };
    bool orphan = opts.propagation_policy == "Orphan" || (opts.orphan_dependents && *opts.orphan_dependents);
    if (orphan) add_fin("orphan");
    if (opts.propagation_policy == "Foreground") add_fin("foregroundDeletion");
    bool graceful = grace && *grace > 0;
    bool soft = def.hooks.soft_delete && def.hooks.soft_delete(obj);
    if (!fins.empty() || graceful || soft) {
      if (already) {
        // A deletion is under way; a shorter grace period may hurry it.
        int64_t cur_grace = api::IntAt(meta, {"deletionGracePeriodSeconds"}).value_or(0);
        if (!grace || *grace >= cur_grace || !graceful) return obj;
      }
      int64_t g = graceful ? *grace : 0;
      meta["deletionTimestamp"] = api::FormatTime(clock_->Now() + std::chrono::seconds(g));
      meta["deletionGracePeriodSeconds"] = g;
      if (!fins.empty()) {
        bj::array fa;
        for (const auto& f : fins) fa.emplace_back(bj::string(f));
        meta["finalizers"] = std::move(fa);
      }
      std::string json = Encode(def, obj);
      if (opts.dry_run) {
        auto r = Finish(def, obj, json, cur->rev, false);
        if (!r.ok()) return std::move(r).TakeStatus();
        return std::move(r->obj);
      }
      auto kv = store_->Update(key, json, cur->rev);
      if (!kv.ok()) {
        if (kv.status().IsConflict()) continue;
        if (kv.status().IsNotFound()) return api::NewNotFound(def.GR(), name);
        return std::move(kv).TakeStatus();
      }
      auto r = Finish(def, obj, json, kv->mod_revision, false);
      if (!r.ok()) return std::move(r).TakeStatus();
      return std::move(r->obj);
    }
    if (opts.dry_run) return obj;
    auto d = store_->Delete(key, cur->rev);
    if (!d.ok()) {
      if (d.status().IsConflict()) continue;
      if (d.status().IsNotFound()) return api::NewNotFound(def.GR(), name);
      return std::move(d).TakeStatus();
    }
    return obj;
  }
  return api::NewConflict(def.GR(), name, ConflictReason());
}

bj::object FieldSetOf(const bj::value& obj, const api::schema::Type* type) {
  bj::object out;
  if (!obj.is_object()) return out;
  for (const auto& [k, v] : obj.get_object()) {
    const schema::Field* f = type != nullptr ? type->FindField(k) : nullptr;
    bj::object child;
    if (v.is_object()) {
      const schema::Type* ct = nullptr;
      if (f != nullptr && f->type.kind == schema::Kind::kStruct) ct = f->type.type;
      bool is_map = f != nullptr && f->type.kind == schema::Kind::kMap;
      if (f == nullptr || ct != nullptr || is_map) {
        const schema::Type* elem_type = nullptr;
        if (is_map && f->type.elem && f->type.elem->kind == schema::Kind::kStruct) elem_type = f->type.elem->type;
        child = FieldSetOf(v, is_map ? elem_type : ct);
        if (is_map) child["."] = bj::object();
      }
    } else if (v.is_array() && f != nullptr && f->type.kind == schema::Kind::kArray && !f->merge_key.empty()) {
      const schema::Type* et = f->type.elem && f->type.elem->kind == schema::Kind::kStruct ? f->type.elem->type : nullptr;
      for (const auto& e : v.get_array()) {
        if (!e.is_object()) continue;
        bj::object keyobj;
        std::vector<std::string> keys = f->list_keys.empty() ? std::vector<std::string>{f->merge_key} : f->list_keys;
        for (const auto& kk : keys) {
          if (const auto* kv = e.get_object().if_contains(kk)) keyobj[kk] = *kv;
        }
        bj::object ec = FieldSetOf(e, et);
        ec["."] = bj::object();
        child["k:" + bj::serialize(keyobj)] = std::move(ec);
      }
    } else if (v.is_array() && f != nullptr && f->strategy.find("merge") != std::string::npos) {
      for (const auto& e : v.get_array()) child["v:" + bj::serialize(e)] = bj::object();
    }
    out["f:" + std::string(k)] = std::move(child);
  }
  return out;
}

}  // namespace kubepp::apiserver
