// bench/scheduler: `kubepp server` (API server + scheduler + controllers in
// one process) and `kubepp sim` hollow nodes, in one run per node count:
//   baseline   the same burst of pods created with spec.nodeName already set
//              (no scheduling): the API's create rate, which bounds the rest;
//   basic      a burst of plain pods: pods/s from creation to bound and to
//              Running, scheduling latency p50/p99 (create ack to bind seen);
//   anti       pods with required pod anti-affinity on the hostname;
// then control-plane RSS with the cluster filled to --fill pods.
// Last line: "scheduler: N pods/s at M nodes (...)" for the largest M.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include "api/object.h"
#include "bench/measure.h"
#include "client/rest.h"
#include "common/file.h"
#include "common/net.h"
#include "common/process.h"

using namespace kubepp;
using bench::Percentile;
using bench::RssKiB;
using SteadyClock = std::chrono::steady_clock;
namespace bj = boost::json;

namespace {

// The server and hollow nodes of the run in progress, killed on a failure
// (std::exit runs no destructors).
std::vector<pid_t> g_children;

void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "scheduler bench: %s: %s\n", what.c_str(), st.ToString().c_str());
  for (pid_t p : g_children) ::kill(p, SIGKILL);
  std::exit(1);
}

double Secs(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

bj::object PodObject(const std::string& name, const std::string& node, bool anti) {
  bj::object pod{{"apiVersion", "v1"},
                 {"kind", "Pod"},
                 {"metadata", bj::object{{"name", name}, {"labels", bj::object{{"app", anti ? "anti" : "basic"}}}}},
                 {"spec", bj::object{{"containers", bj::array{bj::object{
                                                       {"name", "c"},
                                                       {"image", "registry.k8s.io/pause:3.10"},
                                                       {"resources", bj::object{{"requests", bj::object{{"cpu", "100m"},
                                                                                                       {"memory", "500Mi"}}}}}}}}}}};
  bj::object& spec = pod["spec"].as_object();
  if (!node.empty()) spec["nodeName"] = node;
  if (anti) {
    spec["affinity"] = bj::object{
        {"podAntiAffinity",
         bj::object{{"requiredDuringSchedulingIgnoredDuringExecution",
                     bj::array{bj::object{{"labelSelector", bj::object{{"matchLabels", bj::object{{"app", "anti"}}}}},
                                          {"topologyKey", "kubernetes.io/hostname"}}}}}}};
  }
  return pod;
}

struct Burst {
  double create_s = 0, bound_s = 0, running_s = 0;
  std::vector<double> latency_ms;
};

// Creates `count` pods in `ns` from 32 client threads while one watch
// records when each is seen bound and Running.
Burst RunBurst(client::RestClient& c, const std::string& ns, int count, bool prebound, int nodes, bool anti) {
  if (auto r = c.Post("/api/v1/namespaces", bj::object{{"metadata", bj::object{{"name", ns}}}}); !r.ok()) {
    Die("create namespace", r.status());
  }
  auto list = c.Get("/api/v1/namespaces/" + ns + "/pods");
  if (!list.ok()) Die("list", list.status());
  std::string rv(api::StrAt(list->get_object(), {"metadata", "resourceVersion"}));
  std::mutex mu;
  std::map<std::string, SteadyClock::time_point> created;
  std::vector<double> lat;
  std::atomic<int> bound{0}, running{0};
  SteadyClock::time_point t_bound, t_running;
  client::WatchHandle wh;
  std::set<std::string> seen_bound, seen_running;
  std::thread watcher([&] {
    std::string path = "/api/v1/namespaces/" + ns + "/pods?watch=1&allowWatchBookmarks=false&resourceVersion=" + rv;
    while (!wh.stopped() && running.load() < count) {
      Status st = c.Watch(path, [&](std::string_view type, bj::object& obj) {
        std::string name(api::Name(obj));
        auto now = SteadyClock::now();
        bool is_bound = !api::StrAt(obj, {"spec", "nodeName"}).empty();
        bool is_running = api::StrAt(obj, {"status", "phase"}) == "Running";
        std::lock_guard<std::mutex> l(mu);
        if (is_bound && seen_bound.insert(name).second) {
          auto it = created.find(name);
          if (it != created.end() && !prebound) lat.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
          if (++bound == count) t_bound = now;
        }
        if (is_running && seen_running.insert(name).second) {
          if (++running == count) t_running = now;
        }
        rv = std::string(api::ResourceVersion(obj));
        path = "/api/v1/namespaces/" + ns + "/pods?watch=1&allowWatchBookmarks=false&resourceVersion=" + rv;
        return running.load() < count;
      }, &wh);
      if (!st.ok() && !wh.stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  auto t0 = SteadyClock::now();
  std::atomic<int> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 32; ++t) {
    ts.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        std::string name = "p" + std::to_string(i);
        std::string node = prebound ? "hollow-" + std::to_string(i % nodes) : "";
        {
          std::lock_guard<std::mutex> l(mu);
          created[name] = SteadyClock::now();
        }
        auto r = c.Post("/api/v1/namespaces/" + ns + "/pods", PodObject(name, node, anti));
        if (!r.ok()) Die("create pod", r.status());
      }
    });
  }
  for (auto& t : ts) t.join();
  Burst b;
  b.create_s = Secs(SteadyClock::now() - t0);
  auto deadline = SteadyClock::now() + std::chrono::seconds(300);
  while (running.load() < count && SteadyClock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  wh.Stop();
  watcher.join();
  if (running.load() < count) {
    Die("burst " + ns, Status::Timeout(std::to_string(bound.load()) + " bound, " + std::to_string(running.load()) +
                                           " running of " + std::to_string(count)));
  }
  b.bound_s = Secs(t_bound - t0);
  b.running_s = Secs(t_running - t0);
  b.latency_ms = std::move(lat);
  return b;
}

int NodesReady(client::RestClient& c) {
  auto l = c.Get("/api/v1/nodes");
  if (!l.ok()) return 0;
  int n = 0;
  if (const auto* items = api::ArrAt(l->get_object(), {"items"})) {
    for (const auto& it : *items) {
      if (const auto* conds = api::ArrAt(it.get_object(), {"status", "conditions"})) {
        for (const auto& cd : *conds) {
          if (api::StrAt(cd.get_object(), {"type"}) == "Ready" && api::StrAt(cd.get_object(), {"status"}) == "True") ++n;
        }
      }
    }
  }
  return n;
}

// A Deployment of `replicas` pods: seconds from its creation until the
// deployment reports every replica available (controllers, scheduler and
// hollow nodes all in the path).
double DeploymentSeconds(client::RestClient& c, int replicas) {
  if (auto r = c.Post("/api/v1/namespaces", bj::object{{"metadata", bj::object{{"name", "deploy"}}}}); !r.ok()) {
    Die("create namespace", r.status());
  }
  bj::object d{{"apiVersion", "apps/v1"},
               {"kind", "Deployment"},
               {"metadata", bj::object{{"name", "big"}}},
               {"spec", bj::object{{"replicas", replicas},
                                   {"selector", bj::object{{"matchLabels", bj::object{{"app", "big"}}}}},
                                   {"template", bj::object{{"metadata", bj::object{{"labels", bj::object{{"app", "big"}}}}},
                                                           {"spec", PodObject("x", "", false)["spec"]}}}}}};
  auto t0 = SteadyClock::now();
  if (auto r = c.Post("/apis/apps/v1/namespaces/deploy/deployments", d); !r.ok()) Die("create deployment", r.status());
  auto last_report = t0;
  for (;;) {
    auto got = c.Get("/apis/apps/v1/namespaces/deploy/deployments/big");
    if (got.ok() && api::IntAt(got->get_object(), {"status", "availableReplicas"}).value_or(0) == replicas) break;
    if (got.ok() && SteadyClock::now() - last_report > std::chrono::seconds(1)) {
      last_report = SteadyClock::now();
      const auto& o = got->get_object();
      std::fprintf(stderr, "scheduler bench: %.1f s: deployment replicas %ld, ready %ld, available %ld\n",
                   Secs(last_report - t0), (long)api::IntAt(o, {"status", "replicas"}).value_or(0),
                   (long)api::IntAt(o, {"status", "readyReplicas"}).value_or(0),
                   (long)api::IntAt(o, {"status", "availableReplicas"}).value_or(0));
    }
    if (Secs(SteadyClock::now() - t0) > 300) Die("deployment", Status::Timeout("not available after 300 s"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Secs(SteadyClock::now() - t0);
}

struct RunResult {
  int nodes;
  double deploy_s = 0;
  double baseline, basic_bound, basic_running, anti_bound;
  double p50, p99, anti_p50, anti_p99;
  long rss_server_kib, rss_sim_kib;
  int filled;
};

RunResult RunAt(const std::string& kubepp, const std::string& dir, int nodes, int pods, int anti_pods, int fill,
                int deployment) {
  auto port = PickFreePort();
  if (!port.ok()) Die("port", port.status());
  std::string data = dir + "/n" + std::to_string(nodes);
  auto server = ChildProcess::Spawn({.argv = {kubepp, "server", "--no-agent", "--data-dir", data, "--https-port",
                                              std::to_string(*port)},
                                     .stdout_path = data + ".log",
                                     .stderr_path = "=stdout"});
  if (!server.ok()) Die("start server", server.status());
  g_children = {server->pid()};
  std::string kc = data + "/kubeconfig";
  for (int i = 0; i < 400 && ::access(kc.c_str(), R_OK) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto cfg = client::LoadKubeconfig(kc);
  if (!cfg.ok()) Die("kubeconfig", cfg.status());
  client::RestClient c(*cfg);
  for (int i = 0; i < 400; ++i) {
    auto r = c.Get("/readyz");
    if (r.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto sim = ChildProcess::Spawn({.argv = {kubepp, "sim", "--kubeconfig", kc, "--nodes", std::to_string(nodes), "--cpu",
                                           "32", "--memory", "256Gi", "--pods", "110"},
                                  .stdout_path = data + "-sim.log",
                                  .stderr_path = "=stdout"});
  if (!sim.ok()) Die("start sim", sim.status());
  g_children.push_back(sim->pid());
  auto t0 = SteadyClock::now();
  while (NodesReady(c) < nodes) {
    if (Secs(SteadyClock::now() - t0) > 120) Die("nodes", Status::Timeout("hollow nodes not Ready"));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::fprintf(stderr, "scheduler bench: %d nodes Ready in %.1f s\n", nodes, Secs(SteadyClock::now() - t0));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // let the scheduler's node informer settle

  RunResult r{};
  r.nodes = nodes;
  if (deployment > 0) {
    std::fprintf(stderr, "scheduler bench: deployment of %d replicas...\n", deployment);
    r.deploy_s = DeploymentSeconds(c, deployment);
  }
  std::fprintf(stderr, "scheduler bench: baseline (pre-bound) burst of %d...\n", pods);
  Burst base = RunBurst(c, "baseline", pods, true, nodes, false);
  r.baseline = pods / base.create_s;
  std::fprintf(stderr, "scheduler bench: basic burst of %d...\n", pods);
  Burst basic = RunBurst(c, "basic", pods, false, nodes, false);
  r.basic_bound = pods / basic.bound_s;
  r.basic_running = pods / basic.running_s;
  r.p50 = Percentile(basic.latency_ms, 0.5);
  r.p99 = Percentile(basic.latency_ms, 0.99);
  std::fprintf(stderr, "scheduler bench: anti-affinity burst of %d...\n", anti_pods);
  Burst anti = RunBurst(c, "anti", anti_pods, false, nodes, true);
  r.anti_bound = anti_pods / anti.bound_s;
  r.anti_p50 = Percentile(anti.latency_ms, 0.5);
  r.anti_p99 = Percentile(anti.latency_ms, 0.99);
  int have = 2 * pods + anti_pods;
  if (fill > have) {
    std::fprintf(stderr, "scheduler bench: filling to %d pods...\n", fill);
    (void)RunBurst(c, "fill", fill - have, false, nodes, false);
    have = fill;
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  r.filled = have;
  r.rss_server_kib = RssKiB(server->pid());
  r.rss_sim_kib = RssKiB(sim->pid());
  (void)sim->Signal(SIGTERM);
  (void)sim->Wait();
  (void)server->Signal(SIGTERM);
  (void)server->Wait();
  g_children.clear();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Scheduler throughput on hollow nodes"};
  std::string kubepp = "build/bin/kubepp";
  std::vector<int> node_counts = {1000, 5000};
  int pods = 10000, anti_pods = 1000, fill = 50000, deployment = 5000;
  app.add_option("--kubepp", kubepp, "kubepp binary")->capture_default_str();
  app.add_option("--nodes", node_counts, "Node counts, one run each")->capture_default_str();
  app.add_option("--pods", pods, "Pods per burst")->capture_default_str();
  app.add_option("--anti-pods", anti_pods, "Pods in the anti-affinity burst")->capture_default_str();
  app.add_option("--deployment", deployment, "Replicas of the deployment phase (smallest node count only; 0: skip)")
      ->capture_default_str();
  app.add_option("--fill", fill, "Pods in the cluster for the RSS figure (largest node count only)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  auto tmp = TempDir::Create("scheduler-bench");
  if (!tmp.ok()) Die("temp dir", tmp.status());
  std::vector<RunResult> results;
  for (size_t i = 0; i < node_counts.size(); ++i) {
    bool last = i + 1 == node_counts.size();
    results.push_back(RunAt(kubepp, tmp->path(), node_counts[i], pods, anti_pods, last ? fill : 0, i == 0 ? deployment : 0));
  }
  std::printf("%-6s %12s %12s %12s %10s %10s %12s %10s %10s\n", "nodes", "baseline/s", "bound/s", "running/s", "p50 ms",
              "p99 ms", "anti bound/s", "anti p50", "anti p99");
  for (const auto& r : results) {
    std::printf("%-6d %12.0f %12.0f %12.0f %10.1f %10.1f %12.0f %10.1f %10.1f\n", r.nodes, r.baseline, r.basic_bound,
                r.basic_running, r.p50, r.p99, r.anti_bound, r.anti_p50, r.anti_p99);
  }
  if (results.front().deploy_s > 0) {
    std::printf("deployment of %d replicas on %d nodes: all available in %.1f s (%.0f pods/s)\n", deployment,
                results.front().nodes, results.front().deploy_s, deployment / results.front().deploy_s);
  }
  const RunResult& big = results.back();
  std::printf("RSS at %d nodes and %d pods: server (apiserver+scheduler+controllers) %.0f MiB, sim %.0f MiB\n", big.nodes,
              big.filled, big.rss_server_kib / 1024.0, big.rss_sim_kib / 1024.0);
  std::printf("scheduler: %.0f pods/s at %d nodes (API pre-bound creates %.0f/s, ratio %.2f; anti-affinity %.0f pods/s)\n",
              big.basic_bound, big.nodes, big.baseline, big.baseline > 0 ? big.basic_bound / big.baseline : 0,
              big.anti_bound);
  return 0;
}
