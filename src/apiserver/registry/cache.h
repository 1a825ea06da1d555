// The watch cache: every stored object in memory, kept current by one watch
// on the store, serving lists and watches without touching storage.
//
// One storage watch on "/registry/" feeds a dispatcher thread that routes
// each event to its resource's cache, which updates its objects, appends to
// its ring of recent events and hands the event to each matching watcher.
// Watchers' delivery callbacks run on the dispatcher thread under the cache's
// lock and must not block: they queue bytes on an HTTP stream. Each event's
// JSON line is encoded once and shared by all watchers that want it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/selector.h"
#include "apiserver/registry/resource.h"
#include "storage/store.h"

namespace kubepp::apiserver {

struct CachedObject {
  std::string key;
  std::string ns;
  std::string name;
  int64_t rv = 0;
  std::string json;  // storage version, with metadata.resourceVersion
  std::map<std::string, std::string, std::less<>> labels;
  std::vector<std::pair<std::string, std::string>> fields;  // field-selector values

  std::optional<std::string> Field(std::string_view f) const;
};
using CachedPtr = std::shared_ptr<const CachedObject>;

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError, kClosed };
std::string_view WatchEventTypeName(WatchEventType t);

// A change as the cache saw it.
struct CacheEvent {
  WatchEventType type;
  int64_t rv;
  CachedPtr obj;   // the new state (for deletes: the last state, rv = the delete's revision)
  CachedPtr prev;  // the state before, if any
  // {"type":"…","object":<obj>}\n, encoded once on first use.
  const std::string& JsonLine(WatchEventType as) const;

 private:
  mutable std::once_flag once_[3];
  mutable std::string lines_[3];
};
using EventPtr = std::shared_ptr<const CacheEvent>;

struct WatchFilter {
  std::string ns;  // empty: all namespaces
  api::LabelSelector labels;
  api::FieldSelector fields;
  bool Matches(const CachedObject& o) const;
};

// Receives events for one watcher. Returns false when its consumer is gone.
// `obj` is the object to send (for a filtered transition it may be the new
// state sent as DELETED). For kBookmark obj is null and rv is the cache's.
using DeliverFn = std::function<bool(WatchEventType type, const CachedPtr& obj, const EventPtr& ev, int64_t rv)>;

class ResourceCache {
 public:
  ResourceCache(const ResourceDef* def, size_t capacity) : def_(def), capacity_(capacity) {}

  // A consistent snapshot of the objects under `ns` (all when empty) that
  // match, sorted by key, and the revision it reflects.
  std::vector<CachedPtr> List(const WatchFilter& filter, int64_t* rv) const;
  CachedPtr Get(const std::string& key) const;

  // Starts a watch. rv < 0 (unset) or 0: first every matching object as
  // ADDED, then changes. rv > 0: the changes after rv; Expired (410) if the
  // ring no longer holds them all. Returns the watcher's id.
  Result<uint64_t> Watch(const WatchFilter& filter, int64_t rv, DeliverFn deliver);
  void Unwatch(uint64_t id);
  // Sends a bookmark with the current revision to watcher `id`.
  void Bookmark(uint64_t id);

  // Dispatcher side.
  void Reset(std::vector<CachedPtr> objects, int64_t rv);  // after a (re)list; ends every watcher
  void Apply(const storage::Event& ev);
  void AdvanceTo(int64_t rv);
  const ResourceDef* def() const { return def_; }
  size_t watcher_count() const;

  // Builds a cache entry from a stored value. Null if it does not parse.
  CachedPtr MakeObject(const std::string& key, const std::string& value, int64_t rv) const;
  // The writer of `value` at `key` already has it parsed: it hands over what
  // the cache would extract, so the event that follows needs no parse.
  void Prime(const std::string& key, const std::string& value, const bj::object& obj);

 private:
  struct Watcher {
    WatchFilter filter;
    DeliverFn deliver;
  };
  void Dispatch(const EventPtr& ev);  // REQUIRES: mu_

  const ResourceDef* def_;
  const size_t capacity_;  // events kept for watches that resume
  mutable std::mutex mu_;
  std::map<std::string, CachedPtr> objects_;  // GUARDED_BY(mu_)
  std::deque<EventPtr> events_;               // GUARDED_BY(mu_)
  int64_t rv_ = 0;                            // GUARDED_BY(mu_)
  int64_t oldest_ = 0;                        // GUARDED_BY(mu_): events after this rv are all in the ring
  std::map<uint64_t, Watcher> watchers_;      // GUARDED_BY(mu_)
  struct Primed {
    uint32_t crc;
    size_t size;
    std::shared_ptr<CachedObject> attrs;  // ns, name, labels, fields filled
  };
  std::mutex primed_mu_;
  std::map<std::string, Primed> primed_;  // GUARDED_BY(primed_mu_)
  void Extract(const bj::object& o, CachedObject* c) const;
  uint64_t next_id_ = 1;                      // GUARDED_BY(mu_)
};

class WatchCacheSet {
 public:
  // `capacity`: recent events each resource keeps for watches to resume from.
  WatchCacheSet(storage::Store* store, const ResourceRegistry* registry, size_t capacity = 10000);
  ~WatchCacheSet();
  // Lists everything, fills the caches and starts following the store.
  Status Start();
  void Stop();
  // The cache holding `def`'s objects (shared by all versions of a resource).
  ResourceCache* For(const ResourceDef* def) const;
  int64_t revision() const { return rev_.load(); }
  // Waits until every change up to `rev` is in the caches.
  Status WaitFor(int64_t rev, std::chrono::milliseconds timeout);

 private:
  Status Relist();
  void Loop();
  ResourceCache* Route(const std::string& key) const;

  storage::Store* store_;
  std::map<std::string, std::unique_ptr<ResourceCache>> by_prefix_;
  std::map<const ResourceDef*, ResourceCache*> by_def_;
  std::unique_ptr<storage::Watcher> watch_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> rev_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace kubepp::apiserver
