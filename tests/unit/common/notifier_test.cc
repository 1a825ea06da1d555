#include "common/notifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace kubepp {
namespace {

TEST(NotifierTest, WaitTimesOutWithoutNotify) {
  Notifier n;
  auto start = std::chrono::steady_clock::now();
  n.Wait(n.Epoch(), std::chrono::milliseconds(20));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(15));
}

TEST(NotifierTest, NotifyBeforeWaitIsNotLost) {
  Notifier n;
  uint32_t seen = n.Epoch();
  n.NotifyAll();
  auto start = std::chrono::steady_clock::now();
  n.Wait(seen, std::chrono::seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(NotifierTest, WakesEveryWaiter) {
  Notifier n;
  std::atomic<int> flag{0};
  std::atomic<int> woke{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 16; ++i) {
    ts.emplace_back([&] {
      for (;;) {
        uint32_t e = n.Epoch();
        if (flag.load()) break;
        n.Wait(e, std::chrono::seconds(30));
      }
      woke.fetch_add(1);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  flag.store(1);
  n.NotifyAll();
  for (auto& t : ts) t.join();
  EXPECT_EQ(woke.load(), 16);
}

}  // namespace
}  // namespace kubepp
