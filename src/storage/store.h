// The storage contract under the API server: etcd's v3 data model.
//
// Invariants every backend keeps (the contract suite in
// tests/unit/storage/contract_test.cc checks them against each):
//  - One global revision. Every successful Create/Update/Delete increments it
//    by exactly one; nothing else does. A key's mod_revision is the revision
//    of its last write, create_revision that of its creation, version counts
//    writes since creation (1 on create).
//  - An acknowledged write is durable: it survives kill -9 and power loss.
//  - Reads see every write acknowledged before they started.
//  - Watch delivers, for the keys under its prefix, every event from its start
//    revision on, strictly in revision order, with no gaps, each with the
//    key's previous value (prev_kv) when there was one.
//  - Compact(r) discards history below r: reads at a revision < r and watches
//    starting below r fail with Gone. State at r and later stays readable.
//  - A watcher can never stall writers: one that falls behind the store's
//    history (or its backlog limit) is cut off with Gone and must relist.
//
// All methods are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kubepp::storage {

// The largest value a write may carry (etcd's default request limit). Larger
// writes fail with RequestEntityTooLarge.
inline constexpr size_t kMaxValueBytes = 1536 * 1024;
// The largest key.
inline constexpr size_t kMaxKeyBytes = 32 * 1024;

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;  // 0 marks a deletion (the kv of a DELETE event)
  bool operator==(const KeyValue&) const = default;
};

enum class EventType { kPut, kDelete };

struct Event {
  EventType type = EventType::kPut;
  // PUT: the new state. DELETE: key and mod_revision (= the delete's revision) only.
  std::shared_ptr<const KeyValue> kv;
  // The key's state just before this event; null when the key did not exist.
  std::shared_ptr<const KeyValue> prev_kv;
  int64_t revision() const { return kv->mod_revision; }
};

struct ListOptions {
  std::string prefix;       // keys starting with this ("" = all keys)
  std::string start_key;    // first key to consider (inclusive); "" = from the prefix
  int64_t revision = 0;     // read at this revision; 0 = the current one
  int64_t limit = 0;        // at most this many; 0 = no limit
};

struct ListResult {
  std::vector<KeyValue> kvs;  // sorted by key
  int64_t revision = 0;       // the revision the list was read at; pass it back for the next page
  bool more = false;          // more keys follow the last one returned
};

struct DeleteResult {
  KeyValue prev;           // the key's state before the delete
  int64_t revision = 0;    // the revision of the delete
};

// A live watch. Destroying it stops it.
class Watcher {
 public:
  virtual ~Watcher() = default;
  // Blocks until at least one event is ready, `timeout` passes (an empty
  // vector), or the watch ends. Ends with: Gone (fell behind compaction or
  // its backlog limit: relist and watch again), Cancelled (Stop() or store
  // closed), Unavailable (backend connection lost).
  virtual Result<std::vector<Event>> Next(std::chrono::milliseconds timeout) = 0;
  // Makes a blocked and every later Next() return Cancelled. Thread-safe.
  virtual void Stop() = 0;
};

struct WatchOptions {
  std::string prefix;          // keys starting with this ("" = all)
  int64_t start_revision = 0;  // first revision to deliver; 0 = only what comes after now
};

class Store {
 public:
  virtual ~Store() = default;

  // The key's state at `revision` (0 = current). NotFound if absent; Gone if
  // `revision` was compacted; BadRequest if it is in the future.
  virtual Result<KeyValue> Get(std::string_view key, int64_t revision = 0) = 0;

  // Keys under the prefix, in key order, from one consistent snapshot. For the
  // next page pass the returned revision and start_key = last key + '\0'.
  virtual Result<ListResult> List(const ListOptions& options) = 0;

  // Creates the key. AlreadyExists if it exists; then *current (if given)
  // receives its state. Returns the stored kv.
  virtual Result<KeyValue> Create(std::string_view key, std::string_view value,
                                  KeyValue* current = nullptr) = 0;

  // Replaces the value if the key's mod_revision equals `expected_mod_revision`
  // (0: whatever it is). NotFound if the key is absent; Conflict on a mismatch,
  // with *current (if given) set to the key's state. Returns the stored kv.
  virtual Result<KeyValue> Update(std::string_view key, std::string_view value,
                                  int64_t expected_mod_revision, KeyValue* current = nullptr) = 0;

  // Deletes the key under the same precondition rules as Update.
  virtual Result<DeleteResult> Delete(std::string_view key, int64_t expected_mod_revision,
                                      KeyValue* current = nullptr) = 0;

  // Create without waiting: `done` runs once the write is durable or failed,
  // on a thread of the store's choosing, and must not block. Stores that
  // cannot do better run it at once on the caller's thread (blocking).
  virtual bool SupportsAsyncWrites() const { return false; }
  virtual void CreateAsync(std::string_view key, std::string_view value,
                           std::function<void(Result<KeyValue>)> done) {
    done(Create(key, value));
  }

  virtual Result<std::unique_ptr<Watcher>> Watch(const WatchOptions& options) = 0;

  // Discards history below `revision`. Compacting at or below the current
  // compaction point is a no-op; above the current revision is BadRequest.
  virtual Status Compact(int64_t revision) = 0;

  virtual Result<int64_t> CurrentRevision() = 0;
  // The revision below which history is gone (0 if never compacted).
  virtual Result<int64_t> CompactRevision() = 0;

  // Stops background work, ends watches (Cancelled) and fails later calls.
  // Idempotent; the destructor calls it.
  virtual void Close() = 0;
};

// Checks a key and value against the limits above.
Status ValidateWrite(std::string_view key, std::string_view value);

// The smallest key greater than every key starting with `prefix` (etcd's
// range_end for a prefix); "" when there is none (prefix empty or all 0xff).
std::string PrefixEnd(std::string_view prefix);

}  // namespace kubepp::storage
