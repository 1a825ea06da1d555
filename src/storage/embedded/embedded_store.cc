#include "storage/embedded/embedded_store.h"

#include <pthread.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <optional>
#include <unordered_map>

#include "storage/embedded/snapshot.h"

namespace kubepp::storage::embedded {

namespace {

// One group never exceeds this many bytes of values (a frame stays a
// reasonable single write) nor this many operations.
constexpr size_t kMaxBatchBytes = 16u << 20;
constexpr size_t kMaxBatchOps = 8192;
// A watcher's Next() looks at no more than this many revisions at once, so a
// reader never holds the index lock for long.
constexpr int64_t kMaxScanPerNext = 4096;

Status ClosedStatus() { return Status::Cancelled("storage: store is closed"); }

}  // namespace

struct EmbeddedStore::Shared {
  mutable std::shared_mutex mu;
  MvccIndex index;  // GUARDED_BY(mu); mutated by the committer thread only
  Notifier notifier;
  std::atomic<bool> closed{false};
  int64_t max_watch_backlog = 0;
};

struct EmbeddedStore::Op {
  enum Kind { kCreate, kUpdate, kDelete, kCompact, kSnapshot } kind = kCreate;
  std::string key;
  std::string value;
  int64_t expected = 0;  // expected mod revision; compaction revision for kCompact

  // Results, written by the committer before `done` is set.
  Status status;
  KeyValue result;
  std::optional<KeyValue> current;
  int64_t revision = 0;

  // Set when the results are in. Writers sleep on the store's done_ notifier,
  // which the committer wakes once per group rather than once per write.
  std::atomic<bool> done{false};
  void Wait(Notifier& n) {
    for (;;) {
      uint32_t epoch = n.Epoch();
      if (done.load(std::memory_order_acquire)) return;
      n.Wait(epoch, std::chrono::seconds(1));
    }
  }
  void MarkDone() { done.store(true, std::memory_order_release); }
  // Set for asynchronous writes: called instead of waking a waiting writer.
  std::function<void(Op&)> callback;
};

struct EmbeddedStore::SnapshotJob {
  SnapshotData data;
  uint64_t keep_from_segment = 0;  // segments below this are covered by the snapshot
  std::shared_ptr<Op> waiter;      // completed when the snapshot is durable (may be null)
};

namespace {

class EmbeddedWatcher : public Watcher {
 public:
  EmbeddedWatcher(std::shared_ptr<EmbeddedStore::Shared> shared, std::string prefix, int64_t next)
      : shared_(std::move(shared)), prefix_(std::move(prefix)), next_(next) {}
  ~EmbeddedWatcher() override { Stop(); }

  Result<std::vector<Event>> Next(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<Event> out;
    for (;;) {
      uint32_t epoch = shared_->notifier.Epoch();
      bool more = false;
      {
        std::shared_lock<std::shared_mutex> l(shared_->mu);
        if (stopped_.load() || shared_->closed.load()) return Status::Cancelled("watch stopped");
        const MvccIndex& idx = shared_->index;
        if (next_ < idx.log_first()) {
          return Status::Gone("storage: watch fell behind: required revision " + std::to_string(next_) +
                              " has been compacted (compacted to " +
                              std::to_string(idx.compact_revision()) + ")");
        }
        int64_t current = idx.current_revision();
        if (current - next_ + 1 > shared_->max_watch_backlog) {
          return Status::Gone("storage: watch fell " + std::to_string(current - next_ + 1) +
                              " revisions behind; relist and watch again");
        }
        int64_t end = std::min(current, next_ + kMaxScanPerNext - 1);
        for (int64_t r = next_; r <= end; ++r) {
          const Event& ev = idx.EventAt(r);
          if (ev.kv->key.compare(0, prefix_.size(), prefix_) == 0) out.push_back(ev);
        }
        if (end >= next_) next_ = end + 1;
        more = next_ <= current;
      }
      if (!out.empty()) return out;
      if (more) continue;
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return out;
      shared_->notifier.Wait(epoch, deadline - now);
    }
  }

  void Stop() override {
    if (!stopped_.exchange(true)) shared_->notifier.NotifyAll();
  }

 private:
  std::shared_ptr<EmbeddedStore::Shared> shared_;
  std::string prefix_;
  int64_t next_;  // the next revision to look at
  std::atomic<bool> stopped_{false};
};

}  // namespace

EmbeddedStore::EmbeddedStore(const EmbeddedOptions& options)
    : options_(options), shared_(std::make_shared<Shared>()) {
  shared_->max_watch_backlog = options.max_watch_backlog;
}

Result<std::unique_ptr<EmbeddedStore>> EmbeddedStore::Open(const EmbeddedOptions& options) {
  if (options.dir.empty()) return Status::BadRequest("storage: no data directory given");
  RETURN_IF_ERROR(MakeDirs(options.dir));
  std::unique_ptr<EmbeddedStore> store(new EmbeddedStore(options));
  std::string lock_path = JoinPath(options.dir, "LOCK");
  store->lock_fd_.Reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!store->lock_fd_.valid()) return ErrnoStatus("open", lock_path, errno);
  if (::flock(store->lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::Unavailable("storage: " + options.dir + " is in use by another process");
    }
    return ErrnoStatus("flock", lock_path, errno);
  }
  RETURN_IF_ERROR(store->Recover());
  store->committer_ = std::thread([s = store.get()] { s->CommitLoop(); });
  pthread_setname_np(store->committer_.native_handle(), "store-commit");
  store->background_ = std::thread([s = store.get()] { s->BackgroundLoop(); });
  pthread_setname_np(store->background_.native_handle(), "store-maint");
  return store;
}

Status EmbeddedStore::Recover() {
  const std::string& dir = options_.dir;
  ASSIGN_OR_RETURN(auto names, ListDir(dir));
  int64_t snap_rev = -1;
  std::vector<std::string> old_snapshots;
  for (const auto& n : names) {
    int64_t r;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0) {
      // An unfinished snapshot from before a crash.
      (void)::unlink(JoinPath(dir, n).c_str());
    } else if (ParseSnapshotName(n, &r)) {
      if (snap_rev >= 0) old_snapshots.push_back(SnapshotName(snap_rev));
      snap_rev = std::max(snap_rev, r);
    }
  }
  MvccIndex& index = shared_->index;
  if (snap_rev >= 0) {
    ASSIGN_OR_RETURN(SnapshotData snap, ReadSnapshot(JoinPath(dir, SnapshotName(snap_rev))));
    if (snap.revision != snap_rev) {
      return Status::Corruption("snapshot " + SnapshotName(snap_rev) + " holds revision " +
                                std::to_string(snap.revision));
    }
    RETURN_IF_ERROR(index.Load(snap.revision, snap.compact_revision, std::move(snap.keys))
                        .WithContext(JoinPath(dir, SnapshotName(snap_rev))));
    struct stat st;
    if (::stat(JoinPath(dir, SnapshotName(snap_rev)).c_str(), &st) == 0) {
      last_snapshot_bytes_.store(static_cast<uint64_t>(st.st_size));
    }
    recovery_.snapshot_revision = snap_rev;
  }
  for (const auto& n : old_snapshots) (void)::unlink(JoinPath(dir, n).c_str());

  auto apply_record = [&](const WalRecord& rec) -> Status {
    if (rec.type == RecordType::kCompact) {
      if (rec.revision > index.current_revision()) {
        return Status::Corruption("compaction to revision " + std::to_string(rec.revision) +
                                  " beyond the log's revision " + std::to_string(index.current_revision()));
      }
      index.Compact(rec.revision);
      return Status::OK();
    }
    if (rec.revision <= index.current_revision()) return Status::OK();  // in the snapshot already
    if (rec.revision != index.current_revision() + 1) {
      return Status::Corruption("WAL skips from revision " + std::to_string(index.current_revision()) +
                                " to " + std::to_string(rec.revision) +
                                "; refusing to start rather than serve wrong data");
    }
    KvPtr prev = index.LatestPtr(rec.key);
    if (prev && prev->version == 0) prev = nullptr;
    Event ev;
    auto kv = std::make_shared<KeyValue>();
    kv->key.assign(rec.key);
    kv->mod_revision = rec.revision;
    if (rec.type == RecordType::kPut) {
      ev.type = EventType::kPut;
      kv->value.assign(rec.value);
      kv->create_revision = rec.create_revision;
      kv->version = rec.version;
    } else {
      ev.type = EventType::kDelete;
    }
    ev.kv = std::move(kv);
    ev.prev_kv = std::move(prev);
    index.Apply(ev);
    return Status::OK();
  };
  ASSIGN_OR_RETURN(WalRecovery wal,
                   RecoverWal(dir, [&](std::string_view payload) { return DecodeRecords(payload, apply_record); },
                              logger_));
  recovery_.wal_frames = wal.frames;
  recovery_.torn_bytes_dropped = wal.torn_bytes_dropped;
  if (wal.segments.empty()) {
    ASSIGN_OR_RETURN(wal_, WalWriter::Create(dir, 1, options_.segment_bytes));
  } else {
    ASSIGN_OR_RETURN(wal_, WalWriter::Resume(dir, wal.segments.back(), wal.last_end, options_.segment_bytes));
  }
  // WAL not yet covered by a snapshot counts toward the next one.
  wal_backlog_bytes_ = wal.frame_bytes;
  logger_.V(1, "opened embedded store",
            {{"dir", dir}, {"revision", index.current_revision()}, {"compacted", index.compact_revision()},
             {"keys", static_cast<uint64_t>(index.key_count())}, {"snapshot", recovery_.snapshot_revision},
             {"walFrames", wal.frames}});
  return Status::OK();
}

EmbeddedStore::~EmbeddedStore() { Close(); }

void EmbeddedStore::Close() {
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    if (closed_) return;
    closed_ = true;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_stopping_ = true;
  }
  bg_cv_.notify_all();
  if (background_.joinable()) background_.join();
  shared_->closed.store(true);
  shared_->notifier.NotifyAll();
  wal_.reset();
  lock_fd_.Reset();
}

Result<int64_t> EmbeddedStore::ResolveReadRevision(int64_t revision) const {
  const MvccIndex& idx = shared_->index;
  if (revision == 0) return idx.current_revision();
  if (revision < idx.compact_revision()) {
    return Status::Gone("storage: required revision " + std::to_string(revision) +
                        " has been compacted (compacted to " + std::to_string(idx.compact_revision()) + ")");
  }
  if (revision > idx.current_revision()) {
    return Status::BadRequest("storage: required revision " + std::to_string(revision) +
                              " is a future revision (current " + std::to_string(idx.current_revision()) + ")");
  }
  return revision;
}

Result<KeyValue> EmbeddedStore::Get(std::string_view key, int64_t revision) {
  std::shared_lock<std::shared_mutex> l(shared_->mu);
  if (shared_->closed.load()) return ClosedStatus();
  ASSIGN_OR_RETURN(int64_t rev, ResolveReadRevision(revision));
  return shared_->index.Get(key, rev);
}

Result<ListResult> EmbeddedStore::List(const ListOptions& options) {
  std::shared_lock<std::shared_mutex> l(shared_->mu);
  if (shared_->closed.load()) return ClosedStatus();
  ASSIGN_OR_RETURN(int64_t rev, ResolveReadRevision(options.revision));
  return shared_->index.List(options, rev);
}

Result<int64_t> EmbeddedStore::CurrentRevision() {
  std::shared_lock<std::shared_mutex> l(shared_->mu);
  if (shared_->closed.load()) return ClosedStatus();
  return shared_->index.current_revision();
}

Result<int64_t> EmbeddedStore::CompactRevision() {
  std::shared_lock<std::shared_mutex> l(shared_->mu);
  if (shared_->closed.load()) return ClosedStatus();
  return shared_->index.compact_revision();
}

Result<std::unique_ptr<Watcher>> EmbeddedStore::Watch(const WatchOptions& options) {
  std::shared_lock<std::shared_mutex> l(shared_->mu);
  if (shared_->closed.load()) return ClosedStatus();
  const MvccIndex& idx = shared_->index;
  int64_t next = options.start_revision;
  if (next == 0) {
    next = idx.current_revision() + 1;
  } else if (next < idx.log_first() && next <= idx.current_revision()) {
    return Status::Gone("storage: required revision " + std::to_string(next) +
                        " has been compacted (compacted to " + std::to_string(idx.compact_revision()) + ")");
  }
  return std::unique_ptr<Watcher>(new EmbeddedWatcher(shared_, options.prefix, next));
}

Status EmbeddedStore::Submit(const std::shared_ptr<Op>& op) {
  bool wake;
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    if (stopping_) return ClosedStatus();
    queue_.push_back(op);
    // The committer sleeps either on an empty queue or until a group is big
    // enough; waking it for less is a wasted context switch.
    wake = queue_.size() == 1 || queue_.size() >= wake_at_;
  }
  if (wake) queue_cv_.notify_one();
  if (!op->callback) op->Wait(done_);
  return Status::OK();
}

void EmbeddedStore::CreateAsync(std::string_view key, std::string_view value,
                                std::function<void(Result<KeyValue>)> done) {
  Status st = ValidateWrite(key, value);
  if (!st.ok()) return done(std::move(st));
  auto op = std::make_shared<Op>();
  op->kind = Op::kCreate;
  op->key.assign(key);
  op->value.assign(value);
  op->callback = [done = std::move(done)](Op& o) {
    if (!o.status.ok()) return done(std::move(o.status));
    done(std::move(o.result));
  };
  st = Submit(op);
  if (!st.ok()) {
    op->status = std::move(st);
    op->callback(*op);
  }
}

void EmbeddedStore::CompleteBatch(std::vector<std::shared_ptr<Op>>& batch) {
  for (auto& op : batch) {
    if (op->kind != Op::kSnapshot) op->MarkDone();
  }
  done_.NotifyAll();
  for (auto& op : batch) {
    if (op->kind != Op::kSnapshot && op->callback) op->callback(*op);
  }
}

void EmbeddedStore::Finish(const std::shared_ptr<Op>& op) {
  op->MarkDone();
  done_.NotifyAll();
}

Result<KeyValue> EmbeddedStore::Create(std::string_view key, std::string_view value, KeyValue* current) {
  RETURN_IF_ERROR(ValidateWrite(key, value));
  auto op = std::make_shared<Op>();
  op->kind = Op::kCreate;
  op->key.assign(key);
  op->value.assign(value);
  RETURN_IF_ERROR(Submit(op));
  if (!op->status.ok()) {
    if (current != nullptr && op->current) *current = std::move(*op->current);
    return std::move(op->status);
  }
  return std::move(op->result);
}

Result<KeyValue> EmbeddedStore::Update(std::string_view key, std::string_view value,
                                       int64_t expected_mod_revision, KeyValue* current) {
  RETURN_IF_ERROR(ValidateWrite(key, value));
  auto op = std::make_shared<Op>();
  op->kind = Op::kUpdate;
  op->key.assign(key);
  op->value.assign(value);
  op->expected = expected_mod_revision;
  RETURN_IF_ERROR(Submit(op));
  if (!op->status.ok()) {
    if (current != nullptr && op->current) *current = std::move(*op->current);
    return std::move(op->status);
  }
  return std::move(op->result);
}

Result<DeleteResult> EmbeddedStore::Delete(std::string_view key, int64_t expected_mod_revision,
                                           KeyValue* current) {
  RETURN_IF_ERROR(ValidateWrite(key, ""));
  auto op = std::make_shared<Op>();
  op->kind = Op::kDelete;
  op->key.assign(key);
  op->expected = expected_mod_revision;
  RETURN_IF_ERROR(Submit(op));
  if (!op->status.ok()) {
    if (current != nullptr && op->current) *current = std::move(*op->current);
    return std::move(op->status);
  }
  return DeleteResult{std::move(op->result), op->revision};
}

Status EmbeddedStore::Compact(int64_t revision) {
  auto op = std::make_shared<Op>();
  op->kind = Op::kCompact;
  op->expected = revision;
  RETURN_IF_ERROR(Submit(op));
  return std::move(op->status);
}

Status EmbeddedStore::Snapshot() {
  auto op = std::make_shared<Op>();
  op->kind = Op::kSnapshot;
  RETURN_IF_ERROR(Submit(op));
  return std::move(op->status);
}

void EmbeddedStore::CommitLoop() {
  std::vector<std::shared_ptr<Op>> batch;
  size_t last_batch = 0;
  double sync_ewma_us = 300;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(queue_mu_);
      queue_cv_.wait(l, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) break;  // stopping, and everything queued was done
      // Writers woken by the last group need a few microseconds to come back.
      // Without waiting for them, concurrent writers split into cohorts that
      // alternate between syncs and each write waits for two. So when the last
      // group had several writers, give them a fraction of a sync's time to
      // join this one. A lone writer (last group of one) never waits.
      if (last_batch > 1 && !stopping_) {
        size_t target = std::min(queue_.size() + last_batch * 3 / 4, kMaxBatchOps);
        auto wait = std::chrono::microseconds(static_cast<int64_t>(std::min(200.0, sync_ewma_us / 4)));
        wake_at_ = target;
        queue_cv_.wait_for(l, wait, [&] { return queue_.size() >= target || stopping_; });
        wake_at_ = 1;
      }
      size_t n = 0, bytes = 0;
      while (n < queue_.size() && n < kMaxBatchOps &&
             (n == 0 || bytes + queue_[n]->value.size() <= kMaxBatchBytes)) {
        bytes += queue_[n]->value.size();
        ++n;
      }
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    }
    last_batch = batch.size();
    auto t0 = std::chrono::steady_clock::now();
    ProcessBatch(batch);
    batch.clear();
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    sync_ewma_us = 0.9 * sync_ewma_us + 0.1 * us;
    if (failed_.ok() && !snapshot_busy_.load() &&
        wal_backlog_bytes_ >= std::max(options_.snapshot_wal_bytes, last_snapshot_bytes_.load())) {
      StartSnapshot(nullptr);
    }
  }
}

void EmbeddedStore::ProcessBatch(std::vector<std::shared_ptr<Op>>& batch) {
  MvccIndex& index = shared_->index;  // only this thread mutates it: reads need no lock
  if (!failed_.ok()) {
    for (auto& op : batch) op->status = failed_;
    CompleteBatch(batch);
    return;
  }
  std::string& frame = frame_;
  if (frame.capacity() > (4u << 20)) std::string().swap(frame);  // after an unusually big group
  frame.assign(kFrameHeaderBytes, '\0');
  std::vector<Event> events;
  events.reserve(batch.size());
  // The newest state of keys written earlier in this batch.
  std::unordered_map<std::string_view, KvPtr> pending;
  auto latest = [&](std::string_view key) -> KvPtr {
    auto it = pending.find(key);
    if (it != pending.end()) return it->second;
    return index.LatestPtr(key);
  };
  int64_t rev = index.current_revision();
  int64_t compact_to = 0;
  std::vector<std::shared_ptr<Op>> snapshot_waiters;

  for (auto& op : batch) {
    KvPtr cur;
    if (op->kind == Op::kCreate || op->kind == Op::kUpdate || op->kind == Op::kDelete) {
      cur = latest(op->key);
      if (cur && cur->version == 0) cur = nullptr;
    }
    switch (op->kind) {
      case Op::kCreate: {
        if (cur) {
          op->status = Status::AlreadyExists("storage: key already exists");
          op->current = *cur;
          continue;
        }
        auto kv = std::make_shared<KeyValue>(KeyValue{op->key, std::move(op->value), rev + 1, rev + 1, 1});
        ++rev;
        EncodePut(&frame, *kv);
        op->result = *kv;
        events.push_back(Event{EventType::kPut, kv, nullptr});
        break;
      }
      case Op::kUpdate:
      case Op::kDelete: {
        if (!cur) {
          op->status = Status::NotFound("storage: key not found");
          continue;
        }
        if (op->expected != 0 && cur->mod_revision != op->expected) {
          op->status = Status::Conflict("storage: the key was modified at revision " +
                                        std::to_string(cur->mod_revision) + ", expected revision " +
                                        std::to_string(op->expected));
          op->current = *cur;
          continue;
        }
        ++rev;
        if (op->kind == Op::kUpdate) {
          auto kv = std::make_shared<KeyValue>(
              KeyValue{op->key, std::move(op->value), cur->create_revision, rev, cur->version + 1});
          EncodePut(&frame, *kv);
          op->result = *kv;
          events.push_back(Event{EventType::kPut, kv, cur});
        } else {
          auto kv = std::make_shared<KeyValue>(KeyValue{op->key, "", 0, rev, 0});
          EncodeDelete(&frame, op->key, rev);
          events.push_back(Event{EventType::kDelete, kv, cur});
          op->result = *cur;
          op->revision = rev;
        }
        break;
      }
      case Op::kCompact: {
        if (op->expected > rev) {
          op->status = Status::BadRequest("storage: cannot compact to future revision " +
                                          std::to_string(op->expected) + " (current " + std::to_string(rev) + ")");
        } else if (op->expected > std::max(compact_to, index.compact_revision())) {
          compact_to = op->expected;
          EncodeCompact(&frame, compact_to);
        }
        continue;
      }
      case Op::kSnapshot:
        snapshot_waiters.push_back(op);
        continue;
    }
    pending[events.back().kv->key] = events.back().kv;
  }

  if (frame.size() > kFrameHeaderBytes) {
    SealFrame(&frame);
    Status st = wal_->AppendAndSync(frame);
    wal_backlog_bytes_ += frame.size();
    if (!st.ok()) {
      // After a failed write or sync the page cache and the disk may disagree:
      // stop accepting writes rather than guess (reads stay served).
      failed_ = Status::IOError("storage: the write-ahead log failed; writes are refused until restart: " +
                                st.message());
      logger_.Error("write-ahead log failed", {{"err", st}});
      for (auto& op : batch) op->status = failed_;
      CompleteBatch(batch);
      return;
    }
  }
  if (!events.empty() || compact_to > 0) {
    std::unique_lock<std::shared_mutex> l(shared_->mu);
    for (const Event& ev : events) index.Apply(ev);
    if (compact_to > 0) index.Compact(compact_to);
  }
  if (!events.empty()) shared_->notifier.NotifyAll();
  CompleteBatch(batch);
  for (auto& w : snapshot_waiters) StartSnapshot(w);
}

void EmbeddedStore::StartSnapshot(std::shared_ptr<Op> waiter) {
  // Runs on the committer thread, between groups: the index cannot change
  // under us, so copying it needs no lock.
  if (snapshot_busy_.exchange(true)) {
    // One is being written; a waiter gets the next one.
    if (waiter) {
      std::lock_guard<std::mutex> l(bg_mu_);
      deferred_waiters_.push_back(std::move(waiter));
    }
    return;
  }
  Status st = wal_->Roll();
  if (!st.ok()) {
    failed_ = Status::IOError("storage: cannot start a WAL segment: " + st.message());
    logger_.Error("WAL roll failed", {{"err", st}});
    snapshot_busy_.store(false);
    if (waiter) {
      waiter->status = failed_;
      Finish(waiter);
    }
    return;
  }
  auto job = std::make_unique<SnapshotJob>();
  const MvccIndex& index = shared_->index;
  job->data.revision = index.current_revision();
  job->data.compact_revision = index.compact_revision();
  job->data.keys = index.CopyVersions();
  job->keep_from_segment = wal_->seq();
  job->waiter = std::move(waiter);
  wal_backlog_bytes_ = 0;
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    snapshot_job_ = std::move(job);
  }
  bg_cv_.notify_all();
}

void EmbeddedStore::BackgroundLoop() {
  const auto tick = std::chrono::milliseconds(
      std::clamp<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(options_.compaction_interval).count() / 4,
                          100, 10000));
  auto next_maintain = std::chrono::steady_clock::now() + tick;
  for (;;) {
    std::unique_ptr<SnapshotJob> job;
    std::vector<std::shared_ptr<Op>> deferred;
    {
      std::unique_lock<std::mutex> l(bg_mu_);
      bg_cv_.wait_until(l, next_maintain, [&] { return snapshot_job_ != nullptr || bg_stopping_; });
      job = std::move(snapshot_job_);
      if (!job && bg_stopping_) {
        deferred.swap(deferred_waiters_);
        l.unlock();
        for (auto& w : deferred) {
          w->status = ClosedStatus();
          Finish(w);
        }
        return;
      }
    }
    if (job) {
      Result<uint64_t> size = WriteSnapshot(options_.dir, job->data);
      Status st = size.status();
      if (size.ok()) {
        last_snapshot_bytes_.store(*size);
        // Everything before the snapshot's revision is in it now.
        auto names = ListDir(options_.dir);
        if (names.ok()) {
          for (const auto& n : *names) {
            int64_t r;
            if (ParseSnapshotName(n, &r) && r < job->data.revision) {
              (void)::unlink(JoinPath(options_.dir, n).c_str());
            } else if (n.compare(0, 4, "wal-") == 0 && n < SegmentName(job->keep_from_segment)) {
              (void)::unlink(JoinPath(options_.dir, n).c_str());
            }
          }
          (void)FsyncDir(options_.dir);
        }
        logger_.V(2, "wrote snapshot", {{"revision", job->data.revision}, {"bytes", *size}});
      } else {
        // The WAL still holds everything; the next attempt may succeed.
        logger_.Error("snapshot failed", {{"err", st}});
      }
      job->data.keys.clear();
      {
        std::lock_guard<std::mutex> l(bg_mu_);
        deferred.swap(deferred_waiters_);
      }
      snapshot_busy_.store(false);
      if (job->waiter) {
        job->waiter->status = st;
        Finish(job->waiter);
      }
      for (auto& w : deferred) {
        // They asked while another snapshot was running; one more covers them.
        std::lock_guard<std::mutex> l(queue_mu_);
        if (stopping_) {
          w->status = ClosedStatus();
          Finish(w);
        } else {
          queue_.push_back(w);
          queue_cv_.notify_one();
        }
      }
    }
    if (std::chrono::steady_clock::now() >= next_maintain) {
      if (options_.background_maintenance) {
        Status st = Maintain();
        if (!st.ok() && st.code() != Code::kCancelled) logger_.Error("maintenance failed", {{"err", st}});
      }
      next_maintain = std::chrono::steady_clock::now() + tick;
    }
  }
}

Status EmbeddedStore::Maintain() {
  std::lock_guard<std::mutex> l(maintain_mu_);
  Clock::MonoTime now = options_.clock->Monotonic();
  int64_t current, compacted;
  uint64_t history;
  int64_t by_bytes;
  {
    std::shared_lock<std::shared_mutex> rl(shared_->mu);
    if (shared_->closed.load()) return ClosedStatus();
    current = shared_->index.current_revision();
    compacted = shared_->index.compact_revision();
    history = shared_->index.history_bytes();
    by_bytes = shared_->index.RevisionKeepingBytes(options_.max_history_bytes / 2);
  }
  // Like the API server's compactor: remember the revision at each interval,
  // compact to the one seen a window ago.
  if (samples_.empty() || now - samples_.back().first >= options_.compaction_interval) {
    samples_.emplace_back(now, current);
  }
  int64_t target = 0;
  while (!samples_.empty() && now - samples_.front().first >= options_.compaction_window) {
    target = samples_.front().second;
    samples_.pop_front();
  }
  if (history > options_.max_history_bytes) target = std::max(target, std::min(by_bytes, current));
  if (target > compacted) {
    logger_.V(2, "compacting", {{"revision", target}, {"historyBytes", history}});
    return Compact(target);
  }
  return Status::OK();
}

}  // namespace kubepp::storage::embedded
