// Pod subresources served by the pod's kubelet: pods/log is proxied to the
// kubelet API (https://<node InternalIP>:<kubeletEndpoint port>) with the API
// server's kubelet client certificate, streaming the body back.
#include <boost/json.hpp>

#include "api/object.h"
#include "apiserver/apiserver.h"
#include "apiserver/handler.h"
#include "apiserver/registry/store.h"
#include "common/http_client.h"
#include "common/json.h"

namespace kubepp::apiserver {
namespace {

namespace bj = boost::json;

std::vector<std::string> ContainerNames(const bj::object& pod, const char* list) {
  std::vector<std::string> out;
  if (const auto* cs = api::ArrAt(pod, {"spec", list})) {
    for (const auto& c : *cs) {
      if (c.is_object()) out.emplace_back(api::StrAt(c.get_object(), {"name"}));
    }
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

}  // namespace

void Handler::ServePodLog(Ctx& c) {
  if (c.info.verb != "get") return RespondStatus(c.ex, api::NewMethodNotSupported(c.def->GR(), c.info.verb));
  auto pod = server_->registry_store_->Get(*c.def, c.info.ns, c.info.name);
  if (!pod.ok()) return RespondStatus(c.ex, pod.status());
  const bj::object& p = *pod;
  std::string container = c.query.Get("container");
  auto app = ContainerNames(p, "containers"), init = ContainerNames(p, "initContainers");
  if (container.empty()) {
    if (app.size() == 1) {
      container = app.front();
    } else {
      std::string msg = "a container name must be specified for pod " + c.info.name + ", choose one of: [" + Join(app) + "]";
      if (!init.empty()) msg += " or one of the init containers: [" + Join(init) + "]";
      return RespondStatus(c.ex, Status::BadRequest(msg));
    }
  } else if (std::find(app.begin(), app.end(), container) == app.end() &&
             std::find(init.begin(), init.end(), container) == init.end()) {
    return RespondStatus(c.ex, Status::BadRequest("container " + container + " is not valid for pod " + c.info.name));
  }
  for (const char* k : {"tailLines", "limitBytes", "sinceSeconds"}) {
    std::string v = c.query.Get(k);
    if (!v.empty() && (v.find_first_not_of("0123456789") != std::string::npos)) {
      return RespondStatus(c.ex, Status::BadRequest(std::string(k) + ": Invalid value: \"" + v + "\": must be a non-negative integer"));
    }
  }
  std::string node(api::StrAt(p, {"spec", "nodeName"}));
  if (node.empty()) return RespondStatus(c.ex, Status::BadRequest("pod " + c.info.name + " does not have a host assigned"));
  auto n = server_->registry_store_->Get(*server_->registry_.Find("", "v1", "nodes"), "", node);
  if (!n.ok()) return RespondStatus(c.ex, n.status());
  std::string address;
  if (const auto* addrs = api::ArrAt(*n, {"status", "addresses"})) {
    for (const auto& a : *addrs) {
      if (a.is_object() && api::StrAt(a.get_object(), {"type"}) == "InternalIP") {
        address = std::string(api::StrAt(a.get_object(), {"address"}));
        break;
      }
    }
  }
  int64_t port = api::IntAt(*n, {"status", "daemonEndpoints", "kubeletEndpoint", "Port"}).value_or(0);
  if (address.empty() || port <= 0) {
    return RespondStatus(c.ex, Status::Unavailable("no kubelet is reachable for node " + node));
  }
  std::string target = "/containerLogs/" + c.info.ns + "/" + c.info.name + "/" + container;
  std::string q;
  for (const char* k : {"follow", "previous", "timestamps", "tailLines", "limitBytes", "sinceSeconds", "sinceTime"}) {
    if (!c.query.Has(k)) continue;
    q += (q.empty() ? "?" : "&") + std::string(k) + "=" + QueryEscape(c.query.Get(k));
  }
  kubepp::http::Endpoint ep;
  ep.host = address;
  ep.port = static_cast<int>(port);
  ep.tls = true;
  ep.tls_config = server_->kubelet_tls_;
  auto conn = kubepp::http::Connection::Open(ep, std::chrono::seconds(10));
  if (!conn.ok()) {
    return RespondStatus(c.ex, Status::Internal("Get \"https://" + address + ":" + std::to_string(port) + target +
                                                "\": " + conn.status().message()));
  }
  std::shared_ptr<kubepp::http::Connection> kc(std::move(*conn));
  kubepp::http::Request req;
  req.method = "GET";
  req.target = target + q;
  req.headers = {{"Host", address + ":" + std::to_string(port)}};
  auto code = kc->StartStream(req);
  if (!code.ok()) return RespondStatus(c.ex, Status::Internal("kubelet: " + code.status().message()));
  if (*code != 200) {
    std::string body, piece;
    for (;;) {
      piece.clear();
      auto more = kc->ReadStream(&piece);
      if (!more.ok()) break;
      body += piece;
      if (!*more) break;
    }
    // The kubelet answers with a Status: pass it on.
    return Respond(c.ex, *code, body);
  }
  auto stream = c.ex->StartStream(200, {{"Content-Type", "text/plain"}});
  stream->OnClose([kc] { kc->Shutdown(); });
  for (;;) {
    std::string piece;
    auto more = kc->ReadStream(&piece);
    if (!more.ok()) break;
    if (!piece.empty() && !stream->Write(std::move(piece))) break;
    if (!*more) break;
  }
  stream->Finish();
}

}  // namespace kubepp::apiserver
