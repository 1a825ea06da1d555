// Kubernetes time formats: RFC 3339 in UTC ("2026-11-27T03:56:52Z", and with
// microseconds for MicroTime) and the short human durations of kubectl's AGE
// columns ("5m", "3h", "2d", "5m30s").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kubepp::api {

using WallTime = std::chrono::system_clock::time_point;

std::string FormatTime(WallTime t);       // seconds precision
std::string FormatMicroTime(WallTime t);  // "2026-11-27T03:56:52.123456Z"
// Parses RFC 3339 (with any fraction and a Z or +hh:mm offset).
std::optional<WallTime> ParseTime(std::string_view s);

// duration.HumanDuration: "0s".."119s", "2m".."9m59s"-ish... as upstream.
std::string HumanDuration(std::chrono::nanoseconds d);
// duration.ShortHumanDuration.
std::string ShortHumanDuration(std::chrono::nanoseconds d);

}  // namespace kubepp::api
