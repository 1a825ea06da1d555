// Structured logging in klog's text format, with a named logger per component.
//
//   I1127 03:56:52.123456   12345 storage] "opened store" dir="/var/lib/kubepp" revision=42
//
// Verbosity follows klog: Info/Warning/Error always print; V(n) prints when the
// process runs with -v n or higher. Each line is written with one write(2) so
// lines from different threads never interleave. Thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kubepp::log {

void SetVerbosity(int level);
int Verbosity();
// Writes log lines to `fd` instead of stderr (tests).
void SetOutputFd(int fd);

// One key="value" pair. Strings are quoted and escaped; numbers and bools are not.
struct Field {
  Field(std::string_view k, std::string_view v);
  Field(std::string_view k, const char* v) : Field(k, std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : Field(k, std::string_view(v)) {}
  Field(std::string_view k, int64_t v);
  Field(std::string_view k, uint64_t v);
  Field(std::string_view k, int v) : Field(k, static_cast<int64_t>(v)) {}
  Field(std::string_view k, unsigned v) : Field(k, static_cast<uint64_t>(v)) {}
  Field(std::string_view k, long long v) : Field(k, static_cast<int64_t>(v)) {}
  Field(std::string_view k, unsigned long long v) : Field(k, static_cast<uint64_t>(v)) {}
  Field(std::string_view k, double v);
  Field(std::string_view k, bool v);
  Field(std::string_view k, const Status& st);

  std::string_view key;
  std::string value;  // already formatted (quoted when a string)
};

using Fields = std::initializer_list<Field>;

class Logger {
 public:
  explicit Logger(std::string_view component) : component_(component) {}

  void Info(std::string_view msg, Fields fields = {}) const;
  void Warning(std::string_view msg, Fields fields = {}) const;
  void Error(std::string_view msg, Fields fields = {}) const;
  // Logs and aborts the process.
  [[noreturn]] void Fatal(std::string_view msg, Fields fields = {}) const;
  // Info at verbosity `level`.
  void V(int level, std::string_view msg, Fields fields = {}) const;
  bool VEnabled(int level) const { return Verbosity() >= level; }

 private:
  void Write(char severity, std::string_view msg, Fields fields) const;
  std::string component_;
};

}  // namespace kubepp::log

namespace kubepp::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, std::string_view msg);
}

// CHECK is for the impossible: it aborts in every build type.
#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) ::kubepp::internal::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)
#define CHECK_MSG(cond, msg)                                           \
  do {                                                                 \
    if (!(cond)) ::kubepp::internal::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
