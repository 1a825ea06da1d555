#include "kubelet/logs.h"

#include <fcntl.h>
#include <unistd.h>

#include <deque>
#include <thread>

#include "api/time.h"
#include "common/file.h"
#include "common/url.h"

namespace kubepp::kubelet {
namespace {

// One CRI log line: "<time> <stream> <P|F> <content>".
struct LogLine {
  std::string_view time, content;
  bool partial = false;
};

bool ParseLine(std::string_view line, LogLine* out) {
  size_t a = line.find(' ');
  if (a == std::string_view::npos) return false;
  size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos) return false;
  size_t c = line.find(' ', b + 1);
  std::string_view tag = line.substr(b + 1, c == std::string_view::npos ? std::string_view::npos : c - b - 1);
  out->time = line.substr(0, a);
  out->partial = tag == "P";
  out->content = c == std::string_view::npos ? std::string_view() : line.substr(c + 1);
  return true;
}

// Turns CRI lines into output lines, joining partial ones.
class Decoder {
 public:
  explicit Decoder(const LogOptions& o) : o_(o) {}
  // Feeds raw bytes; complete output lines go to `emit`.
  template <typename Emit>
  void Feed(std::string_view data, Emit&& emit) {
    buf_.append(data);
    size_t start = 0;
    for (;;) {
      size_t nl = buf_.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(buf_.data() + start, nl - start);
      LogLine l;
      if (ParseLine(line, &l)) {
        if (pending_.empty()) pending_time_ = std::string(l.time);
        pending_.append(l.content);
        if (!l.partial) {
          bool keep = true;
          if (o_.since) {
            auto t = api::ParseTime(pending_time_);
            keep = !t || *t >= *o_.since;
          }
          if (keep) emit((o_.timestamps ? pending_time_ + " " : std::string()) + pending_ + "\n");
          pending_.clear();
        }
      }
      start = nl + 1;
    }
    buf_.erase(0, start);
  }

 private:
  const LogOptions& o_;
  std::string buf_, pending_, pending_time_;
};

}  // namespace

Result<LogOptions> ParseLogOptions(std::string_view query) {
  Query q = Query::Parse(query);
  LogOptions o;
  // A bare flag ("follow") counts as true, as the kubelet reads it.
  auto flag = [&](const char* k) { return q.Has(k) && (q.Get(k).empty() || q.Bool(k).value_or(false)); };
  o.follow = flag("follow");
  o.timestamps = flag("timestamps");
  auto number = [&](const char* k, std::optional<int64_t>* dst) -> Status {
    if (!q.Has(k)) return Status::OK();
    std::string v = q.Get(k);
    char* end = nullptr;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0') return Status::BadRequest("invalid " + std::string(k) + ": " + v);
    *dst = n;
    return Status::OK();
  };
  RETURN_IF_ERROR(number("tailLines", &o.tail_lines));
  RETURN_IF_ERROR(number("limitBytes", &o.limit_bytes));
  std::optional<int64_t> since_seconds;
  RETURN_IF_ERROR(number("sinceSeconds", &since_seconds));
  if (since_seconds) o.since = std::chrono::system_clock::now() - std::chrono::seconds(*since_seconds);
  if (q.Has("sinceTime")) {
    auto t = api::ParseTime(q.Get("sinceTime"));
    if (!t) return Status::BadRequest("invalid sinceTime: " + q.Get("sinceTime"));
    o.since = *t;
  }
  return o;
}

Status WriteLogs(const std::string& path, const LogOptions& o, const std::function<bool(std::string_view)>& out,
                 const std::function<bool()>& finished) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    // No output yet (the shim creates the file on the first write).
    if (!o.follow) return Status::OK();
  }
  int64_t sent = 0;
  bool stop = false;
  auto emit = [&](const std::string& line) {
    if (stop) return;
    std::string_view s = line;
    if (o.limit_bytes) {
      if (sent >= *o.limit_bytes) {
        stop = true;
        return;
      }
      if (sent + static_cast<int64_t>(s.size()) > *o.limit_bytes) s = s.substr(0, static_cast<size_t>(*o.limit_bytes - sent));
    }
    sent += static_cast<int64_t>(s.size());
    if (!out(s)) stop = true;
  };
  Decoder dec(o);
  char buf[65536];
  // What is there now (only the last tailLines of it).
  if (fd.valid()) {
    std::deque<std::string> tail;
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n <= 0) break;
      dec.Feed(std::string_view(buf, static_cast<size_t>(n)), [&](std::string line) {
        if (o.tail_lines) {
          tail.push_back(std::move(line));
          if (static_cast<int64_t>(tail.size()) > *o.tail_lines) tail.pop_front();
        } else {
          emit(line);
        }
      });
      if (stop) return Status::OK();
    }
    for (const auto& l : tail) emit(l);
  }
  if (!o.follow) return Status::OK();
  while (!stop) {
    if (!fd.valid()) {
      fd.Reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd.valid()) {
        if (finished()) return Status::OK();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
    }
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      dec.Feed(std::string_view(buf, static_cast<size_t>(n)), [&](const std::string& line) { emit(line); });
      continue;
    }
    bool done = finished();
    // One more read after it finished: nothing written last is lost.
    if (done) {
      while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) {
        dec.Feed(std::string_view(buf, static_cast<size_t>(n)), [&](const std::string& line) { emit(line); });
      }
      return Status::OK();
    }
    // An empty write keeps a dead peer from holding the stream open.
    if (!out("")) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::OK();
}

}  // namespace kubepp::kubelet
