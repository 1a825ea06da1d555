// Time as a dependency: components take a Clock* so tests can inject FakeClock
// and drive timeouts, leases and compaction windows without sleeping.
#pragma once

#include <chrono>
#include <mutex>

namespace kubepp {

class Clock {
 public:
  using WallTime = std::chrono::system_clock::time_point;
  using MonoTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  // Wall-clock time (timestamps written into objects).
  virtual WallTime Now() const = 0;
  // Monotonic time (durations, timeouts, windows).
  virtual MonoTime Monotonic() const = 0;

  // The process-wide real clock. Never null, never destroyed.
  static Clock* Real();
};

// A clock that moves only when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  FakeClock();
  WallTime Now() const override;
  MonoTime Monotonic() const override;
  void Advance(std::chrono::nanoseconds d);

 private:
  mutable std::mutex mu_;
  WallTime wall_;  // GUARDED_BY(mu_)
  MonoTime mono_;  // GUARDED_BY(mu_)
};

}  // namespace kubepp
