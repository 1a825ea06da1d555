#include "storage/embedded/mvcc.h"

#include <algorithm>

namespace kubepp::storage::embedded {
namespace {

// The latest version with mod_revision <= rev, or null.
const KvPtr* VersionAt(const std::vector<KvPtr>& vs, int64_t rev) {
  for (auto it = vs.rbegin(); it != vs.rend(); ++it) {
    if ((*it)->mod_revision <= rev) return &*it;
  }
  return nullptr;
}

}  // namespace

const KeyValue* MvccIndex::Latest(std::string_view key) const {
  auto it = versions_.find(key);
  if (it == versions_.end() || it->second.empty()) return nullptr;
  return it->second.back().get();
}

KvPtr MvccIndex::LatestPtr(std::string_view key) const {
  auto it = versions_.find(key);
  if (it == versions_.end() || it->second.empty()) return nullptr;
  return it->second.back();
}

Result<KeyValue> MvccIndex::Get(std::string_view key, int64_t revision) const {
  auto it = versions_.find(key);
  if (it != versions_.end()) {
    const KvPtr* v = VersionAt(it->second, revision);
    if (v != nullptr && (*v)->version != 0) return **v;
  }
  return Status::NotFound("key not found");
}

ListResult MvccIndex::List(const ListOptions& options, int64_t revision) const {
  ListResult out;
  out.revision = revision;
  std::string_view from = options.prefix;
  if (options.start_key > options.prefix) from = options.start_key;
  for (auto it = versions_.lower_bound(from); it != versions_.end(); ++it) {
    if (it->first.compare(0, options.prefix.size(), options.prefix) != 0) break;
    const KvPtr* v = VersionAt(it->second, revision);
    if (v == nullptr || (*v)->version == 0) continue;
    if (options.limit > 0 && static_cast<int64_t>(out.kvs.size()) >= options.limit) {
      out.more = true;
      break;
    }
    out.kvs.push_back(**v);
  }
  return out;
}

uint64_t MvccIndex::EventBytes(const Event& ev) {
  return ev.kv->key.size() + ev.kv->value.size() + 64;
}

void MvccIndex::Apply(const Event& ev) {
  auto it = versions_.find(ev.kv->key);
  if (it == versions_.end()) it = versions_.emplace(ev.kv->key, std::vector<KvPtr>()).first;
  it->second.push_back(ev.kv);
  if (log_.empty()) log_first_ = ev.revision();
  log_.push_back(ev);
  history_bytes_ += EventBytes(ev);
  current_ = ev.revision();
}

void MvccIndex::Compact(int64_t revision) {
  if (revision <= compact_) return;
  compact_ = revision;
  // The log first: events below the compaction point go.
  while (!log_.empty() && log_first_ < revision) {
    history_bytes_ -= EventBytes(log_.front());
    log_.pop_front();
    ++log_first_;
  }
  if (log_.empty()) log_first_ = current_ + 1;
  // Then versions: keep, per key, what is at or above `revision` plus the
  // state at `revision` if the key was live then.
  for (auto it = versions_.begin(); it != versions_.end();) {
    auto& vs = it->second;
    // Index of the latest version below `revision`.
    size_t below = 0;
    bool any_below = false;
    for (size_t i = 0; i < vs.size() && vs[i]->mod_revision < revision; ++i) {
      below = i;
      any_below = true;
    }
    if (any_below) {
      size_t erase_to = vs[below]->version == 0 ? below + 1 : below;
      vs.erase(vs.begin(), vs.begin() + static_cast<ptrdiff_t>(erase_to));
    }
    if (vs.empty()) {
      it = versions_.erase(it);
    } else {
      ++it;
    }
  }
}

int64_t MvccIndex::RevisionKeepingBytes(uint64_t bytes) const {
  uint64_t total = history_bytes_;
  int64_t rev = log_first_;
  for (const Event& ev : log_) {
    if (total <= bytes) break;
    total -= EventBytes(ev);
    rev = ev.revision() + 1;
  }
  return rev;
}

Status MvccIndex::Load(int64_t revision, int64_t compact_revision,
                       std::vector<std::vector<KvPtr>> keys) {
  versions_.clear();
  log_.clear();
  history_bytes_ = 0;
  current_ = revision;
  compact_ = compact_revision;
  // Every version at or above the compaction point is one event of the log.
  std::vector<Event> events;
  for (auto& vs : keys) {
    if (vs.empty()) continue;
    for (size_t i = 0; i < vs.size(); ++i) {
      if (vs[i]->mod_revision > revision || (i > 0 && vs[i]->mod_revision <= vs[i - 1]->mod_revision)) {
        return Status::Corruption("snapshot: versions of key out of order");
      }
      if (vs[i]->mod_revision < compact_revision) continue;
      Event ev;
      ev.type = vs[i]->version == 0 ? EventType::kDelete : EventType::kPut;
      ev.kv = vs[i];
      if (i > 0 && vs[i - 1]->version != 0) ev.prev_kv = vs[i - 1];
      events.push_back(std::move(ev));
    }
    std::string key = vs.front()->key;
    if (!versions_.emplace(std::move(key), std::move(vs)).second) {
      return Status::Corruption("snapshot: duplicate key");
    }
  }
  std::sort(events.begin(), events.end(),
            [](const Event& a, const Event& b) { return a.revision() < b.revision(); });
  log_first_ = events.empty() ? revision + 1 : events.front().revision();
  int64_t expect = log_first_;
  for (auto& ev : events) {
    if (ev.revision() != expect) {
      return Status::Corruption("snapshot: history has a gap at revision " + std::to_string(expect));
    }
    ++expect;
    history_bytes_ += EventBytes(ev);
    log_.push_back(std::move(ev));
  }
  if (!log_.empty() && expect != revision + 1) {
    return Status::Corruption("snapshot: history ends before the snapshot revision");
  }
  if (!log_.empty() && log_first_ != std::max<int64_t>(compact_revision, 1)) {
    return Status::Corruption("snapshot: history does not start at the compaction point");
  }
  return Status::OK();
}

std::vector<std::vector<KvPtr>> MvccIndex::CopyVersions() const {
  std::vector<std::vector<KvPtr>> out;
  out.reserve(versions_.size());
  for (const auto& [k, vs] : versions_) out.push_back(vs);
  return out;
}

}  // namespace kubepp::storage::embedded
