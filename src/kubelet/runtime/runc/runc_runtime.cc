#include "kubelet/runtime/runc/runc_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "api/object.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "common/process.h"
#include "kubelet/runtime/runc/spec.h"

namespace kubepp::kubelet::runtime::runc {
namespace {

namespace bj = boost::json;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string RandomId() {
  unsigned char b[32];
  UniqueFd fd(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || ::read(fd.get(), b, sizeof b) != static_cast<ssize_t>(sizeof b)) {
    uint64_t x = static_cast<uint64_t>(NowNs()) ^ (static_cast<uint64_t>(::getpid()) << 32);
    for (auto& c : b) c = static_cast<unsigned char>((x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
  }
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

bj::object ToJson(const std::map<std::string, std::string>& m) {
  bj::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}
std::map<std::string, std::string> MapFrom(const bj::object& o, std::string_view key) {
  std::map<std::string, std::string> m;
  if (const auto* x = api::ObjAt(o, {key})) {
    for (const auto& [k, v] : *x) {
      if (v.is_string()) m[std::string(k)] = std::string(v.get_string());
    }
  }
  return m;
}

Result<bj::object> ReadMeta(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return Status::NotFound(text.status().message());
  auto v = json::Parse(*text);
  if (!v.ok() || !v->is_object()) return Status::Corruption(path + ": unreadable");
  return std::move(v->get_object());
}

bool Alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

pid_t ReadPid(const std::string& path) {
  auto t = ReadFile(path);
  return t.ok() ? static_cast<pid_t>(std::atol(t->c_str())) : 0;
}

std::string HostsFile(const PodSandboxConfig& c, const std::string& ip) {
  std::string s =
      "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n";
  if (!ip.empty()) s += ip + "\t" + c.hostname + "\n";
  for (const auto& [aip, name] : c.host_aliases) s += aip + "\t" + name + "\n";
  return s;
}

std::string ResolvConf(const DnsConfig& d) {
  std::string s;
  if (!d.searches.empty()) {
    s += "search";
    for (const auto& x : d.searches) s += " " + x;
    s += "\n";
  }
  for (const auto& x : d.servers) s += "nameserver " + x + "\n";
  if (!d.options.empty()) {
    s += "options";
    for (const auto& x : d.options) s += " " + x;
    s += "\n";
  }
  return s;
}

std::string MemoryCgroupDir(const std::string& cgroups_path) {
  if (PathExists("/sys/fs/cgroup/memory")) return "/sys/fs/cgroup/memory" + cgroups_path;  // v1
  return "/sys/fs/cgroup" + cgroups_path;  // v2
}

}  // namespace

std::string RuncError(const std::string& log) {
  auto text = ReadFile(log);
  if (!text.ok()) return "";
  std::string last;
  size_t i = 0;
  while (i < text->size()) {
    size_t j = text->find('\n', i);
    if (j == std::string::npos) j = text->size();
    auto v = json::Parse(std::string_view(*text).substr(i, j - i));
    if (v.ok() && json::GetString(*v, "level") == "error") last = std::string(json::GetString(*v, "msg"));
    i = j + 1;
  }
  return last;
}

namespace {

uint64_t ReadU64(const std::string& path) {
  auto t = ReadFile(path);
  return t.ok() ? std::strtoull(t->c_str(), nullptr, 10) : 0;
}

// "key value" lines (memory.stat, cpu.stat).
std::map<std::string, uint64_t> ReadKeyed(const std::string& path) {
  std::map<std::string, uint64_t> out;
  auto t = ReadFile(path);
  if (!t.ok()) return out;
  size_t i = 0;
  while (i < t->size()) {
    size_t nl = t->find('\n', i);
    if (nl == std::string::npos) nl = t->size();
    std::string_view line(t->data() + i, nl - i);
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos) out[std::string(line.substr(0, sp))] = std::strtoull(line.data() + sp + 1, nullptr, 10);
    i = nl + 1;
  }
  return out;
}

}  // namespace

Result<ContainerStats> ReadCgroupStats(const std::string& path) {
  ContainerStats st;
  st.timestamp = NowNs();
  // v1: cpuacct and memory hierarchies, memory.stat's hierarchical totals;
  // v2: one directory, cpu.stat in microseconds.
  bool v1 = PathExists("/sys/fs/cgroup/memory");
  std::string mem = (v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup") + path;
  if (!PathExists(mem)) return Status::NotFound("no cgroup " + path);
  auto m = ReadKeyed(mem + "/memory.stat");
  std::string prefix = v1 ? "total_" : "";
  if (v1) {
    std::string cpu = PathExists("/sys/fs/cgroup/cpuacct") ? "/sys/fs/cgroup/cpuacct" : "/sys/fs/cgroup/cpu,cpuacct";
    st.cpu_usage_core_ns = ReadU64(cpu + path + "/cpuacct.usage");
    st.memory_usage = ReadU64(mem + "/memory.usage_in_bytes");
    st.memory_rss = m["total_rss"];
  } else {
    st.cpu_usage_core_ns = ReadKeyed(mem + "/cpu.stat")["usage_usec"] * 1000;
    st.memory_usage = ReadU64(mem + "/memory.current");
    st.memory_rss = m["anon"];
  }
  uint64_t inactive = m[prefix + "inactive_file"];
  st.memory_working_set = st.memory_usage > inactive ? st.memory_usage - inactive : 0;
  st.page_faults = m[prefix + "pgfault"];
  st.major_page_faults = m[prefix + "pgmajfault"];
  return st;
}

std::vector<NetworkStats> ReadNetDev(pid_t pid) {
  std::vector<NetworkStats> out;
  auto t = ReadFile("/proc/" + std::to_string(pid) + "/net/dev");
  if (!t.ok()) return out;
  size_t i = 0;
  int line_no = 0;
  while (i < t->size()) {
    size_t nl = t->find('\n', i);
    if (nl == std::string::npos) nl = t->size();
    std::string line = t->substr(i, nl - i);
    i = nl + 1;
    if (++line_no <= 2) continue;  // two header lines
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    NetworkStats n;
    n.name = line.substr(0, colon);
    n.name.erase(0, n.name.find_first_not_of(' '));
    if (n.name == "lo") continue;
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs ...
    uint64_t v[16] = {};
    const char* p = line.c_str() + colon + 1;
    for (auto& x : v) {
      char* end = nullptr;
      x = std::strtoull(p, &end, 10);
      p = end;
    }
    n.rx_bytes = v[0];
    n.rx_errors = v[2];
    n.tx_bytes = v[8];
    n.tx_errors = v[10];
    out.push_back(std::move(n));
  }
  return out;
}

Status RemoveCgroup(const std::string& path) {
  if (path.empty() || path == "/") return Status::OK();
  auto hierarchies = ListDir("/sys/fs/cgroup");
  if (!hierarchies.ok()) return Status::OK();
  std::vector<std::string> roots = {"/sys/fs/cgroup"};
  for (const auto& h : *hierarchies) roots.push_back("/sys/fs/cgroup/" + h);
  for (const auto& root : roots) {
    std::string dir = root + path;
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
      return Status::IOError("rmdir " + dir + ": " + std::strerror(errno));
    }
  }
  return Status::OK();
}

Status CreateNamespaces(const std::string& dir, const std::string& hostname) {
  if (Status st = MakeDirs(dir, 0700); !st.ok()) return st;
  for (const char* n : {"net", "ipc", "uts"}) {
    UniqueFd f(::open((dir + "/" + n).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    if (!f.valid()) return Status::IOError("create " + dir + "/" + n + ": " + std::strerror(errno));
  }
  // On a thread of its own, not a forked child: network, IPC and UTS
  // namespaces are per thread, and a thread costs nothing like a fork of
  // the kubelet's address space (page tables, copy-on-write faults). The
  // thread ends with the namespaces bind-mounted, so nothing else ever
  // runs in them.
  Status st;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0) {
      st = Status::Internal(std::string("unshare network/ipc/uts namespaces: ") + std::strerror(errno));
      return;
    }
    if (!hostname.empty() && ::sethostname(hostname.data(), hostname.size()) != 0) {
      st = Status::Internal(std::string("sethostname: ") + std::strerror(errno));
      return;
    }
    std::string self = "/proc/thread-self/ns/";
    for (const char* n : {"net", "ipc", "uts"}) {
      if (::mount((self + n).c_str(), (dir + "/" + n).c_str(), nullptr, MS_BIND, nullptr) != 0) {
        st = Status::IOError("bind-mount " + self + n + ": " + std::strerror(errno));
        return;
      }
    }
  });
  t.join();
  if (!st.ok()) (void)ReleaseNamespaces(dir);
  return st;
}

// The seals runc 1.1 takes as "already cloned" (RUNC_MEMFD_SEALS).
constexpr int kRuncSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

Result<UniqueFd> SealRunc(const std::string& runc) {
  UniqueFd src(::open(runc.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.valid()) return Status::IOError("open " + runc + ": " + std::strerror(errno));
  UniqueFd mem(::memfd_create("runc", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem.valid()) return Status::IOError(std::string("memfd_create: ") + std::strerror(errno));
  struct stat sb;
  if (::fstat(src.get(), &sb) != 0) return Status::IOError(std::string("stat runc: ") + std::strerror(errno));
  off_t off = 0;
  while (off < sb.st_size) {
    ssize_t n = ::sendfile(mem.get(), src.get(), &off, static_cast<size_t>(sb.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IOError(std::string("copy runc: ") + std::strerror(errno));
  }
  if (::fchmod(mem.get(), 0755) != 0 || ::fcntl(mem.get(), F_ADD_SEALS, kRuncSeals) != 0) {
    return Status::IOError(std::string("seal runc copy: ") + std::strerror(errno));
  }
  // Can it run? (A kernel may forbid executing memfds.)
  std::string path = "/proc/self/fd/" + std::to_string(mem.get());
  auto r = RunCommand({path, "--version"}, {}, "", std::chrono::seconds(10), mem.get());
  if (!r.ok() || r->exit_code != 0) return Status::Unavailable("the sealed runc copy does not run");
  return mem;
}

Status ReleaseNamespaces(const std::string& dir) {
  for (const char* n : {"net", "ipc", "uts"}) {
    std::string p = dir + "/" + n;
    ::umount2(p.c_str(), MNT_DETACH);
    ::unlink(p.c_str());
  }
  ::rmdir(dir.c_str());
  return Status::OK();
}

RuncRuntime::RuncRuntime(Options options, images::ImageStore* images, cni::Network* network)
    : options_(std::move(options)), images_(images), network_(network) {}

Result<std::unique_ptr<RuncRuntime>> RuncRuntime::New(Options options, images::ImageStore* images, cni::Network* network) {
  if (options.runc_root.empty()) options.runc_root = JoinPath(options.root, "runc");
  if (options.shim_binary.empty()) options.shim_binary = SelfExe();
  for (const char* sub : {"sandboxes", "containers", "runc"}) {
    if (Status st = MakeDirs(JoinPath(options.root, sub), 0700); !st.ok()) return st;
  }
  if (Status st = MakeDirs(options.runc_root, 0700); !st.ok()) return st;
  if (::access(options.runc.c_str(), X_OK) != 0) return Status::NotFound("runc not found at " + options.runc);
  UniqueFd sealed;
  if (options.sealed_runc_copy) {
    if (auto s = SealRunc(options.runc); s.ok()) {
      sealed = std::move(*s);
      // Run through a symlink named runc (its target resolves in each
      // child, which inherits the fd): processes are called runc, not a number.
      std::string link = JoinPath(options.root, "bin/runc");
      (void)MakeDirs(JoinPath(options.root, "bin"), 0700);
      (void)::unlink(link.c_str());
      std::string target = "/proc/self/fd/" + std::to_string(sealed.get());
      options.runc = ::symlink(target.c_str(), link.c_str()) == 0 ? link : target;
    } else {
      log::Logger("runtime").Warning("running runc from its own file", {{"err", s.status().ToString()}});
    }
  }
  auto rt = std::unique_ptr<RuncRuntime>(new RuncRuntime(std::move(options), images, network));
  rt->sealed_runc_ = std::move(sealed);
  for (bool sandbox : {true, false}) {
    auto names = ListDir(JoinPath(rt->options_.root, sandbox ? "sandboxes" : "containers"));
    if (!names.ok()) continue;
    for (const auto& n : *names) {
      std::string dir = sandbox ? rt->SandboxDir(n) : rt->ContainerDir(n);
      if (auto m = ReadMeta(dir + "/meta.json"); m.ok()) {
        (sandbox ? rt->sandboxes_ : rt->containers_)[n] = std::move(*m);
        continue;
      }
      // A creation cut short (no meta.json yet): undo what it made.
      if (sandbox) {
        (void)ReleaseNamespaces(dir + "/ns");
      } else {
        ::umount2((dir + "/bundle/rootfs").c_str(), MNT_DETACH);
      }
      (void)RemoveAll(dir);
    }
  }
  return rt;
}

std::vector<std::string> RuncRuntime::ContainersOf(const std::string& sandbox_id) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const auto& [id, m] : containers_) {
    if (api::StrAt(m, {"sandboxId"}) == sandbox_id) out.push_back(id);
  }
  return out;
}

Result<bj::object> RuncRuntime::Meta(bool sandbox, const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto& m = sandbox ? sandboxes_ : containers_;
  auto it = m.find(id);
  if (it == m.end()) return Status::NotFound(std::string(sandbox ? "pod sandbox " : "container ") + id + " not found");
  return it->second;
}

Status RuncRuntime::SaveMeta(bool sandbox, const std::string& id, const bj::object& meta) {
  std::string dir = sandbox ? SandboxDir(id) : ContainerDir(id);
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/meta.json", json::Serialize(meta), 0600));
  std::lock_guard<std::mutex> l(mu_);
  (sandbox ? sandboxes_ : containers_)[id] = meta;
  return Status::OK();
}

void RuncRuntime::DropMeta(bool sandbox, const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  (sandbox ? sandboxes_ : containers_).erase(id);
  if (!sandbox) {
    exits_.erase(id);
    pids_.erase(id);
  }
}

std::vector<std::string> RuncRuntime::Ids(bool sandbox, const Labels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const auto& [id, m] : sandbox ? sandboxes_ : containers_) {
    bool match = true;
    for (const auto& [k, v] : labels) {
      if (api::StrAt(m, {"labels", k}) != v) {
        match = false;
        break;
      }
    }
    if (match) out.push_back(id);
  }
  return out;
}

std::string RuncRuntime::PodCgroup(const PodSandboxConfig& c) const {
  return c.cgroup_parent.empty() ? options_.cgroup_root + "/pod" + c.uid : c.cgroup_parent;
}

std::string RuncRuntime::SandboxDir(const std::string& id) const { return JoinPath(options_.root, "sandboxes/" + id); }
std::string RuncRuntime::ContainerDir(const std::string& id) const { return JoinPath(options_.root, "containers/" + id); }

Result<std::vector<std::string>> RuncRuntime::Runc(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {options_.runc, "--root", options_.runc_root};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv, {}, "", timeout, sealed_runc_.get());
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    std::string msg = r->err.empty() ? r->out : r->err;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Status::Internal(msg.empty() ? "runc " + args.front() + " failed" : msg);
  }
  return std::vector<std::string>{r->out, r->err};
}

Result<std::string> RuncRuntime::RunPodSandbox(const PodSandboxConfig& c) {
  std::string id = RandomId();
  std::string dir = SandboxDir(id);
  if (Status st = MakeDirs(dir, 0700); !st.ok()) return st;
  auto fail = [&](Status st) -> Result<std::string> {
    if (network_ != nullptr && !c.host_network) (void)network_->Del(id, dir + "/ns/net", {c.ns, c.name, c.uid});
    (void)ReleaseNamespaces(dir + "/ns");
    (void)RemoveAll(dir);
    return st;
  };
  std::string ip;
  if (!c.host_network) {
    if (Status st = CreateNamespaces(dir + "/ns", c.hostname); !st.ok()) return fail(st);
    if (network_ == nullptr) return fail(Status::Unavailable("pod network is not configured on this node"));
    auto a = network_->Add(id, dir + "/ns/net", {c.ns, c.name, c.uid}, c.port_mappings);
    if (!a.ok()) return fail(a.status());
    ip = a->ip;
  }
  if (Status st = WriteFile(dir + "/hosts", HostsFile(c, ip)); !st.ok()) return fail(st);
  if (Status st = WriteFile(dir + "/resolv.conf", ResolvConf(c.dns)); !st.ok()) return fail(st);
  if (Status st = WriteFile(dir + "/hostname", c.hostname + "\n"); !st.ok()) return fail(st);
  if (!c.log_directory.empty()) (void)MakeDirs(c.log_directory, 0755);
  bj::object meta{{"id", id},
                  {"name", c.name},
                  {"namespace", c.ns},
                  {"uid", c.uid},
                  {"attempt", c.attempt},
                  {"hostname", c.hostname},
                  {"logDirectory", c.log_directory},
                  {"hostNetwork", c.host_network},
                  {"cgroupParent", c.cgroup_parent},
                  {"labels", ToJson(c.labels)},
                  {"annotations", ToJson(c.annotations)},
                  {"ip", ip},
                  {"state", "ready"},
                  {"createdAt", NowNs()}};
  if (Status st = SaveMeta(true, id, meta); !st.ok()) return fail(st);
  return id;
}

Result<PodSandboxStatus> RuncRuntime::GetPodSandboxStatus(const std::string& id) {
  auto m = Meta(true, id);
  if (!m.ok()) return Status::NotFound("pod sandbox " + id + " not found");
  PodSandboxStatus s;
  s.id = id;
  s.state = api::StrAt(*m, {"state"}) == "ready" ? SandboxState::kReady : SandboxState::kNotReady;
  s.ip = std::string(api::StrAt(*m, {"ip"}));
  s.created_at = api::IntAt(*m, {"createdAt"}).value_or(0);
  s.config.name = std::string(api::StrAt(*m, {"name"}));
  s.config.ns = std::string(api::StrAt(*m, {"namespace"}));
  s.config.uid = std::string(api::StrAt(*m, {"uid"}));
  s.config.attempt = static_cast<int>(api::IntAt(*m, {"attempt"}).value_or(0));
  s.config.hostname = std::string(api::StrAt(*m, {"hostname"}));
  s.config.log_directory = std::string(api::StrAt(*m, {"logDirectory"}));
  s.config.host_network = api::BoolAt(*m, {"hostNetwork"});
  s.config.cgroup_parent = std::string(api::StrAt(*m, {"cgroupParent"}));
  s.config.labels = MapFrom(*m, "labels");
  s.config.annotations = MapFrom(*m, "annotations");
  return s;
}

std::vector<PodSandboxStatus> RuncRuntime::ListPodSandboxes(const Labels& labels) {
  std::vector<PodSandboxStatus> out;
  for (const auto& n : Ids(true, labels)) {
    if (auto s = GetPodSandboxStatus(n); s.ok()) out.push_back(std::move(*s));
  }
  return out;
}

Status RuncRuntime::StopPodSandbox(const std::string& id) {
  auto s = GetPodSandboxStatus(id);
  if (!s.ok()) return Status::OK();
  for (const auto& c : ContainersOf(id)) {
    if (Status st = StopContainer(c, std::chrono::seconds(0)); !st.ok()) return st;
  }
  std::string dir = SandboxDir(id);
  if (network_ != nullptr && !s->config.host_network) {
    if (Status st = network_->Del(id, dir + "/ns/net", {s->config.ns, s->config.name, s->config.uid}); !st.ok()) return st;
  }
  auto m = Meta(true, id);
  if (m.ok() && api::StrAt(*m, {"state"}) != "notready") {
    (*m)["state"] = "notready";
    if (Status st = SaveMeta(true, id, *m); !st.ok()) return st;
  }
  return Status::OK();
}

Status RuncRuntime::RemovePodSandbox(const std::string& id) {
  if (Status st = StopPodSandbox(id); !st.ok()) return st;
  for (const auto& c : ContainersOf(id)) {
    if (Status st = RemoveContainer(c); !st.ok()) return st;
  }
  std::string dir = SandboxDir(id);
  if (auto s = GetPodSandboxStatus(id); s.ok()) {
    // The pod's cgroup (runc removed its containers').
    if (Status st = RemoveCgroup(PodCgroup(s->config)); !st.ok()) return st;
  }
  (void)ReleaseNamespaces(dir + "/ns");
  DropMeta(true, id);
  return RemoveAll(dir);
}

Result<std::string> RuncRuntime::CreateContainer(const std::string& sandbox_id, const ContainerConfig& c) {
  auto sb = GetPodSandboxStatus(sandbox_id);
  if (!sb.ok()) return sb.status();
  if (sb->state != SandboxState::kReady) return Status::Conflict("pod sandbox " + sandbox_id + " is not ready");
  auto image = images_->Find(c.image);
  if (!image) return Status::NotFound("image \"" + c.image + "\" not present on the node");
  std::string id = RandomId();
  std::string dir = ContainerDir(id), sdir = SandboxDir(sandbox_id);
  std::string rootfs = dir + "/bundle/rootfs";
  for (const char* sub : {"bundle/rootfs", "upper", "work"}) {
    if (Status st = MakeDirs(dir + "/" + sub, 0700); !st.ok()) return st;
  }
  (void)::chmod((dir + "/bundle").c_str(), 0711);
  (void)::chmod(rootfs.c_str(), 0755);
  auto fail = [&](Status st) -> Result<std::string> {
    ::umount2(rootfs.c_str(), MNT_DETACH);
    (void)RemoveAll(dir);
    return st;
  };
  std::string lower;
  for (const auto& d : images_->LayerDirs(*image)) lower += (lower.empty() ? "" : ":") + d;
  std::string opts = "lowerdir=" + lower + ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
  if (::mount("overlay", rootfs.c_str(), "overlay", 0, opts.c_str()) != 0) {
    return fail(Status::IOError("mount overlay rootfs: " + std::string(std::strerror(errno))));
  }
  std::string cgroup_parent = PodCgroup(sb->config);
  SpecInput in;
  in.container = &c;
  in.image = &image->config;
  in.rootfs = rootfs;
  in.hostname = sb->config.hostname;
  if (!sb->config.host_network) {
    in.netns = sdir + "/ns/net";
    in.ipcns = sdir + "/ns/ipc";
    in.utsns = sdir + "/ns/uts";
  }
  in.hosts_file = sdir + "/hosts";
  in.resolv_file = sdir + "/resolv.conf";
  in.hostname_file = sdir + "/hostname";
  in.cgroups_path = cgroup_parent + "/" + id;
  std::string memory_cgroup = MemoryCgroupDir(in.cgroups_path);
  auto spec = BuildSpec(in);
  if (!spec.ok()) return fail(spec.status());
  if (Status st = WriteFile(dir + "/bundle/config.json", json::Serialize(*spec), 0600); !st.ok()) return fail(st);
  std::string log_path = c.log_path.empty() ? dir + "/container.log"
                         : c.log_path.front() == '/' ? c.log_path
                                                     : JoinPath(sb->config.log_directory, c.log_path);
  if (size_t slash = log_path.rfind('/'); slash != std::string::npos) (void)MakeDirs(log_path.substr(0, slash), 0755);
  bj::array cmd;
  for (const auto& a : ProcessArgs(c, image->config)) cmd.emplace_back(a);
  bj::object meta{{"id", id},
                  {"sandboxId", sandbox_id},
                  {"name", c.name},
                  {"attempt", c.attempt},
                  {"image", c.image},
                  {"imageRef", image->id},
                  {"logPath", log_path},
                  {"createdAt", NowNs()},
                  {"labels", ToJson(c.labels)},
                  {"annotations", ToJson(c.annotations)},
                  {"memoryCgroup", memory_cgroup},
                  {"stdin", c.stdin},
                  {"stdinOnce", c.stdin_once},
                  {"tty", c.tty}};
  if (Status st = SaveMeta(false, id, meta); !st.ok()) return fail(st);
  return id;
}

// The shim starts the container (`runc run --detach`): one runc process
// per container instead of `runc create` then `runc start`, which on this
// kind of machine is most of what a container costs to start.
Status RuncRuntime::StartContainer(const std::string& id) {
  auto m = Meta(false, id);
  if (!m.ok()) return m.status();
  if (m->contains("startedAt")) return Status::Conflict("container " + id + " was already started");
  std::string dir = ContainerDir(id);
  std::vector<std::string> shim_argv = {options_.shim_binary, "shim", "--id", id, "--bundle", dir + "/bundle",
                                        "--state", dir, "--log", std::string(api::StrAt(*m, {"logPath"})),
                                        "--runc", options_.runc, "--runc-root", options_.runc_root,
                                        "--memory-cgroup", std::string(api::StrAt(*m, {"memoryCgroup"}))};
  if (api::BoolAt(*m, {"stdin"})) shim_argv.push_back("--stdin");
  if (api::BoolAt(*m, {"stdinOnce"})) shim_argv.push_back("--stdin-once");
  if (api::BoolAt(*m, {"tty"})) shim_argv.push_back("--tty");
  auto shim = ChildProcess::Spawn({.argv = shim_argv,
                                   .env = {"MALLOC_CONF=thp:never,narenas:1"},
                                   .pipe_stdout = true,
                                   .die_with_parent = false,
                                   .new_session = true,
                                   .inherit_fd = sealed_runc_.get()});
  if (!shim.ok()) return shim.status();
  // The first shim process exits at once; the detached one reports.
  (void)shim->Wait();
  std::string report;
  char buf[4096];
  pollfd pfd{shim->stdout_fd(), POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::poll(&pfd, 1, 1000) <= 0) continue;
    ssize_t n = ::read(shim->stdout_fd(), buf, sizeof buf);
    if (n <= 0) break;
    report.append(buf, static_cast<size_t>(n));
  }
  while (!report.empty() && report.back() == '\n') report.pop_back();
  if (report.rfind("ok ", 0) != 0) {
    (void)Runc({"delete", "--force", id}, std::chrono::seconds(10));
    return Status::Internal(report.rfind("error ", 0) == 0 ? report.substr(6) : "shim did not report: " + report);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    pids_[id] = {static_cast<pid_t>(std::atol(report.c_str() + 3)), ReadPid(dir + "/shim.pid")};
  }
  // "ok <pid> <started ns>" (the start time is the shim's, as is the end's).
  size_t sp = report.find(' ', 3);
  int64_t started = sp == std::string::npos ? 0 : std::atoll(report.c_str() + sp + 1);
  (*m)["startedAt"] = started > 0 ? started : NowNs();
  return SaveMeta(false, id, *m);
}

Result<ContainerStatus> RuncRuntime::GetContainerStatus(const std::string& id) {
  std::string dir = ContainerDir(id);
  auto m = Meta(false, id);
  if (!m.ok()) return m.status();
  ContainerStatus s;
  s.id = id;
  s.sandbox_id = std::string(api::StrAt(*m, {"sandboxId"}));
  s.name = std::string(api::StrAt(*m, {"name"}));
  s.attempt = static_cast<int>(api::IntAt(*m, {"attempt"}).value_or(0));
  s.image = std::string(api::StrAt(*m, {"image"}));
  s.image_ref = std::string(api::StrAt(*m, {"imageRef"}));
  s.log_path = std::string(api::StrAt(*m, {"logPath"}));
  s.created_at = api::IntAt(*m, {"createdAt"}).value_or(0);
  s.started_at = api::IntAt(*m, {"startedAt"}).value_or(0);
  s.config.name = s.name;
  s.config.attempt = s.attempt;
  s.config.image = s.image;
  s.config.labels = MapFrom(*m, "labels");
  s.config.annotations = MapFrom(*m, "annotations");
  std::optional<bj::object> exit;
  pid_t init = 0, shim = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto e = exits_.find(id); e != exits_.end()) exit = e->second;
    if (auto p = pids_.find(id); p != pids_.end()) std::tie(init, shim) = p->second;
  }
  if (!exit) {
    if (auto e = ReadMeta(dir + "/exit.json"); e.ok()) {
      exit = *e;
      std::lock_guard<std::mutex> l(mu_);
      exits_[id] = *e;
    }
  }
  if (exit) {
    s.state = ContainerState::kExited;
    s.exit_code = static_cast<int32_t>(api::IntAt(*exit, {"exitCode"}).value_or(255));
    s.finished_at = api::IntAt(*exit, {"finishedAt"}).value_or(0);
    s.reason = api::BoolAt(*exit, {"oomKilled"}) ? "OOMKilled" : s.exit_code == 0 ? "Completed" : "Error";
    s.message = std::string(api::StrAt(*exit, {"message"}));
    return s;
  }
  if (init == 0 || shim == 0) {
    // After a restart of the runtime: read them once.
    init = ReadPid(dir + "/init.pid");
    shim = ReadPid(dir + "/shim.pid");
    std::lock_guard<std::mutex> l(mu_);
    if (containers_.count(id)) pids_[id] = {init, shim};
  }
  if (shim == 0 || Alive(shim)) {
    // (A live shim with a dead init is about to record the exit; no shim
    // pid yet: the container is being created.)
    s.state = s.started_at > 0 ? ContainerState::kRunning : ContainerState::kCreated;
    return s;
  }
  // The shim was killed: nobody owns the container's output or will see its
  // exit, so it is ended too (as a SIGKILL) and its end recorded, and the
  // kubelet restarts it per policy.
  bool was_running = Alive(init);
  if (was_running) ::kill(init, SIGKILL);
  s.state = ContainerState::kExited;
  s.exit_code = was_running ? 137 : 255;
  s.reason = "Error";
  s.message = "the container's monitor process died";
  s.finished_at = NowNs();
  bj::object e{{"exitCode", s.exit_code}, {"finishedAt", s.finished_at}, {"oomKilled", false},
               {"message", s.message}};
  if (WriteFileAtomic(dir + "/exit.json", json::Serialize(e), 0600).ok()) {
    std::lock_guard<std::mutex> l(mu_);
    exits_[id] = std::move(e);
  }
  return s;
}

std::vector<ContainerStatus> RuncRuntime::ListContainers(const Labels& labels) {
  std::vector<ContainerStatus> out;
  for (const auto& n : Ids(false, labels)) {
    if (auto s = GetContainerStatus(n); s.ok()) out.push_back(std::move(*s));
  }
  return out;
}

Status RuncRuntime::StopContainer(const std::string& id, std::chrono::seconds timeout) {
  auto s = GetContainerStatus(id);
  if (!s.ok()) return Status::OK();
  if (s->state == ContainerState::kExited) return Status::OK();
  std::string dir = ContainerDir(id);
  auto exited = [&] { return PathExists(dir + "/exit.json") || !Alive(ReadPid(dir + "/shim.pid")); };
  if (timeout.count() > 0) {
    (void)Runc({"kill", id, "TERM"}, std::chrono::seconds(10));
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!exited() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!exited()) {
    (void)Runc({"kill", "--all", id, "KILL"}, std::chrono::seconds(10));
    // A container whose shim died has nobody to reap it: kill the init directly.
    if (pid_t init = ReadPid(dir + "/init.pid"); !Alive(ReadPid(dir + "/shim.pid")) && Alive(init)) ::kill(init, SIGKILL);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!exited() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exited() ? Status::OK() : Status::Timeout("container " + id + " did not stop");
}

Status RuncRuntime::RemoveContainer(const std::string& id) {
  std::string dir = ContainerDir(id);
  if (!PathExists(dir)) return Status::OK();
  if (Status st = StopContainer(id, std::chrono::seconds(0)); !st.ok()) return st;
  (void)Runc({"delete", "--force", id}, std::chrono::seconds(30));
  std::string rootfs = dir + "/bundle/rootfs";
  if (::umount2(rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return Status::IOError("unmount " + rootfs + ": " + std::strerror(errno));
  }
  DropMeta(false, id);
  return RemoveAll(dir);
}

Result<RuntimeService::ExecResult> RuncRuntime::ExecSync(const std::string& id, const std::vector<std::string>& cmd,
                                                          std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {options_.runc, "--root", options_.runc_root, "exec", id};
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  auto r = RunCommand(argv, {}, "", timeout, sealed_runc_.get());
  if (!r.ok()) return r.status();
  return ExecResult{r->exit_code, std::move(r->out), std::move(r->err)};
}

namespace {

// `runc exec` in the foreground: runc relays between its stdio and the
// command. With tty, runc's stdio is the slave of a pseudo-terminal we hold
// the master of; runc puts it in raw mode, makes the command a terminal of
// its own, and on SIGWINCH copies our terminal's size to it.
class RuncExec : public RuntimeService::ExecProcess {
 public:
  RuncExec(ChildProcess child, UniqueFd master, std::string log)
      : child_(std::move(child)), master_(std::move(master)), log_(std::move(log)) {}
  ~RuncExec() override { ::unlink(log_.c_str()); }
  int stdin_fd() const override { return master_.valid() ? master_.get() : child_.stdin_fd(); }
  int stdout_fd() const override { return master_.valid() ? master_.get() : child_.stdout_fd(); }
  int stderr_fd() const override { return master_.valid() ? -1 : child_.stderr_fd(); }
  void CloseStdin() override {
    std::lock_guard<std::mutex> l(mu_);
    if (!master_.valid()) child_.CloseStdin();
  }
  void Resize(uint16_t width, uint16_t height) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!master_.valid() || done_) return;
    struct winsize ws = {};
    ws.ws_col = width;
    ws.ws_row = height;
    ::ioctl(master_.get(), TIOCSWINSZ, &ws);
    ::kill(child_.pid(), SIGWINCH);
  }
  void Hangup() override {
    std::lock_guard<std::mutex> l(mu_);
    // runc in the foreground passes the signals it gets on to the command.
    if (master_.valid() && !done_) ::kill(child_.pid(), SIGHUP);
  }
  Result<int> Wait() override {
    pid_t pid;
    {
      std::lock_guard<std::mutex> l(mu_);
      pid = child_.pid();
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return Status::IOError(std::string("waitpid: ") + std::strerror(errno));
    }
    std::lock_guard<std::mutex> l(mu_);
    done_ = true;
    child_.Forget();
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    if (WEXITSTATUS(status) != 0) {
      std::string err = RuncError(log_);
      if (!err.empty()) return Status::Internal(err);
    }
    return WEXITSTATUS(status);
  }

 private:
  std::mutex mu_;
  ChildProcess child_;
  UniqueFd master_;
  std::string log_;
  bool done_ = false;  // GUARDED_BY(mu_)
};

}  // namespace

Result<std::unique_ptr<RuntimeService::ExecProcess>> RuncRuntime::Exec(const std::string& id,
                                                                       const std::vector<std::string>& cmd, bool tty,
                                                                       bool stdin, TerminalSize size) {
  if (cmd.empty()) return Status::BadRequest("no command given");
  auto st = GetContainerStatus(id);
  if (!st.ok()) return st.status();
  if (st->state != ContainerState::kRunning) return Status::Conflict("container " + id + " is not running");
  SpawnOptions so;
  // runc's own failure (no such command) goes to a log of its own, to
  // tell it from the command's exit code and output.
  static std::atomic<uint64_t> seq{0};
  std::string log = ContainerDir(id) + "/exec-" + std::to_string(::getpid()) + "-" + std::to_string(++seq) + ".log";
  so.argv = {options_.runc, "--root", options_.runc_root, "--log", log, "--log-format", "json", "exec"};
  if (tty) so.argv.push_back("-t");
  so.argv.push_back(id);
  so.argv.insert(so.argv.end(), cmd.begin(), cmd.end());
  so.die_with_parent = false;  // an exec outlives nothing of ours it does not own
  so.new_session = true;
  so.inherit_fd = sealed_runc_.get();
  UniqueFd master, slave;
  if (tty) {
    int m = -1, sl = -1;
    struct winsize ws = {};
    ws.ws_col = size.width;
    ws.ws_row = size.height;
    if (::openpty(&m, &sl, nullptr, nullptr, &ws) != 0) return Status::IOError(std::string("openpty: ") + std::strerror(errno));
    master.Reset(m);
    slave.Reset(sl);
    ::fcntl(m, F_SETFD, FD_CLOEXEC);
    ::fcntl(sl, F_SETFD, FD_CLOEXEC);
    struct termios t;
    if (::tcgetattr(sl, &t) == 0) {
      ::cfmakeraw(&t);
      ::tcsetattr(sl, TCSANOW, &t);
    }
    so.terminal_fd = sl;
  } else {
    so.pipe_stdout = true;
    so.pipe_stderr = true;
    so.pipe_stdin = stdin;
    if (!stdin) so.stdin_path = "/dev/null";
  }
  auto child = ChildProcess::Spawn(so);
  if (!child.ok()) return child.status();
  slave.Reset();  // the command's end is runc's now: the master reads EIO once it is gone
  return std::unique_ptr<ExecProcess>(new RuncExec(std::move(*child), std::move(master), std::move(log)));
}

Result<UniqueFd> RuncRuntime::Attach(const std::string& id) {
  auto st = GetContainerStatus(id);
  if (!st.ok()) return st.status();
  if (st->state != ContainerState::kRunning) return Status::Conflict("container " + id + " is not running");
  // Through /proc/self/fd/<dir>: the socket's full path is longer than a
  // unix socket address may be.
  UniqueFd dir(::open(ContainerDir(id).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return Status::NotFound("container " + id + ": " + std::strerror(errno));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/attach.sock", dir.get());
  if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return Status::Unavailable("attach to container " + id + ": " + std::strerror(errno));
  }
  return fd;
}

Result<ContainerStats> RuncRuntime::GetContainerStats(const std::string& id) {
  auto m = Meta(false, id);
  if (!m.ok()) return m.status();
  auto sb = Meta(true, std::string(api::StrAt(*m, {"sandboxId"})));
  if (!sb.ok()) return sb.status();
  return ReadCgroupStats(std::string(api::StrAt(*sb, {"cgroupParent"})) + "/" + id);
}

std::vector<NetworkStats> RuncRuntime::GetSandboxNetworkStats(const std::string& id) {
  // Through a running container of the sandbox (it is in the namespace).
  for (const auto& c : ContainersOf(id)) {
    pid_t init = 0;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (auto p = pids_.find(c); p != pids_.end() && !exits_.count(c)) init = p->second.first;
    }
    if (init > 0 && Alive(init)) return ReadNetDev(init);
  }
  return {};
}

Result<std::string> RuncRuntime::SandboxNetNs(const std::string& id) {
  auto s = GetPodSandboxStatus(id);
  if (!s.ok()) return s.status();
  if (s->config.host_network) return std::string();
  return SandboxDir(id) + "/ns/net";
}

}  // namespace kubepp::kubelet::runtime::runc
