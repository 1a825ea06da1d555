// Small measurements the benchmarks share: percentiles of samples and a
// process's resident memory.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace kubepp::bench {

// The p-quantile (0..1) of `v`, or 0 when empty.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return v[i];
}

// A "<field>: N kB" line of /proc/<pid>/status in KiB, or -1.
inline long StatusKiB(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

// VmRSS of `pid` in KiB, or -1.
inline long RssKiB(pid_t pid) { return StatusKiB(pid, "VmRSS"); }

}  // namespace kubepp::bench
