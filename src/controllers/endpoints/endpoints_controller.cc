#include "controllers/endpoints/endpoints_controller.h"

#include <map>

#include "api/object.h"
#include "api/selector.h"
#include "controllers/controller_utils.h"

namespace kubepp::controllers {
namespace {

constexpr size_t kMaxEndpointsPerSlice = 100;
constexpr const char* kManagedBy = "endpointslice-controller.k8s.io";

// The container port a service port's targetPort means in `pod`.
std::optional<int64_t> ResolvePort(const bj::object& svc_port, const bj::object& pod) {
  const bj::value* tp = svc_port.if_contains("targetPort");
  if (tp == nullptr) return api::IntAt(svc_port, {"port"});
  if (tp->is_int64()) return tp->get_int64();
  if (!tp->is_string()) return std::nullopt;
  std::string_view want = tp->get_string();
  if (!want.empty() && std::isdigit(static_cast<unsigned char>(want[0]))) return std::strtoll(std::string(want).c_str(), nullptr, 10);
  std::string_view proto = api::StrAt(svc_port, {"protocol"}, "TCP");
  if (const auto* cs = api::ArrAt(pod, {"spec", "containers"})) {
    for (const auto& c : *cs) {
      if (const auto* ports = api::ArrAt(c.get_object(), {"ports"})) {
        for (const auto& p : *ports) {
          if (api::StrAt(p.get_object(), {"name"}) == want && api::StrAt(p.get_object(), {"protocol"}, "TCP") == proto) {
            return api::IntAt(p.get_object(), {"containerPort"});
          }
        }
      }
    }
  }
  return std::nullopt;
}

bool SameList(const bj::value* a, const bj::array& b) {
  if (a == nullptr) return b.empty();
  return a->is_array() && a->get_array() == b;
}

}  // namespace

EndpointsController::EndpointsController(client::RestClient* client) : QueueController("endpoints", 5), client_(client) {}

void EndpointsController::Init(InformerFactory* informers) {
  services_ = informers->For("", "v1", "services");
  pods_ = informers->For("", "v1", "pods");
  endpoints_ = informers->For("", "v1", "endpoints");
  slices_ = informers->For("discovery.k8s.io", "v1", "endpointslices");
  services_->AddEventHandler(EnqueueKeys(true));
  pods_->AddEventHandler({[this](const client::ObjectPtr& p) { EnqueueServicesFor(*p); },
                          [this](const client::ObjectPtr& a, const client::ObjectPtr& b) {
                            EnqueueServicesFor(*b);
                            if (api::ObjectLabels(*a) != api::ObjectLabels(*b)) EnqueueServicesFor(*a);
                          },
                          [this](const client::ObjectPtr& p) { EnqueueServicesFor(*p); }});
}

void EndpointsController::EnqueueServicesFor(const bj::object& pod) {
  for (const auto& s : services_->ByIndex("namespace", std::string(api::Namespace(pod)))) {
    if (MapSelectorMatches(api::ObjAt(*s, {"spec", "selector"}), pod)) queue().Add(client::KeyOf(*s));
  }
}

Status EndpointsController::Reconcile(const std::string& key) {
  client::ObjectPtr sp = services_->Get(key);
  std::string ns = key.substr(0, key.find('/')), name = key.substr(key.find('/') + 1);
  if (sp == nullptr) {
    // Service gone: its Endpoints go (slices follow through their owner reference).
    if (endpoints_->Get(key) != nullptr) {
      auto r = client_->Delete(client::ResourcePath("", "v1", "endpoints", ns, name));
      if (!r.ok() && !r.status().IsNotFound()) return r.status();
    }
    return Status::OK();
  }
  const bj::object& svc = *sp;
  const bj::object* selector = api::ObjAt(svc, {"spec", "selector"});
  if (selector == nullptr || selector->empty()) return Status::OK();  // endpoints managed by the user
  bool publish_not_ready = api::BoolAt(svc, {"spec", "publishNotReadyAddresses"});
  const bj::array* svc_ports = api::ArrAt(svc, {"spec", "ports"});
  // Group pods by their resolved ports.
  struct Group {
    bj::array ports, ready, not_ready, slice_endpoints;
  };
  std::map<std::string, Group> groups;
  for (const auto& p : pods_->ByIndex("namespace", ns)) {
    const bj::object& pod = *p;
    if (!MapSelectorMatches(selector, pod)) continue;
    std::string_view ip = api::StrAt(pod, {"status", "podIP"});
    std::string_view phase = api::StrAt(pod, {"status", "phase"});
    if (ip.empty() || phase == "Succeeded" || phase == "Failed") continue;
    // Terminating pods stay in slices (serving/terminating conditions) but
    // leave Endpoints unless the service publishes not-ready addresses.
    bool terminating = api::At(pod, {"metadata", "deletionTimestamp"}) != nullptr;
    bj::array ports;
    std::string gkey;
    if (svc_ports != nullptr) {
      for (const auto& sp2 : *svc_ports) {
        const bj::object& po = sp2.get_object();
        auto port = ResolvePort(po, pod);
        if (!port) continue;
        bj::object ep{{"port", *port}, {"protocol", api::StrAt(po, {"protocol"}, "TCP")}};
        if (!api::StrAt(po, {"name"}).empty()) ep["name"] = api::StrAt(po, {"name"});
        if (!api::StrAt(po, {"appProtocol"}).empty()) ep["appProtocol"] = api::StrAt(po, {"appProtocol"});
        gkey += bj::serialize(ep);
        ports.push_back(std::move(ep));
      }
    }
    Group& g = groups[gkey];
    g.ports = ports;
    bool ready = (IsPodReady(pod) && !terminating) || publish_not_ready;
    bj::object target{{"kind", "Pod"}, {"namespace", ns}, {"name", api::Name(pod)}, {"uid", api::Uid(pod)}};
    bj::object addr{{"ip", ip}, {"targetRef", target}};
    std::string_view node = api::StrAt(pod, {"spec", "nodeName"});
    if (!node.empty()) addr["nodeName"] = node;
    std::string_view hostname = api::StrAt(pod, {"spec", "hostname"});
    if (!hostname.empty() && api::StrAt(pod, {"spec", "subdomain"}) == name) addr["hostname"] = hostname;
    if (!terminating || publish_not_ready) (ready ? g.ready : g.not_ready).push_back(addr);
    bj::object se{{"addresses", bj::array{ip}},
                  {"conditions", bj::object{{"ready", ready}, {"serving", IsPodReady(pod) || publish_not_ready},
                                            {"terminating", terminating}}},
                  {"targetRef", target}};
    if (!node.empty()) se["nodeName"] = node;
    if (addr.contains("hostname")) se["hostname"] = addr["hostname"];
    g.slice_endpoints.push_back(std::move(se));
  }
  bj::array subsets;
  std::vector<std::pair<bj::array, bj::array>> slice_groups;
  for (auto& [k, g] : groups) {
    if (!g.ready.empty() || !g.not_ready.empty()) {
      bj::object subset;
      if (!g.ready.empty()) subset["addresses"] = g.ready;
      if (!g.not_ready.empty()) subset["notReadyAddresses"] = g.not_ready;
      if (!g.ports.empty()) subset["ports"] = g.ports;
      subsets.push_back(std::move(subset));
    }
    slice_groups.emplace_back(g.ports, g.slice_endpoints);
  }
  RETURN_IF_ERROR(SyncEndpoints(svc, subsets));
  return SyncSlices(svc, slice_groups);
}

Status EndpointsController::SyncEndpoints(const bj::object& svc, const bj::array& subsets) {
  std::string ns(api::Namespace(svc)), name(api::Name(svc));
  bj::object labels;
  if (const auto* l = api::ObjAt(svc, {"metadata", "labels"})) labels = *l;
  if (api::StrAt(svc, {"spec", "clusterIP"}) == "None") labels["service.kubernetes.io/headless"] = "";
  client::ObjectPtr cur = endpoints_->Get(ns + "/" + name);
  if (cur != nullptr && SameList(api::At(*cur, {"subsets"}), subsets) &&
      (api::ObjAt(*cur, {"metadata", "labels"}) ? *api::ObjAt(*cur, {"metadata", "labels"}) == labels : labels.empty())) {
    return Status::OK();
  }
  bj::object ep{{"apiVersion", "v1"},
                {"kind", "Endpoints"},
                {"metadata", bj::object{{"name", name}, {"namespace", ns}, {"labels", labels}}},
                {"subsets", subsets}};
  if (cur == nullptr) {
    auto r = client_->Post(client::ResourcePath("", "v1", "endpoints", ns), ep);
    if (r.ok() || r.status().IsAlreadyExists()) return r.ok() ? Status::OK() : Status::Conflict("endpoints exist; retry");
    return r.status();
  }
  api::Meta(ep)["resourceVersion"] = api::ResourceVersion(*cur);
  auto r = client_->Put(client::ResourcePath("", "v1", "endpoints", ns, name), ep);
  if (!r.ok() && !r.status().IsNotFound()) return r.status();
  return Status::OK();
}

Status EndpointsController::SyncSlices(const bj::object& svc, const std::vector<std::pair<bj::array, bj::array>>& groups) {
  std::string ns(api::Namespace(svc)), name(api::Name(svc));
  // Desired slices: per port group, chunks of at most 100 endpoints.
  std::vector<std::pair<bj::array, bj::array>> want;
  for (const auto& [ports, eps] : groups) {
    for (size_t i = 0; i < eps.size() || (i == 0 && eps.empty()); i += kMaxEndpointsPerSlice) {
      bj::array chunk;
      for (size_t j = i; j < eps.size() && j < i + kMaxEndpointsPerSlice; ++j) chunk.push_back(eps[j]);
      want.emplace_back(ports, std::move(chunk));
      if (eps.empty()) break;
    }
  }
  if (want.empty()) want.emplace_back(bj::array(), bj::array());  // an empty slice says "no endpoints"
  std::vector<client::ObjectPtr> have;
  for (const auto& s : slices_->ByIndex("namespace", ns)) {
    if (api::StrAt(*s, {"metadata", "labels", "kubernetes.io/service-name"}) == name &&
        api::StrAt(*s, {"metadata", "labels", "endpointslice.kubernetes.io/managed-by"}) == kManagedBy) {
      have.push_back(s);
    }
  }
  std::sort(have.begin(), have.end(), [](const client::ObjectPtr& a, const client::ObjectPtr& b) {
    return api::Name(*a) < api::Name(*b);
  });
  bj::object labels;
  if (const auto* l = api::ObjAt(svc, {"metadata", "labels"})) labels = *l;
  labels["kubernetes.io/service-name"] = name;
  labels["endpointslice.kubernetes.io/managed-by"] = kManagedBy;
  if (api::StrAt(svc, {"spec", "clusterIP"}) == "None") labels["service.kubernetes.io/headless"] = "";
  for (size_t i = 0; i < want.size(); ++i) {
    bj::object slice{{"apiVersion", "discovery.k8s.io/v1"},
                     {"kind", "EndpointSlice"},
                     {"metadata", bj::object{{"namespace", ns}, {"labels", labels},
                                             {"ownerReferences", bj::array{NewControllerRef(svc, "v1", "Service")}}}},
                     {"addressType", "IPv4"},
                     {"endpoints", want[i].second},
                     {"ports", want[i].first}};
    if (i < have.size()) {
      const bj::object& cur = *have[i];
      if (SameList(api::At(cur, {"endpoints"}), want[i].second) && SameList(api::At(cur, {"ports"}), want[i].first)) continue;
      api::Meta(slice)["name"] = api::Name(cur);
      api::Meta(slice)["resourceVersion"] = api::ResourceVersion(cur);
      auto r = client_->Put(client::ResourcePath("discovery.k8s.io", "v1", "endpointslices", ns, std::string(api::Name(cur))),
                            slice);
      if (!r.ok() && !r.status().IsNotFound()) return r.status();
    } else {
      api::Meta(slice)["generateName"] = name + "-";
      auto r = client_->Post(client::ResourcePath("discovery.k8s.io", "v1", "endpointslices", ns), slice);
      if (!r.ok()) return r.status();
    }
  }
  for (size_t i = want.size(); i < have.size(); ++i) {
    auto r = client_->Delete(client::ResourcePath("discovery.k8s.io", "v1", "endpointslices", ns, std::string(api::Name(*have[i]))));
    if (!r.ok() && !r.status().IsNotFound()) return r.status();
  }
  return Status::OK();
}

}  // namespace kubepp::controllers
