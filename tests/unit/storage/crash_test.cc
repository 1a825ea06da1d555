// Kill -9 at random moments: a child process writes concurrently and reports
// each acknowledged write; the parent kills it, reopens the store and checks
// that every acknowledged write is there with its value. Many rounds on the
// same directory, so recovery runs on top of earlier recoveries, snapshots
// and compactions.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "common/file.h"
#include "common/process.h"
#include "storage/embedded/embedded_store.h"

namespace kubepp::storage::embedded {
namespace {

using namespace std::chrono_literals;

TEST(CrashTest, EveryAcknowledgedWriteSurvivesKill9) {
  const char* child = std::getenv("KUBEPP_CRASH_CHILD");
  ASSERT_NE(child, nullptr) << "KUBEPP_CRASH_CHILD must name the store_crash_child binary";
  int rounds = 300;
  if (const char* r = std::getenv("KUBEPP_CRASH_ROUNDS")) rounds = std::atoi(r);
  auto tmp = TempDir::Create("crash-test");
  ASSERT_TRUE(tmp.ok());
  std::string dir = JoinPath(tmp->path(), "db");
  std::mt19937 rng(12345);
  std::map<std::string, int64_t> counters;  // the last acknowledged value of each counter
  uint64_t total_acked = 0;

  for (int round = 0; round < rounds; ++round) {
    auto p = ChildProcess::Spawn({.argv = {child, dir, std::to_string(round), std::to_string(rng())},
                                  .stderr_path = JoinPath(tmp->path(), "child.err"),
                                  .pipe_stdout = true});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    // Let it run (after it opened the store) for a random while, then kill -9.
    std::string out;
    char buf[65536];
    bool ready = false;
    auto kill_at = std::chrono::steady_clock::time_point::max();
    for (;;) {
      if (ready && std::chrono::steady_clock::now() >= kill_at) break;
      fd_set fds;
      FD_ZERO(&fds);
      FD_SET(p->stdout_fd(), &fds);
      struct timeval tv{0, 2000};
      if (::select(p->stdout_fd() + 1, &fds, nullptr, nullptr, &tv) > 0) {
        ssize_t n = ::read(p->stdout_fd(), buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
      }
      if (!ready && out.find("READY\n") != std::string::npos) {
        ready = true;
        kill_at = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 60)(rng));
      }
    }
    ASSERT_TRUE(p->Signal(SIGKILL).ok());
    // Lines already in the pipe were acknowledged before the kill.
    for (;;) {
      ssize_t n = ::read(p->stdout_fd(), buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    auto st = p->Wait();
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE(WIFSIGNALED(*st)) << "child exited on its own (status " << *st
                                  << "): " << ReadFile(JoinPath(tmp->path(), "child.err")).value();

    std::map<std::string, std::string> created;
    std::set<std::string> deleted;
    std::set<std::string> deleting;  // a delete was attempted; it may have landed
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      if (line == "READY") continue;
      ++total_acked;
      char kind = line[0];
      std::string rest = line.substr(2);
      size_t sp = rest.find(' ');
      std::string key = rest.substr(0, sp);
      if (kind == 'C') {
        created[key] = rest.substr(sp + 1);
      } else if (kind == 'U') {
        counters[key] = std::stoll(rest.substr(sp + 1));
      } else if (kind == 'D') {
        deleted.insert(key);
      } else if (kind == 'd') {
        deleting.insert(key);
        --total_acked;
      }
    }

    EmbeddedOptions opts;
    opts.dir = dir;
    opts.segment_bytes = 128 << 10;  // as the child
    opts.snapshot_wal_bytes = 96 << 10;
    opts.background_maintenance = false;
    auto store = EmbeddedStore::Open(opts);
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.status().ToString();
    for (const auto& [key, value] : created) {
      auto g = (*store)->Get(key);
      if (deleted.count(key)) {
        EXPECT_TRUE(g.status().IsNotFound()) << "round " << round << ": deleted " << key << " is back";
      } else if (deleting.count(key) && g.status().IsNotFound()) {
        // Deleted durably; the acknowledgement died with the child.
      } else {
        ASSERT_TRUE(g.ok()) << "round " << round << ": lost acknowledged create " << key;
        EXPECT_EQ(g->value, value) << key;
      }
    }
    for (const auto& [key, n] : counters) {
      auto g = (*store)->Get(key);
      ASSERT_TRUE(g.ok()) << "round " << round << ": lost counter " << key;
      // An update may have become durable without its acknowledgement
      // reaching us, but never fewer than acknowledged.
      int64_t stored = std::stoll(g->value);
      EXPECT_GE(stored, n) << "round " << round << ": " << key << " lost acknowledged updates";
      counters[key] = stored;
    }
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(total_acked, static_cast<uint64_t>(rounds)) << "the child barely wrote anything";
  std::printf("crash test: %d rounds, %llu acknowledged writes checked\n", rounds,
              static_cast<unsigned long long>(total_acked));
}

}  // namespace
}  // namespace kubepp::storage::embedded
