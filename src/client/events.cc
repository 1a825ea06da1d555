#include "client/events.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "api/object.h"
#include "api/time.h"
#include "common/log.h"

namespace kubepp::client {
namespace {

constexpr size_t kMaxSeen = 4096;
// client-go's EventCorrelator defaults.
constexpr size_t kAggregateMaxEvents = 10;
constexpr auto kAggregateInterval = std::chrono::seconds(600);
constexpr double kSpamBurst = 25;
constexpr double kSpamQps = 1.0 / 300;

}  // namespace

bj::object ObjectReference(const bj::object& obj, std::string_view api_version, std::string_view kind) {
  bj::object ref{{"kind", kind}, {"name", api::Name(obj)}, {"uid", api::Uid(obj)}, {"apiVersion", api_version}};
  if (!api::Namespace(obj).empty()) ref["namespace"] = api::Namespace(obj);
  if (!api::ResourceVersion(obj).empty()) ref["resourceVersion"] = api::ResourceVersion(obj);
  return ref;
}

EventRecorder::EventRecorder(RestClient* client, std::string component, size_t queue_limit)
    : client_(client), component_(std::move(component)), limit_(queue_limit) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  instance_ = component_ + "-" + host;
  thread_ = std::thread([this] { Loop(); });
}

EventRecorder::~EventRecorder() { Stop(); }

void EventRecorder::Record(const bj::object& ref, std::string_view type, std::string_view reason,
                           std::string_view message, std::string_view action) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_ || queue_.size() >= limit_) return;
  queue_.push_back({ref, std::string(type), std::string(reason), std::string(message), std::string(action)});
  cv_.notify_one();
}

void EventRecorder::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void EventRecorder::Loop() {
  for (;;) {
    Pending e;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      e = std::move(queue_.front());
      queue_.pop_front();
    }
    Write(e);
  }
}

void EventRecorder::Write(const Pending& e) {
  auto tnow = std::chrono::steady_clock::now();
  std::string now = api::FormatTime(std::chrono::system_clock::now());
  std::string ns(api::StrAt(e.ref, {"namespace"}));
  if (ns.empty()) ns = "default";
  std::string object_key;
  for (const char* f : {"kind", "namespace", "name", "uid", "apiVersion"}) {
    object_key += api::StrAt(e.ref, {f});
    object_key += '\x1f';
  }
  std::string similar_key = object_key + e.type + "\x1f" + e.reason;
  // Similar events (the same but for the message): from the 10th message
  // within the interval they become one combined event.
  std::string message = e.message;
  std::string key = similar_key + "\x1f" + e.message;
  if (similar_.size() >= kMaxSeen) similar_.clear();
  Similar& sim = similar_[similar_key];
  if (tnow - sim.last > kAggregateInterval) sim.messages.clear();
  sim.last = tnow;
  sim.messages.insert(e.message);
  bool combined = sim.messages.size() >= kAggregateMaxEvents;
  if (combined) {
    sim.messages.erase(sim.messages.begin());
    message = "(combined from similar events): " + e.message;
    key = similar_key;
  }
  // The spam filter: a token bucket per object.
  if (buckets_.size() >= kMaxSeen) buckets_.clear();
  Bucket& bucket = buckets_.try_emplace(object_key, Bucket{kSpamBurst, tnow}).first->second;
  bucket.tokens = std::min(kSpamBurst, bucket.tokens + std::chrono::duration<double>(tnow - bucket.last).count() * kSpamQps);
  bucket.last = tnow;
  if (bucket.tokens < 1) return;
  bucket.tokens -= 1;
  auto it = seen_.find(key);
  if (it != seen_.end()) {
    ++it->second.count;
    bj::object patch{{"count", it->second.count}, {"lastTimestamp", now}, {"message", message}};
    auto r = client_->Patch(ResourcePath("", "v1", "events", it->second.ns, it->second.name),
                            "application/merge-patch+json", patch);
    if (r.ok()) return;
    seen_.erase(it);  // gone (expired): write a new one
  }
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%llx",
                static_cast<unsigned long long>(std::chrono::system_clock::now().time_since_epoch().count()));
  std::string name = std::string(api::StrAt(e.ref, {"name"})) + suffix;
  bj::object ev{{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", bj::object{{"name", name}, {"namespace", ns}}},
                {"involvedObject", e.ref},
                {"reason", e.reason},
                {"message", message},
                {"source", bj::object{{"component", component_}}},
                {"firstTimestamp", now},
                {"lastTimestamp", now},
                {"count", 1},
                {"type", e.type},
                {"eventTime", nullptr},
                {"reportingComponent", component_},
                {"reportingInstance", instance_}};
  if (!e.action.empty()) ev["action"] = e.action;
  auto r = client_->Post(ResourcePath("", "v1", "events", ns), ev);
  if (!r.ok()) {
    log::Logger("events").V(2, "cannot write event", {{"reason", e.reason}, {"err", r.status().ToString()}});
    return;
  }
  if (seen_.size() >= kMaxSeen) seen_.clear();
  seen_[key] = {ns, name, 1};
}

}  // namespace kubepp::client
