// bench/engine_choice: the measurement behind the embedded store's engine
// (docs/storage.md). Same disk, same run: raw fdatasync; kubepp's WAL frame
// (group of 32 writes, one sync); SQLite in WAL mode with kine's schema (row
// id = revision, unique (name, prev_revision)), 32 rows per transaction and
// synchronous=FULL; and both with one write per sync.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/file.h"
#include "storage/embedded/wal.h"

using namespace kubepp;
using SteadyClock = std::chrono::steady_clock;

namespace {

double Seconds(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "sqlite %s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

// Writes/s when each group of `group` writes shares one sync.
double Wal(const std::string& dir, int group, int groups) {
  auto w = storage::embedded::WalWriter::Create(dir, 1, 64 << 20);
  if (!w.ok()) std::exit(1);
  std::string value(1024, 'v');
  auto t0 = SteadyClock::now();
  int64_t rev = 0;
  for (int g = 0; g < groups; ++g) {
    std::string frame(storage::embedded::kFrameHeaderBytes, '\0');
    for (int i = 0; i < group; ++i) {
      ++rev;
      storage::embedded::EncodePut(&frame, {"/registry/pods/default/p" + std::to_string(rev), value, rev, rev, 1});
    }
    storage::embedded::SealFrame(&frame);
    if (!(*w)->AppendAndSync(frame).ok()) std::exit(1);
  }
  return static_cast<double>(group) * groups / Seconds(t0);
}

double Sqlite(const std::string& path, int group, int groups) {
  sqlite3* db;
  Check(sqlite3_open(path.c_str(), &db), db, "open");
  const char* setup =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
      "CREATE TABLE kine (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, created INTEGER, deleted INTEGER,"
      " create_revision INTEGER, prev_revision INTEGER, lease INTEGER, value BLOB, old_value BLOB);"
      "CREATE INDEX kine_name_index ON kine (name);"
      "CREATE UNIQUE INDEX kine_name_prev_revision_uindex ON kine (name, prev_revision);";
  Check(sqlite3_exec(db, setup, nullptr, nullptr, nullptr), db, "setup");
  sqlite3_stmt* ins;
  Check(sqlite3_prepare_v2(db,
                           "INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease, value, "
                           "old_value) VALUES(?, 1, 0, 0, 0, 0, ?, NULL)",
                           -1, &ins, nullptr),
        db, "prepare");
  std::string value(1024, 'v');
  auto t0 = SteadyClock::now();
  int n = 0;
  for (int g = 0; g < groups; ++g) {
    Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
    for (int i = 0; i < group; ++i) {
      std::string name = "/registry/pods/default/p" + std::to_string(++n);
      sqlite3_bind_text(ins, 1, name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_blob(ins, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
      Check(sqlite3_step(ins), db, "insert");
      sqlite3_reset(ins);
    }
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  double rate = static_cast<double>(group) * groups / Seconds(t0);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return rate;
}

double RawSync(const std::string& path, int n) {
  UniqueFd fd(::open(path.c_str(), O_CREAT | O_RDWR, 0600));
  std::string buf(1100, 'x');
  auto t0 = SteadyClock::now();
  for (int i = 0; i < n; ++i) {
    (void)PWriteAll(fd.get(), buf, static_cast<uint64_t>(i) * buf.size());
    ::fdatasync(fd.get());
  }
  return n / Seconds(t0);
}

}  // namespace

int main() {
  auto tmp = TempDir::Create("engine-probe");
  if (!tmp.ok()) return 1;
  std::string d = tmp->path();
  std::printf("%-58s %12s\n", "engine (1 KiB values, same disk)", "writes/s");
  std::printf("%-58s %12.0f\n", "raw append + fdatasync, one write per sync", RawSync(d + "/raw", 2000));
  (void)MakeDirs(d + "/wal1");
  (void)MakeDirs(d + "/wal32");
  std::printf("%-58s %12.0f\n", "kubepp WAL, 1 write per frame", Wal(d + "/wal1", 1, 2000));
  std::printf("%-58s %12.0f\n", "kubepp WAL, 32 writes per frame", Wal(d + "/wal32", 32, 1000));
  std::printf("%-58s %12.0f\n", "SQLite WAL mode (kine schema), 1 row per txn", Sqlite(d + "/s1.db", 1, 2000));
  std::printf("%-58s %12.0f\n", "SQLite WAL mode (kine schema), 32 rows per txn", Sqlite(d + "/s32.db", 32, 1000));
  return 0;
}
