// An event recorder (client-go's record.EventRecorder): core/v1 Events about
// objects, written asynchronously from a bounded queue (dropped when full,
// as upstream's broadcaster does under load, so recording never blocks a
// scheduler or controller), correlated as client-go's EventCorrelator does:
// repeats of the same event are folded into one object whose count and
// lastTimestamp grow; from the 10th different message about an object with
// the same type and reason within 10 minutes, they are folded into one
// "(combined from similar events): ..." event; and each object may cause 25
// writes, then one per 5 minutes (a token bucket; the rest are dropped).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "client/rest.h"

namespace kubepp::client {

// An ObjectReference to `obj` (whose apiVersion/kind may be missing in list
// items: pass them).
bj::object ObjectReference(const bj::object& obj, std::string_view api_version, std::string_view kind);

class EventRecorder {
 public:
  EventRecorder(RestClient* client, std::string component, size_t queue_limit = 1000);
  ~EventRecorder();
  // type: "Normal" or "Warning". `ref` is an ObjectReference.
  void Record(const bj::object& ref, std::string_view type, std::string_view reason, std::string_view message,
              std::string_view action = "");
  // Writes what is queued, then stops.
  void Stop();

 private:
  struct Pending {
    bj::object ref;
    std::string type, reason, message, action;
  };
  struct Seen {
    std::string ns, name;
    int64_t count = 1;
  };
  struct Similar {
    std::set<std::string> messages;
    std::chrono::steady_clock::time_point last;
  };
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  void Loop();
  void Write(const Pending& e);

  RestClient* client_;
  std::string component_, instance_;
  size_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  std::map<std::string, Seen> seen_;        // worker thread only
  std::map<std::string, Similar> similar_;  // worker thread only
  std::map<std::string, Bucket> buckets_;   // worker thread only
  std::thread thread_;
};

}  // namespace kubepp::client
