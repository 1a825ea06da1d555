// The controllers' work queue (client-go's workqueue): keys to reconcile, with
// the guarantees controllers rely on.
//
// - A key is never handed to two workers at once: a key added while it is
//   being processed is held back and queued again at Done().
// - A key added several times before a worker takes it is processed once.
// - AddAfter delays a key; AddRateLimited delays it by the rate limiter (per
//   key exponential backoff, 5 ms doubling to 1000 s, and an overall token
//   bucket of 10 qps with a burst of 100, as client-go's default), until Forget.
// - ShutDown wakes every Get (which then returns nullopt); keys in flight may
//   still call Done.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace kubepp::client {

// How long to wait before retrying a key.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  virtual std::chrono::nanoseconds When(const std::string& key) = 0;
  virtual void Forget(const std::string& key) = 0;
  virtual int NumRequeues(const std::string& key) = 0;
};

// base * 2^failures, capped at max_delay, per key.
class ItemExponentialRateLimiter : public RateLimiter {
 public:
  ItemExponentialRateLimiter(std::chrono::nanoseconds base, std::chrono::nanoseconds max_delay)
      : base_(base), max_(max_delay) {}
  std::chrono::nanoseconds When(const std::string& key) override;
  void Forget(const std::string& key) override;
  int NumRequeues(const std::string& key) override;

 private:
  std::mutex mu_;
  std::chrono::nanoseconds base_, max_;
  std::map<std::string, int> failures_;  // GUARDED_BY(mu_)
};

// A token bucket shared by all keys: `qps` sustained, `burst` at once.
class BucketRateLimiter : public RateLimiter {
 public:
  BucketRateLimiter(double qps, int burst);
  std::chrono::nanoseconds When(const std::string& key) override;
  void Forget(const std::string&) override {}
  int NumRequeues(const std::string&) override { return 0; }

 private:
  std::mutex mu_;
  double qps_;
  double burst_;
  double tokens_;                                   // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_;      // GUARDED_BY(mu_)
};

// The longest delay of its members (client-go's MaxOfRateLimiter).
class MaxOfRateLimiter : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters) : limiters_(std::move(limiters)) {}
  std::chrono::nanoseconds When(const std::string& key) override;
  void Forget(const std::string& key) override;
  int NumRequeues(const std::string& key) override;

 private:
  std::vector<std::unique_ptr<RateLimiter>> limiters_;
};

// client-go's DefaultControllerRateLimiter.
std::unique_ptr<RateLimiter> DefaultControllerRateLimiter();

class WorkQueue {
 public:
  explicit WorkQueue(std::string name, std::unique_ptr<RateLimiter> limiter = DefaultControllerRateLimiter());
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Add(const std::string& key);
  void AddAfter(const std::string& key, std::chrono::nanoseconds delay);
  void AddRateLimited(const std::string& key);
  // Ends the backoff of `key` (after a successful reconcile).
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key);

  // Blocks until a key is ready; nullopt once shut down. Each key returned
  // must be given back with Done.
  std::optional<std::string> Get();
  void Done(const std::string& key);

  void ShutDown();
  bool shutting_down() const;
  // Keys waiting (not in flight, not delayed).
  size_t Len() const;

 private:
  void DelayLoop();

  std::string name_;
  std::unique_ptr<RateLimiter> limiter_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;     // GUARDED_BY(mu_)
  std::set<std::string> dirty_;       // GUARDED_BY(mu_): queued or to requeue at Done
  std::set<std::string> processing_;  // GUARDED_BY(mu_)
  bool shutting_down_ = false;        // GUARDED_BY(mu_)

  using Waiting = std::pair<std::chrono::steady_clock::time_point, std::string>;
  std::priority_queue<Waiting, std::vector<Waiting>, std::greater<>> waiting_;  // GUARDED_BY(mu_)
  std::map<std::string, std::chrono::steady_clock::time_point> ready_at_;      // GUARDED_BY(mu_)
  std::condition_variable delay_cv_;
  std::thread delay_thread_;
};

}  // namespace kubepp::client
