// Pod subresources served by the pod's kubelet, reached at
// https://<node InternalIP>:<kubeletEndpoint port> with the API server's
// kubelet client certificate: pods/log streams the body back; exec, attach
// and portforward join the upgraded connections.
#include <boost/json.hpp>
#include <thread>

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

// Resolves the container a pods/log, exec or attach request names (or the
// pod's only container); BadRequest with upstream's wording otherwise.
Result<std::string> PickContainer(const bj::object& p, const std::string& pod_name, std::string container) {
  auto app = ContainerNames(p, "containers"), init = ContainerNames(p, "initContainers");
  if (container.empty()) {
    if (app.size() == 1) return app.front();
    std::string msg = "a container name must be specified for pod " + pod_name + ", choose one of: [" + Join(app) + "]";
    if (!init.empty()) msg += " or one of the init containers: [" + Join(init) + "]";
    return Status::BadRequest(msg);
  }
  if (std::find(app.begin(), app.end(), container) == app.end() &&
      std::find(init.begin(), init.end(), container) == init.end()) {
    return Status::BadRequest("container " + container + " is not valid for pod " + pod_name);
  }
  return container;
}

}  // namespace

Result<kubepp::http::Endpoint> Handler::KubeletEndpoint(const bj::object& pod, const std::string& pod_name) {
  std::string node(api::StrAt(pod, {"spec", "nodeName"}));
  if (node.empty()) return Status::BadRequest("pod " + pod_name + " does not have a host assigned");
  return NodeKubelet(node);
}

Result<kubepp::http::Endpoint> Handler::NodeKubelet(const std::string& node) {
  auto n = server_->registry_store_->Get(*server_->registry_.Find("", "v1", "nodes"), "", node);
  if (!n.ok()) return n.status();
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
  if (address.empty() || port <= 0) return Status::Unavailable("no kubelet is reachable for node " + node);
  kubepp::http::Endpoint ep;
  ep.host = address;
  ep.port = static_cast<int>(port);
  ep.tls = true;
  ep.tls_config = server_->kubelet_tls_;
  return ep;
}

void Handler::ServePodLog(Ctx& c) {
  if (c.info.verb != "get") return RespondStatus(c.ex, api::NewMethodNotSupported(c.def->GR(), c.info.verb));
  auto pod = server_->registry_store_->Get(*c.def, c.info.ns, c.info.name);
  if (!pod.ok()) return RespondStatus(c.ex, pod.status());
  const bj::object& p = *pod;
  auto container = PickContainer(p, c.info.name, c.query.Get("container"));
  if (!container.ok()) return RespondStatus(c.ex, container.status());
  for (const char* k : {"tailLines", "limitBytes", "sinceSeconds"}) {
    std::string v = c.query.Get(k);
    if (!v.empty() && (v.find_first_not_of("0123456789") != std::string::npos)) {
      return RespondStatus(c.ex, Status::BadRequest(std::string(k) + ": Invalid value: \"" + v + "\": must be a non-negative integer"));
    }
  }
  auto ep = KubeletEndpoint(p, c.info.name);
  if (!ep.ok()) return RespondStatus(c.ex, ep.status());
  std::string target = "/containerLogs/" + c.info.ns + "/" + c.info.name + "/" + *container;
  std::string q;
  for (const char* k : {"follow", "previous", "timestamps", "tailLines", "limitBytes", "sinceSeconds", "sinceTime"}) {
    if (!c.query.Has(k)) continue;
    q += (q.empty() ? "?" : "&") + std::string(k) + "=" + QueryEscape(c.query.Get(k));
  }
  std::string hostport = ep->ToString();
  auto conn = kubepp::http::Connection::Open(*ep, std::chrono::seconds(10));
  if (!conn.ok()) {
    return RespondStatus(c.ex, Status::Internal("Get \"https://" + hostport + target + "\": " + conn.status().message()));
  }
  std::shared_ptr<kubepp::http::Connection> kc(std::move(*conn));
  kubepp::http::Request req;
  req.method = "GET";
  req.target = target + q;
  req.headers = {{"Host", hostport}};
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

// pods/exec, pods/attach and pods/portforward: the upgrade request is sent
// on to the pod's kubelet, and once it answers 101 the two connections are
// joined byte for byte (whatever protocol was negotiated: WebSocket
// channels, SPDY, SPDY in WebSocket), as upstream's upgrade-aware proxy does.
void Handler::ServePodStream(Ctx& c) {
  const std::string& sub = c.info.subresource;
  if (c.info.verb != "get" && c.info.verb != "create") {
    return RespondStatus(c.ex, api::NewMethodNotSupported(c.def->GR(), c.info.verb));
  }
  auto pod = server_->registry_store_->Get(*c.def, c.info.ns, c.info.name);
  if (!pod.ok()) return RespondStatus(c.ex, pod.status());
  const bj::object& p = *pod;
  std::string target;
  if (sub == "portforward") {
    target = "/portForward/" + c.info.ns + "/" + c.info.name;
  } else {
    auto container = PickContainer(p, c.info.name, c.query.Get("container"));
    if (!container.ok()) return RespondStatus(c.ex, container.status());
    std::string_view phase = api::StrAt(p, {"status", "phase"});
    if (phase == "Succeeded" || phase == "Failed") {
      return RespondStatus(c.ex, Status::BadRequest(std::string(sub == "exec" ? "cannot exec into" : "cannot attach to") +
                                                    " a container in a completed pod; current phase is " +
                                                    std::string(phase)));
    }
    if (sub == "exec" && c.query.GetAll("command").empty()) {
      return RespondStatus(c.ex, Status::BadRequest("you must specify at least 1 command"));
    }
    target = "/" + sub + "/" + c.info.ns + "/" + c.info.name + "/" + *container;
  }
  if (c.req->Header("upgrade").empty()) return RespondStatus(c.ex, Status::BadRequest("Upgrade request required"));
  auto ep = KubeletEndpoint(p, c.info.name);
  if (!ep.ok()) return RespondStatus(c.ex, ep.status());
  if (!c.req->query.empty()) target += "?" + c.req->query;
  kubepp::http::Request req;
  req.method = c.req->method;
  req.target = target;
  for (const auto& [k, v] : c.req->headers) {
    if (k == "upgrade" || k == "connection" || k.starts_with("sec-websocket-") || k == "x-stream-protocol-version") {
      req.headers.push_back({k, v});
    }
  }
  auto up = kubepp::http::Upgrade(*ep, req, std::chrono::seconds(10));
  if (!up.ok()) {
    return RespondStatus(c.ex, Status::Internal("error dialing backend: " + up.status().message()));
  }
  if (up->stream == nullptr) {
    std::string ctype(up->response.GetHeader("Content-Type"));
    return Respond(c.ex, up->response.status, std::move(up->response.body), ctype.empty() ? "text/plain" : ctype);
  }
  auto client = c.ex->Hijack();
  if (client == nullptr) return;
  std::string head = "HTTP/1.1 101 Switching Protocols\r\n";
  for (const auto& h : up->response.headers) head += h.name + ": " + h.value + "\r\n";
  head += "\r\n";
  if (!client->Write(head)) return up->stream->Close();
  std::shared_ptr<ByteStream> kubelet = up->stream;
  // Each direction on a thread of its own (not a request worker's: sessions
  // last as long as the user's shell); either side ending closes both.
  auto pump = [](std::shared_ptr<ByteStream> from, std::shared_ptr<ByteStream> to) {
    for (;;) {
      std::string b = from->Read();
      if (b.empty() || !to->Write(b)) break;
    }
    from->Close();
    to->Close();
  };
  std::thread(pump, client, kubelet).detach();
  std::thread(pump, kubelet, client).detach();
}

// nodes/proxy: a GET of the node's kubelet API (/stats/summary, /pods,
// /healthz), answered as the kubelet answers.
void Handler::ServeNodeProxy(Ctx& c) {
  if (c.info.verb != "get") return RespondStatus(c.ex, api::NewMethodNotSupported(c.def->GR(), c.info.verb));
  auto ep = NodeKubelet(c.info.name);
  if (!ep.ok()) return RespondStatus(c.ex, ep.status());
  std::string target;
  for (const auto& part : c.info.rest) target += "/" + part;
  if (target.empty()) target = "/";
  if (!c.req->query.empty()) target += "?" + c.req->query;
  auto conn = kubepp::http::Connection::Open(*ep, std::chrono::seconds(10));
  if (!conn.ok()) return RespondStatus(c.ex, Status::Internal("error dialing backend: " + conn.status().message()));
  kubepp::http::Request req;
  req.target = target;
  req.headers = {{"Host", ep->ToString()}};
  auto r = (*conn)->RoundTrip(req);
  if (!r.ok()) return RespondStatus(c.ex, Status::Internal("error trying to reach the kubelet: " + r.status().message()));
  std::string ctype(r->GetHeader("Content-Type"));
  Respond(c.ex, r->status, std::move(r->body), ctype.empty() ? "text/plain" : ctype);
}

}  // namespace kubepp::apiserver
