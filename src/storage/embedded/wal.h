// The write-ahead log: numbered segment files of checksummed frames.
//
// A frame is one group commit: [magic u32][payload length u32][crc32c u32]
// [payload], where the CRC covers the length and the payload, and the payload
// is a run of records (PUT, DELETE, COMPACT). A frame is written with one
// pwrite and made durable with one fdatasync before any write in it is
// acknowledged, so after a crash a frame is either whole or was never
// acknowledged. Segments are preallocated; an all-zero header marks the end.
//
// Recovery reads every segment in order. A damaged frame at the tail of the
// last segment is a torn write: it is cut off. A damaged frame anywhere else,
// or one followed by a valid frame, is corruption and recovery refuses.
#pragma once

#include <cstdint>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <string_view>
#include <vector>

#include "common/file.h"
#include "common/log.h"
#include "common/status.h"
#include "storage/store.h"

namespace kubepp::storage::embedded {

inline constexpr uint32_t kFrameMagic = 0x5750504b;  // "KPPW"
inline constexpr size_t kFrameHeaderBytes = 12;

enum class RecordType : uint8_t { kPut = 1, kDelete = 2, kCompact = 3 };

struct WalRecord {
  RecordType type = RecordType::kPut;
  int64_t revision = 0;         // PUT/DELETE: the write's revision; COMPACT: the compaction point
  int64_t create_revision = 0;  // PUT
  int64_t version = 0;          // PUT
  std::string_view key;         // PUT/DELETE
  std::string_view value;       // PUT
};

void EncodePut(std::string* payload, const KeyValue& kv);
void EncodeDelete(std::string* payload, std::string_view key, int64_t revision);
void EncodeCompact(std::string* payload, int64_t revision);
// Calls `fn` for each record of a frame payload. Corruption on a malformed one.
Status DecodeRecords(std::string_view payload, const std::function<Status(const WalRecord&)>& fn);

// Turns a payload into a frame in place: `frame` must start with
// kFrameHeaderBytes reserved bytes followed by the payload.
void SealFrame(std::string* frame);

std::string SegmentName(uint64_t seq);

// Appends frames to the current segment; rolls to a new one when full.
// AppendAndSync and Roll are called from one thread (the store's committer).
//
// Segments are preallocated with fallocate, and a helper thread writes zeros
// a few MiB ahead of the append position: on ext4 an fdatasync that has to
// convert unwritten extents costs about twice as much as one over blocks that
// already hold data (measured: docs/storage.md). The helper never touches a
// byte at or before the append position, and correctness never depends on it.
class WalWriter {
 public:
  // Creates segment `seq` in `dir` (preallocated to `segment_bytes`).
  static Result<std::unique_ptr<WalWriter>> Create(std::string dir, uint64_t seq,
                                                   uint64_t segment_bytes);
  // Continues segment `seq`, whose valid frames end at `offset`.
  static Result<std::unique_ptr<WalWriter>> Resume(std::string dir, uint64_t seq, uint64_t offset,
                                                   uint64_t segment_bytes);
  ~WalWriter();
  // Writes a sealed frame (rolling first if it does not fit) and fdatasyncs.
  Status AppendAndSync(std::string_view frame);
  // Starts a new segment; the old one is complete and synced.
  Status Roll();
  uint64_t seq() const;

 private:
  WalWriter(std::string dir, uint64_t segment_bytes) : dir_(std::move(dir)), segment_bytes_(segment_bytes) {}
  // REQUIRES: mu_ held.
  Status OpenSegmentLocked(uint64_t seq, uint64_t min_bytes);
  Status PreallocateLocked(const std::string& path, uint64_t min_bytes);
  void StartZeroer();
  void ZeroLoop();

  const std::string dir_;
  const uint64_t segment_bytes_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t seq_ = 0;                   // GUARDED_BY(mu_)
  std::shared_ptr<UniqueFd> fd_;       // GUARDED_BY(mu_)
  uint64_t write_end_ = 0;             // GUARDED_BY(mu_): end of the bytes handed to pwrite
  uint64_t zeroed_end_ = 0;            // GUARDED_BY(mu_): zeros are written up to here
  uint64_t size_ = 0;                  // GUARDED_BY(mu_)
  bool stop_ = false;                  // GUARDED_BY(mu_)
  std::thread zeroer_;
};

struct WalRecovery {
  std::vector<uint64_t> segments;  // existing segment numbers, ascending
  uint64_t last_end = 0;           // where the valid frames of the last segment end
  uint64_t frames = 0;
  uint64_t frame_bytes = 0;        // bytes of valid frames in all segments
  uint64_t torn_bytes_dropped = 0;
};

// Reads every segment of `dir` in order and calls `apply` with each frame's
// payload. Cuts a torn tail off the last segment (durably); refuses with
// Corruption on any other damage.
Result<WalRecovery> RecoverWal(const std::string& dir,
                               const std::function<Status(std::string_view)>& apply,
                               const log::Logger& logger);

}  // namespace kubepp::storage::embedded
