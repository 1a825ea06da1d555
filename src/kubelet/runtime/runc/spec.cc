#include "kubelet/runtime/runc/spec.h"

#include <algorithm>
#include <set>

#include "common/file.h"

namespace kubepp::kubelet::runtime::runc {
namespace {

namespace bj = boost::json;

// containerd's default capability set.
const std::vector<std::string> kDefaultCaps = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",     "CAP_FOWNER",           "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",     "CAP_SETFCAP",          "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};

const std::vector<std::string> kAllCaps = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};

std::string CapName(std::string c) {
  std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return std::toupper(ch); });
  return c.rfind("CAP_", 0) == 0 ? c : "CAP_" + c;
}

bj::array Strings(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// uid/gid of a user name (or number) from the image's /etc/passwd.
Result<std::pair<int64_t, int64_t>> LookupUser(const std::string& rootfs, const std::string& user) {
  std::string name = user.substr(0, user.find(':'));
  std::string group = user.find(':') == std::string::npos ? "" : user.substr(user.find(':') + 1);
  auto numeric = [](const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; };
  int64_t uid = -1, gid = -1;
  if (numeric(name)) uid = std::stoll(name);
  auto passwd = ReadFile(rootfs + "/etc/passwd");
  if (passwd.ok()) {
    size_t i = 0;
    while (i < passwd->size()) {
      size_t j = passwd->find('\n', i);
      if (j == std::string::npos) j = passwd->size();
      std::string line = passwd->substr(i, j - i);
      std::vector<std::string> f;
      size_t a = 0;
      for (;;) {
        size_t b = line.find(':', a);
        f.push_back(line.substr(a, b == std::string::npos ? std::string::npos : b - a));
        if (b == std::string::npos) break;
        a = b + 1;
      }
      if (f.size() >= 4 && ((uid < 0 && f[0] == name) || (uid >= 0 && numeric(f[2]) && std::stoll(f[2]) == uid))) {
        if (uid < 0) uid = std::stoll(f[2]);
        if (numeric(f[3])) gid = std::stoll(f[3]);
        break;
      }
      i = j + 1;
    }
  }
  if (uid < 0) return Status::BadRequest("unable to find user " + name + ": no matching entries in passwd file");
  if (!group.empty()) {
    if (!numeric(group)) return Status::BadRequest("unable to find group " + group);
    gid = std::stoll(group);
  }
  if (gid < 0) gid = 0;
  return std::make_pair(uid, gid);
}

bj::object BindMount(const std::string& src, const std::string& dst, bool ro) {
  bj::array opts{"rbind", "rprivate"};
  opts.emplace_back(ro ? "ro" : "rw");
  return bj::object{{"destination", dst}, {"type", "bind"}, {"source", src}, {"options", std::move(opts)}};
}

}  // namespace

std::vector<std::string> ProcessArgs(const ContainerConfig& c, const images::ImageConfig& image) {
  std::vector<std::string> args;
  if (!c.command.empty()) {
    args = c.command;
    args.insert(args.end(), c.args.begin(), c.args.end());
  } else {
    args = image.entrypoint;
    const auto& rest = c.args.empty() ? image.cmd : c.args;
    args.insert(args.end(), rest.begin(), rest.end());
  }
  return args;
}

Result<bj::object> BuildSpec(const SpecInput& in) {
  const ContainerConfig& c = *in.container;
  const images::ImageConfig& image = *in.image;
  std::vector<std::string> args = ProcessArgs(c, image);
  if (args.empty()) return Status::BadRequest("no command specified");

  // Environment: the image's, then the container's (which wins).
  std::vector<std::string> env;
  auto set_env = [&](const std::string& k, const std::string& v) {
    std::string prefix = k + "=";
    auto it = std::find_if(env.begin(), env.end(), [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
    if (it != env.end()) *it = prefix + v;
    else env.push_back(prefix + v);
  };
  bool have_path = false;
  for (const auto& e : image.env) {
    size_t eq = e.find('=');
    if (eq == std::string::npos) continue;
    if (e.rfind("PATH=", 0) == 0) have_path = true;
    set_env(e.substr(0, eq), e.substr(eq + 1));
  }
  if (!have_path) set_env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!in.hostname.empty()) set_env("HOSTNAME", in.hostname);
  for (const auto& [k, v] : c.env) set_env(k, v);

  int64_t uid = 0, gid = 0;
  if (!image.user.empty()) {
    auto u = LookupUser(in.rootfs, image.user);
    if (!u.ok()) return u.status();
    std::tie(uid, gid) = *u;
  }
  if (c.security.run_as_user) {
    uid = *c.security.run_as_user;
    if (!c.security.run_as_group) {
      auto u = LookupUser(in.rootfs, std::to_string(uid));
      gid = u.ok() ? u->second : 0;
    }
  }
  if (c.security.run_as_group) gid = *c.security.run_as_group;
  bj::array additional;
  for (int64_t g : c.security.supplemental_groups) additional.emplace_back(g);

  std::vector<std::string> caps = c.security.privileged ? kAllCaps : kDefaultCaps;
  if (!c.security.privileged) {
    for (const auto& d : c.security.drop_capabilities) {
      std::string name = CapName(d);
      if (name == "CAP_ALL") caps.clear();
      else caps.erase(std::remove(caps.begin(), caps.end(), name), caps.end());
    }
    for (const auto& a : c.security.add_capabilities) {
      std::string name = CapName(a);
      if (name == "CAP_ALL") caps = kAllCaps;
      else if (std::find(caps.begin(), caps.end(), name) == caps.end()) caps.push_back(name);
    }
  }
  bj::object process{{"terminal", c.tty},
                     {"user", bj::object{{"uid", uid}, {"gid", gid}, {"additionalGids", std::move(additional)}}},
                     {"args", Strings(args)},
                     {"env", Strings(env)},
                     {"cwd", c.working_dir.empty() ? (image.working_dir.empty() ? "/" : image.working_dir) : c.working_dir},
                     {"capabilities", bj::object{{"bounding", Strings(caps)},
                                                 {"effective", Strings(caps)},
                                                 {"permitted", Strings(caps)}}},
                     {"noNewPrivileges", c.security.no_new_privs},
                     {"oomScoreAdj", c.resources.oom_score_adj}};
  if (uid != 0) {
    // A non-root process keeps no effective capabilities (as under docker).
    process["capabilities"].as_object()["effective"] = bj::array();
  }

  bj::array mounts{
      bj::object{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}, {"options", bj::array{"nosuid", "noexec", "nodev"}}},
      bj::object{{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                 {"options", bj::array{"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      bj::object{{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
                 {"options", bj::array{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      bj::object{{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
                 {"options", bj::array{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      bj::object{{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"},
                 {"options", bj::array{"nosuid", "noexec", "nodev"}}},
      bj::object{{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
                 {"options", bj::array{"nosuid", "noexec", "nodev", c.security.privileged ? "rw" : "ro"}}},
  };
  if (!in.hosts_file.empty()) mounts.push_back(BindMount(in.hosts_file, "/etc/hosts", false));
  if (!in.resolv_file.empty()) mounts.push_back(BindMount(in.resolv_file, "/etc/resolv.conf", false));
  if (!in.hostname_file.empty()) mounts.push_back(BindMount(in.hostname_file, "/etc/hostname", false));
  for (const auto& m : c.mounts) mounts.push_back(BindMount(m.host_path, m.container_path, m.readonly));

  bj::array namespaces{bj::object{{"type", "pid"}}, bj::object{{"type", "mount"}}};
  auto ns = [&](const char* type, const std::string& path) {
    if (!path.empty()) namespaces.push_back(bj::object{{"type", type}, {"path", path}});
  };
  ns("network", in.netns);
  ns("ipc", in.ipcns);
  ns("uts", in.utsns);
  if (in.utsns.empty() && in.netns.empty()) {
    // Host network: the host's UTS too (no hostname of our own to set).
  }

  bj::object resources{{"devices", c.security.privileged ? bj::array{bj::object{{"allow", true}, {"access", "rwm"}}}
                                                          : bj::array{bj::object{{"allow", false}, {"access", "rwm"}}}}};
  bj::object cpu;
  if (c.resources.cpu_shares > 0) cpu["shares"] = c.resources.cpu_shares;
  if (c.resources.cpu_quota > 0) {
    cpu["quota"] = c.resources.cpu_quota;
    cpu["period"] = c.resources.cpu_period;
  }
  if (!cpu.empty()) resources["cpu"] = std::move(cpu);
  if (c.resources.memory_limit > 0) {
    resources["memory"] = bj::object{{"limit", c.resources.memory_limit}, {"swap", c.resources.memory_limit}};
  }
  bj::object linux{{"namespaces", std::move(namespaces)}, {"resources", std::move(resources)}};
  if (!in.cgroups_path.empty()) linux["cgroupsPath"] = in.cgroups_path;
  if (!c.security.privileged) {
    linux["maskedPaths"] = bj::array{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                                     "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"};
    linux["readonlyPaths"] = bj::array{"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  }
  bj::object spec{{"ociVersion", "1.0.2"},
                  {"process", std::move(process)},
                  {"root", bj::object{{"path", "rootfs"}, {"readonly", c.security.readonly_rootfs}}},
                  {"mounts", std::move(mounts)},
                  {"linux", std::move(linux)}};
  if (!in.utsns.empty() && !in.hostname.empty()) spec["hostname"] = in.hostname;
  return spec;
}

}  // namespace kubepp::kubelet::runtime::runc
