// The REST client every kubepp component uses to talk to the API server (the
// components are clients of the API and only of it): kubeconfig loading,
// JSON requests over a keep-alive HTTPS pool, API errors turned back into
// Status values with their reason, and watch streams.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/http_client.h"
#include "common/status.h"

namespace kubepp::client {

namespace bj = boost::json;

struct ClientConfig {
  http::Endpoint endpoint;    // https://host:port with its TLS settings
  std::string bearer_token;   // empty: client certificate only
  std::string user_agent = "kubepp";
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
};

// Reads a kubeconfig: the cluster and user of `context` (empty: the current
// context), with certificates and keys inline (*-data) or as files (relative
// to the kubeconfig's directory), or a token / tokenFile.
Result<ClientConfig> LoadKubeconfig(const std::string& path, const std::string& context = "");

// The path of a resource collection or object:
// /api/v1/namespaces/NS/pods/NAME/SUB or /apis/GROUP/VERSION/....
std::string ResourcePath(std::string_view group, std::string_view version, std::string_view resource,
                         std::string_view ns = "", std::string_view name = "", std::string_view subresource = "");

// The Status of a failed API call, from the HTTP code and the Status body.
Status StatusFromResponse(int http_code, std::string_view body);

// A watch in progress; Stop() ends it from any thread.
class WatchHandle {
 public:
  void Stop();
  bool stopped() const { return stopped_.load(); }

 private:
  friend class RestClient;
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  http::Connection* conn_ = nullptr;  // GUARDED_BY(mu_)
};

class RestClient {
 public:
  explicit RestClient(ClientConfig config);

  Result<bj::value> Get(const std::string& path);
  Result<bj::value> Post(const std::string& path, const bj::value& body);
  Result<bj::value> Put(const std::string& path, const bj::value& body);
  // content_type: application/merge-patch+json, application/strategic-merge-patch+json,
  // application/json-patch+json or application/apply-patch+yaml.
  Result<bj::value> Patch(const std::string& path, std::string_view content_type, const bj::value& body);
  Result<bj::value> Delete(const std::string& path, const bj::value* options = nullptr);
  // Any request; `path` may carry a query. 2xx answers are parsed as JSON,
  // or returned as a string when their Content-Type is not JSON.
  Result<bj::value> Do(std::string_view method, const std::string& path, std::string body = "",
                       std::string_view content_type = "application/json");

  // Streams the watch at `path` (which must carry watch=1 and any options),
  // calling on_event(type, object) for each event in order, until the server
  // ends the stream (OK), on_event returns false (OK), `handle` is stopped
  // (Cancelled) or the connection fails (an error). An ERROR event is
  // returned as its Status (410 Expired: relist).
  Status Watch(const std::string& path, const std::function<bool(std::string_view type, bj::object& obj)>& on_event,
               WatchHandle* handle = nullptr);

  // The configuration; its endpoint is the one in use now.
  ClientConfig config() const;
  // Later requests and watches present this client certificate (a renewed
  // one); connections open now finish with the old one.
  void SetClientCertificate(std::string cert_pem, std::string key_pem);

 private:
  http::Request NewRequest(std::string_view method, const std::string& path) const;

  ClientConfig config_;  // its endpoint is the first; pool_.endpoint() is the one in use
  http::Client pool_;
};

}  // namespace kubepp::client
