// The kubelet's Summary API (/stats/summary, stats/v1alpha1 as upstream
// serves it for metrics-server and `kubectl get --raw .../proxy/stats/summary`):
// the node's CPU, memory, network, filesystems and process counts, and per
// pod and container CPU and memory from their cgroups, with the pod's
// network from its namespace. usageNanoCores is the rate since the previous
// sample of the same cgroup (absent on the first).
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "api/object.h"
#include "api/time.h"
#include "apiserver/http/server.h"
#include "common/file.h"
#include "common/json.h"
#include "kubelet/kubelet.h"
#include "kubelet/kubelet_util.h"
#include "kubelet/node_info.h"
#include "kubelet/runtime/runc/runc_runtime.h"

namespace kubepp::kubelet {
namespace {

namespace bj = boost::json;

std::string TimeOf(int64_t ns) {
  return api::FormatTime(std::chrono::system_clock::time_point(std::chrono::nanoseconds(ns)));
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bj::object FsStats(const std::string& path, int64_t now) {
  FsUsage f = ReadFsUsage(path);
  if (f.capacity == 0) return {};
  return {{"time", TimeOf(now)},   {"availableBytes", f.available}, {"capacityBytes", f.capacity},
          {"usedBytes", f.used},   {"inodesFree", f.inodes_free},   {"inodes", f.inodes},
          {"inodesUsed", f.inodes - f.inodes_free}};
}

bj::object MemoryOf(const runtime::ContainerStats& s, std::optional<uint64_t> limit) {
  bj::object m{{"time", TimeOf(s.timestamp)},          {"usageBytes", s.memory_usage},
               {"workingSetBytes", s.memory_working_set}, {"rssBytes", s.memory_rss},
               {"pageFaults", s.page_faults},          {"majorPageFaults", s.major_page_faults}};
  if (limit) m["availableBytes"] = *limit > s.memory_working_set ? *limit - s.memory_working_set : 0;
  return m;
}

bj::object NetworkOf(const std::vector<runtime::NetworkStats>& ifs, int64_t now) {
  bj::object n{{"time", TimeOf(now)}};
  bj::array all;
  for (const auto& i : ifs) {
    bj::object o{{"name", i.name}, {"rxBytes", i.rx_bytes}, {"rxErrors", i.rx_errors},
                 {"txBytes", i.tx_bytes}, {"txErrors", i.tx_errors}};
    if (!n.contains("name") && (i.name == "eth0" || ifs.size() == 1)) {
      for (const auto& [k, v] : o) n[k] = v;
    }
    all.push_back(std::move(o));
  }
  n["interfaces"] = std::move(all);
  return n;
}

}  // namespace

bj::object Kubelet::CpuOf(const std::string& key, int64_t ts, uint64_t usage_ns) {
  bj::object c{{"time", TimeOf(ts)}, {"usageCoreNanoSeconds", usage_ns}};
  std::lock_guard<std::mutex> l(stats_mu_);
  auto& prev = cpu_samples_[key];
  if (prev.first > 0 && ts > prev.first && usage_ns >= prev.second) {
    c["usageNanoCores"] = static_cast<uint64_t>(static_cast<double>(usage_ns - prev.second) * 1e9 /
                                                static_cast<double>(ts - prev.first));
  }
  prev = {ts, usage_ns};
  return c;
}

bj::object Kubelet::StatsSummary() {
  int64_t now = NowNs();
  bj::object node{{"nodeName", options_.node_name}, {"systemContainers", bj::array()}};
  // CPU: /proc/stat's busy time; memory: /proc/meminfo as cAdvisor reads the root cgroup.
  if (auto st = ReadFile("/proc/stat"); st.ok()) {
    uint64_t v[10] = {};
    const char* p = st->c_str() + 3;
    for (auto& x : v) {
      char* end = nullptr;
      x = std::strtoull(p, &end, 10);
      p = end;
    }
    uint64_t busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    long hz = ::sysconf(_SC_CLK_TCK);
    node["cpu"] = CpuOf("node", now, busy * (1000000000ULL / static_cast<uint64_t>(hz > 0 ? hz : 100)));
  }
  NodeUsage u = ReadNodeUsage();
  node["memory"] = bj::object{{"time", TimeOf(now)},
                              {"availableBytes", u.mem_available},
                              {"usageBytes", u.mem_total - u.mem_free},
                              {"workingSetBytes", u.mem_total - u.mem_available},
                              {"rssBytes", u.mem_total - u.mem_free - u.mem_buffers - u.mem_cached},
                              {"pageFaults", 0},
                              {"majorPageFaults", 0}};
  node["network"] = NetworkOf(runtime::runc::ReadNetDev(::getpid()), now);
  node["fs"] = FsStats(options_.data_dir, now);
  bj::object image_fs = FsStats(images_->root(), now);
  uint64_t images_bytes = 0;
  for (const auto& im : images_->List()) images_bytes += static_cast<uint64_t>(im.size);
  image_fs["usedBytes"] = images_bytes;
  node["runtime"] = bj::object{{"imageFs", std::move(image_fs)}};
  node["rlimit"] = bj::object{{"time", TimeOf(now)}, {"maxpid", u.pid_max}, {"curproc", u.processes}};
  {
    std::lock_guard<std::mutex> l(mu_);
    node["startTime"] = node_start_time_;
  }

  bj::array pods;
  for (const auto& p : pods_->List()) {
    std::string uid(api::Uid(*p));
    std::string sandbox;
    std::string cgroup_parent;
    for (const auto& s : runtime_->ListPodSandboxes({{kPodUidLabel, uid}})) {
      if (s.state == runtime::SandboxState::kReady) {
        sandbox = s.id;
        cgroup_parent = s.config.cgroup_parent;
      }
    }
    if (sandbox.empty()) continue;
    bj::object ps{{"podRef", bj::object{{"name", api::Name(*p)}, {"namespace", api::Namespace(*p)}, {"uid", uid}}},
                  {"startTime", api::StrAt(*p, {"status", "startTime"})}};
    bj::array containers;
    uint64_t pod_cpu = 0;
    runtime::ContainerStats pod_mem;
    pod_mem.timestamp = now;
    for (const auto& c : runtime_->ListContainers({{kPodUidLabel, uid}})) {
      if (c.state != runtime::ContainerState::kRunning) continue;
      auto st = runtime_->GetContainerStats(c.id);
      if (!st.ok()) continue;
      pod_cpu += st->cpu_usage_core_ns;
      pod_mem.memory_usage += st->memory_usage;
      pod_mem.memory_working_set += st->memory_working_set;
      pod_mem.memory_rss += st->memory_rss;
      pod_mem.page_faults += st->page_faults;
      pod_mem.major_page_faults += st->major_page_faults;
      containers.push_back(bj::object{{"name", c.name},
                                      {"startTime", TimeOf(c.started_at)},
                                      {"cpu", CpuOf(c.id, st->timestamp, st->cpu_usage_core_ns)},
                                      {"memory", MemoryOf(*st, std::nullopt)}});
    }
    // The pod's own cgroup when there is one (it counts exited containers' share too).
    if (auto st = runtime::runc::ReadCgroupStats(cgroup_parent); !cgroup_parent.empty() && st.ok() && st->cpu_usage_core_ns > 0) {
      pod_cpu = st->cpu_usage_core_ns;
      pod_mem = *st;
    }
    ps["containers"] = std::move(containers);
    ps["cpu"] = CpuOf("pod/" + uid, now, pod_cpu);
    ps["memory"] = MemoryOf(pod_mem, std::nullopt);
    ps["network"] = NetworkOf(runtime_->GetSandboxNetworkStats(sandbox), now);
    ps["volume"] = bj::array();
    pods.push_back(std::move(ps));
  }
  return bj::object{{"node", std::move(node)}, {"pods", std::move(pods)}};
}

void Kubelet::ServeStatsSummary(const std::shared_ptr<apiserver::http::Exchange>& ex) {
  ex->Respond({200, {{"Content-Type", "application/json"}}, json::Serialize(StatsSummary()), {}});
}

}  // namespace kubepp::kubelet
