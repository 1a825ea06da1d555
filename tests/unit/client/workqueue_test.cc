#include "client/workqueue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

namespace kubepp::client {
namespace {

using namespace std::chrono_literals;

TEST(WorkQueueTest, DeduplicatesWaitingKeys) {
  WorkQueue q("dedupe");
  q.Add("a");
  q.Add("b");
  q.Add("a");
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_EQ(q.Get(), std::optional<std::string>("a"));
  EXPECT_EQ(q.Get(), std::optional<std::string>("b"));
  q.Done("a");
  q.Done("b");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, AKeyInFlightIsHeldBackUntilDone) {
  WorkQueue q("inflight");
  q.Add("a");
  auto k = q.Get();
  ASSERT_EQ(k, std::optional<std::string>("a"));
  q.Add("a");  // changed again while being processed
  EXPECT_EQ(q.Len(), 0u);
  q.Done("a");
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.Get(), std::optional<std::string>("a"));
  q.Done("a");
}

TEST(WorkQueueTest, NeverTwoWorkersOnOneKey) {
  WorkQueue q("workers");
  std::mutex mu;
  std::map<std::string, int> active;
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.Get()) {
        {
          std::lock_guard<std::mutex> l(mu);
          if (active[*key]++ > 0) overlap = true;
        }
        std::this_thread::sleep_for(50us);
        {
          std::lock_guard<std::mutex> l(mu);
          --active[*key];
        }
        ++processed;
        q.Done(*key);
      }
    });
  }
  for (int i = 0; i < 20000; ++i) q.Add("k" + std::to_string(i % 5));
  while (q.Len() > 0) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);
  q.ShutDown();
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GT(processed.load(), 0);
}

TEST(WorkQueueTest, AddAfterDelaysAndKeepsTheEarlierTime) {
  WorkQueue q("delay");
  auto t0 = std::chrono::steady_clock::now();
  q.AddAfter("late", 5s);
  q.AddAfter("late", 30ms);  // the earlier time wins
  q.AddAfter("later", 10s);
  auto k = q.Get();
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(k, std::optional<std::string>("late"));
  EXPECT_GE(waited, 30ms);
  EXPECT_LT(waited, 4s);
  q.Done("late");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, ShutDownWakesGet) {
  WorkQueue q("shutdown");
  std::thread t([&] { EXPECT_EQ(q.Get(), std::nullopt); });
  std::this_thread::sleep_for(20ms);
  q.ShutDown();
  t.join();
  q.Add("x");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(RateLimiterTest, ExponentialPerItemUntilForget) {
  ItemExponentialRateLimiter l(5ms, 1000s);
  EXPECT_EQ(l.When("a"), std::chrono::nanoseconds(5ms));
  EXPECT_EQ(l.When("a"), std::chrono::nanoseconds(10ms));
  EXPECT_EQ(l.When("a"), std::chrono::nanoseconds(20ms));
  EXPECT_EQ(l.When("b"), std::chrono::nanoseconds(5ms));
  EXPECT_EQ(l.NumRequeues("a"), 3);
  for (int i = 0; i < 100; ++i) (void)l.When("a");
  EXPECT_EQ(l.When("a"), std::chrono::nanoseconds(1000s));
  l.Forget("a");
  EXPECT_EQ(l.NumRequeues("a"), 0);
  EXPECT_EQ(l.When("a"), std::chrono::nanoseconds(5ms));
}

TEST(RateLimiterTest, BucketAllowsBurstThenPaces) {
  BucketRateLimiter l(10, 3);
  EXPECT_EQ(l.When("x").count(), 0);
  EXPECT_EQ(l.When("x").count(), 0);
  EXPECT_EQ(l.When("x").count(), 0);
  auto d = l.When("x");
  EXPECT_GT(d, 50ms);
  EXPECT_LE(d, 100ms);
  auto def = DefaultControllerRateLimiter();
  EXPECT_EQ(def->When("k"), std::chrono::nanoseconds(5ms));
}

}  // namespace
}  // namespace kubepp::client
