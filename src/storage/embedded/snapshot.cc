#include "storage/embedded/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "common/crc32c.h"
#include "common/file.h"
#include "storage/embedded/coding.h"

namespace kubepp::storage::embedded {
namespace {

constexpr std::string_view kHead = "KPPSNAP1";
constexpr std::string_view kTail = "KPPSNEND";

// Buffers output and keeps a running checksum.
class SnapshotWriter {
 public:
  explicit SnapshotWriter(int fd) : fd_(fd) { buf_.reserve(kFlushAt + 4096); }
  std::string* buf() { return &buf_; }
  Status MaybeFlush() { return buf_.size() >= kFlushAt ? Flush() : Status::OK(); }
  Status Flush() {
    crc_ = Crc32cExtend(crc_, buf_.data(), buf_.size());
    Status st = WriteAll(fd_, buf_);
    size_ += buf_.size();
    buf_.clear();
    return st;
  }
  uint32_t crc() const { return crc_; }
  uint64_t size() const { return size_; }

 private:
  static constexpr size_t kFlushAt = 1 << 20;
  int fd_;
  std::string buf_;
  uint32_t crc_ = 0;
  uint64_t size_ = 0;
};

}  // namespace

std::string SnapshotName(int64_t revision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "snap-%016" PRIx64 ".snap", static_cast<uint64_t>(revision));
  return buf;
}

bool ParseSnapshotName(const std::string& name, int64_t* revision) {
  if (name.size() != 5 + 16 + 5 || name.compare(0, 5, "snap-") != 0 ||
      name.compare(21, 5, ".snap") != 0) {
    return false;
  }
  char* end = nullptr;
  std::string hex = name.substr(5, 16);
  *revision = static_cast<int64_t>(std::strtoull(hex.c_str(), &end, 16));
  return end == hex.c_str() + 16;
}

Result<uint64_t> WriteSnapshot(const std::string& dir, const SnapshotData& snap) {
  std::string path = JoinPath(dir, SnapshotName(snap.revision));
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("create", tmp, errno);
  SnapshotWriter w(fd.get());
  std::string* b = w.buf();
  b->append(kHead);
  PutI64(b, snap.revision);
  PutI64(b, snap.compact_revision);
  uint64_t count = snap.keys.size();
  b->append(reinterpret_cast<const char*>(&count), 8);
  for (const auto& vs : snap.keys) {
    PutU32(b, static_cast<uint32_t>(vs.size()));
    for (const auto& kv : vs) {
      PutI64(b, kv->create_revision);
      PutI64(b, kv->mod_revision);
      PutI64(b, kv->version);
      PutBytes(b, kv->key);
      PutBytes(b, kv->value);
    }
    RETURN_IF_ERROR(w.MaybeFlush().WithContext(tmp));
  }
  RETURN_IF_ERROR(w.Flush().WithContext(tmp));
  std::string tail;
  PutU32(&tail, w.crc());
  tail.append(kTail);
  RETURN_IF_ERROR(WriteAll(fd.get(), tail).WithContext(tmp));
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync", tmp, errno);
  fd.Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", tmp, errno);
  RETURN_IF_ERROR(FsyncDir(dir));
  return w.size() + tail.size();
}

Result<SnapshotData> ReadSnapshot(const std::string& path) {
  ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("snapshot " + path + " is damaged (" + why +
                              "); refusing to start rather than serve wrong data");
  };
  if (data.size() < kHead.size() + 24 + 4 + kTail.size() ||
      std::string_view(data).substr(0, kHead.size()) != kHead ||
      std::string_view(data).substr(data.size() - kTail.size()) != kTail) {
    return corrupt("bad header or trailer");
  }
  size_t body = data.size() - kTail.size() - 4;
  uint32_t crc;
  std::memcpy(&crc, data.data() + body, 4);
  if (Crc32cExtend(0, data.data(), body) != crc) return corrupt("checksum mismatch");
  Reader r(std::string_view(data).substr(kHead.size(), body - kHead.size()));
  SnapshotData snap;
  int64_t count;
  if (!r.GetI64(&snap.revision) || !r.GetI64(&snap.compact_revision) || !r.GetI64(&count) || count < 0) {
    return corrupt("bad header fields");
  }
  snap.keys.reserve(static_cast<size_t>(std::min<int64_t>(count, 1 << 24)));
  for (int64_t i = 0; i < count; ++i) {
    uint32_t n;
    if (!r.GetU32(&n) || n == 0) return corrupt("bad version count");
    std::vector<KvPtr> vs;
    vs.reserve(n);
    for (uint32_t j = 0; j < n; ++j) {
      auto kv = std::make_shared<KeyValue>();
      std::string_view key, value;
      if (!r.GetI64(&kv->create_revision) || !r.GetI64(&kv->mod_revision) || !r.GetI64(&kv->version) ||
          !r.GetBytes(&key) || !r.GetBytes(&value)) {
        return corrupt("truncated entry");
      }
      kv->key.assign(key);
      kv->value.assign(value);
      if (!vs.empty() && vs.front()->key != kv->key) return corrupt("mixed keys in one entry");
      vs.push_back(std::move(kv));
    }
    snap.keys.push_back(std::move(vs));
  }
  if (!r.empty()) return corrupt("trailing bytes");
  return snap;
}

}  // namespace kubepp::storage::embedded
