// The OCI runtime spec (config.json) for one container of a pod: the
// process from the pod spec over the image config, the sandbox's shared
// namespaces, the standard mounts plus the pod's, cgroup resources and the
// security context (containerd's defaults where the pod says nothing).
#pragma once

#include <boost/json.hpp>
#include <string>

#include "common/status.h"
#include "kubelet/images/image_store.h"
#include "kubelet/runtime/runtime.h"

namespace kubepp::kubelet::runtime::runc {

struct SpecInput {
  const ContainerConfig* container = nullptr;
  const images::ImageConfig* image = nullptr;
  std::string rootfs;        // the mounted overlay (for /etc/passwd lookups)
  std::string hostname;
  std::string netns, ipcns, utsns;  // namespace paths; empty: the host's
  std::string hosts_file, resolv_file, hostname_file;  // bind-mounted into /etc
  std::string cgroups_path;  // "/kubepods/pod<uid>/<id>"
};

// The process args: command replaces the entrypoint, args replace cmd.
std::vector<std::string> ProcessArgs(const ContainerConfig& c, const images::ImageConfig& image);

// BadRequest with the runtime's message when the container cannot be
// specified (no command at all, an unknown user name).
Result<boost::json::object> BuildSpec(const SpecInput& in);

}  // namespace kubepp::kubelet::runtime::runc
