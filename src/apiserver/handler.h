// Serves one HTTP request of the API: routing, authentication and
// authorization, content negotiation, decoding and the verbs, over the
// registry store. Watches stream from the watch cache; a timer thread ends
// them at their timeout and sends bookmarks.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "apiserver/http/server.h"
#include "apiserver/registry/resource.h"
#include "apiserver/registry/store.h"
#include "apiserver/request.h"
#include "common/http_client.h"

namespace kubepp::apiserver {

class ApiServer;

// Warning headers ("299 - ...") for the given messages.
http::Headers WarningHeaders(const std::vector<std::string>& warnings);

class Handler {
 public:
  explicit Handler(ApiServer* server) : server_(server) {}
  void Handle(const std::shared_ptr<http::Exchange>& ex);
  // Creates of stored resources complete asynchronously when storage can:
  // those run on the I/O thread without blocking it.
  bool RunsInline(const http::Request& req) const;
  // Ends watches whose time is up and sends due bookmarks; called every second.
  void Tick();
  // Ends every watch (shutdown).
  void CloseAll();

 private:
  struct Ctx {
    std::shared_ptr<http::Exchange> ex;
    const http::Request* req = nullptr;
    RequestInfo info;
    Query query;
    UserInfo user;
    const ResourceDef* def = nullptr;
    std::string table_version;
  };
  void Respond(const std::shared_ptr<http::Exchange>& ex, int code, std::string body,
               std::string content_type = "application/json", http::Headers extra = {});
  void RespondStatus(const std::shared_ptr<http::Exchange>& ex, const Status& st);
  void ServeResource(Ctx& c);
  void ServeGet(Ctx& c);
  void ServePodLog(Ctx& c);     // handler_node.cc
  void ServePodStream(Ctx& c);  // handler_node.cc: exec, attach, portforward
  void ServeNodeProxy(Ctx& c);  // handler_node.cc: nodes/proxy
  Result<kubepp::http::Endpoint> KubeletEndpoint(const boost::json::object& pod, const std::string& pod_name);
  Result<kubepp::http::Endpoint> NodeKubelet(const std::string& node);
  void ServeList(Ctx& c);
  void ServeWatch(Ctx& c);
  void ServeCreate(Ctx& c);
  void ServeUpdate(Ctx& c);
  void ServePatch(Ctx& c);
  void ServeDelete(Ctx& c);
  void ServeDeleteCollection(Ctx& c);
  void ServeScale(Ctx& c);
  void ServeBinding(Ctx& c, const std::string& pod_name);
  void ServeEviction(Ctx& c);
  void ServeVirtualCreate(Ctx& c);
  void ServeTokenRequest(Ctx& c);
  Result<bj::object> DecodeBody(Ctx& c, const ResourceDef& def, std::vector<std::string>* warnings);
  Status FinishDecode(Ctx& c, const ResourceDef& def, bj::value& v, std::vector<std::string>* warnings);
  std::string ObjectResponse(Ctx& c, const ResourceDef& def, const bj::object& obj);

  struct ActiveWatch {
    class ResourceCache* cache;
    uint64_t id;
    std::shared_ptr<http::Stream> stream;
    std::chrono::steady_clock::time_point deadline;
    bool bookmarks;
    std::chrono::steady_clock::time_point next_bookmark;
  };

  ApiServer* server_;
  std::mutex watches_mu_;
  std::map<uint64_t, ActiveWatch> watches_;  // GUARDED_BY(watches_mu_), by a handler-wide id
  uint64_t next_watch_ = 1;
};

}  // namespace kubepp::apiserver
