// Pieces kubelet.cc shares with the files beside it (kubelet_stream.cc).
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>

namespace kubepp::apiserver::http {
class Exchange;
}  // namespace kubepp::apiserver::http

namespace kubepp::log {
class Logger;
}  // namespace kubepp::log

namespace kubepp::kubelet {

// The kubelet's logger (component "kubelet").
const log::Logger& KubeletLog();

// The runtime labels the kubelet puts on sandboxes and containers.
inline constexpr const char* kPodUidLabel = "io.kubernetes.pod.uid";

// Answers a kubelet API request with a Status of `code` and `reason`.
void RespondStatus(const std::shared_ptr<apiserver::http::Exchange>& ex, int code, const std::string& reason,
                   const std::string& message);

// The pod's container or init container named `name` (null if none);
// *init tells which, if given.
const boost::json::object* ContainerSpec(const boost::json::object& pod, const std::string& name, bool* init);

}  // namespace kubepp::kubelet
