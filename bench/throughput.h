// The closed-loop throughput measurement the benchmarks share: `threads`
// threads each run operations back to back for `seconds`.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

namespace kubepp::bench {

// op(t, i) runs operation i of thread t and returns false on failure, which
// ends that thread. Returns operations per second, or nullopt if any failed.
template <class Op>
std::optional<double> OpsPerSecond(int threads, double seconds, Op op) {
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> done{0};
  std::vector<std::thread> ts;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (!op(t, n)) {
          failed.store(true);
          break;
        }
        ++n;
      }
      done.fetch_add(n);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& t : ts) t.join();
  if (failed.load()) return std::nullopt;
  return static_cast<double>(done.load()) /
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace kubepp::bench
