// bench/apiserver: kubepp's API path against bare etcd, in one run.
// Prints a table and, last, "apiserver: N pod creates/s, etcd M puts/s, ratio R".
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "bench/etcd/grpc_store.h"
#include "bench/measure.h"
#include "bench/throughput.h"
#include "common/file.h"
#include "common/http_client.h"
#include "common/net.h"
#include "common/process.h"
#include "storage/testing/etcd_process.h"

using namespace kubepp;
using bench::Percentile;
using bench::RssKiB;
using SteadyClock = std::chrono::steady_clock;

namespace {

void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "apiserver bench: %s: %s\n", what.c_str(), st.ToString().c_str());
  std::exit(1);
}

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A pod of the size kubectl run creates (about 1.3 KiB once stored).
std::string PodJson(const std::string& name) {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
         R"(","labels":{"app":"bench","tier":"web"}},"spec":{"containers":[{"name":"web","image":"registry.local/web:1.25","ports":[{"containerPort":8080,"name":"http"}],"env":[{"name":"MODE","value":"bench"}],"resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]}})";
}

struct Server {
  ChildProcess proc;
  http::Endpoint ep;
};

// Starts `kubepp apiserver` on a fresh data dir; returns it once /readyz answers.
Server StartServer(const std::string& kubepp, const std::string& dir, double* ready_ms) {
  auto port = PickFreePort();
  if (!port.ok()) Die("port", port.status());
  auto t0 = SteadyClock::now();
  auto p = ChildProcess::Spawn({.argv = {kubepp, "apiserver", "--data-dir", dir, "--https-port", std::to_string(*port)},
                                .stdout_path = dir + ".log",
                                .stderr_path = "=stdout"});
  if (!p.ok()) Die("start kubepp", p.status());
  http::Endpoint probe{"127.0.0.1", *port, true, std::make_shared<http::TlsClientConfig>(http::TlsClientConfig{"", "", "", true})};
  for (;;) {
    auto c = http::Connection::Open(probe, std::chrono::seconds(2));
    if (c.ok()) {
      http::Request r;
      r.target = "/readyz";
      auto resp = (*c)->RoundTrip(r);
      if (resp.ok() && resp->status == 200) break;
    }
    if (Ms(SteadyClock::now() - t0) > 20000) Die("kubepp did not become ready", Status::Timeout(""));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  *ready_ms = Ms(SteadyClock::now() - t0);
  auto cfg = std::make_shared<http::TlsClientConfig>();
  cfg->ca_pem = ReadFile(dir + "/pki/ca.crt").value();
  cfg->cert_pem = ReadFile(dir + "/pki/admin.crt").value();
  cfg->key_pem = ReadFile(dir + "/pki/admin.key").value();
  return Server{std::move(*p), http::Endpoint{"127.0.0.1", *port, true, cfg}};
}

http::Request Post(const std::string& path, std::string body) {
  http::Request r;
  r.method = "POST";
  r.target = path;
  r.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  r.body = std::move(body);
  return r;
}

// Pod creates/s from `clients` keep-alive clients for `seconds`.
double Creates(const http::Endpoint& ep, int clients, double seconds, std::atomic<int>* next_name) {
  // One keep-alive client per thread.
  std::vector<std::unique_ptr<http::Client>> conns;
  for (int t = 0; t < clients; ++t) conns.push_back(std::make_unique<http::Client>(ep));
  auto r = bench::OpsPerSecond(clients, seconds, [&](int t, uint64_t) {
    auto resp = conns[static_cast<size_t>(t)]->Do(
        Post("/api/v1/namespaces/default/pods", PodJson("p" + std::to_string(next_name->fetch_add(1)))));
    if (!resp.ok() || resp->status != 201) Die("create pod", resp.ok() ? Status::Internal(resp->body) : resp.status());
    return true;
  });
  return *r;
}

void FillTo(const http::Endpoint& ep, int count, std::atomic<int>* next_name) {
  std::vector<std::thread> ts;
  for (int t = 0; t < 16; ++t) {
    ts.emplace_back([&] {
      http::Client c(ep);
      for (;;) {
        int i = next_name->fetch_add(1);
        if (i >= count) return;
        auto r = c.Do(Post("/api/v1/namespaces/default/pods", PodJson("p" + std::to_string(i))));
        if (!r.ok() || r->status != 201) Die("create pod", r.ok() ? Status::Internal(r->body) : r.status());
      }
    });
  }
  for (auto& t : ts) t.join();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark kubepp's API server against bare etcd puts in the same run."};
  std::string kubepp = "build/bin/kubepp";
  double seconds = 5;
  int watchers = 1000;
  int big = 30000;
  app.add_option("--kubepp", kubepp, "The kubepp binary")->capture_default_str();
  app.add_option("--seconds", seconds, "Duration of the throughput phases")->capture_default_str();
  app.add_option("--watchers", watchers, "Watchers for the delivery phase")->capture_default_str();
  app.add_option("--pods", big, "Pods for the large-cluster RSS figure")->capture_default_str();
  bool creates_only = false;
  app.add_flag("--creates-only", creates_only, "Only the pod-create phase (quick iterations)");
  CLI11_PARSE(app, argc, argv);
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  auto tmp = TempDir::Create("apiserver-bench");
  if (!tmp.ok()) Die("temp dir", tmp.status());
  std::string dir = tmp->path();
  std::string pod_sample = PodJson("p0");

  // Baseline: bare etcd puts of a pod-sized value, 32 clients.
  std::fprintf(stderr, "apiserver bench: etcd puts...\n");
  double etcd_puts = 0;
  if (!creates_only) {
    auto etcd = storage::testing::EtcdProcess::Start(dir + "/etcd");
    if (!etcd.ok()) Die("start etcd", etcd.status());
    auto r = bench::EtcdPutsPerSecond((*etcd)->client_url(), 32, seconds, pod_sample);
    if (!r.ok()) Die("etcd puts", r.status());
    etcd_puts = *r;
  }

  // Start time: process start to /readyz, on fresh data dirs.
  std::vector<double> readies;
  for (int i = 0; i < (creates_only ? 0 : 5); ++i) {
    double ms;
    Server s = StartServer(kubepp, dir + "/ready-" + std::to_string(i), &ms);
    readies.push_back(ms);
    (void)s.proc.Signal(SIGTERM);
    (void)s.proc.Wait();
  }
  double ready_ms;
  Server s = StartServer(kubepp, dir + "/kubepp", &ready_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long idle_rss = RssKiB(s.proc.pid());

  std::fprintf(stderr, "apiserver bench: pod creates...\n");
  std::atomic<int> next{0};
  double creates = Creates(s.ep, 32, seconds, &next);
  if (creates_only) {
    std::printf("pod creates/s: %.0f\n", creates);
    return 0;
  }

  (void)s.proc.Signal(SIGTERM);
  (void)s.proc.Wait();

  // The read figures on a fresh server holding exactly 10,000 pods.
  double ready2;
  s = StartServer(kubepp, dir + "/kubepp-reads", &ready2);
  next.store(0);
  FillTo(s.ep, 10000, &next);
  std::fprintf(stderr, "apiserver bench: GET latency...\n");
  std::vector<double> gets;
  {
    http::Client c(s.ep);
    http::Request r;
    r.target = "/api/v1/namespaces/default/pods/p1";
    r.headers = {{"Accept", "application/json"}};
    for (int i = 0; i < 3000; ++i) {
      auto t0 = SteadyClock::now();
      auto resp = c.Do(r);
      if (!resp.ok() || resp->status != 200) Die("get", resp.ok() ? Status::Internal(resp->body) : resp.status());
      gets.push_back(Ms(SteadyClock::now() - t0));
    }
  }

  std::fprintf(stderr, "apiserver bench: LIST of 10,000 pods...\n");
  std::vector<double> lists;
  size_t list_bytes = 0;
  {
    http::Client c(s.ep);
    http::Request all;
    all.target = "/api/v1/pods";
    all.headers = {{"Accept", "application/json"}};
    // The figure is the server's: the client keeps freed memory (mallopt in
    // main) and one untimed LIST warms it, or every sample would include the
    // client faulting in a fresh 19 MB body (curl, which keeps no body, sees
    // no slow first LIST from the server).
    (void)c.Do(all);
    for (int i = 0; i < 50; ++i) {
      auto t0 = SteadyClock::now();
      auto resp = c.Do(all);
      if (!resp.ok() || resp->status != 200) Die("list", resp.ok() ? Status::Internal(resp->body.substr(0, 300)) : resp.status());
      lists.push_back(Ms(SteadyClock::now() - t0));
      list_bytes = resp->body.size();
    }
  }

  std::fprintf(stderr, "apiserver bench: watch delivery to %d watchers...\n", watchers);
  double deliveries_per_s = 0;
  {
    http::Client setup(s.ep);
    (void)setup.Do(Post("/api/v1/namespaces", R"({"metadata":{"name":"watch"}})"));
    std::vector<std::unique_ptr<http::Connection>> conns;
    std::atomic<uint64_t> received{0};
    std::atomic<int64_t> last_ns{0};
    std::vector<std::thread> readers;
    constexpr int kEvents = 200;
    for (int i = 0; i < watchers; ++i) {
      auto c = http::Connection::Open(s.ep, std::chrono::seconds(10));
      if (!c.ok()) Die("watch connect", c.status());
      http::Request r;
      r.target = "/api/v1/namespaces/watch/configmaps?watch=1&timeoutSeconds=120";
      auto st = (*c)->StartStream(r);
      if (!st.ok() || *st != 200) Die("watch", st.ok() ? Status::Internal("status") : st.status());
      conns.push_back(std::move(*c));
    }
    for (auto& c : conns) {
      readers.emplace_back([&, conn = c.get()] {
        std::string buf;
        int lines = 0;
        while (lines < kEvents) {
          auto more = conn->ReadStream(&buf);
          if (!more.ok() || !*more) return;
          for (char ch : buf) lines += ch == '\n';
          buf.clear();
        }
        received.fetch_add(static_cast<uint64_t>(lines));
        last_ns.store(std::max<int64_t>(last_ns.load(), SteadyClock::now().time_since_epoch().count()));
      });
    }
    auto t0 = SteadyClock::now();
    std::vector<std::thread> writers;
    std::atomic<int> n{0};
    for (int w = 0; w < 8; ++w) {
      writers.emplace_back([&] {
        http::Client c(s.ep);
        for (;;) {
          int i = n.fetch_add(1);
          if (i >= kEvents) return;
          (void)c.Do(Post("/api/v1/namespaces/watch/configmaps", R"({"metadata":{"name":"c)" + std::to_string(i) + R"("},"data":{"k":"v"}})"));
        }
      });
    }
    for (auto& t : writers) t.join();
    for (auto& t : readers) t.join();
    double secs = static_cast<double>(last_ns.load() - t0.time_since_epoch().count()) / 1e9;
    deliveries_per_s = secs > 0 ? static_cast<double>(received.load()) / secs : 0;
    for (auto& c : conns) c->Shutdown();
  }

  std::fprintf(stderr, "apiserver bench: filling to %d pods...\n", big);
  if (next.load() < big) FillTo(s.ep, big, &next);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long big_rss = RssKiB(s.proc.pid());
  (void)s.proc.Signal(SIGTERM);
  (void)s.proc.Wait();

  double ratio = etcd_puts > 0 ? creates / etcd_puts : 0;
  std::printf("%-52s %14s\n", "metric", "value");
  std::printf("%-52s %14.0f\n", "pod creates/s over HTTPS (32 keep-alive clients)", creates);
  std::printf("%-52s %14.0f\n", "etcd bare puts/s (32 gRPC clients, same value size)", etcd_puts);
  std::printf("%-52s %14.3f\n", "GET pod p50 (ms)", Percentile(gets, 0.5));
  std::printf("%-52s %14.3f\n", "GET pod p99 (ms)", Percentile(gets, 0.99));
  std::printf("%-52s %14.1f\n", "LIST 10,000 pods, cluster scope, p50 (ms)", Percentile(lists, 0.5));
  std::printf("%-52s %14.1f\n", "LIST 10,000 pods, cluster scope, p99 (ms)", Percentile(lists, 0.99));
  std::printf("%-52s %14zu\n", "  (bytes per LIST)", list_bytes);
  char label[80];
  std::snprintf(label, sizeof label, "watch deliveries/s (%d watchers)", watchers);
  std::printf("%-52s %14.0f\n", label, deliveries_per_s);
  std::printf("%-52s %14.1f\n", "RSS idle (MiB)", static_cast<double>(idle_rss) / 1024);
  std::snprintf(label, sizeof label, "RSS with %d pods (MiB)", big);
  std::printf("%-52s %14.1f\n", label, static_cast<double>(big_rss) / 1024);
  std::printf("%-52s %14.1f\n", "exec to ready, fresh data dir, median (ms)", Percentile(readies, 0.5));
  std::printf("apiserver: %.0f pod creates/s, etcd %.0f puts/s, ratio %.2f\n", creates, etcd_puts, ratio);
  return 0;
}
