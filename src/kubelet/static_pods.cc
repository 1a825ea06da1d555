// Static pods: pod manifests in a directory on the node (upstream's
// staticPodPath), run without the scheduler. The kubelet turns each into a
// mirror pod in the API, named <name>-<node>, bound to this node, owned by
// the Node and annotated as upstream does (kubernetes.io/config.source:
// file, config.hash and config.mirror: a hash of the manifest); the pod
// workers then run it like any pod bound here. A changed manifest replaces
// its mirror pod; a removed one deletes it (and so stops its containers); a
// mirror pod deleted through the API comes back.
#include <algorithm>
#include <set>

#include "api/object.h"
#include "api/time.h"
#include "api/yaml.h"
#include "common/file.h"
#include "common/log.h"
#include "common/sha256.h"
#include "kubelet/kubelet.h"
#include "kubelet/kubelet_util.h"

namespace kubepp::kubelet {
namespace {

namespace bj = boost::json;

constexpr const char* kConfigSource = "kubernetes.io/config.source";
constexpr const char* kConfigHash = "kubernetes.io/config.hash";
constexpr const char* kConfigMirror = "kubernetes.io/config.mirror";
constexpr const char* kConfigSeen = "kubernetes.io/config.seen";

}  // namespace

std::map<std::string, bj::object> Kubelet::ReadStaticPods() {
  std::map<std::string, bj::object> out;  // by namespace/name of the mirror pod
  auto files = ListDir(options_.static_pod_path);
  if (!files.ok()) return out;
  std::sort(files->begin(), files->end());
  for (const auto& f : *files) {
    if (f.starts_with(".") || !(f.ends_with(".yaml") || f.ends_with(".yml") || f.ends_with(".json"))) continue;
    std::string path = JoinPath(options_.static_pod_path, f);
    auto text = ReadFile(path);
    if (!text.ok()) continue;
    auto v = api::YamlToJson(*text);
    if (!v.ok() || !v->is_object() || api::StrAt(v->get_object(), {"kind"}) != "Pod" ||
        api::StrAt(v->get_object(), {"metadata", "name"}).empty()) {
      KubeletLog().Warning("static pod manifest is not a pod", {{"file", path}});
      continue;
    }
    bj::object pod = std::move(v->get_object());
    std::string hash = Sha256Digest(*text + "\n" + options_.node_name).substr(7, 32);
    auto& meta = pod["metadata"].as_object();
    std::string name = std::string(api::StrAt(pod, {"metadata", "name"})) + "-" + options_.node_name;
    std::string ns(api::StrAt(pod, {"metadata", "namespace"}, "default"));
    meta["name"] = name;
    meta["namespace"] = ns;
    meta.erase("uid");
    meta.erase("resourceVersion");
    bj::object& ann = meta["annotations"].is_object() ? meta["annotations"].as_object()
                                                      : (meta["annotations"] = bj::object()).as_object();
    ann[kConfigSource] = "file";
    ann[kConfigHash] = hash;
    ann[kConfigMirror] = hash;
    ann[kConfigSeen] = api::FormatTime(std::chrono::system_clock::now());
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!node_uid_.empty()) {
        meta["ownerReferences"] = bj::array{bj::object{{"apiVersion", "v1"},
                                                       {"kind", "Node"},
                                                       {"name", options_.node_name},
                                                       {"uid", node_uid_},
                                                       {"controller", true}}};
      }
    }
    bj::object& spec = pod["spec"].is_object() ? pod["spec"].as_object() : (pod["spec"] = bj::object()).as_object();
    spec["nodeName"] = options_.node_name;
    // As upstream: a static pod tolerates every NoExecute taint (it is not
    // evicted from its own node).
    bj::array tol = spec["tolerations"].is_array() ? spec["tolerations"].as_array() : bj::array();
    tol.push_back(bj::object{{"operator", "Exists"}, {"effect", "NoExecute"}});
    spec["tolerations"] = std::move(tol);
    pod.erase("status");
    out[ns + "/" + name] = std::move(pod);
  }
  return out;
}

void Kubelet::SyncStaticPods() {
  auto want = ReadStaticPods();
  // Mirror pods of this node in the API now.
  std::map<std::string, client::ObjectPtr> have;
  for (const auto& p : pods_->List()) {
    if (!api::StrAt(*p, {"metadata", "annotations", kConfigMirror}).empty()) have[client::KeyOf(*p)] = p;
  }
  for (auto& [key, pod] : want) {
    std::string ns(api::StrAt(pod, {"metadata", "namespace"})), name(api::StrAt(pod, {"metadata", "name"}));
    std::string path = client::ResourcePath("", "v1", "pods", ns, "");
    auto it = have.find(key);
    if (it != have.end()) {
      std::string_view current = api::StrAt(*it->second, {"metadata", "annotations", kConfigHash});
      bool deleting = !api::StrAt(*it->second, {"metadata", "deletionTimestamp"}).empty();
      if (current == api::StrAt(pod, {"metadata", "annotations", kConfigHash}) || deleting) continue;
      // The manifest changed: the old pod goes (its containers stop), the
      // new one is created once it is gone.
      KubeletLog().Info("static pod manifest changed", {{"pod", key}});
      (void)client_->Delete(client::ResourcePath("", "v1", "pods", ns, name));
      continue;
    }
    auto r = client_->Post(path, pod);
    if (r.ok()) {
      KubeletLog().Info("mirror pod created", {{"pod", key}});
    } else if (!r.status().IsAlreadyExists()) {
      KubeletLog().Warning("mirror pod", {{"pod", key}, {"err", r.status().ToString()}});
    }
  }
  // Mirror pods whose manifest is gone.
  for (const auto& [key, p] : have) {
    if (want.count(key) != 0 || !api::StrAt(*p, {"metadata", "deletionTimestamp"}).empty()) continue;
    KubeletLog().Info("static pod manifest removed", {{"pod", key}});
    (void)client_->Delete(client::ResourcePath("", "v1", "pods", std::string(api::Namespace(*p)), std::string(api::Name(*p))));
  }
}

void Kubelet::StaticPodLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_.load()) {
    l.unlock();
    SyncStaticPods();
    l.lock();
    cv_.wait_for(l, options_.static_pod_check, [this] { return stopping_.load(); });
  }
}

}  // namespace kubepp::kubelet
