// The node runtime for real: runc containers from the busybox test image in
// pod sandboxes (network namespaces wired by the CNI bridge plugin), run
// under `kubepp shim`. Needs root, runc and the CNI plugins; skips with the
// reason otherwise. Traffic goes only to the pod addresses of the sandboxes
// the test makes; everything it makes is gone at the end.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/file.h"
#include "common/process.h"
#include "kubelet/cni/cni.h"
#include "kubelet/images/image_store.h"
#include "kubelet/runtime/runc/runc_runtime.h"

namespace kubepp::kubelet {
namespace {

using runtime::ContainerConfig;
using runtime::ContainerState;
using runtime::PodSandboxConfig;

std::string Env(const char* k, const char* def) {
  const char* v = std::getenv(k);
  return v ? v : def;
}

class NodeRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (::access("/usr/sbin/runc", X_OK) != 0) GTEST_SKIP() << "runc missing (scripts/setup installs it)";
    if (::access("/usr/lib/cni/bridge", X_OK) != 0) GTEST_SKIP() << "CNI plugins missing (scripts/setup)";
    std::string images = Env("KUBEPP_TEST_IMAGES", "build/test-images") + "/busybox.tar";
    if (!PathExists(images)) GTEST_SKIP() << images << " missing (scripts/build-test-images)";
    auto tmp = TempDir::Create("node-runtime");
    ASSERT_TRUE(tmp.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*tmp));
    auto store = images::ImageStore::Open(tmp_->path() + "/images");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    ASSERT_TRUE(store_->Import(images).ok());
    int n = static_cast<int>(::getpid() % 200) + 20;
    cni::Config cfg;
    cfg.bridge = "kpt" + std::to_string(::getpid() % 100000);
    cfg.subnet = "10.244." + std::to_string(n) + ".0/24";
    cfg.state_dir = tmp_->path() + "/cni";
    network_ = std::make_unique<cni::Network>(cfg);
    ASSERT_TRUE(cni::EnsureBlackholeRoute("10.244.0.0/16").ok());
    NewRuntime();
  }
  void NewRuntime() {
    runtime::runc::Options o;
    o.root = tmp_->path() + "/runtime";
    o.shim_binary = Env("KUBEPP_BIN", "build/bin/kubepp");
    o.cgroup_root = "/kubepods-test-" + std::to_string(::getpid());
    auto rt = runtime::runc::RuncRuntime::New(o, store_.get(), network_.get());
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(*rt);
  }
  void TearDown() override {
    if (!rt_) return;
    for (const auto& s : rt_->ListPodSandboxes()) EXPECT_TRUE(rt_->RemovePodSandbox(s.id).ok());
    EXPECT_TRUE(rt_->ListContainers().empty());
    (void)network_->RemoveBridge();
    (void)cni::RemoveBlackholeRoute("10.244.0.0/16");
    EXPECT_TRUE(runtime::runc::RemoveCgroup("/kubepods-test-" + std::to_string(::getpid())).ok());
    EXPECT_FALSE(PathExists("/sys/fs/cgroup/memory/kubepods-test-" + std::to_string(::getpid())));
    // Nothing of ours is still mounted.
    auto mounts = ReadFile("/proc/self/mountinfo");
    ASSERT_TRUE(mounts.ok());
    EXPECT_EQ(mounts->find(tmp_->path()), std::string::npos) << *mounts;
  }
  PodSandboxConfig Pod(const std::string& name) {
    PodSandboxConfig c;
    c.name = name;
    c.ns = "default";
    c.uid = "uid-" + name;
    c.hostname = name;
    c.log_directory = tmp_->path() + "/logs/default_" + name;
    c.dns.servers = {"10.43.0.10"};
    c.dns.searches = {"default.svc.cluster.local"};
    return c;
  }
  ContainerConfig Container(const std::string& name, std::vector<std::string> cmd) {
    ContainerConfig c;
    c.name = name;
    c.image = "busybox";
    c.command = std::move(cmd);
    c.log_path = name + "/0.log";
    return c;
  }
  runtime::ContainerStatus WaitExited(const std::string& id) {
    for (int i = 0; i < 500; ++i) {
      auto s = rt_->GetContainerStatus(id);
      if (s.ok() && s->state == ContainerState::kExited) return *s;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "container " << id << " did not exit";
    return {};
  }

  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<images::ImageStore> store_;
  std::unique_ptr<cni::Network> network_;
  std::unique_ptr<runtime::runc::RuncRuntime> rt_;
};

std::string HttpGet(const std::string& ip, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
    (void)!::write(fd, req.data(), req.size());
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST_F(NodeRuntimeTest, AContainerRunsLogsAndExitsWithItsCode) {
  auto sb = rt_->RunPodSandbox(Pod("hello"));
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  auto st = rt_->GetPodSandboxStatus(*sb);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->ip.rfind("10.244.", 0), 0u) << st->ip;
  auto id = rt_->CreateContainer(*sb, Container("c", {"sh", "-c", "echo hello; echo oops >&2; hostname; "
                                                               "grep nameserver /etc/resolv.conf; exit 3"}));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(rt_->GetContainerStatus(*id)->state, ContainerState::kCreated);
  ASSERT_TRUE(rt_->StartContainer(*id).ok());
  auto s = WaitExited(*id);
  EXPECT_EQ(s.exit_code, 3);
  EXPECT_EQ(s.reason, "Error");
  EXPECT_GT(s.finished_at, s.started_at);
  auto log = ReadFile(s.log_path);
  ASSERT_TRUE(log.ok()) << s.log_path;
  EXPECT_NE(log->find(" stdout F hello\n"), std::string::npos) << *log;
  EXPECT_NE(log->find(" stderr F oops\n"), std::string::npos) << *log;
  EXPECT_NE(log->find(" stdout F hello\n"), std::string::npos) << *log;
  EXPECT_NE(log->find(" stdout F nameserver 10.43.0.10\n"), std::string::npos) << *log;
  EXPECT_NE(log->find("Z stdout F hello"), std::string::npos) << *log;  // RFC 3339 UTC timestamps
  // A command that does not exist: the runtime's message.
  auto bad = rt_->CreateContainer(*sb, Container("bad", {"/no/such/binary"}));
  if (bad.ok()) {
    Status start = rt_->StartContainer(*bad);
    if (start.ok()) {
      auto b = WaitExited(*bad);
      EXPECT_NE(b.exit_code, 0);
    } else {
      EXPECT_NE(start.message().find("no such file"), std::string::npos) << start.ToString();
    }
  } else {
    EXPECT_NE(bad.status().message().find("no such file"), std::string::npos) << bad.status().ToString();
  }
}

TEST_F(NodeRuntimeTest, PodsServeOnTheirAddressAndStopGracefully) {
  auto sb = rt_->RunPodSandbox(Pod("web"));
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  std::string ip = rt_->GetPodSandboxStatus(*sb)->ip;
  auto id = rt_->CreateContainer(*sb, Container("httpd", {"httpd", "-f", "-p", "80", "-h", "/var/www"}));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(rt_->StartContainer(*id).ok());
  std::string body;
  for (int i = 0; i < 100 && body.find("hello from kubepp") == std::string::npos; ++i) {
    body = HttpGet(ip, 80);
    if (body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(body.find("hello from kubepp"), std::string::npos) << body;
  // A second container of the pod shares its network (localhost) and hostname.
  auto side = rt_->CreateContainer(*sb, Container("side", {"sh", "-c", "wget -qO- http://127.0.0.1/; hostname"}));
  ASSERT_TRUE(side.ok()) << side.status().ToString();
  ASSERT_TRUE(rt_->StartContainer(*side).ok());
  auto ss = WaitExited(*side);
  EXPECT_EQ(ss.exit_code, 0);
  EXPECT_EQ(ss.reason, "Completed");
  auto log = ReadFile(ss.log_path);
  EXPECT_NE(log->find("stdout F hello from kubepp"), std::string::npos) << *log;
  EXPECT_NE(log->find("stdout F web\n"), std::string::npos) << *log;
  // Exec into the running one.
  auto ex = rt_->ExecSync(*id, {"sh", "-c", "cat /etc/hostname; exit 7"}, std::chrono::seconds(10));
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  EXPECT_EQ(ex->exit_code, 7);
  EXPECT_EQ(ex->out, "web\n");
  // A restarted runtime (the kubelet after a crash) finds it still running.
  rt_.reset();
  NewRuntime();
  auto again = rt_->GetContainerStatus(*id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state, ContainerState::kRunning);
  EXPECT_NE(HttpGet(ip, 80).find("hello from kubepp"), std::string::npos);
  // httpd as PID 1 ignores SIGTERM (no handler): SIGKILL after the grace period.
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(rt_->StopContainer(*id, std::chrono::seconds(1)).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  auto s = rt_->GetContainerStatus(*id);
  EXPECT_EQ(s->state, ContainerState::kExited);
  EXPECT_EQ(s->exit_code, 137);  // 128 + SIGKILL
  // A process that handles SIGTERM finishes gracefully, well before the deadline.
  auto graceful = rt_->CreateContainer(
      *sb, Container("graceful", {"sh", "-c", "trap 'echo bye; exit 0' TERM; while true; do sleep 0.05; done"}));
  ASSERT_TRUE(graceful.ok()) << graceful.status().ToString();
  ASSERT_TRUE(rt_->StartContainer(*graceful).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(rt_->StopContainer(*graceful, std::chrono::seconds(20)).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  auto g = rt_->GetContainerStatus(*graceful);
  EXPECT_EQ(g->exit_code, 0);
  EXPECT_NE(ReadFile(g->log_path)->find("stdout F bye"), std::string::npos);
  ASSERT_TRUE(rt_->RemovePodSandbox(*sb).ok());
  EXPECT_FALSE(PathExists(tmp_->path() + "/cni/results/" + *sb + ".json"));
}

int CountLines(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

int OpenFds() { return static_cast<int>(ListDir("/proc/self/fd")->size()); }

// 200 pods made and removed: everything the runtime creates goes away with them.
TEST_F(NodeRuntimeTest, NothingLeaksAfterManyPodCycles) {
  // (Only our bridge's ports count: other tests may run side by side.)
  std::string bridge = network_->config().bridge;
  auto ports = [&] {
    return RunCommand({"ip", "-o", "link", "show", "master", bridge}, {}, "", std::chrono::seconds(10))->out;
  };
  int fds_before = OpenFds();
  const int cycles = 200;
  for (int i = 0; i < cycles; ++i) {
    auto sb = rt_->RunPodSandbox(Pod("cycle" + std::to_string(i % 7)));
    ASSERT_TRUE(sb.ok()) << i << ": " << sb.status().ToString();
    auto id = rt_->CreateContainer(*sb, Container("c", {"sh", "-c", "echo hi"}));
    ASSERT_TRUE(id.ok()) << i << ": " << id.status().ToString();
    ASSERT_TRUE(rt_->StartContainer(*id).ok()) << i;
    if (i == 0) {
      EXPECT_EQ(CountLines(ports(), "veth"), 1);
    }
    ASSERT_TRUE(rt_->RemovePodSandbox(*sb).ok()) << i;
  }
  EXPECT_TRUE(rt_->ListPodSandboxes().empty());
  EXPECT_TRUE(rt_->ListContainers().empty());
  EXPECT_EQ(CountLines(ports(), "veth"), 0);
  EXPECT_LE(OpenFds(), fds_before + 2);
  auto mounts = ReadFile("/proc/self/mountinfo");
  EXPECT_EQ(mounts->find(tmp_->path()), std::string::npos);
  // Every address went back to the pool; no runc state, no container dirs, no shims.
  auto leases = ListDir(tmp_->path() + "/cni/networks/kubepp");
  ASSERT_TRUE(leases.ok());
  for (const auto& l : *leases) EXPECT_TRUE(l == "lock" || l.rfind("last_reserved_ip", 0) == 0) << l;
  auto results = ListDir(tmp_->path() + "/cni/results");
  EXPECT_TRUE(!results.ok() || results->empty());
  EXPECT_TRUE(ListDir(tmp_->path() + "/runtime/containers")->empty());
  EXPECT_TRUE(ListDir(tmp_->path() + "/runtime/sandboxes")->empty());
  auto runc_state = ListDir(tmp_->path() + "/runtime/runc");
  EXPECT_TRUE(!runc_state.ok() || runc_state->empty());
  auto shims = RunCommand({"pgrep", "-f", "shim --id .* --state " + tmp_->path()}, {}, "", std::chrono::seconds(10));
  EXPECT_EQ(shims->out, "");
  auto cgroups = ListDir("/sys/fs/cgroup/memory/kubepods-test-" + std::to_string(::getpid()));
  if (cgroups.ok()) {
    for (const auto& c : *cgroups) EXPECT_EQ(c.rfind("pod", 0), std::string::npos) << c;
  }
}

TEST_F(NodeRuntimeTest, AContainerOverItsMemoryLimitIsOOMKilled) {
  if (!PathExists("/sys/fs/cgroup/memory")) GTEST_SKIP() << "no cgroup v1 memory controller";
  auto sb = rt_->RunPodSandbox(Pod("hog"));
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  auto c = Container("hog", {"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"});
  c.resources.memory_limit = 16 << 20;
  auto id = rt_->CreateContainer(*sb, c);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(rt_->StartContainer(*id).ok());
  auto s = WaitExited(*id);
  EXPECT_EQ(s.reason, "OOMKilled");
  EXPECT_EQ(s.exit_code, 137);
}

}  // namespace
}  // namespace kubepp::kubelet
