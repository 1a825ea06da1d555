#include "common/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace kubepp::log {
namespace {

std::atomic<int> g_verbosity{0};
std::atomic<int> g_fd{2};

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\t': out->append("\\t"); break;
      case '\r': out->append("\\r"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

}  // namespace

void SetVerbosity(int level) { g_verbosity.store(level, std::memory_order_relaxed); }
int Verbosity() { return g_verbosity.load(std::memory_order_relaxed); }
void SetOutputFd(int fd) { g_fd.store(fd); }

Field::Field(std::string_view k, std::string_view v) : key(k) { AppendQuoted(&value, v); }
Field::Field(std::string_view k, int64_t v) : key(k), value(std::to_string(v)) {}
Field::Field(std::string_view k, uint64_t v) : key(k), value(std::to_string(v)) {}
Field::Field(std::string_view k, double v) : key(k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  value = buf;
}
Field::Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
Field::Field(std::string_view k, const Status& st) : key(k) { AppendQuoted(&value, st.ToString()); }

void Logger::Write(char severity, std::string_view msg, Fields fields) const {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  char head[64];
  int n = std::snprintf(head, sizeof head, "%c%02d%02d %02d:%02d:%02d.%06ld %7d ", severity,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<long>(tv.tv_usec), static_cast<int>(getpid()));
  std::string line(head, n);
  line += component_;
  line += "] ";
  AppendQuoted(&line, msg);
  for (const Field& f : fields) {
    line.push_back(' ');
    line.append(f.key);
    line.push_back('=');
    line += f.value;
  }
  line.push_back('\n');
  int fd = g_fd.load(std::memory_order_relaxed);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w <= 0) break;
    p += w;
    left -= static_cast<size_t>(w);
  }
}

void Logger::Info(std::string_view msg, Fields fields) const { Write('I', msg, fields); }
void Logger::Warning(std::string_view msg, Fields fields) const { Write('W', msg, fields); }
void Logger::Error(std::string_view msg, Fields fields) const { Write('E', msg, fields); }
void Logger::Fatal(std::string_view msg, Fields fields) const {
  Write('F', msg, fields);
  std::abort();
}
void Logger::V(int level, std::string_view msg, Fields fields) const {
  if (VEnabled(level)) Write('I', msg, fields);
}

}  // namespace kubepp::log

namespace kubepp::internal {

void CheckFailed(const char* file, int line, const char* expr, std::string_view msg) {
  log::Logger("check").Fatal("CHECK failed", {{"file", file}, {"line", line}, {"expr", expr},
                                               {"msg", msg}});
}

}  // namespace kubepp::internal
