#include "storage/embedded/wal.h"

#include <pthread.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "common/crc32c.h"
#include "storage/embedded/coding.h"

namespace kubepp::storage::embedded {
namespace {

constexpr std::string_view kSegmentPrefix = "wal-";
constexpr std::string_view kSegmentSuffix = ".log";

bool ParseSegmentName(std::string_view name, uint64_t* seq) {
  if (name.size() != kSegmentPrefix.size() + 16 + kSegmentSuffix.size()) return false;
  if (name.substr(0, kSegmentPrefix.size()) != kSegmentPrefix) return false;
  if (name.substr(name.size() - kSegmentSuffix.size()) != kSegmentSuffix) return false;
  std::string hex(name.substr(kSegmentPrefix.size(), 16));
  char* end = nullptr;
  *seq = std::strtoull(hex.c_str(), &end, 16);
  return end == hex.c_str() + 16;
}

// The outcome of reading one frame at an offset.
enum class FrameState { kOk, kEnd, kBad };

// Reads a segment file through a window, so that a mostly empty
// (preallocated) segment costs what its frames cost, not its size.
class SegmentReader {
 public:
  SegmentReader(int fd, uint64_t size) : fd_(fd), size_(size) {}
  uint64_t size() const { return size_; }
  // Bytes [off, off+n), fewer at the end of the file. Valid until the next call.
  Result<std::string_view> Read(uint64_t off, size_t n) {
    if (off >= size_) return std::string_view();
    n = static_cast<size_t>(std::min<uint64_t>(n, size_ - off));
    if (off < buf_off_ || off + n > buf_off_ + buf_.size()) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(std::max<size_t>(n, 1 << 20), size_ - off));
      ASSIGN_OR_RETURN(buf_, PReadUpTo(fd_, want, off));
      buf_off_ = off;
      if (buf_.size() < n) n = buf_.size();
    }
    return std::string_view(buf_).substr(static_cast<size_t>(off - buf_off_), n);
  }

 private:
  int fd_;
  uint64_t size_;
  std::string buf_;
  uint64_t buf_off_ = 0;
};

Result<FrameState> ReadFrame(SegmentReader& r, uint64_t off, std::string_view* payload, uint64_t* next) {
  ASSIGN_OR_RETURN(std::string_view head, r.Read(off, kFrameHeaderBytes));
  if (head.size() < kFrameHeaderBytes) {
    // Fewer bytes than a header: the end if they are all zero, a torn header otherwise.
    for (char c : head) {
      if (c != 0) return FrameState::kBad;
    }
    return FrameState::kEnd;
  }
  uint32_t magic, len, crc;
  std::memcpy(&magic, head.data(), 4);
  std::memcpy(&len, head.data() + 4, 4);
  std::memcpy(&crc, head.data() + 8, 4);
  if (magic == 0 && len == 0 && crc == 0) return FrameState::kEnd;
  if (magic != kFrameMagic) return FrameState::kBad;
  if (off + kFrameHeaderBytes + len > r.size()) return FrameState::kBad;
  ASSIGN_OR_RETURN(std::string_view frame, r.Read(off, kFrameHeaderBytes + len));
  uint32_t actual = Crc32cExtend(0, frame.data() + 4, 4);
  actual = Crc32cExtend(actual, frame.data() + kFrameHeaderBytes, len);
  if (actual != crc) return FrameState::kBad;
  *payload = frame.substr(kFrameHeaderBytes);
  *next = off + kFrameHeaderBytes + len;
  return FrameState::kOk;
}

// Whether any valid frame starts after `off`: data written after a damaged
// frame means the damage is not a torn tail.
Result<bool> ValidFrameAfter(int fd, uint64_t size, uint64_t off) {
  ASSIGN_OR_RETURN(std::string rest, PReadUpTo(fd, static_cast<size_t>(size - off), off));
  SegmentReader whole(fd, size);
  uint32_t magic = kFrameMagic;
  std::string_view needle(reinterpret_cast<const char*>(&magic), 4);
  for (size_t pos = 1; pos + kFrameHeaderBytes <= rest.size(); ++pos) {
    pos = rest.find(needle, pos);
    if (pos == std::string::npos) return false;
    std::string_view payload;
    uint64_t next;
    ASSIGN_OR_RETURN(FrameState st, ReadFrame(whole, off + pos, &payload, &next));
    if (st == FrameState::kOk) return true;
  }
  return false;
}

}  // namespace

void EncodePut(std::string* payload, const KeyValue& kv) {
  payload->push_back(static_cast<char>(RecordType::kPut));
  PutI64(payload, kv.mod_revision);
  PutI64(payload, kv.create_revision);
  PutI64(payload, kv.version);
  PutBytes(payload, kv.key);
  PutBytes(payload, kv.value);
}

void EncodeDelete(std::string* payload, std::string_view key, int64_t revision) {
  payload->push_back(static_cast<char>(RecordType::kDelete));
  PutI64(payload, revision);
  PutBytes(payload, key);
}

void EncodeCompact(std::string* payload, int64_t revision) {
  payload->push_back(static_cast<char>(RecordType::kCompact));
  PutI64(payload, revision);
}

Status DecodeRecords(std::string_view payload, const std::function<Status(const WalRecord&)>& fn) {
  Reader r(payload);
  while (!r.empty()) {
    uint8_t type;
    WalRecord rec;
    bool ok = r.GetU8(&type);
    rec.type = static_cast<RecordType>(type);
    switch (rec.type) {
      case RecordType::kPut:
        ok = ok && r.GetI64(&rec.revision) && r.GetI64(&rec.create_revision) &&
             r.GetI64(&rec.version) && r.GetBytes(&rec.key) && r.GetBytes(&rec.value);
        break;
      case RecordType::kDelete:
        ok = ok && r.GetI64(&rec.revision) && r.GetBytes(&rec.key);
        break;
      case RecordType::kCompact:
        ok = ok && r.GetI64(&rec.revision);
        break;
      default:
        ok = false;
    }
    if (!ok) return Status::Corruption("malformed WAL record");
    RETURN_IF_ERROR(fn(rec));
  }
  return Status::OK();
}

void SealFrame(std::string* frame) {
  uint32_t len = static_cast<uint32_t>(frame->size() - kFrameHeaderBytes);
  uint32_t magic = kFrameMagic;
  std::memcpy(frame->data(), &magic, 4);
  std::memcpy(frame->data() + 4, &len, 4);
  uint32_t crc = Crc32cExtend(0, frame->data() + 4, 4);
  crc = Crc32cExtend(crc, frame->data() + kFrameHeaderBytes, len);
  std::memcpy(frame->data() + 8, &crc, 4);
}

std::string SegmentName(uint64_t seq) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "wal-%016" PRIx64 ".log", seq);
  return buf;
}

namespace {
constexpr uint64_t kZeroChunk = 1 << 20;
constexpr uint64_t kZeroAhead = 4 << 20;
}  // namespace

Result<std::unique_ptr<WalWriter>> WalWriter::Create(std::string dir, uint64_t seq,
                                                     uint64_t segment_bytes) {
  std::unique_ptr<WalWriter> w(new WalWriter(std::move(dir), segment_bytes));
  {
    std::lock_guard<std::mutex> l(w->mu_);
    RETURN_IF_ERROR(w->OpenSegmentLocked(seq, 0));
  }
  w->StartZeroer();
  return w;
}

Result<std::unique_ptr<WalWriter>> WalWriter::Resume(std::string dir, uint64_t seq, uint64_t offset,
                                                     uint64_t segment_bytes) {
  std::unique_ptr<WalWriter> w(new WalWriter(std::move(dir), segment_bytes));
  {
    std::lock_guard<std::mutex> l(w->mu_);
    std::string path = JoinPath(w->dir_, SegmentName(seq));
    auto fd = std::make_shared<UniqueFd>(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd->valid()) return ErrnoStatus("open", path, errno);
    w->fd_ = std::move(fd);
    w->seq_ = seq;
    w->write_end_ = offset;
    w->zeroed_end_ = offset;
    RETURN_IF_ERROR(w->PreallocateLocked(path, offset));
  }
  w->StartZeroer();
  return w;
}

WalWriter::~WalWriter() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (zeroer_.joinable()) zeroer_.join();
}

uint64_t WalWriter::seq() const {
  std::lock_guard<std::mutex> l(mu_);
  return seq_;
}

void WalWriter::StartZeroer() {
  zeroer_ = std::thread([this] { ZeroLoop(); });
  pthread_setname_np(zeroer_.native_handle(), "wal-zero");
}

void WalWriter::ZeroLoop() {
  static const std::string zeros(kZeroChunk, '\0');
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] {
      return stop_ || std::max(zeroed_end_, write_end_) < std::min(size_, write_end_ + kZeroAhead);
    });
    if (stop_) return;
    // Zeros go strictly after everything handed to pwrite, and the lock is
    // held while they are written so no append can be reserved over them.
    uint64_t start = std::max(zeroed_end_, write_end_);
    uint64_t len = std::min(kZeroChunk, size_ - start);
    std::shared_ptr<UniqueFd> fd = fd_;
    if (!PWriteAll(fd->get(), std::string_view(zeros).substr(0, static_cast<size_t>(len)), start).ok()) {
      return;  // only a missed optimization
    }
    zeroed_end_ = start + len;
    l.unlock();
    ::fdatasync(fd->get());
    l.lock();
  }
}

Status WalWriter::PreallocateLocked(const std::string& path, uint64_t min_bytes) {
  uint64_t size = std::max(segment_bytes_, min_bytes + kFrameHeaderBytes);
  if (::fallocate(fd_->get(), 0, 0, static_cast<off_t>(size)) != 0) {
    if (errno != EOPNOTSUPP) return ErrnoStatus("fallocate", path, errno);
  }
  if (::fsync(fd_->get()) != 0) return ErrnoStatus("fsync", path, errno);
  size_ = size;
  return Status::OK();
}

Status WalWriter::OpenSegmentLocked(uint64_t seq, uint64_t min_bytes) {
  std::string path = JoinPath(dir_, SegmentName(seq));
  auto fd = std::make_shared<UniqueFd>(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd->valid()) return ErrnoStatus("create", path, errno);
  fd_ = std::move(fd);
  seq_ = seq;
  write_end_ = 0;
  zeroed_end_ = 0;
  RETURN_IF_ERROR(PreallocateLocked(path, min_bytes));
  return FsyncDir(dir_);
}

Status WalWriter::AppendAndSync(std::string_view frame) {
  std::shared_ptr<UniqueFd> fd;
  uint64_t off;
  uint64_t seq;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (write_end_ + frame.size() > size_) RETURN_IF_ERROR(OpenSegmentLocked(seq_ + 1, frame.size()));
    fd = fd_;
    off = write_end_;
    write_end_ += frame.size();
    seq = seq_;
  }
  cv_.notify_one();
  RETURN_IF_ERROR(PWriteAll(fd->get(), frame, off).WithContext(SegmentName(seq)));
  if (::fdatasync(fd->get()) != 0) return ErrnoStatus("fdatasync", SegmentName(seq), errno);
  return Status::OK();
}

Status WalWriter::Roll() {
  {
    std::lock_guard<std::mutex> l(mu_);
    RETURN_IF_ERROR(OpenSegmentLocked(seq_ + 1, 0));
  }
  cv_.notify_one();
  return Status::OK();
}

Result<WalRecovery> RecoverWal(const std::string& dir,
                               const std::function<Status(std::string_view)>& apply,
                               const log::Logger& logger) {
  WalRecovery out;
  ASSIGN_OR_RETURN(auto names, ListDir(dir));
  for (const auto& n : names) {
    uint64_t seq;
    if (ParseSegmentName(n, &seq)) out.segments.push_back(seq);
  }
  for (size_t i = 0; i < out.segments.size(); ++i) {
    bool last = i + 1 == out.segments.size();
    uint64_t seq = out.segments[i];
    std::string path = JoinPath(dir, SegmentName(seq));
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus("open", path, errno);
    off_t size = ::lseek(fd.get(), 0, SEEK_END);
    if (size < 0) return ErrnoStatus("lseek", path, errno);
    SegmentReader reader(fd.get(), static_cast<uint64_t>(size));
    uint64_t off = 0;
    for (;;) {
      std::string_view payload;
      uint64_t next = 0;
      ASSIGN_OR_RETURN(FrameState st, ReadFrame(reader, off, &payload, &next));
      if (st == FrameState::kEnd) break;
      if (st == FrameState::kBad) {
        bool damage = !last;
        if (!damage) {
          ASSIGN_OR_RETURN(damage, ValidFrameAfter(fd.get(), reader.size(), off));
        }
        if (damage) {
          return Status::Corruption("WAL segment " + path + " is damaged at offset " +
                                    std::to_string(off) +
                                    " (checksum or framing mismatch with valid data after it); "
                                    "refusing to start rather than serve wrong data");
        }
        // A torn write: the frame was never acknowledged. Cut it off durably
        // so it cannot be mistaken for damage once newer frames follow.
        out.torn_bytes_dropped = reader.size() - off;
        logger.Warning("dropping torn write at the end of the WAL",
                       {{"segment", path}, {"offset", static_cast<int64_t>(off)}});
        if (::ftruncate(fd.get(), static_cast<off_t>(off)) != 0) return ErrnoStatus("truncate", path, errno);
        if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync", path, errno);
        break;
      }
      RETURN_IF_ERROR(apply(payload).WithContext(path + " offset " + std::to_string(off)));
      ++out.frames;
      out.frame_bytes += next - off;
      off = next;
    }
    if (last) out.last_end = off;
  }
  return out;
}

}  // namespace kubepp::storage::embedded
