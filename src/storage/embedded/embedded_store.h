// The embedded store: the default backend, one directory, nothing to install.
//
// Design (docs/storage.md has the measurements behind it):
//  - All state lives in memory as an MVCC index (mvcc.h); every write goes
//    first to a write-ahead log (wal.h) and is acknowledged only after
//    fdatasync. Snapshots (snapshot.h) bound the log.
//  - One committer thread owns every mutation. Writers queue their operation
//    and block; the committer takes all queued operations as one group,
//    checks their preconditions, writes them as one frame with one
//    fdatasync, applies them to the index and wakes the writers and watchers.
//    Many concurrent writers therefore share one sync (group commit).
//  - Readers take a shared lock on the index and never wait for the disk.
//  - Watchers read the shared event log through a cursor; a slow watcher
//    holds no buffer and cannot stall writers. It is cut off with Gone when
//    its cursor falls below the compaction point or more than
//    max_watch_backlog revisions behind.
//  - A background thread compacts history older than the window (5 minutes
//    by default, like the API server's compactor), or beyond a byte budget,
//    and writes snapshots; then old segments and snapshots are deleted.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/file.h"
#include "common/log.h"
#include "common/notifier.h"
#include "storage/embedded/mvcc.h"
#include "storage/embedded/wal.h"
#include "storage/store.h"

namespace kubepp::storage::embedded {

struct EmbeddedOptions {
  std::string dir;
  // History kept for watches and reads at older revisions.
  std::chrono::seconds compaction_window{300};
  // How often the window is enforced (history is kept for window..window+interval).
  std::chrono::seconds compaction_interval{60};
  // History beyond this many bytes is compacted early, whatever the window.
  uint64_t max_history_bytes = 256ull << 20;
  uint64_t segment_bytes = 64ull << 20;
  // A snapshot is written once the WAL grew by max(this, last snapshot size).
  uint64_t snapshot_wal_bytes = 64ull << 20;
  // A watcher more than this many revisions behind is cut off (Gone).
  int64_t max_watch_backlog = 1 << 20;
  Clock* clock = Clock::Real();
  // Runs compaction by the clock in a background thread. Tests that drive
  // Maintain() themselves turn it off.
  bool background_maintenance = true;
};

class EmbeddedStore : public Store {
 public:
  // Opens (creating if needed) the store in options.dir and recovers its
  // state. Refuses with Corruption on damaged files, Unavailable when another
  // process has the directory open.
  static Result<std::unique_ptr<EmbeddedStore>> Open(const EmbeddedOptions& options);
  ~EmbeddedStore() override;

  // Defaults repeat the interface's (they are not inherited).
  Result<KeyValue> Get(std::string_view key, int64_t revision = 0) override;
  Result<ListResult> List(const ListOptions& options) override;
  Result<KeyValue> Create(std::string_view key, std::string_view value,
                          KeyValue* current = nullptr) override;
  Result<KeyValue> Update(std::string_view key, std::string_view value, int64_t expected_mod_revision,
                          KeyValue* current = nullptr) override;
  Result<DeleteResult> Delete(std::string_view key, int64_t expected_mod_revision,
                              KeyValue* current = nullptr) override;
  bool SupportsAsyncWrites() const override { return true; }
  // `done` runs on the committer thread.
  void CreateAsync(std::string_view key, std::string_view value, std::function<void(Result<KeyValue>)> done) override;
  Result<std::unique_ptr<Watcher>> Watch(const WatchOptions& options) override;
  Status Compact(int64_t revision) override;
  Result<int64_t> CurrentRevision() override;
  Result<int64_t> CompactRevision() override;
  void Close() override;

  // One round of maintenance: compaction by window and by history size.
  // Runs in the background thread; tests with a FakeClock call it directly.
  Status Maintain();
  // Writes a snapshot now and waits for it (tests).
  Status Snapshot();

  // What recovery found, for logs and tests.
  struct RecoveryInfo {
    int64_t snapshot_revision = 0;
    uint64_t wal_frames = 0;
    uint64_t torn_bytes_dropped = 0;
  };
  const RecoveryInfo& recovery_info() const { return recovery_; }

  // State shared with watchers (which may outlive the store object).
  struct Shared;
  struct Op;

 private:
  explicit EmbeddedStore(const EmbeddedOptions& options);
  Status Recover();
  Status Submit(const std::shared_ptr<Op>& op);
  void Finish(const std::shared_ptr<Op>& op);  // marks done and wakes its writer
  Result<int64_t> ResolveReadRevision(int64_t revision) const;  // REQUIRES: shared lock
  void CommitLoop();
  void ProcessBatch(std::vector<std::shared_ptr<Op>>& batch);
  void CompleteBatch(std::vector<std::shared_ptr<Op>>& batch);
  void StartSnapshot(std::shared_ptr<Op> waiter);
  void BackgroundLoop();

  EmbeddedOptions options_;
  log::Logger logger_{"storage"};
  std::shared_ptr<Shared> shared_;
  UniqueFd lock_fd_;
  std::unique_ptr<WalWriter> wal_;  // owned by the committer thread
  Status failed_;                   // committer thread: set on a write or sync error
  std::string frame_;               // committer thread: the group being encoded
  RecoveryInfo recovery_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<std::shared_ptr<Op>> queue_;  // GUARDED_BY(queue_mu_)
  bool stopping_ = false;                   // GUARDED_BY(queue_mu_)
  size_t wake_at_ = 1;                      // GUARDED_BY(queue_mu_): queue size worth waking the committer
  Notifier done_;                           // writers wait here for their op
  std::thread committer_;

  // Background thread: snapshots handed over by the committer, maintenance ticks.
  struct SnapshotJob;
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  std::unique_ptr<SnapshotJob> snapshot_job_;  // GUARDED_BY(bg_mu_)
  std::vector<std::shared_ptr<Op>> deferred_waiters_;  // GUARDED_BY(bg_mu_)
  std::atomic<bool> snapshot_busy_{false};
  std::atomic<uint64_t> last_snapshot_bytes_{0};
  uint64_t wal_backlog_bytes_ = 0;             // committer thread: WAL bytes since the last snapshot
  bool bg_stopping_ = false;                   // GUARDED_BY(bg_mu_)
  std::thread background_;

  // Maintenance thread: (time, revision) samples for the compaction window.
  std::mutex maintain_mu_;
  std::deque<std::pair<Clock::MonoTime, int64_t>> samples_;  // GUARDED_BY(maintain_mu_)
  bool closed_ = false;
};

}  // namespace kubepp::storage::embedded
