// An informer (client-go's SharedIndexInformer, one per resource): lists a
// resource, then watches it from the list's resourceVersion, keeping an
// indexed in-memory copy of every object and telling handlers about each
// change. It relists when the watch says 410 Expired or its resourceVersion
// is gone (a restarted server), reporting what changed meanwhile as adds,
// updates and deletes; it resumes the watch after timeouts and retries
// failures with backoff. An optional resync re-delivers every object as an
// update, so level-triggered controllers catch up with anything they missed.
//
// Handlers run on the informer's thread, in event order, and must not block
// (controllers enqueue keys to a WorkQueue). Reads (Get, List, ByIndex) are
// thread-safe and return shared immutable objects.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/rest.h"

namespace kubepp::client {

using ObjectPtr = std::shared_ptr<const bj::object>;

// "namespace/name", or "name" for cluster-scoped objects (client-go's
// MetaNamespaceKeyFunc).
std::string KeyOf(const bj::object& obj);

struct InformerOptions {
  std::string group;
  std::string version = "v1";
  std::string resource;
  std::string ns;  // empty: every namespace
  std::string label_selector;
  std::string field_selector;
  int page_size = 500;
  std::chrono::milliseconds resync{0};  // 0: never
};

struct EventHandler {
  std::function<void(const ObjectPtr& obj)> on_add;
  std::function<void(const ObjectPtr& old_obj, const ObjectPtr& new_obj)> on_update;
  std::function<void(const ObjectPtr& obj)> on_delete;
};

// Values an object is filed under in an index.
using IndexFunc = std::function<std::vector<std::string>(const bj::object& obj)>;

class Informer {
 public:
  Informer(RestClient* client, InformerOptions options);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // REQUIRES: before Start.
  void AddEventHandler(EventHandler handler);
  void AddIndex(const std::string& name, IndexFunc fn);

  void Start();
  // Ends the watch and joins the thread; no handler runs after it returns.
  void Stop();

  // True once the first list has been delivered.
  bool HasSynced() const { return synced_.load(); }
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  ObjectPtr Get(const std::string& key) const;
  std::vector<ObjectPtr> List() const;
  // Objects whose index `name` holds `value`. The index "namespace" always exists.
  std::vector<ObjectPtr> ByIndex(const std::string& name, const std::string& value) const;
  std::string LastSyncResourceVersion() const;

 private:
  void Run();
  Status ListAndReplace();
  Status WatchFrom();
  std::string CollectionPath() const;
  std::string Selectors() const;
  void Upsert(ObjectPtr obj);  // delivers add or update
  void Remove(const std::string& key, ObjectPtr last);
  void IndexLocked(const std::string& key, const bj::object* old_obj, const bj::object* new_obj);
  void Resync();
  bool SleepFor(std::chrono::milliseconds d);  // false when stopping

  RestClient* client_;
  InformerOptions options_;
  std::vector<EventHandler> handlers_;
  std::map<std::string, IndexFunc> index_funcs_;

  mutable std::mutex mu_;
  std::map<std::string, ObjectPtr> items_;                                       // GUARDED_BY(mu_)
  std::map<std::string, std::map<std::string, std::set<std::string>>> indices_;  // GUARDED_BY(mu_)
  std::string rv_;                                                               // GUARDED_BY(mu_)
  mutable std::condition_variable cv_;

  std::atomic<bool> synced_{false};
  std::atomic<bool> stopping_{false};
  WatchHandle watch_;
  std::chrono::steady_clock::time_point next_resync_;
  std::thread thread_;
};

}  // namespace kubepp::client
