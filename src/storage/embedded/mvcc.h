// The embedded store's in-memory MVCC state: every retained version of every
// key, and the revision-ordered event log that watches and history reads use.
//
// Invariants:
//  - versions_[k] is sorted by mod_revision; a version with version == 0 is a
//    tombstone (the key was deleted at that revision).
//  - log_ holds exactly one event per revision in [log_first_, current_]:
//    every revision is one Create, Update or Delete.
//  - After Compact(c): no version below c remains except, per key, the latest
//    one below c when it is live (the key's state at c); log_first_ >= c.
//
// Not thread-safe: EmbeddedStore guards it with a shared mutex and mutates it
// from its committer thread only.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/store.h"

namespace kubepp::storage::embedded {

using KvPtr = std::shared_ptr<const KeyValue>;

class MvccIndex {
 public:
  int64_t current_revision() const { return current_; }
  int64_t compact_revision() const { return compact_; }

  // The latest version of `key` (live or tombstone), or null.
  const KeyValue* Latest(std::string_view key) const;
  KvPtr LatestPtr(std::string_view key) const;

  // REQUIRES: compact_revision() <= revision <= current_revision().
  Result<KeyValue> Get(std::string_view key, int64_t revision) const;
  ListResult List(const ListOptions& options, int64_t revision) const;

  // Appends `ev`. REQUIRES: ev.revision() == current_revision() + 1.
  void Apply(const Event& ev);
  // Discards history below `revision`. REQUIRES: revision <= current_revision().
  void Compact(int64_t revision);

  // The event at `revision`. REQUIRES: log_first() <= revision <= current_revision().
  const Event& EventAt(int64_t revision) const {
    return log_[static_cast<size_t>(revision - log_first_)];
  }
  int64_t log_first() const { return log_first_; }
  // Approximate bytes of keys and values held by the event log.
  uint64_t history_bytes() const { return history_bytes_; }
  // The smallest revision r such that compacting at r leaves at most `bytes`
  // of history (current_revision()+1 if even the newest event exceeds it).
  int64_t RevisionKeepingBytes(uint64_t bytes) const;
  size_t key_count() const { return versions_.size(); }

  // Restores the state from a snapshot: every key's retained versions, then
  // rebuilds the event log. Corruption if revisions do not line up.
  Status Load(int64_t revision, int64_t compact_revision, std::vector<std::vector<KvPtr>> keys);
  // Copies the retained versions of every key (pointer copies only).
  std::vector<std::vector<KvPtr>> CopyVersions() const;

 private:
  static uint64_t EventBytes(const Event& ev);

  std::map<std::string, std::vector<KvPtr>, std::less<>> versions_;
  std::deque<Event> log_;
  int64_t log_first_ = 1;
  int64_t current_ = 0;
  int64_t compact_ = 0;
  uint64_t history_bytes_ = 0;
};

}  // namespace kubepp::storage::embedded
