// A broadcast wake-up with timeouts (an "event count" on a futex).
//
// Waiters read Epoch(), check their condition, then Wait(epoch, timeout); a
// producer changes the condition, then calls NotifyAll(). A notify between the
// check and the wait is never lost because Wait returns at once when the epoch
// moved. NotifyAll is one atomic add and, only when someone waits, one futex
// wake for all of them: producers are never slowed by the number of waiters.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace kubepp {

class Notifier {
 public:
  uint32_t Epoch() const { return epoch_.load(std::memory_order_acquire); }
  // Returns when the epoch differs from `seen`, on timeout, or spuriously.
  void Wait(uint32_t seen, std::chrono::nanoseconds timeout);
  void NotifyAll();

 private:
  std::atomic<uint32_t> epoch_{0};
  std::atomic<uint32_t> waiters_{0};
};

}  // namespace kubepp
