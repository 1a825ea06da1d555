#include "client/informer.h"

#include <pthread.h>

#include <random>

#include "api/object.h"
#include "common/log.h"
#include "common/url.h"

namespace kubepp::client {
namespace {

const log::Logger& Log() {
  static const log::Logger l("informer");
  return l;
}

}  // namespace

std::string KeyOf(const bj::object& obj) {
  std::string ns = std::string(api::StrAt(obj, {"metadata", "namespace"}));
  std::string name = std::string(api::StrAt(obj, {"metadata", "name"}));
  return ns.empty() ? name : ns + "/" + name;
}

Informer::Informer(RestClient* client, InformerOptions options) : client_(client), options_(std::move(options)) {
  index_funcs_["namespace"] = [](const bj::object& o) {
    std::string ns = std::string(api::StrAt(o, {"metadata", "namespace"}));
    return ns.empty() ? std::vector<std::string>{} : std::vector<std::string>{ns};
  };
}

Informer::~Informer() { Stop(); }

void Informer::AddEventHandler(EventHandler handler) { handlers_.push_back(std::move(handler)); }

void Informer::AddIndex(const std::string& name, IndexFunc fn) { index_funcs_[name] = std::move(fn); }

void Informer::Start() {
  thread_ = std::thread([this] { Run(); });
  std::string tname = ("inf-" + options_.resource).substr(0, 15);
  pthread_setname_np(thread_.native_handle(), tname.c_str());
}

void Informer::Stop() {
  if (stopping_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  watch_.Stop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout, [this] { return synced_.load() || stopping_.load(); }) && synced_.load();
}

ObjectPtr Informer::Get(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Informer::List() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) out.push_back(v);
  return out;
}

std::vector<ObjectPtr> Informer::ByIndex(const std::string& name, const std::string& value) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ObjectPtr> out;
  auto idx = indices_.find(name);
  if (idx == indices_.end()) return out;
  auto keys = idx->second.find(value);
  if (keys == idx->second.end()) return out;
  for (const auto& k : keys->second) {
    auto it = items_.find(k);
    if (it != items_.end()) out.push_back(it->second);
  }
  return out;
}

std::string Informer::LastSyncResourceVersion() const {
  std::lock_guard<std::mutex> l(mu_);
  return rv_;
}

std::string Informer::CollectionPath() const {
  return ResourcePath(options_.group, options_.version, options_.resource, options_.ns);
}

std::string Informer::Selectors() const {
  std::string q;
  if (!options_.label_selector.empty()) q += "&labelSelector=" + QueryEscape(options_.label_selector);
  if (!options_.field_selector.empty()) q += "&fieldSelector=" + QueryEscape(options_.field_selector);
  return q;
}

bool Informer::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, d, [this] { return stopping_.load(); });
  return !stopping_.load();
}

void Informer::IndexLocked(const std::string& key, const bj::object* old_obj, const bj::object* new_obj) {
  for (const auto& [name, fn] : index_funcs_) {
    auto& index = indices_[name];
    if (old_obj != nullptr) {
      for (const auto& v : fn(*old_obj)) {
        auto it = index.find(v);
        if (it == index.end()) continue;
        it->second.erase(key);
        if (it->second.empty()) index.erase(it);
      }
    }
    if (new_obj != nullptr) {
      for (const auto& v : fn(*new_obj)) index[v].insert(key);
    }
  }
}

void Informer::Upsert(ObjectPtr obj) {
  std::string key = KeyOf(*obj);
  ObjectPtr old;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = items_.find(key);
    if (it != items_.end()) old = it->second;
    IndexLocked(key, old.get(), obj.get());
    items_[key] = obj;
  }
  for (const auto& h : handlers_) {
    if (old == nullptr) {
      if (h.on_add) h.on_add(obj);
    } else if (h.on_update) {
      h.on_update(old, obj);
    }
  }
}

void Informer::Remove(const std::string& key, ObjectPtr last) {
  ObjectPtr old;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = items_.find(key);
    if (it == items_.end()) return;
    old = it->second;
    IndexLocked(key, old.get(), nullptr);
    items_.erase(it);
  }
  // Handlers see the final state the watch reported, or the last one known.
  ObjectPtr gone = last != nullptr ? last : old;
  for (const auto& h : handlers_) {
    if (h.on_delete) h.on_delete(gone);
  }
}

Status Informer::ListAndReplace() {
  std::map<std::string, ObjectPtr> fresh;
  std::string rv;
  std::string cont;
  bool paged = options_.page_size > 0;
  while (true) {
    std::string path = CollectionPath() + "?resourceVersion=" + (cont.empty() && !paged ? "0" : "") +
                       (paged ? "&limit=" + std::to_string(options_.page_size) : "") +
                       (cont.empty() ? "" : "&continue=" + QueryEscape(cont)) + Selectors();
    auto list = client_->Get(path);
    if (!list.ok()) {
      if ((list.status().IsGone()) && !cont.empty()) {
        // The snapshot of the pages expired: start over, unpaged.
        fresh.clear();
        cont.clear();
        paged = false;
        continue;
      }
      return list.status();
    }
    if (!list->is_object()) return Status::Internal("list answer is not an object");
    bj::object& lo = list->get_object();
    if (bj::value* items = lo.if_contains("items"); items != nullptr && items->is_array()) {
      for (bj::value& item : items->get_array()) {
        if (!item.is_object()) continue;
        auto obj = std::make_shared<bj::object>(std::move(item.get_object()));
        fresh[KeyOf(*obj)] = std::move(obj);
      }
    }
    rv = std::string(api::StrAt(lo, {"metadata", "resourceVersion"}));
    cont = std::string(api::StrAt(lo, {"metadata", "continue"}));
    if (cont.empty()) break;
  }
  // What disappeared while we were not watching.
  std::vector<std::pair<std::string, ObjectPtr>> gone;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [k, v] : items_) {
      if (!fresh.count(k)) gone.emplace_back(k, v);
    }
  }
  for (auto& [k, v] : gone) Remove(k, v);
  for (auto& [k, v] : fresh) {
    ObjectPtr cur = Get(k);
    if (cur != nullptr && std::string(api::StrAt(*cur, {"metadata", "resourceVersion"})) == std::string(api::StrAt(*v, {"metadata", "resourceVersion"}))) continue;
    Upsert(v);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    rv_ = rv;
  }
  if (!synced_.exchange(true)) cv_.notify_all();
  return Status::OK();
}

Status Informer::WatchFrom() {
  static thread_local std::mt19937 rng(std::random_device{}());
  // Upstream reflectors ask for 5 to 10 minutes; a resync period caps it.
  int64_t timeout_s = 300 + static_cast<int64_t>(rng() % 300);
  if (options_.resync.count() > 0) {
    timeout_s = std::max<int64_t>(1, std::min<int64_t>(timeout_s, options_.resync.count() / 1000));
  }
  std::string path = CollectionPath() + "?watch=1&allowWatchBookmarks=true&resourceVersion=" + LastSyncResourceVersion() +
                     "&timeoutSeconds=" + std::to_string(timeout_s) + Selectors();
  return client_->Watch(
      path,
      [this](std::string_view type, bj::object& obj) {
        std::string rv = std::string(api::StrAt(obj, {"metadata", "resourceVersion"}));
        if (type == "ADDED" || type == "MODIFIED") {
          Upsert(std::make_shared<bj::object>(std::move(obj)));
        } else if (type == "DELETED") {
          std::string key = KeyOf(obj);
          Remove(key, std::make_shared<bj::object>(std::move(obj)));
        }
        if (!rv.empty()) {
          std::lock_guard<std::mutex> l(mu_);
          rv_ = rv;
        }
        if (options_.resync.count() > 0 && std::chrono::steady_clock::now() >= next_resync_) Resync();
        return !stopping_.load();
      },
      &watch_);
}

void Informer::Resync() {
  next_resync_ = std::chrono::steady_clock::now() + options_.resync;
  for (const auto& obj : List()) {
    for (const auto& h : handlers_) {
      if (h.on_update) h.on_update(obj, obj);
    }
  }
}

void Informer::Run() {
  auto backoff = std::chrono::milliseconds(100);
  next_resync_ = std::chrono::steady_clock::now() + options_.resync;
  while (!stopping_.load()) {
    Status st = ListAndReplace();
    if (!st.ok()) {
      if (stopping_.load()) return;
      Log().V(1, "list failed", {{"resource", options_.resource}, {"err", st.ToString()}});
      if (!SleepFor(backoff)) return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
      continue;
    }
    backoff = std::chrono::milliseconds(100);
    // Watch until the resourceVersion is too old, then relist.
    while (!stopping_.load()) {
      st = WatchFrom();
      if (stopping_.load()) return;
      if (options_.resync.count() > 0 && std::chrono::steady_clock::now() >= next_resync_) Resync();
      if (st.ok()) {
        backoff = std::chrono::milliseconds(100);
        continue;  // the server ended the watch: resume from the last revision
      }
      if (st.IsGone()) break;
      Log().V(1, "watch failed", {{"resource", options_.resource}, {"err", st.ToString()}});
      if (!SleepFor(backoff)) return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
      if (st.code() != Code::kIOError && st.code() != Code::kServiceUnavailable && st.code() != Code::kTimeout &&
          st.code() != Code::kTooManyRequests) {
        break;  // anything unexpected: start over from a list
      }
    }
  }
}

}  // namespace kubepp::client
