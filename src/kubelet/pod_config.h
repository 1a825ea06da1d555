// What the kubelet computes from a pod before its containers run: the
// environment of each container (env, envFrom, $(VAR) references) and the
// pod's volumes on disk (emptyDir, hostPath, configMap, secret,
// downwardAPI, projected), with upstream's error texts.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace kubepp::kubelet {

namespace bj = boost::json;

// Reads an object of the pod's namespace: ("configmaps" | "secrets", name).
using ObjectGetter = std::function<Result<bj::object>(const std::string& resource, const std::string& name)>;
// Issues a service account token for a projected volume source.
using TokenIssuer = std::function<Result<std::string>(const std::string& service_account, const std::string& audience,
                                                       int64_t expiration_seconds)>;

// $(VAR) expands from `env` (unknown references stay as written), $$ is a $.
std::string ExpandVars(std::string_view s, const std::map<std::string, std::string>& env);

struct PodFacts {
  std::string pod_ip, host_ip, node_name;
};

// The container's environment in order. CreateContainerConfigError's
// message when a referenced configmap/secret or key is missing (and not
// optional).
Result<std::vector<std::pair<std::string, std::string>>> ContainerEnv(const bj::object& pod, const bj::object& container,
                                                                       const PodFacts& facts, const ObjectGetter& get);

// Value of a downward API field path ("metadata.name", "metadata.labels['a']", ...).
Result<std::string> FieldValue(const bj::object& pod, std::string_view path, const PodFacts& facts);
// Value of a resourceFieldRef ("limits.cpu", divisor) for a container.
Result<std::string> ResourceValue(const bj::object& pod, const bj::object& ref, const std::string& container_name);

// Sets up (or refreshes: configMap/secret/downwardAPI contents follow their
// sources, swapped atomically through a `..data` symlink as upstream) every
// volume of the pod under `pod_dir`. Returns volume name -> host path.
Result<std::map<std::string, std::string>> SetUpVolumes(const bj::object& pod, const std::string& pod_dir,
                                                        const PodFacts& facts, const ObjectGetter& get,
                                                        const TokenIssuer& token);
// Unmounts and removes what SetUpVolumes made.
Status TearDownVolumes(const std::string& pod_dir);

// Writes `files` (relative path -> content, mode) into `dir` as one atomic
// change: a new timestamped directory, `..data` repointed, top-level
// symlinks for each entry.
Status AtomicWriteDir(const std::string& dir, const std::map<std::string, std::pair<std::string, int>>& files);

}  // namespace kubepp::kubelet
