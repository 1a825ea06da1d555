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

// What the eviction manager and the Summary API read of the node now:
// /proc/meminfo (bytes), process counts, and a filesystem's space.
struct NodeUsage {
  uint64_t mem_total = 0, mem_free = 0, mem_available = 0, mem_buffers = 0, mem_cached = 0;
  uint64_t processes = 0, pid_max = 0;
};
NodeUsage ReadNodeUsage();
struct FsUsage {
  uint64_t capacity = 0, available = 0, used = 0, inodes = 0, inodes_free = 0;
};
FsUsage ReadFsUsage(const std::string& path);

// The IPv4 address of the default route's interface (else the first
// non-loopback one, else "127.0.0.1").
std::string DefaultNodeIp();

// status.capacity / allocatable / addresses / nodeInfo / images / daemonEndpoints
// (conditions are added by the caller).
boost::json::object NodeStatusBase(const MachineInfo& m, int max_pods, const std::string& node_ip,
                                   const std::string& hostname, int kubelet_port,
                                   const std::vector<images::Image>& images);

}  // namespace kubepp::kubelet
