// Snapshots: the whole MVCC state (every retained version of every key) at one
// revision, so the WAL before it can be deleted.
//
// File "snap-<revision hex16>.snap":
//   "KPPSNAP1" | revision i64 | compact_revision i64 | key count u64
//   per key: version count u32, then per version:
//     create_revision i64 | mod_revision i64 | version i64 | key bytes | value bytes
//   crc32c u32 of everything before it | "KPPSNEND"
// Written to a temp file, fsynced, renamed, and the directory fsynced.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/embedded/mvcc.h"

namespace kubepp::storage::embedded {

struct SnapshotData {
  int64_t revision = 0;
  int64_t compact_revision = 0;
  std::vector<std::vector<KvPtr>> keys;
};

std::string SnapshotName(int64_t revision);
// Parses "snap-<hex>.snap"; false for other names.
bool ParseSnapshotName(const std::string& name, int64_t* revision);

// Writes the snapshot durably; returns the file size.
Result<uint64_t> WriteSnapshot(const std::string& dir, const SnapshotData& snap);
// Reads and verifies a snapshot file. Corruption on any mismatch.
Result<SnapshotData> ReadSnapshot(const std::string& path);

}  // namespace kubepp::storage::embedded
