// Cron schedules as CronJobs use them (robfig/cron's standard parser): five
// fields (minute hour day-of-month month day-of-week) with *, ?, lists,
// ranges, steps and month/day names, or @yearly, @monthly, @weekly, @daily,
// @midnight, @hourly. Times are UTC.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace kubepp::controllers {

class CronSchedule {
 public:
  static Result<CronSchedule> Parse(std::string_view spec);
  // The first activation strictly after `t` (whole minutes).
  std::chrono::system_clock::time_point Next(std::chrono::system_clock::time_point t) const;

 private:
  uint64_t minute_ = 0, hour_ = 0, dom_ = 0, month_ = 0, dow_ = 0;
  bool dom_star_ = false, dow_star_ = false;
};

}  // namespace kubepp::controllers
