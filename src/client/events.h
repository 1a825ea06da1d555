// An event recorder (client-go's record.EventRecorder): core/v1 Events about
// objects, written asynchronously from a bounded queue (dropped when full,
// as upstream's broadcaster does under load, so recording never blocks a
// scheduler or controller), with repeats of the same event folded into one
// object whose count and lastTimestamp grow.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
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
  void Loop();
  void Write(const Pending& e);

  RestClient* client_;
  std::string component_, instance_;
  size_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  std::map<std::string, Seen> seen_;  // worker thread only
  std::thread thread_;
};

}  // namespace kubepp::client
