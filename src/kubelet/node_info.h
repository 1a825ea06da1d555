// What the kubelet reports about its machine: capacity read from the
// system, allocatable after reservations, addresses and nodeInfo.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "kubelet/images/image_store.h"

namespace kubepp::kubelet {

struct MachineInfo {
  int cpus = 1;
  int64_t memory_bytes = 0;
  int64_t storage_bytes = 0;  // of the data directory's filesystem
  std::string machine_id, boot_id, kernel_version, os_image, runtime_version;
};

MachineInfo ReadMachineInfo(const std::string& data_dir, const std::string& runc);

// The IPv4 address of the default route's interface (else the first
// non-loopback one, else "127.0.0.1").
std::string DefaultNodeIp();

// status.capacity / allocatable / addresses / nodeInfo / images / daemonEndpoints
// (conditions are added by the caller).
boost::json::object NodeStatusBase(const MachineInfo& m, int max_pods, const std::string& node_ip,
                                   const std::string& hostname, int kubelet_port,
                                   const std::vector<images::Image>& images);

}  // namespace kubepp::kubelet
