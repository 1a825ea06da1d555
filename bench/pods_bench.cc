// bench/pods: pods on one real node (runc containers, CNI bridge), the image
// present. In one run:
//   floor   bare `runc run` of the test image (overlay rootfs over its
//           layer, `true`, no network): what starting a container costs;
//   alone   the node's external programs with nothing of kubepp's around
//           them: 100 x (namespaces, CNI loopback + bridge plugins, overlay,
//           `runc run --detach`) from 2 threads: the pods/s they allow;
//   latency 100 pods (busybox `sleep`) created through the API one every
//           300 ms against `kubepp server --no-agent` plus a separate
//           `kubepp kubelet`: create-to-Running latency as a watch sees it
//           (p50/p99);
//   burst   then, on the emptied node, 100 such pods created at once from
//           10 client threads: pods/s from the first create to the last
//           Running (also as a share of "alone"), and the kubelet's RSS
//           with them running.
// Last line: "pods: p50 X ms, p99 Y ms, runc floor Z ms, ratio R" (R = p50 / floor).
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include "api/object.h"
#include "bench/measure.h"
#include "client/rest.h"
#include "common/file.h"
#include "common/json.h"
#include "common/net.h"
#include "common/process.h"
#include "kubelet/cni/cni.h"
#include "kubelet/images/image_store.h"
#include "kubelet/runtime/runc/runc_runtime.h"

using namespace kubepp;
using bench::Percentile;
using SteadyClock = std::chrono::steady_clock;
namespace bj = boost::json;

namespace {

std::vector<pid_t> g_children;

std::string g_cleanup_kubepp, g_cleanup_dir;  // the node to clean up on a failure

void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "pods bench: %s: %s\n", what.c_str(), st.ToString().c_str());
  for (pid_t p : g_children) ::kill(p, SIGKILL);
  if (!g_cleanup_dir.empty()) {
    // Containers outlive their kubelet: remove them, then the temp dir.
    (void)RunCommand({g_cleanup_kubepp, "kubelet", "--data-dir", g_cleanup_dir, "--cleanup"}, {}, "", std::chrono::seconds(300));
    (void)RemoveAll(g_cleanup_dir.substr(0, g_cleanup_dir.rfind('/')));
  }
  std::exit(1);
}

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The image's layer directories as an overlay lowerdir.
std::string ImageLower(const std::string& dir, const std::string& tarball) {
  auto store = kubelet::images::ImageStore::Open(dir + "/images");
  if (!store.ok()) Die("image store", store.status());
  auto im = (*store)->Import(tarball);
  if (!im.ok()) Die("import", im.status());
  std::string lower;
  for (const auto& d : (*store)->LayerDirs(im->front())) lower += (lower.empty() ? "" : ":") + d;
  return lower;
}

// Mounts the image's overlay rootfs at <b>/rootfs (upper and work dirs in b).
void MountRootfs(const std::string& b, const std::string& lower) {
  for (const char* sub : {"/rootfs", "/upper", "/work"}) (void)MakeDirs(b + sub);
  std::string opts = "lowerdir=" + lower + ",upperdir=" + b + "/upper,workdir=" + b + "/work";
  if (::mount("overlay", (b + "/rootfs").c_str(), "overlay", 0, opts.c_str()) != 0) Die("mount", Status::IOError("overlay"));
}

// A minimal OCI spec running `args` in <b>/rootfs: new pid and mount
// namespaces, and new network/IPC/UTS ones unless `ns_dir` names bind-mounted
// ones to join.
void WriteSpec(const std::string& b, bj::array args, const std::string& ns_dir = "") {
  bj::array namespaces{bj::object{{"type", "pid"}}, bj::object{{"type", "mount"}}};
  for (const char* t : {"network", "ipc", "uts"}) {
    bj::object n{{"type", t}};
    if (!ns_dir.empty()) n["path"] = ns_dir + "/" + (std::string_view(t) == "network" ? "net" : t);
    namespaces.push_back(std::move(n));
  }
  bj::object spec{
      {"ociVersion", "1.0.2"},
      {"process", bj::object{{"terminal", false}, {"user", bj::object{{"uid", 0}, {"gid", 0}}}, {"args", std::move(args)},
                             {"env", bj::array{"PATH=/bin"}}, {"cwd", "/"}}},
      {"root", bj::object{{"path", "rootfs"}}},
      {"mounts", bj::array{bj::object{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}}}},
      {"linux", bj::object{{"namespaces", std::move(namespaces)}}}};
  (void)WriteFile(b + "/config.json", json::Serialize(spec));
}

// Median ms of `runs` bare `runc run`s of `true` in the image.
double RuncFloor(const std::string& dir, const std::string& lower, int runs) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    std::string b = dir + "/floor" + std::to_string(i);
    auto t0 = SteadyClock::now();
    MountRootfs(b, lower);
    WriteSpec(b, bj::array{"/bin/true"});
    auto r = RunCommand({"/usr/sbin/runc", "--root", dir + "/runc", "run", "--bundle", b, "floor" + std::to_string(i)}, {},
                        "", std::chrono::seconds(30));
    ms.push_back(Ms(SteadyClock::now() - t0));
    ::umount2((b + "/rootfs").c_str(), MNT_DETACH);
    if (!r.ok() || r->exit_code != 0) Die("runc run", r.ok() ? Status::Internal(r->err) : r.status());
  }
  return Percentile(ms, 0.5);
}

// Pods/s of the node's external programs alone, with nothing of kubepp's
// around them: for each of `n` pods, new network/IPC/UTS namespaces, the CNI
// loopback and bridge (+ host-local) plugins, an overlay rootfs and
// `runc run --detach` of `sleep` (runc run from a sealed copy, its cheapest
// way), from `workers` threads at once. Everything is undone afterwards.
double ExternalFloor(const std::string& dir, const std::string& lower, int n, int workers) {
  const std::string cidr = "10.98.0.0/16";
  if (Status st = kubelet::cni::EnsureBlackholeRoute(cidr); !st.ok()) Die("blackhole route", st);
  kubelet::cni::Config nc;
  nc.network = "kpfloor";
  nc.bridge = "kpfloor0";
  nc.subnet = "10.98.0.0/24";
  nc.state_dir = dir + "/floor-cni";
  kubelet::cni::Network net(nc);
  auto sealed = kubelet::runtime::runc::SealRunc("/usr/sbin/runc");
  if (!sealed.ok()) Die("seal runc", sealed.status());
  std::string runc = "/proc/self/fd/" + std::to_string(sealed->get());
  std::string root = dir + "/floor-runc";
  auto bundle = [&](int i) { return dir + "/xfloor" + std::to_string(i); };
  std::atomic<int> next{0};
  std::vector<std::thread> ts;
  auto t0 = SteadyClock::now();
  for (int w = 0; w < workers; ++w) {
    ts.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        std::string b = bundle(i), id = "xfloor" + std::to_string(i);
        if (Status st = kubelet::runtime::runc::CreateNamespaces(b + "/ns", id); !st.ok()) Die("namespaces", st);
        auto a = net.Add(id, b + "/ns/net", {"floor", id, id}, {});
        if (!a.ok()) Die("cni add", a.status());
        MountRootfs(b, lower);
        WriteSpec(b, bj::array{"/bin/sleep", "3600"}, b + "/ns");
        auto p = ChildProcess::Spawn({.argv = {runc, "--root", root, "run", "--detach", "--bundle", b, id},
                                      .stdout_path = "/dev/null",
                                      .stderr_path = "=stdout",
                                      .stdin_path = "/dev/null",
                                      .die_with_parent = false,
                                      .inherit_fd = sealed->get()});
        if (!p.ok()) Die("runc run", p.status());
        auto ws = p->Wait();
        if (!ws.ok() || *ws != 0) Die("runc run --detach", Status::Internal("failed"));
      }
    });
  }
  for (auto& t : ts) t.join();
  double rate = n / std::chrono::duration<double>(SteadyClock::now() - t0).count();
  for (int i = 0; i < n; ++i) {
    std::string b = bundle(i), id = "xfloor" + std::to_string(i);
    (void)RunCommand({runc, "--root", root, "delete", "--force", id}, {}, "", std::chrono::seconds(30), sealed->get());
    (void)net.Del(id, b + "/ns/net", {"floor", id, id});
    ::umount2((b + "/rootfs").c_str(), MNT_DETACH);
    (void)kubelet::runtime::runc::ReleaseNamespaces(b + "/ns");
  }
  (void)net.RemoveBridge();
  (void)kubelet::cni::RemoveBlackholeRoute(cidr);
  return rate;
}

// How many pod sandboxes the node still has (the kubelet removes a pod's
// directory last, after its containers, network and mounts).
size_t CountSandboxes(const std::string& agent_dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(agent_dir + "/runtime/sandboxes", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Pods on one real node"};
  std::string kubepp = "build/bin/kubepp", images = "build/test-images";
  int pods = 100, floor_runs = 20, threads = 10, interval_ms = 300, floor_workers = 2;
  std::string keep_logs;
  app.add_option("--kubepp", kubepp, "kubepp binary")->capture_default_str();
  app.add_option("--images", images, "Test images (scripts/build-test-images)")->capture_default_str();
  app.add_option("--pods", pods, "Pods to create")->capture_default_str();
  app.add_option("--threads", threads, "Client threads creating the burst")->capture_default_str();
  app.add_option("--interval-ms", interval_ms, "Pace of the latency phase")->capture_default_str();
  app.add_option("--floor-workers", floor_workers, "Threads starting the runc + CNI floor's pods")->capture_default_str();
  app.add_option("--keep-logs", keep_logs, "Copy the server's and kubelet's logs into this directory");
  CLI11_PARSE(app, argc, argv);
  if (::geteuid() != 0) Die("setup", Status::Forbidden("needs root"));
  auto tmp = TempDir::Create("pods-bench");
  if (!tmp.ok()) Die("temp dir", tmp.status());
  std::string dir = tmp->path();
  std::string tarball = images + "/busybox.tar";

  std::string lower = ImageLower(dir, tarball);
  double floor = RuncFloor(dir, lower, floor_runs);
  std::fprintf(stderr, "pods bench: runc run floor %.1f ms\n", floor);
  double floor_rate = ExternalFloor(dir, lower, pods, floor_workers);
  std::fprintf(stderr, "pods bench: runc + CNI alone %.1f pods/s\n", floor_rate);

  auto port = PickFreePort();
  auto kport = PickFreePort();
  if (!port.ok() || !kport.ok()) Die("port", Status::Internal("no free port"));
  std::string data = dir + "/server";
  auto server = ChildProcess::Spawn({.argv = {kubepp, "server", "--no-agent", "--data-dir", data, "--https-port",
                                              std::to_string(*port), "--cluster-cidr", "10.96.0.0/16"},
                                     .stdout_path = dir + "/server.log",
                                     .stderr_path = "=stdout"});
  if (!server.ok()) Die("server", server.status());
  g_children = {server->pid()};
  std::string kc = data + "/kubeconfig";
  for (int i = 0; i < 400 && ::access(kc.c_str(), R_OK) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  auto cfg = client::LoadKubeconfig(kc);
  if (!cfg.ok()) Die("kubeconfig", cfg.status());
  client::RestClient c(*cfg);
  for (int i = 0; i < 400 && !c.Get("/readyz").ok(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  std::string agent = dir + "/agent";
  (void)MakeDirs(agent + "/images/import");
  (void)RunCommand({"cp", tarball, agent + "/images/import/"}, {}, "", std::chrono::seconds(30));
  auto kubelet = ChildProcess::Spawn({.argv = {kubepp, "kubelet", "--kubeconfig", kc, "--data-dir", agent, "--node-name",
                                               "bench-node", "--node-ip", "127.0.0.1", "--kubelet-port",
                                               std::to_string(*kport), "--cni-bridge", "kpbench0", "--cluster-cidr",
                                               "10.96.0.0/16", "--service-cidr", "10.97.0.0/16", "-v", "2"},
                                      .stdout_path = dir + "/kubelet.log",
                                      .stderr_path = "=stdout"});
  if (!kubelet.ok()) Die("kubelet", kubelet.status());
  g_children.push_back(kubelet->pid());
  g_cleanup_kubepp = kubepp;
  g_cleanup_dir = agent;
  for (int i = 0;; ++i) {
    auto n = c.Get("/api/v1/nodes/bench-node");
    bool ready = false;
    if (n.ok()) {
      if (const auto* conds = api::ArrAt(n->get_object(), {"status", "conditions"})) {
        for (const auto& cd : *conds) {
          if (api::StrAt(cd.get_object(), {"type"}) == "Ready" && api::StrAt(cd.get_object(), {"status"}) == "True") ready = true;
        }
      }
    }
    if (ready) break;
    if (i > 600) Die("node", Status::Timeout("bench-node not Ready"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // One phase: `pods` pods in namespace `ns`, created by `threads` threads, each
  // thread waiting `interval` between creates; create-to-Running latencies as
  // a watch sees them, and the time from the first create to the last Running.
  struct Phase {
    std::vector<double> lat;
    double seconds = 0;
  };
  auto run_phase = [&](const std::string& ns, int pods, int threads, std::chrono::milliseconds interval) {
    (void)c.Post("/api/v1/namespaces", bj::object{{"metadata", bj::object{{"name", ns}}}});
    // The default service account (the API requires it for pods).
    for (int i = 0; i < 200 && !c.Get("/api/v1/namespaces/" + ns + "/serviceaccounts/default").ok(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    auto list = c.Get("/api/v1/namespaces/" + ns + "/pods");
    if (!list.ok()) Die("list", list.status());
    std::string rv(api::StrAt(list->get_object(), {"metadata", "resourceVersion"}));
    std::mutex mu;
    std::map<std::string, SteadyClock::time_point> created;
    Phase out;
    std::atomic<int> running{0};
    SteadyClock::time_point t_last;
    client::WatchHandle wh;
    std::thread watcher([&] {
      std::set<std::string> seen;
      while (!wh.stopped() && running.load() < pods) {
        (void)c.Watch("/api/v1/namespaces/" + ns + "/pods?watch=1&resourceVersion=" + rv,
                      [&](std::string_view, bj::object& obj) {
                        auto now = SteadyClock::now();
                        rv = std::string(api::ResourceVersion(obj));
                        if (api::StrAt(obj, {"status", "phase"}) != "Running") return true;
                        std::string name(api::Name(obj));
                        std::lock_guard<std::mutex> l(mu);
                        if (!seen.insert(name).second) return true;
                        auto it = created.find(name);
                        if (it != created.end()) out.lat.push_back(Ms(now - it->second));
                        t_last = now;
                        return ++running < pods;
                      },
                      &wh);
      }
    });
    auto t0 = SteadyClock::now();
    std::atomic<int> next{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&] {
        auto at = SteadyClock::now();
        for (int i = next++; i < pods; i = next++) {
          if (interval.count() > 0) {
            std::this_thread::sleep_until(at);
            at += interval;
          }
          std::string name = "p" + std::to_string(i);
          bj::object pod{{"apiVersion", "v1"},
                         {"kind", "Pod"},
                         {"metadata", bj::object{{"name", name}}},
                         {"spec", bj::object{{"terminationGracePeriodSeconds", 0},
                                             {"containers", bj::array{bj::object{{"name", "c"},
                                                                                 {"image", "busybox"},
                                                                                 {"command", bj::array{"sleep", "3600"}}}}}}}};
          {
            std::lock_guard<std::mutex> l(mu);
            created[name] = SteadyClock::now();
          }
          auto r = c.Post("/api/v1/namespaces/" + ns + "/pods", pod);
          if (!r.ok()) Die("create pod", r.status());
        }
      });
    }
    for (auto& t : ts) t.join();
    auto deadline = SteadyClock::now() + std::chrono::seconds(300);
    while (running.load() < pods && SteadyClock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    wh.Stop();
    watcher.join();
    if (running.load() < pods) {
      if (auto l = c.Get("/api/v1/namespaces/" + ns + "/pods"); l.ok()) {
        for (const auto& p : l->get_object().at("items").as_array()) {
          if (api::StrAt(p.as_object(), {"status", "phase"}) != "Running") {
            std::fprintf(stderr, "pods bench: not running: %s\n", json::Serialize(p).c_str());
          }
        }
      }
      Die("pods", Status::Timeout(std::to_string(running.load()) + " of " + std::to_string(pods) + " Running"));
    }
    out.seconds = std::chrono::duration<double>(t_last - t0).count();
    return out;
  };
  // Latency: pods arrive one at a time at a steady pace on an empty node, as
  // upstream's density test measures its latency pods apart from its
  // saturation burst (a burst's latencies are mostly queueing: the 100th pod
  // of a burst waits for the 99 before it).
  Phase paced = run_phase("latency", pods, 1, std::chrono::milliseconds(interval_ms));
  // Empty the node again before the burst.
  (void)c.Delete("/api/v1/namespaces/latency");
  for (int i = 0;; ++i) {
    auto l = c.Get("/api/v1/namespaces/latency/pods");
    if (l.ok() && l->get_object().at("items").as_array().empty() && CountSandboxes(agent) == 0) break;
    if (i > 3000) Die("cleanup", Status::Timeout("latency pods not deleted"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // Throughput: a burst of pods from `threads` clients at once.
  Phase burst = run_phase("burst", pods, threads, std::chrono::milliseconds(0));
  long rss = bench::RssKiB(kubelet->pid());
  long rss_anon = bench::StatusKiB(kubelet->pid(), "RssAnon"), rss_file = bench::StatusKiB(kubelet->pid(), "RssFile");
  double p50 = Percentile(paced.lat, 0.5), p99 = Percentile(paced.lat, 0.99);
  double rate = pods / burst.seconds;
  // Tear down: delete the pods, stop everything, remove what the node made.
  (void)c.Delete("/api/v1/namespaces/burst");
  (void)kubelet->Signal(SIGTERM);
  (void)kubelet->Wait();
  (void)server->Signal(SIGTERM);
  (void)server->Wait();
  g_children.clear();
  auto clean = RunCommand({kubepp, "kubelet", "--data-dir", agent, "--cleanup"}, {}, "", std::chrono::seconds(300));
  if (!keep_logs.empty()) (void)RunCommand({"cp", dir + "/server.log", dir + "/kubelet.log", keep_logs}, {}, "", std::chrono::seconds(30));
  if (!clean.ok() || clean->exit_code != 0) std::fprintf(stderr, "pods bench: cleanup failed\n");
  std::printf("runc run floor (median of %d): %.1f ms\n", floor_runs, floor);
  std::printf("%d pods one every %d ms: create-to-Running p50 %.1f ms, p99 %.1f ms\n", pods, interval_ms, p50, p99);
  std::printf("%d pods at once from %d clients: %.1f pods/s (create-to-Running p50 %.1f ms, p99 %.1f ms); kubelet RSS %.1f MiB "
              "(%.1f anonymous, %.1f file: the binary's pages)\n",
              pods, threads, rate, Percentile(burst.lat, 0.5), Percentile(burst.lat, 0.99), rss / 1024.0, rss_anon / 1024.0,
              rss_file / 1024.0);
  std::printf("runc + CNI alone (namespaces, loopback + bridge plugins, overlay, runc run --detach; %d threads): %.1f pods/s; "
              "kubepp reaches %.0f%% of it\n",
              floor_workers, floor_rate, 100.0 * rate / floor_rate);
  std::printf("pods: p50 %.0f ms, p99 %.0f ms, runc floor %.0f ms, ratio %.2f\n", p50, p99, floor, floor > 0 ? p50 / floor : 0);
  return 0;
}
