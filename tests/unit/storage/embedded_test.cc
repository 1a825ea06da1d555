// Embedded-store specifics: recovery, snapshots, compaction by the clock,
// bounded disk use, torn writes and corruption.
#include "storage/embedded/embedded_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <cstring>
#include <random>

#include "common/file.h"
#include "storage/embedded/wal.h"

namespace kubepp::storage::embedded {
namespace {

using namespace std::chrono_literals;

class EmbeddedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("embedded-test");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    opts_.dir = JoinPath(dir_->path(), "db");
    opts_.background_maintenance = false;
    opts_.clock = &clock_;
  }

  std::unique_ptr<EmbeddedStore> Open() {
    auto s = EmbeddedStore::Open(opts_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  uint64_t DirBytes(const std::string& dir) {
    uint64_t total = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      struct stat st;
      if (::stat(e.path().c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
    return total;
  }

  std::vector<std::string> Segments() {
    std::vector<std::string> out;
    auto names = ListDir(opts_.dir);
    for (const auto& n : *names) {
      if (n.rfind("wal-", 0) == 0) out.push_back(JoinPath(opts_.dir, n));
    }
    return out;
  }

  FakeClock clock_;
  std::unique_ptr<TempDir> dir_;
  EmbeddedOptions opts_;
};

TEST_F(EmbeddedTest, ReopenRecoversStateAndHistory) {
  {
    auto s = Open();
    ASSERT_TRUE(s->Create("/a", "1").ok());
    ASSERT_TRUE(s->Update("/a", "2", 0).ok());
    ASSERT_TRUE(s->Create("/b", "1").ok());
    ASSERT_TRUE(s->Delete("/b", 0).ok());
    ASSERT_TRUE(s->Compact(2).ok());
  }
  auto s = Open();
  EXPECT_EQ(*s->CurrentRevision(), 4);
  EXPECT_EQ(*s->CompactRevision(), 2);
  EXPECT_EQ(s->Get("/a")->value, "2");
  EXPECT_EQ(s->Get("/a")->version, 2);
  EXPECT_TRUE(s->Get("/b").status().IsNotFound());
  EXPECT_TRUE(s->Get("/a", 1).status().IsGone());
  auto w = s->Watch({.prefix = "/", .start_revision = 2});
  ASSERT_TRUE(w.ok());
  auto evs = (*w)->Next(1s);
  ASSERT_TRUE(evs.ok());
  ASSERT_EQ(evs->size(), 3u);
  EXPECT_EQ((*evs)[2].type, EventType::kDelete);
  EXPECT_EQ((*evs)[2].prev_kv->value, "1");
}

TEST_F(EmbeddedTest, SnapshotBoundsTheLogAndRecovers) {
  opts_.segment_bytes = 64 << 10;
  {
    auto s = Open();
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(s->Create("/k" + std::to_string(i), std::string(500, 'a')).ok());
    ASSERT_TRUE(s->Snapshot().ok());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(s->Update("/k" + std::to_string(i), "after", 0).ok());
  }
  // Segments the snapshot covers are gone.
  EXPECT_EQ(Segments().size(), 1u) << "only the segment begun at the snapshot remains";
  auto s = Open();
  EXPECT_EQ(s->recovery_info().snapshot_revision, 200);
  EXPECT_EQ(*s->CurrentRevision(), 210);
  EXPECT_EQ(s->Get("/k5")->value, "after");
  EXPECT_EQ(s->Get("/k150")->value, std::string(500, 'a'));
  auto l = s->List({.prefix = "/k"});
  EXPECT_EQ(l->kvs.size(), 200u);
  // History from before the snapshot survives it.
  EXPECT_EQ(s->Get("/k5", 100)->value, std::string(500, 'a'));
}

TEST_F(EmbeddedTest, CompactsByTheClockWindow) {
  opts_.compaction_window = 300s;
  opts_.compaction_interval = 60s;
  auto s = Open();
  ASSERT_TRUE(s->Create("/a", "0").ok());
  ASSERT_TRUE(s->Maintain().ok());  // remembers revision 1 at t0
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(s->Update("/a", std::to_string(i), 0).ok());
  clock_.Advance(299s);
  ASSERT_TRUE(s->Maintain().ok());
  EXPECT_EQ(*s->CompactRevision(), 0) << "nothing is older than the window yet";
  clock_.Advance(2s);
  ASSERT_TRUE(s->Maintain().ok());
  EXPECT_EQ(*s->CompactRevision(), 1);
  clock_.Advance(400s);
  ASSERT_TRUE(s->Maintain().ok());
  EXPECT_EQ(*s->CompactRevision(), 6) << "the sample taken at t0+299s";
}

TEST_F(EmbeddedTest, CompactsEarlyWhenHistoryExceedsItsBudget) {
  opts_.max_history_bytes = 200 << 10;
  auto s = Open();
  ASSERT_TRUE(s->Create("/a", "x").ok());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(s->Update("/a", std::string(1000, 'y'), 0).ok());
  ASSERT_TRUE(s->Maintain().ok());
  int64_t compacted = *s->CompactRevision();
  EXPECT_GT(compacted, 800);
  EXPECT_LT(compacted, 1001);
}

TEST_F(EmbeddedTest, DiskUseStaysBoundedUnderSteadyUpdates) {
  opts_.segment_bytes = 256 << 10;
  opts_.snapshot_wal_bytes = 256 << 10;
  opts_.compaction_window = 1s;
  opts_.compaction_interval = 1s;
  auto s = Open();
  std::string value(2000, 'v');
  for (int k = 0; k < 50; ++k) ASSERT_TRUE(s->Create("/k" + std::to_string(k), value).ok());
  uint64_t peak = 0;
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(s->Update("/k" + std::to_string(i % 50), value, 0).ok());
    clock_.Advance(1s);
    ASSERT_TRUE(s->Maintain().ok());
    if (round >= 5) peak = std::max(peak, DirBytes(opts_.dir));
  }
  // 20,000 updates of 2 KB (40 MB written); live data is 100 KB.
  EXPECT_LT(peak, 8ull << 20) << "the data directory keeps growing";
  EXPECT_EQ(*s->CurrentRevision(), 50 + 40 * 500);
}

TEST_F(EmbeddedTest, TornWriteRecoversTheAcknowledgedPrefix) {
  constexpr int kWrites = 40;
  opts_.segment_bytes = 1 << 20;
  {
    auto s = Open();
    for (int i = 1; i <= kWrites; ++i) ASSERT_TRUE(s->Create("/k" + std::to_string(i), std::to_string(i)).ok());
  }
  auto segs = Segments();
  ASSERT_FALSE(segs.empty());
  std::string seg = segs.front();
  std::string data = *ReadFile(seg);
  // The frame boundaries: one frame per write here (a single writer).
  std::vector<size_t> ends;
  size_t off = 0;
  while (off + kFrameHeaderBytes <= data.size()) {
    uint32_t magic, len;
    std::memcpy(&magic, data.data() + off, 4);
    std::memcpy(&len, data.data() + off + 4, 4);
    if (magic != kFrameMagic) break;
    off += kFrameHeaderBytes + len;
    ends.push_back(off);
  }
  ASSERT_EQ(ends.size(), static_cast<size_t>(kWrites));
  std::mt19937 rng(7);
  std::string pristine = JoinPath(dir_->path(), "pristine");
  ASSERT_EQ(std::system(("cp -a " + opts_.dir + " " + pristine).c_str()), 0);
  for (int trial = 0; trial < 30; ++trial) {
    ASSERT_TRUE(RemoveAll(opts_.dir).ok());
    ASSERT_EQ(std::system(("cp -a " + pristine + " " + opts_.dir).c_str()), 0);
    size_t cut = std::uniform_int_distribution<size_t>(1, ends.back() - 1)(rng);
    ASSERT_EQ(::truncate(seg.c_str(), static_cast<off_t>(cut)), 0);
    int whole = static_cast<int>(std::upper_bound(ends.begin(), ends.end(), cut) - ends.begin());
    {
      auto s = Open();
      ASSERT_NE(s, nullptr) << "cut at " << cut;
      EXPECT_EQ(*s->CurrentRevision(), whole) << "cut at " << cut;
      for (int i = 1; i <= kWrites; ++i) {
        auto g = s->Get("/k" + std::to_string(i));
        if (i <= whole) {
          ASSERT_TRUE(g.ok()) << i;
          EXPECT_EQ(g->value, std::to_string(i));
        } else {
          EXPECT_TRUE(g.status().IsNotFound()) << i;
        }
      }
      // Writing after recovery and reopening again must not mistake the cut for damage.
      ASSERT_TRUE(s->Create("/after", "x").ok());
    }
    auto again = Open();
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(*again->CurrentRevision(), whole + 1);
  }
}

TEST_F(EmbeddedTest, TornTailOfZerosOrGarbageIsCut) {
  {
    auto s = Open();
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(s->Create("/k" + std::to_string(i), "v").ok());
  }
  std::string seg = Segments().front();
  std::string data = *ReadFile(seg);
  // Damage the last frame's payload: an unacknowledged, half-written frame.
  size_t off = 0, last = 0;
  while (true) {
    uint32_t magic, len;
    std::memcpy(&magic, data.data() + off, 4);
    std::memcpy(&len, data.data() + off + 4, 4);
    if (magic != kFrameMagic) break;
    last = off;
    off += kFrameHeaderBytes + len;
  }
  UniqueFd fd(::open(seg.c_str(), O_RDWR));
  ASSERT_TRUE(PWriteAll(fd.get(), std::string(4, '\xab'), last + kFrameHeaderBytes + 2).ok());
  fd.Reset();
  auto s = Open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(*s->CurrentRevision(), 4);
  EXPECT_GT(s->recovery_info().torn_bytes_dropped, 0u);
}

TEST_F(EmbeddedTest, DamageBeforeValidDataIsRefused) {
  {
    auto s = Open();
    for (int i = 1; i <= 10; ++i) ASSERT_TRUE(s->Create("/k" + std::to_string(i), "value").ok());
  }
  std::string seg = Segments().front();
  UniqueFd fd(::open(seg.c_str(), O_RDWR));
  // Flip a byte inside the second frame: valid frames follow it.
  ASSERT_TRUE(PWriteAll(fd.get(), "Z", 60).ok());
  fd.Reset();
  auto s = EmbeddedStore::Open(opts_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kCorruption);
  EXPECT_NE(s.status().message().find("refusing to start"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find(seg), std::string::npos) << s.status().message();
}

TEST_F(EmbeddedTest, DamagedSnapshotIsRefused) {
  {
    auto s = Open();
    for (int i = 1; i <= 10; ++i) ASSERT_TRUE(s->Create("/k" + std::to_string(i), "value").ok());
    ASSERT_TRUE(s->Snapshot().ok());
  }
  std::string snap;
  auto names = ListDir(opts_.dir);
  for (const auto& n : *names) {
    if (n.rfind("snap-", 0) == 0) snap = JoinPath(opts_.dir, n);
  }
  ASSERT_FALSE(snap.empty());
  UniqueFd fd(::open(snap.c_str(), O_RDWR));
  ASSERT_TRUE(PWriteAll(fd.get(), "Z", 50).ok());
  fd.Reset();
  auto s = EmbeddedStore::Open(opts_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kCorruption);
  EXPECT_NE(s.status().message().find("checksum"), std::string::npos) << s.status().message();
}

TEST_F(EmbeddedTest, OneProcessPerDirectory) {
  auto s = Open();
  auto second = EmbeddedStore::Open(opts_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kServiceUnavailable);
  s.reset();
  EXPECT_NE(Open(), nullptr);
}

TEST_F(EmbeddedTest, ClosedStoreRefusesCalls) {
  auto s = Open();
  ASSERT_TRUE(s->Create("/a", "1").ok());
  auto w = s->Watch({.prefix = "/"});
  ASSERT_TRUE(w.ok());
  s->Close();
  EXPECT_EQ(s->Create("/b", "1").status().code(), Code::kCancelled);
  EXPECT_EQ(s->Get("/a").status().code(), Code::kCancelled);
  EXPECT_EQ((*w)->Next(1s).status().code(), Code::kCancelled);
}

TEST_F(EmbeddedTest, GroupCommitSharesSyncs) {
  auto s = Open();
  constexpr int kThreads = 16, kEach = 50;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        ASSERT_TRUE(s->Create("/t" + std::to_string(t) + "/" + std::to_string(i), "v").ok());
      }
    });
  }
  for (auto& t : ts) t.join();
  s.reset();
  auto again = Open();
  EXPECT_EQ(*again->CurrentRevision(), kThreads * kEach);
  // Fewer frames than writes means writers shared syncs.
  EXPECT_LT(again->recovery_info().wal_frames, static_cast<uint64_t>(kThreads * kEach));
}

}  // namespace
}  // namespace kubepp::storage::embedded
