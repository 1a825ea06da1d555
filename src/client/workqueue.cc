#include "client/workqueue.h"

#include <pthread.h>

#include <algorithm>
#include <cmath>

namespace kubepp::client {

using std::chrono::nanoseconds;
using SteadyClock = std::chrono::steady_clock;

nanoseconds ItemExponentialRateLimiter::When(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  int exp = failures_[key]++;
  // 2^exp overflows long before the cap matters: stop doubling at the cap.
  double d = static_cast<double>(base_.count()) * std::pow(2.0, std::min(exp, 62));
  if (d >= static_cast<double>(max_.count())) return max_;
  return nanoseconds(static_cast<int64_t>(d));
}

void ItemExponentialRateLimiter::Forget(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  failures_.erase(key);
}

int ItemExponentialRateLimiter::NumRequeues(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

BucketRateLimiter::BucketRateLimiter(double qps, int burst)
    : qps_(qps), burst_(burst), tokens_(burst), last_(SteadyClock::now()) {}

nanoseconds BucketRateLimiter::When(const std::string&) {
  std::lock_guard<std::mutex> l(mu_);
  auto now = SteadyClock::now();
  double elapsed = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
  // Reserve a token now; a negative balance is the wait.
  tokens_ -= 1;
  if (tokens_ >= 0) return nanoseconds(0);
  return nanoseconds(static_cast<int64_t>(-tokens_ / qps_ * 1e9));
}

nanoseconds MaxOfRateLimiter::When(const std::string& key) {
  nanoseconds out(0);
  for (auto& l : limiters_) out = std::max(out, l->When(key));
  return out;
}

void MaxOfRateLimiter::Forget(const std::string& key) {
  for (auto& l : limiters_) l->Forget(key);
}

int MaxOfRateLimiter::NumRequeues(const std::string& key) {
  int out = 0;
  for (auto& l : limiters_) out = std::max(out, l->NumRequeues(key));
  return out;
}

std::unique_ptr<RateLimiter> DefaultControllerRateLimiter() {
  std::vector<std::unique_ptr<RateLimiter>> ls;
  ls.push_back(std::make_unique<ItemExponentialRateLimiter>(std::chrono::milliseconds(5), std::chrono::seconds(1000)));
  ls.push_back(std::make_unique<BucketRateLimiter>(10, 100));
  return std::make_unique<MaxOfRateLimiter>(std::move(ls));
}

WorkQueue::WorkQueue(std::string name, std::unique_ptr<RateLimiter> limiter)
    : name_(std::move(name)), limiter_(std::move(limiter)) {
  delay_thread_ = std::thread([this] { DelayLoop(); });
  std::string tname = ("wq-" + name_).substr(0, 15);
  pthread_setname_np(delay_thread_.native_handle(), tname.c_str());
}

WorkQueue::~WorkQueue() {
  ShutDown();
  if (delay_thread_.joinable()) delay_thread_.join();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  if (shutting_down_ || dirty_.count(key)) return;
  dirty_.insert(key);
  if (processing_.count(key)) return;  // queued again at Done
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::AddAfter(const std::string& key, nanoseconds delay) {
  if (delay <= nanoseconds(0)) return Add(key);
  std::lock_guard<std::mutex> l(mu_);
  if (shutting_down_) return;
  auto at = SteadyClock::now() + delay;
  // A key already waiting keeps the earlier of the two times.
  auto it = ready_at_.find(key);
  if (it != ready_at_.end() && it->second <= at) return;
  ready_at_[key] = at;
  waiting_.emplace(at, key);
  delay_cv_.notify_one();
}

void WorkQueue::AddRateLimited(const std::string& key) { AddAfter(key, limiter_->When(key)); }

void WorkQueue::Forget(const std::string& key) { limiter_->Forget(key); }

int WorkQueue::NumRequeues(const std::string& key) { return limiter_->NumRequeues(key); }

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [this] { return !queue_.empty() || shutting_down_; });
  if (queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  return key;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  processing_.erase(key);
  if (dirty_.count(key) && !shutting_down_) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> l(mu_);
  shutting_down_ = true;
  cv_.notify_all();
  delay_cv_.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard<std::mutex> l(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

void WorkQueue::DelayLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!shutting_down_) {
    if (waiting_.empty()) {
      delay_cv_.wait(l);
      continue;
    }
    auto [at, key] = waiting_.top();
    if (SteadyClock::now() < at) {
      delay_cv_.wait_until(l, at);
      continue;
    }
    waiting_.pop();
    auto it = ready_at_.find(key);
    if (it == ready_at_.end() || it->second != at) continue;  // superseded by an earlier time
    ready_at_.erase(it);
    if (dirty_.count(key)) continue;
    dirty_.insert(key);
    if (processing_.count(key)) continue;
    queue_.push_back(key);
    cv_.notify_one();
  }
}

}  // namespace kubepp::client
