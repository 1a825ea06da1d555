// Container logs as `kubectl logs` shows them: the CRI log file read back
// (partial lines joined), with the kubelet API's options.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kubepp::kubelet {

struct LogOptions {
  bool follow = false;
  bool timestamps = false;
  std::optional<int64_t> tail_lines;
  std::optional<int64_t> limit_bytes;
  std::optional<std::chrono::system_clock::time_point> since;
};

// Parses the query of a containerLogs request (follow, timestamps,
// tailLines, limitBytes, sinceSeconds, sinceTime). BadRequest on bad values.
Result<LogOptions> ParseLogOptions(std::string_view query);

// Writes the log at `path` to `out` (which returns false to stop; called
// with "" it writes nothing and only says whether the reader is still
// there). With
// follow, waits for more until `finished()` (the container exited) and the
// file is drained, or `out` refuses.
Status WriteLogs(const std::string& path, const LogOptions& options, const std::function<bool(std::string_view)>& out,
                 const std::function<bool()>& finished);

}  // namespace kubepp::kubelet
