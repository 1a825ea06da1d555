// The writer half of storage_crash_test: opens the embedded store in argv[1]
// and writes from several threads as fast as it can, printing one line per
// acknowledged write to stdout, until it is killed.
//   C <key> <value>   created       U <key> <n>   updated to n     D <key>   deleted
//   d <key>           about to delete (sent before the call)
// Small segments and snapshot thresholds make rolls, snapshots and
// compactions happen within each short run.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/embedded/embedded_store.h"

using kubepp::storage::embedded::EmbeddedOptions;
using kubepp::storage::embedded::EmbeddedStore;

namespace {

void Report(const std::string& line) {
  // One write per line: atomic on a pipe (lines are < PIPE_BUF).
  std::string l = line + "\n";
  if (::write(1, l.data(), l.size()) != static_cast<ssize_t>(l.size())) _exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: store_crash_child DIR ROUND SEED\n");
    return 2;
  }
  EmbeddedOptions opts;
  opts.dir = argv[1];
  opts.segment_bytes = 128 << 10;
  opts.snapshot_wal_bytes = 96 << 10;
  opts.background_maintenance = false;
  std::string round = argv[2];
  unsigned seed = static_cast<unsigned>(std::stoul(argv[3]));
  auto store = EmbeddedStore::Open(opts);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  EmbeddedStore* s = store->get();
  Report("READY");
  constexpr int kThreads = 4;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([s, t, &round, seed] {
      std::mt19937 rng(seed * 31 + static_cast<unsigned>(t));
      std::string counter = "/u/" + std::to_string(t);
      int64_t n = 0;
      // The counter continues from what an earlier round left.
      if (auto cur = s->Get(counter); cur.ok()) n = std::stoll(cur->value);
      for (int i = 0;; ++i) {
        int pick = static_cast<int>(rng() % 10);
        std::string key = "/c/" + round + "/" + std::to_string(t) + "/" + std::to_string(i);
        if (pick < 5) {
          std::string value(static_cast<size_t>(rng() % 600), static_cast<char>('a' + i % 26));
          value = std::to_string(i) + ":" + value;
          auto r = s->Create(key, value);
          if (!r.ok()) _exit(4);
          Report("C " + key + " " + value);
        } else if (pick < 8) {
          auto r = s->Update(counter, std::to_string(n + 1), 0);
          if (r.status().IsNotFound()) r = s->Create(counter, std::to_string(n + 1));
          if (!r.ok()) _exit(5);
          ++n;
          Report("U " + counter + " " + std::to_string(n));
        } else if (i >= 10) {
          // Delete one of this thread's earlier creates, if it was created.
          std::string old = "/c/" + round + "/" + std::to_string(t) + "/" + std::to_string(i - 10);
          // The intent goes out first: a delete that becomes durable without
          // its acknowledgement reaching the parent explains a missing key.
          Report("d " + old);
          auto r = s->Delete(old, 0);
          if (r.ok()) {
            Report("D " + old);
          } else if (!r.status().IsNotFound()) {
            _exit(6);
          }
        }
        if (t == 0 && i % 200 == 199) {
          auto rev = s->CurrentRevision();
          if (rev.ok() && *rev > 100) (void)s->Compact(*rev - 100);
        }
      }
    });
  }
  for (auto& th : ts) th.join();
  return 0;
}
