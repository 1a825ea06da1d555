#include "apiserver/registry/cache.h"

#include <pthread.h>
#include <algorithm>

#include "api/object.h"
#include "common/crc32c.h"
#include "common/json.h"
#include "common/log.h"

namespace kubepp::apiserver {
namespace {

const log::Logger& Log() {
  static const log::Logger l("watchcache");
  return l;
}

}  // namespace

std::optional<std::string> CachedObject::Field(std::string_view f) const {
  if (f == "metadata.name") return name;
  if (f == "metadata.namespace") return ns;
  for (const auto& [k, v] : fields) {
    if (k == f) return v;
  }
  return std::nullopt;
}

std::string_view WatchEventTypeName(WatchEventType t) {
  switch (t) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
    case WatchEventType::kBookmark: return "BOOKMARK";
    case WatchEventType::kError: return "ERROR";
    case WatchEventType::kClosed: return "CLOSED";
  }
  return "";
}

const std::string& CacheEvent::JsonLine(WatchEventType as) const {
  int i = as == WatchEventType::kAdded ? 0 : as == WatchEventType::kModified ? 1 : 2;
  std::call_once(once_[i], [&] {
    lines_[i] = "{\"type\":\"" + std::string(WatchEventTypeName(as)) + "\",\"object\":" + obj->json + "}\n";
  });
  return lines_[i];
}

bool WatchFilter::Matches(const CachedObject& o) const {
  if (!ns.empty() && o.ns != ns) return false;
  if (!labels.Matches(o.labels)) return false;
  if (!fields.empty() && !fields.Matches([&](std::string_view f) { return o.Field(f); })) return false;
  return true;
}

void ResourceCache::Extract(const bj::object& o, CachedObject* c) const {
  c->ns = std::string(api::Namespace(o));
  c->name = std::string(api::Name(o));
  c->labels.clear();
  if (const bj::object* labels = api::ObjAt(o, {"metadata", "labels"})) {
    for (const auto& [k, v] : *labels) {
      if (v.is_string()) c->labels.emplace(std::string(k), std::string(v.get_string()));
    }
  }
  c->fields.clear();
  if (def_->hooks.fields) {
    for (const auto& f : def_->hooks.field_names) {
      auto v = def_->hooks.fields(o, f);
      if (v) c->fields.emplace_back(f, std::move(*v));
    }
  }
}

CachedPtr ResourceCache::MakeObject(const std::string& key, const std::string& value, int64_t rv) const {
  auto parsed = json::Parse(value);
  if (!parsed.ok() || !parsed->is_object()) return nullptr;
  auto c = std::make_shared<CachedObject>();
  c->key = key;
  c->rv = rv;
  c->json = api::WithResourceVersion(value, rv);
  Extract(parsed->get_object(), c.get());
  return c;
}

void ResourceCache::Prime(const std::string& key, const std::string& value, const bj::object& obj) {
  auto attrs = std::make_shared<CachedObject>();
  Extract(obj, attrs.get());
  std::lock_guard<std::mutex> l(primed_mu_);
  // Entries of writes that failed are never consumed: keep the map bounded.
  if (primed_.size() > 65536) primed_.clear();
  primed_[key] = Primed{Crc32c(value), value.size(), std::move(attrs)};
}

std::vector<CachedPtr> ResourceCache::List(const WatchFilter& filter, int64_t* rv) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<CachedPtr> out;
  auto begin = objects_.begin();
  std::string prefix;
  if (!filter.ns.empty() && def_->namespaced) {
    prefix = def_->KeyPrefix() + filter.ns + "/";
    begin = objects_.lower_bound(prefix);
  }
  for (auto it = begin; it != objects_.end(); ++it) {
    if (!prefix.empty() && it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (filter.Matches(*it->second)) out.push_back(it->second);
  }
  *rv = rv_;
  return out;
}

CachedPtr ResourceCache::Get(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

Result<uint64_t> ResourceCache::Watch(const WatchFilter& filter, int64_t rv, DeliverFn deliver) {
  std::lock_guard<std::mutex> l(mu_);
  if (rv > 0 && rv < oldest_) {
    return Status::Expired("too old resource version: " + std::to_string(rv) + " (" + std::to_string(oldest_) + ")");
  }
  if (rv <= 0) {
    for (const auto& [k, o] : objects_) {
      if (!filter.Matches(*o)) continue;
      if (!deliver(WatchEventType::kAdded, o, nullptr, rv_)) return Status::Cancelled("watch consumer gone");
    }
  } else {
    for (const auto& ev : events_) {
      if (ev->rv <= rv) continue;
      bool now = filter.Matches(*ev->obj);
      bool before = ev->prev != nullptr && filter.Matches(*ev->prev);
      WatchEventType t;
      if (ev->type == WatchEventType::kDeleted) {
        if (!before && !now) continue;
        t = WatchEventType::kDeleted;
      } else if (now && before) {
        t = WatchEventType::kModified;
      } else if (now) {
        t = WatchEventType::kAdded;
      } else if (before) {
        t = WatchEventType::kDeleted;
      } else {
        continue;
      }
      if (!deliver(t, ev->obj, ev, ev->rv)) return Status::Cancelled("watch consumer gone");
    }
  }
  uint64_t id = next_id_++;
  watchers_.emplace(id, Watcher{filter, std::move(deliver)});
  return id;
}

void ResourceCache::Unwatch(uint64_t id) {
  DeliverFn keep;  // destroyed outside the lock
  std::lock_guard<std::mutex> l(mu_);
  auto it = watchers_.find(id);
  if (it != watchers_.end()) {
    keep = std::move(it->second.deliver);
    watchers_.erase(it);
  }
}

void ResourceCache::Bookmark(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return;
  if (!it->second.deliver(WatchEventType::kBookmark, nullptr, nullptr, rv_)) watchers_.erase(it);
}

size_t ResourceCache::watcher_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return watchers_.size();
}

void ResourceCache::Reset(std::vector<CachedPtr> objects, int64_t rv) {
  std::map<uint64_t, Watcher> ended;
  {
    std::lock_guard<std::mutex> l(mu_);
    objects_.clear();
    for (auto& o : objects) objects_[o->key] = std::move(o);
    events_.clear();
    rv_ = rv;
    oldest_ = rv;
    ended.swap(watchers_);
  }
  // Watchers cannot follow across a relist: they end and their clients relist.
  for (auto& [id, w] : ended) w.deliver(WatchEventType::kClosed, nullptr, nullptr, rv);
}

void ResourceCache::Apply(const storage::Event& ev) {
  int64_t rev = ev.revision();
  std::lock_guard<std::mutex> l(mu_);
  auto existing = objects_.find(ev.kv->key);
  CachedPtr prev = existing != objects_.end() ? existing->second : nullptr;
  auto out = std::make_shared<CacheEvent>();
  out->rv = rev;
  out->prev = prev;
  if (ev.type == storage::EventType::kPut) {
    CachedPtr obj;
    {
      std::lock_guard<std::mutex> pl(primed_mu_);
      auto it = primed_.find(ev.kv->key);
      if (it != primed_.end()) {
        if (it->second.size == ev.kv->value.size() && it->second.crc == Crc32c(ev.kv->value)) {
          auto c = std::move(it->second.attrs);
          c->key = ev.kv->key;
          c->rv = rev;
          c->json = api::WithResourceVersion(ev.kv->value, rev);
          obj = std::move(c);
        }
        primed_.erase(it);
      }
    }
    if (obj == nullptr) obj = MakeObject(ev.kv->key, ev.kv->value, rev);
    if (obj == nullptr) {
      Log().Error("skipping an object that does not parse", {{"key", ev.kv->key}});
      rv_ = rev;
      return;
    }
    out->type = prev ? WatchEventType::kModified : WatchEventType::kAdded;
    out->obj = obj;
    objects_[ev.kv->key] = obj;
  } else {
    if (!prev) {
      rv_ = rev;
      return;
    }
    // The deleted object as last seen, at the delete's revision.
    auto gone = std::make_shared<CachedObject>(*prev);
    gone->rv = rev;
    auto raw = ev.prev_kv ? ev.prev_kv->value : std::string();
    gone->json = raw.empty() ? prev->json : api::WithResourceVersion(raw, rev);
    out->type = WatchEventType::kDeleted;
    out->obj = gone;
    objects_.erase(existing);
  }
  rv_ = rev;
  events_.push_back(out);
  if (events_.size() > capacity_) {
    oldest_ = events_.front()->rv;
    events_.pop_front();
  }
  Dispatch(out);
}

void ResourceCache::AdvanceTo(int64_t rv) {
  std::lock_guard<std::mutex> l(mu_);
  if (rv > rv_) rv_ = rv;
}

void ResourceCache::Dispatch(const EventPtr& ev) {
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    const WatchFilter& f = it->second.filter;
    bool now = f.Matches(*ev->obj);
    bool before = ev->prev != nullptr && f.Matches(*ev->prev);
    WatchEventType t;
    bool send = true;
    if (ev->type == WatchEventType::kDeleted) {
      t = WatchEventType::kDeleted;
      send = before || now;
    } else if (now && before) {
      t = WatchEventType::kModified;
    } else if (now) {
      t = WatchEventType::kAdded;
    } else if (before) {
      t = WatchEventType::kDeleted;
    } else {
      send = false;
      t = WatchEventType::kModified;
    }
    if (send && !it->second.deliver(t, ev->obj, ev, ev->rv)) {
      it = watchers_.erase(it);
      continue;
    }
    ++it;
  }
}

WatchCacheSet::WatchCacheSet(storage::Store* store, const ResourceRegistry* registry, size_t capacity)
    : store_(store) {
  for (const auto& def : registry->resources()) {
    if (!def->stored) continue;
    std::string prefix = def->KeyPrefix();
    auto it = by_prefix_.find(prefix);
    if (it == by_prefix_.end()) {
      // The first def registered for a prefix is the storage version.
      it = by_prefix_.emplace(prefix, std::make_unique<ResourceCache>(def.get(), std::max<size_t>(capacity, 1))).first;
    }
    by_def_[def.get()] = it->second.get();
  }
}

WatchCacheSet::~WatchCacheSet() { Stop(); }

ResourceCache* WatchCacheSet::For(const ResourceDef* def) const {
  auto it = by_def_.find(def);
  return it == by_def_.end() ? nullptr : it->second;
}

ResourceCache* WatchCacheSet::Route(const std::string& key) const {
  // Keys are /registry/<resource>/... or /registry/<group>/<resource>/...
  size_t a = key.find('/', 10);
  if (a == std::string::npos) return nullptr;
  auto it = by_prefix_.find(key.substr(0, a + 1));
  if (it != by_prefix_.end()) return it->second.get();
  size_t b = key.find('/', a + 1);
  if (b == std::string::npos) return nullptr;
  it = by_prefix_.find(key.substr(0, b + 1));
  return it == by_prefix_.end() ? nullptr : it->second.get();
}

Status WatchCacheSet::Relist() {
  std::map<ResourceCache*, std::vector<CachedPtr>> fill;
  int64_t rev = 0;
  std::string start;
  for (;;) {
    storage::ListOptions opts;
    opts.prefix = "/registry/";
    opts.start_key = start;
    opts.revision = rev;
    opts.limit = 10000;
    ASSIGN_OR_RETURN(storage::ListResult page, store_->List(opts));
    rev = page.revision;
    for (const auto& kv : page.kvs) {
      ResourceCache* c = Route(kv.key);
      if (c == nullptr) continue;
      CachedPtr o = c->MakeObject(kv.key, kv.value, kv.mod_revision);
      if (o) fill[c].push_back(std::move(o));
    }
    if (!page.more || page.kvs.empty()) break;
    start = page.kvs.back().key + '\0';
  }
  for (auto& [prefix, cache] : by_prefix_) {
    auto it = fill.find(cache.get());
    cache->Reset(it == fill.end() ? std::vector<CachedPtr>() : std::move(it->second), rev);
  }
  ASSIGN_OR_RETURN(watch_, store_->Watch({.prefix = "/registry/", .start_revision = rev + 1}));
  rev_.store(rev);
  cv_.notify_all();
  return Status::OK();
}

Status WatchCacheSet::Start() {
  RETURN_IF_ERROR(Relist());
  thread_ = std::thread([this] { Loop(); });
  pthread_setname_np(thread_.native_handle(), "watch-cache");
  return Status::OK();
}

void WatchCacheSet::Stop() {
  if (stop_.exchange(true)) return;
  if (watch_) watch_->Stop();
  if (thread_.joinable()) thread_.join();
  for (auto& [p, c] : by_prefix_) c->Reset({}, rev_.load());
}

void WatchCacheSet::Loop() {
  while (!stop_.load()) {
    auto evs = watch_->Next(std::chrono::milliseconds(500));
    if (!evs.ok()) {
      if (stop_.load() || evs.status().code() == Code::kCancelled) return;
      Log().Warning("storage watch ended; relisting", {{"err", evs.status()}});
      while (!stop_.load()) {
        Status st = Relist();
        if (st.ok()) break;
        Log().Error("relist failed", {{"err", st}});
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
      continue;
    }
    for (const auto& ev : *evs) {
      if (ResourceCache* c = Route(ev.kv->key)) c->Apply(ev);
    }
    if (!evs->empty()) {
      // Every cache is now current up to the last revision seen, so lists
      // served from any of them can report it.
      int64_t last = evs->back().revision();
      for (auto& [p, c] : by_prefix_) c->AdvanceTo(last);
      rev_.store(last);
      std::lock_guard<std::mutex> l(mu_);
      cv_.notify_all();
    }
  }
}

Status WatchCacheSet::WaitFor(int64_t rev, std::chrono::milliseconds timeout) {
  if (rev_.load() >= rev) return Status::OK();
  std::unique_lock<std::mutex> l(mu_);
  if (!cv_.wait_for(l, timeout, [&] { return rev_.load() >= rev; })) {
    return Status::Timeout("Too large resource version: " + std::to_string(rev) + ", current: " +
                           std::to_string(rev_.load()));
  }
  return Status::OK();
}

}  // namespace kubepp::apiserver
