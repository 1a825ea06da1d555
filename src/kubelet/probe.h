// One probe (exec, httpGet, tcpSocket) of a container, run once, as the
// kubelet's prober does: success, or failure with upstream's message.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "kubelet/runtime/runtime.h"

namespace kubepp::kubelet {

struct ProbeResult {
  bool ok = false;
  std::string message;  // why it failed ("HTTP probe failed with statuscode: 500")
};

// `probe` is a Probe or LifecycleHandler object; `container` its container
// spec (for named ports); `pod_ip` where httpGet/tcpSocket connect unless
// the probe names a host.
ProbeResult RunProbe(const boost::json::object& probe, const boost::json::object& container, const std::string& pod_ip,
                     const std::string& container_id, runtime::RuntimeService* runtime, std::chrono::milliseconds timeout);

}  // namespace kubepp::kubelet
