// The runtime on runc: a sandbox is a set of network, IPC and UTS
// namespaces kept alive by bind mounts (no pause process), networked by CNI;
// a container is an overlayfs rootfs over the image's layers plus an OCI
// bundle, run by `runc` under a `kubepp shim` that owns its output and exit
// status. Everything lives under `root` as files, so a restarted kubelet
// finds its sandboxes and containers (still running) where it left them.
//
//   <root>/sandboxes/<id>/  meta.json, ns/{net,ipc,uts}, hosts, resolv.conf, hostname
//   <root>/containers/<id>/ meta.json, bundle/{config.json,rootfs}, upper/, work/,
//                           shim.pid, init.pid, exit.json, runc.log
#pragma once

#include <boost/json.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kubelet/cni/cni.h"
#include "kubelet/images/image_store.h"
#include "kubelet/runtime/runtime.h"

namespace kubepp::kubelet::runtime::runc {

namespace bj = boost::json;

struct Options {
  std::string root;                    // state (see above)
  std::string runc = "/usr/sbin/runc";
  std::string runc_root;               // runc's own state dir; empty: <root>/runc
  std::string shim_binary;             // `kubepp`, run as `<shim_binary> shim ...`; empty: this executable
  std::string cgroup_root = "/kubepods";  // cgroupsPath prefix
  // Run runc from one sealed in-memory copy of it (a memfd the runtime
  // holds, executed through the symlink <root>/bin/runc -> /proc/self/fd/N by
  // the runtime's children and the shims, which inherit the fd). runc 1.1 otherwise copies its whole binary into a new memfd for
  // every container it starts (its CVE-2019-5736 defence, which accepts a
  // sealed memfd as already safe): ~9 MB of page allocation and copying per
  // container, and a fresh page cache for every runc init.
  bool sealed_runc_copy = false;
};

class RuncRuntime : public RuntimeService {
 public:
  // `network` may be null (host network only).
  static Result<std::unique_ptr<RuncRuntime>> New(Options options, images::ImageStore* images, cni::Network* network);

  Result<std::string> RunPodSandbox(const PodSandboxConfig& config) override;
  Status StopPodSandbox(const std::string& id) override;
  Status RemovePodSandbox(const std::string& id) override;
  Result<PodSandboxStatus> GetPodSandboxStatus(const std::string& id) override;
  std::vector<PodSandboxStatus> ListPodSandboxes(const Labels& labels = {}) override;

  Result<std::string> CreateContainer(const std::string& sandbox_id, const ContainerConfig& config) override;
  Status StartContainer(const std::string& id) override;
  Status StopContainer(const std::string& id, std::chrono::seconds timeout) override;
  Status RemoveContainer(const std::string& id) override;
  Result<ContainerStatus> GetContainerStatus(const std::string& id) override;
  std::vector<ContainerStatus> ListContainers(const Labels& labels = {}) override;
  Result<ExecResult> ExecSync(const std::string& id, const std::vector<std::string>& cmd,
                              std::chrono::milliseconds timeout) override;
  Result<std::unique_ptr<ExecProcess>> Exec(const std::string& id, const std::vector<std::string>& cmd, bool tty,
                                            bool stdin, TerminalSize size) override;
  Result<std::string> SandboxNetNs(const std::string& id) override;
  Result<UniqueFd> Attach(const std::string& id) override;
  Result<ContainerStats> GetContainerStats(const std::string& id) override;
  std::vector<NetworkStats> GetSandboxNetworkStats(const std::string& id) override;

 private:
  RuncRuntime(Options options, images::ImageStore* images, cni::Network* network);
  std::string SandboxDir(const std::string& id) const;
  std::string PodCgroup(const PodSandboxConfig& c) const;
  std::string ContainerDir(const std::string& id) const;
  Result<std::vector<std::string>> Runc(const std::vector<std::string>& args, std::chrono::milliseconds timeout);
  Status RemoveContainerFiles(const std::string& id);

  // meta.json of sandboxes and containers, kept in memory (loaded at New):
  // status reads touch no files but a container's exit.json until it exits.
  Result<bj::object> Meta(bool sandbox, const std::string& id);
  Status SaveMeta(bool sandbox, const std::string& id, const bj::object& meta);
  void DropMeta(bool sandbox, const std::string& id);
  // Ids of the sandboxes or containers whose labels include `labels`.
  std::vector<std::string> Ids(bool sandbox, const Labels& labels = {});
  std::vector<std::string> ContainersOf(const std::string& sandbox_id);

  Options options_;
  UniqueFd sealed_runc_;  // the memfd options_.runc names, or none
  images::ImageStore* images_;
  cni::Network* network_;
  std::mutex mu_;
  std::map<std::string, bj::object> sandboxes_;   // GUARDED_BY(mu_)
  std::map<std::string, bj::object> containers_;  // GUARDED_BY(mu_)
  std::map<std::string, bj::object> exits_;       // GUARDED_BY(mu_): exit.json once seen
  std::map<std::string, std::pair<pid_t, pid_t>> pids_;  // GUARDED_BY(mu_): init, shim
};

// Makes new network, IPC and UTS namespaces (hostname set) and bind-mounts
// them at <dir>/{net,ipc,uts}; ReleaseNamespaces unmounts and removes them.
Status CreateNamespaces(const std::string& dir, const std::string& hostname);
Status ReleaseNamespaces(const std::string& dir);
// A sealed in-memory copy of the runc binary at `runc`. runc 1.1 copies
// itself into such a memfd on every run (against CVE-2019-5736) unless it
// already runs from one: executed as /proc/self/fd/N (the fd inherited at
// its number), it skips that ~10 MB copy.
Result<UniqueFd> SealRunc(const std::string& runc);
// The last error runc logged to `log` (its --log-format json: lines of
// {"level","msg"}); "" if none.
std::string RuncError(const std::string& log);
// Usage read from the cgroup at `path` (relative to the hierarchies' roots;
// v1 or v2), and the interfaces of the network namespace of process `pid`.
Result<ContainerStats> ReadCgroupStats(const std::string& path);
std::vector<NetworkStats> ReadNetDev(pid_t pid);
// Removes the (empty) cgroup at `path` in every hierarchy (v1) or the unified one (v2).
Status RemoveCgroup(const std::string& path);

}  // namespace kubepp::kubelet::runtime::runc
