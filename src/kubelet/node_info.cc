#include "kubelet/node_info.h"

#include <cstdlib>

#include <cstring>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sched.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <algorithm>

#include "common/file.h"
#include "common/process.h"

namespace kubepp::kubelet {
namespace {

namespace bj = boost::json;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Memory reserved from allocatable: upstream's default hard eviction threshold.
constexpr int64_t kEvictionHardMemory = 100LL << 20;

}  // namespace

MachineInfo ReadMachineInfo(const std::string& data_dir, const std::string& runc) {
  MachineInfo m;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) m.cpus = CPU_COUNT(&set);
  if (auto mem = ReadFile("/proc/meminfo"); mem.ok()) {
    size_t p = mem->find("MemTotal:");
    if (p != std::string::npos) m.memory_bytes = std::atoll(mem->c_str() + p + 9) * 1024;
  }
  struct statvfs vfs {};
  if (::statvfs(data_dir.c_str(), &vfs) == 0) m.storage_bytes = static_cast<int64_t>(vfs.f_blocks) * vfs.f_frsize;
  if (auto id = ReadFile("/etc/machine-id"); id.ok()) m.machine_id = Trim(*id);
  if (auto id = ReadFile("/proc/sys/kernel/random/boot_id"); id.ok()) m.boot_id = Trim(*id);
  struct utsname u {};
  if (::uname(&u) == 0) m.kernel_version = u.release;
  m.os_image = "Linux";
  if (auto os = ReadFile("/etc/os-release"); os.ok()) {
    size_t p = os->find("PRETTY_NAME=");
    if (p != std::string::npos) {
      std::string v = os->substr(p + 12, os->find('\n', p) - p - 12);
      v.erase(std::remove(v.begin(), v.end(), '"'), v.end());
      m.os_image = v;
    }
  }
  m.runtime_version = "runc://unknown";
  if (auto r = RunCommand({runc, "--version"}, {}, "", std::chrono::seconds(5)); r.ok() && r->exit_code == 0) {
    // "runc version 1.1.5+ds1\n..."
    std::string first = r->out.substr(0, r->out.find('\n'));
    size_t sp = first.rfind(' ');
    if (sp != std::string::npos) m.runtime_version = "runc://" + first.substr(sp + 1);
  }
  return m;
}

std::string DefaultNodeIp() {
  // The address of the default route's interface, as upstream's kubelet
  // picks it (pod bridges and veths never carry the default route).
  std::string route_iface;
  if (auto routes = ReadFile("/proc/net/route"); routes.ok()) {
    size_t i = routes->find('\n');  // header
    while (i != std::string::npos && i + 1 < routes->size()) {
      size_t j = routes->find('\n', i + 1);
      std::string line = routes->substr(i + 1, j == std::string::npos ? std::string::npos : j - i - 1);
      size_t tab = line.find('\t');
      if (tab != std::string::npos && line.compare(tab + 1, 8, "00000000") == 0) {
        route_iface = line.substr(0, tab);
        break;
      }
      i = j;
    }
  }
  ifaddrs* addrs = nullptr;
  std::string first, chosen;
  if (::getifaddrs(&addrs) != 0) return "127.0.0.1";
  for (ifaddrs* a = addrs; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    if ((a->ifa_flags & IFF_LOOPBACK) || !(a->ifa_flags & IFF_UP)) continue;
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof buf);
    if (first.empty()) first = buf;
    if (a->ifa_name == route_iface) {
      chosen = buf;
      break;
    }
  }
  ::freeifaddrs(addrs);
  if (!chosen.empty()) return chosen;
  return first.empty() ? "127.0.0.1" : first;
}

bj::object NodeStatusBase(const MachineInfo& m, int max_pods, const std::string& node_ip, const std::string& hostname,
                          int kubelet_port, const std::vector<images::Image>& images) {
  auto ki = [](int64_t bytes) { return std::to_string(bytes / 1024) + "Ki"; };
  bj::object capacity{{"cpu", std::to_string(m.cpus)},
                      {"memory", ki(m.memory_bytes)},
                      {"ephemeral-storage", ki(m.storage_bytes)},
                      {"hugepages-1Gi", "0"},
                      {"hugepages-2Mi", "0"},
                      {"pods", std::to_string(max_pods)}};
  bj::object allocatable = capacity;
  allocatable["memory"] = ki(std::max<int64_t>(0, m.memory_bytes - kEvictionHardMemory));
  // (10% of the disk is upstream's nodefs.available eviction threshold.)
  allocatable["ephemeral-storage"] = std::to_string(m.storage_bytes / 10 * 9);
  bj::array imgs;
  for (const auto& im : images) {
    bj::array names;
    for (const auto& d : im.repo_digests) names.emplace_back(d);
    for (const auto& t : im.repo_tags) names.emplace_back(t);
    if (names.empty()) names.emplace_back(im.id);
    imgs.push_back(bj::object{{"names", std::move(names)}, {"sizeBytes", im.size}});
  }
  return bj::object{
      {"capacity", std::move(capacity)},
      {"allocatable", std::move(allocatable)},
      {"addresses", bj::array{bj::object{{"type", "InternalIP"}, {"address", node_ip}},
                              bj::object{{"type", "Hostname"}, {"address", hostname}}}},
      {"daemonEndpoints", bj::object{{"kubeletEndpoint", bj::object{{"Port", kubelet_port}}}}},
      {"nodeInfo", bj::object{{"machineID", m.machine_id},
                              {"systemUUID", m.machine_id},
                              {"bootID", m.boot_id},
                              {"kernelVersion", m.kernel_version},
                              {"osImage", m.os_image},
                              {"containerRuntimeVersion", m.runtime_version},
                              {"kubeletVersion", "v1.32.4"},
                              {"kubeProxyVersion", "v1.32.4"},
                              {"operatingSystem", "linux"},
                              {"architecture", "amd64"}}},
      {"images", std::move(imgs)}};
}

NodeUsage ReadNodeUsage() {
  NodeUsage u;
  if (auto mi = ReadFile("/proc/meminfo"); mi.ok()) {
    auto kb = [&](const char* key) -> uint64_t {
      size_t p = mi->find(key);
      return p == std::string::npos ? 0 : std::strtoull(mi->c_str() + p + std::strlen(key), nullptr, 10) * 1024;
    };
    u.mem_total = kb("MemTotal:");
    u.mem_free = kb("MemFree:");
    u.mem_available = kb("MemAvailable:");
    u.mem_buffers = kb("Buffers:");
    u.mem_cached = kb("Cached:");
  }
  if (auto d = ListDir("/proc"); d.ok()) {
    for (const auto& e : *d) u.processes += !e.empty() && e.find_first_not_of("0123456789") == std::string::npos;
  }
  if (auto m = ReadFile("/proc/sys/kernel/pid_max"); m.ok()) u.pid_max = std::strtoull(m->c_str(), nullptr, 10);
  return u;
}

FsUsage ReadFsUsage(const std::string& path) {
  FsUsage f;
  struct statvfs v {};
  if (::statvfs(path.c_str(), &v) != 0) return f;
  f.capacity = uint64_t{v.f_blocks} * v.f_frsize;
  f.available = uint64_t{v.f_bavail} * v.f_frsize;
  f.used = (uint64_t{v.f_blocks} - v.f_bfree) * v.f_frsize;
  f.inodes = v.f_files;
  f.inodes_free = v.f_ffree;
  return f;
}

}  // namespace kubepp::kubelet
