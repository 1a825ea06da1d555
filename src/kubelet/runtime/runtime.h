// The container runtime as the kubelet sees it, shaped like the CRI's
// RuntimeService: pod sandboxes (the shared network/IPC/UTS namespaces of a
// pod) and the containers in them. runc/ implements it with runc, overlayfs
// and a `kubepp shim` per container.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/file.h"
#include "common/status.h"
#include "kubelet/cni/cni.h"

namespace kubepp::kubelet::runtime {

using Labels = std::map<std::string, std::string>;

struct DnsConfig {
  std::vector<std::string> servers, searches, options;
};

struct PodSandboxConfig {
  std::string name, ns, uid;
  int attempt = 0;
  std::string hostname;
  std::string log_directory;  // where the pod's container logs go
  DnsConfig dns;
  std::vector<cni::PortMapping> port_mappings;
  std::vector<std::pair<std::string, std::string>> host_aliases;  // ip, hostname (extra /etc/hosts lines)
  bool host_network = false;
  std::string cgroup_parent;  // e.g. "/kubepods/besteffort/pod<uid>"
  std::map<std::string, std::string> labels, annotations;
};

enum class SandboxState { kReady, kNotReady };

struct PodSandboxStatus {
  std::string id;
  SandboxState state = SandboxState::kNotReady;
  std::string ip;
  int64_t created_at = 0;  // ns since epoch
  PodSandboxConfig config;
};

struct Mount {
  std::string host_path, container_path;
  bool readonly = false;
};

struct LinuxResources {
  int64_t cpu_shares = 0;  // 0: runc's default
  int64_t cpu_quota = 0;   // microseconds per period; 0: none
  int64_t cpu_period = 100000;
  int64_t memory_limit = 0;  // bytes; 0: none
  int64_t oom_score_adj = 0;
};

struct SecurityContext {
  std::optional<int64_t> run_as_user, run_as_group;
  std::vector<int64_t> supplemental_groups;
  bool readonly_rootfs = false;
  bool privileged = false;
  bool no_new_privs = false;
  std::vector<std::string> add_capabilities, drop_capabilities;  // "NET_ADMIN" or "CAP_NET_ADMIN"; "ALL"
};

struct ContainerConfig {
  std::string name;
  int attempt = 0;
  std::string image;                      // a reference the image store resolves
  std::vector<std::string> command, args;  // as in the pod spec (command replaces the entrypoint)
  std::string working_dir;
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<Mount> mounts;
  std::string log_path;  // relative to the sandbox's log directory
  bool stdin = false, stdin_once = false, tty = false;
  LinuxResources resources;
  SecurityContext security;
  std::map<std::string, std::string> labels, annotations;
};

enum class ContainerState { kCreated, kRunning, kExited, kUnknown };

struct ContainerStatus {
  std::string id, sandbox_id, name;
  ContainerState state = ContainerState::kUnknown;
  int64_t created_at = 0, started_at = 0, finished_at = 0;  // ns since epoch
  int32_t exit_code = 0;
  std::string reason;   // "Completed", "Error", "OOMKilled"
  std::string message;  // termination message
  std::string image, image_ref;  // as asked, and the image id
  std::string log_path;          // absolute
  int attempt = 0;
  ContainerConfig config;
};

// Resource usage of a container, from its cgroup (CRI's ContainerStats).
struct ContainerStats {
  int64_t timestamp = 0;  // ns since epoch
  uint64_t cpu_usage_core_ns = 0;  // cumulative
  uint64_t memory_usage = 0, memory_working_set = 0, memory_rss = 0;
  uint64_t page_faults = 0, major_page_faults = 0;
};
// One interface of a pod's network namespace.
struct NetworkStats {
  std::string name;
  uint64_t rx_bytes = 0, rx_errors = 0, tx_bytes = 0, tx_errors = 0;
};

// Columns and rows of a terminal.
struct TerminalSize {
  uint16_t width = 80;
  uint16_t height = 24;
};

class RuntimeService {
 public:
  virtual ~RuntimeService() = default;
  virtual Result<std::string> RunPodSandbox(const PodSandboxConfig& config) = 0;
  // Stops the sandbox's containers and tears its network down; idempotent.
  virtual Status StopPodSandbox(const std::string& id) = 0;
  // Stops and removes everything of the sandbox; idempotent.
  virtual Status RemovePodSandbox(const std::string& id) = 0;
  virtual Result<PodSandboxStatus> GetPodSandboxStatus(const std::string& id) = 0;
  // Those whose labels include all of `labels` (CRI's label selector filter).
  virtual std::vector<PodSandboxStatus> ListPodSandboxes(const Labels& labels = {}) = 0;

  virtual Result<std::string> CreateContainer(const std::string& sandbox_id, const ContainerConfig& config) = 0;
  virtual Status StartContainer(const std::string& id) = 0;
  // SIGTERM, then SIGKILL after `timeout`; idempotent.
  virtual Status StopContainer(const std::string& id, std::chrono::seconds timeout) = 0;
  virtual Status RemoveContainer(const std::string& id) = 0;
  virtual Result<ContainerStatus> GetContainerStatus(const std::string& id) = 0;
  virtual std::vector<ContainerStatus> ListContainers(const Labels& labels = {}) = 0;

  // Runs a command in a running container and waits (exec probes).
  struct ExecResult {
    int exit_code = 0;
    std::string out, err;
  };
  virtual Result<ExecResult> ExecSync(const std::string& id, const std::vector<std::string>& cmd,
                                      std::chrono::milliseconds timeout) = 0;

  // A command started in a running container (kubectl exec): our ends of
  // its stdio as pipes, or of one pseudo-terminal with tty. Thread-safe but
  // for Wait, which one thread calls.
  class ExecProcess {
   public:
    virtual ~ExecProcess() = default;
    virtual int stdin_fd() const = 0;   // -1 unless stdin was asked for
    virtual int stdout_fd() const = 0;  // the terminal with tty
    virtual int stderr_fd() const = 0;  // -1 with tty
    virtual void CloseStdin() = 0;      // EOF for the command (no effect with tty)
    virtual void Resize(uint16_t width, uint16_t height) = 0;
    // The client went away. With tty the command gets SIGHUP, as when its
    // terminal closes; without, it runs on to its end (as upstream's).
    virtual void Hangup() = 0;
    // Waits for the command: its exit code, 128 + signal if killed.
    virtual Result<int> Wait() = 0;
  };
  // `size` is the terminal's initial size (with tty).
  virtual Result<std::unique_ptr<ExecProcess>> Exec(const std::string& id, const std::vector<std::string>& cmd,
                                                    bool tty, bool stdin, TerminalSize size = {}) = 0;
  virtual Result<ContainerStats> GetContainerStats(const std::string& id) = 0;
  // The interfaces of a sandbox's network namespace (none on the host network).
  virtual std::vector<NetworkStats> GetSandboxNetworkStats(const std::string& id) = 0;
  // A connection to a running container's own stdio (kubectl attach):
  // frames as kubelet/shim/shim.h describes them.
  virtual Result<UniqueFd> Attach(const std::string& id) = 0;
  // The network namespace a sandbox's containers share (a path to setns
  // into); "" for a sandbox on the host network.
  virtual Result<std::string> SandboxNetNs(const std::string& id) = 0;
};

}  // namespace kubepp::kubelet::runtime
