#include "controllers/cronjob/cron_schedule.h"

#include <ctime>
#include <string>
#include <vector>

namespace kubepp::controllers {
namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

Result<int> Number(std::string_view s, const char* const* names, int name_base) {
  if (names != nullptr) {
    for (int i = 0; names[i] != nullptr; ++i) {
      std::string_view n = names[i];
      if (s.size() == n.size()) {
        bool eq = true;
        for (size_t j = 0; j < s.size(); ++j) eq &= std::toupper(static_cast<unsigned char>(s[j])) == n[j];
        if (eq) return name_base + i;
      }
    }
  }
  if (s.empty()) return Status::BadRequest("empty value");
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return Status::BadRequest("failed to parse int from " + std::string(s));
    v = v * 10 + (c - '0');
    if (v > 1000) return Status::BadRequest("value too large: " + std::string(s));
  }
  return v;
}

// One field into a bit set of allowed values; `star` tells whether it was * or ?.
Result<uint64_t> Field(std::string_view f, int lo, int hi, const char* const* names, int name_base, bool* star) {
  uint64_t bits = 0;
  *star = false;
  for (std::string_view part : Split(f, ',')) {
    int step = 1;
    std::string_view range = part;
    if (size_t slash = part.find('/'); slash != std::string_view::npos) {
      ASSIGN_OR_RETURN(step, Number(part.substr(slash + 1), nullptr, 0));
      if (step == 0) return Status::BadRequest("step of range should be a positive number: " + std::string(part));
      range = part.substr(0, slash);
    }
    int a, b;
    if (range == "*" || range == "?") {
      a = lo;
      b = hi;
      if (step == 1) *star = true;
    } else if (size_t dash = range.find('-'); dash != std::string_view::npos) {
      ASSIGN_OR_RETURN(a, Number(range.substr(0, dash), names, name_base));
      ASSIGN_OR_RETURN(b, Number(range.substr(dash + 1), names, name_base));
    } else {
      ASSIGN_OR_RETURN(a, Number(range, names, name_base));
      b = part.find('/') != std::string_view::npos ? hi : a;
    }
    if (a < lo || b > hi || a > b) {
      return Status::BadRequest("end of range (" + std::to_string(b) + ") above maximum (" + std::to_string(hi) +
                                ") or beginning below minimum: " + std::string(part));
    }
    for (int v = a; v <= b; v += step) bits |= uint64_t(1) << v;
  }
  return bits;
}

const char* const kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", nullptr};
const char* const kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", nullptr};

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view spec) {
  std::string s(spec);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  if (s.rfind("TZ=", 0) == 0 || s.rfind("CRON_TZ=", 0) == 0) {
    return Status::BadRequest("CRON_TZ or TZ used in schedule is not supported, please use timeZone instead");
  }
  if (s == "@yearly" || s == "@annually") s = "0 0 1 1 *";
  else if (s == "@monthly") s = "0 0 1 * *";
  else if (s == "@weekly") s = "0 0 * * 0";
  else if (s == "@daily" || s == "@midnight") s = "0 0 * * *";
  else if (s == "@hourly") s = "0 * * * *";
  std::vector<std::string_view> fields;
  for (auto f : Split(s, ' ')) {
    if (!f.empty()) fields.push_back(f);
  }
  if (fields.size() != 5) return Status::BadRequest("expected exactly 5 fields, found " + std::to_string(fields.size()) + ": " + s);
  CronSchedule c;
  bool star;
  ASSIGN_OR_RETURN(c.minute_, Field(fields[0], 0, 59, nullptr, 0, &star));
  ASSIGN_OR_RETURN(c.hour_, Field(fields[1], 0, 23, nullptr, 0, &star));
  ASSIGN_OR_RETURN(c.dom_, Field(fields[2], 1, 31, nullptr, 0, &c.dom_star_));
  ASSIGN_OR_RETURN(c.month_, Field(fields[3], 1, 12, kMonths, 1, &star));
  ASSIGN_OR_RETURN(c.dow_, Field(fields[4], 0, 7, kDays, 0, &c.dow_star_));
  if (c.dow_ & (uint64_t(1) << 7)) c.dow_ |= 1;  // 7 is Sunday too
  return c;
}

std::chrono::system_clock::time_point CronSchedule::Next(std::chrono::system_clock::time_point t) const {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  secs = secs - secs % 60 + 60;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  for (int guard = 0; guard < 5 * 366 * 24 * 60; ++guard) {
    if (!(month_ & (uint64_t(1) << (tm.tm_mon + 1)))) {
      tm.tm_mon += 1;
      tm.tm_mday = 1;
      tm.tm_hour = 0;
      tm.tm_min = 0;
    } else {
      bool dom_ok = dom_ & (uint64_t(1) << tm.tm_mday);
      bool dow_ok = dow_ & (uint64_t(1) << tm.tm_wday);
      bool day_ok = (dom_star_ || dow_star_) ? (dom_ok && dow_ok) : (dom_ok || dow_ok);
      if (!day_ok) {
        tm.tm_mday += 1;
        tm.tm_hour = 0;
        tm.tm_min = 0;
      } else if (!(hour_ & (uint64_t(1) << tm.tm_hour))) {
        tm.tm_hour += 1;
        tm.tm_min = 0;
      } else if (!(minute_ & (uint64_t(1) << tm.tm_min))) {
        tm.tm_min += 1;
      } else {
        return std::chrono::system_clock::from_time_t(timegm(&tm));
      }
    }
    time_t norm = timegm(&tm);  // carries overflowing fields
    gmtime_r(&norm, &tm);
  }
  return std::chrono::system_clock::time_point::max();
}

}  // namespace kubepp::controllers
