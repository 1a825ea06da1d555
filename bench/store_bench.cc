// bench/store: the embedded store against a real etcd started in the same run.
// Prints a table and, last, "store: embedded N writes/s, etcd M writes/s, ratio R".
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "common/file.h"
#include "common/log.h"
#include "storage/embedded/embedded_store.h"
#include "storage/etcd/etcd_store.h"
#include "storage/testing/etcd_process.h"
#include "bench/etcd/grpc_store.h"
#include "bench/throughput.h"

using namespace kubepp;
using namespace kubepp::storage;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Figures {
  double writes_per_s = 0;
  double write_p50_ms = 0, write_p99_ms = 0;
  double reads_per_s = 0;
  double deliveries_per_s = 0;
  double delivery_p50_ms = 0, delivery_p99_ms = 0;
  uint64_t watch_missing = 0;
};

int64_t NowNs() { return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count(); }

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return v[i];
}

void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "store bench: %s: %s\n", what.c_str(), st.ToString().c_str());
  std::exit(1);
}

// Durable writes/s: `writers` threads creating new 1 KiB keys for `seconds`.
double MeasureWrites(Store* s, int writers, double seconds) {
  std::string value(1024, 'w');
  auto r = bench::OpsPerSecond(writers, seconds, [&](int t, uint64_t i) {
    auto c = s->Create("/bench/w/" + std::to_string(t) + "/" + std::to_string(i), value);
    if (!c.ok()) Die("create", c.status());
    return true;
  });
  return *r;
}

// One writer updating one key: latency of each durable write.
void MeasureLatency(Store* s, int n, Figures* f) {
  auto c = s->Create("/bench/lat", "0");
  if (!c.ok()) Die("create", c.status());
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(n));
  std::string value(1024, 'l');
  for (int i = 0; i < n; ++i) {
    auto t0 = SteadyClock::now();
    auto r = s->Update("/bench/lat", value, 0);
    if (!r.ok()) Die("update", r.status());
    ms.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
  }
  f->write_p50_ms = Percentile(ms, 0.50);
  f->write_p99_ms = Percentile(ms, 0.99);
}

// Reads/s: `readers` threads getting random keys written by MeasureWrites.
double MeasureReads(Store* s, int readers, double seconds) {
  auto r = bench::OpsPerSecond(readers, seconds, [&](int t, uint64_t i) {
    // A cheap mix of (thread, i) picks the key.
    uint64_t x = (static_cast<uint64_t>(t) + 1) * 0x9E3779B97F4A7C15ull ^ i * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    std::string key = "/bench/w/" + std::to_string(x % 32) + "/" + std::to_string((x >> 8) % 64);
    auto g = s->Get(key);
    if (!g.ok() && !g.status().IsNotFound()) Die("get", g.status());
    return true;
  });
  return *r;
}

// `watchers` watchers on one prefix. `events` writes from `writers` threads,
// paced to `rate` writes/s (0: as fast as they go). Returns deliveries/s and
// commit-to-delivery latency (acknowledgement of the write to its arrival).
void MeasureWatch(Store* s, int watchers, int events, int writers, double rate, double* per_s,
                  double* p50_ms, double* p99_ms, uint64_t* missing) {
  std::string prefix = "/bench/watch/" + std::to_string(NowNs()) + "/";
  std::vector<std::unique_ptr<Watcher>> ws;
  for (int i = 0; i < watchers; ++i) {
    auto w = s->Watch({.prefix = prefix});
    if (!w.ok()) Die("watch", w.status());
    ws.push_back(std::move(*w));
  }
  auto base = s->CurrentRevision();
  if (!base.ok()) Die("revision", base.status());
  // Acknowledgement time of each write, by revision offset.
  std::vector<std::atomic<int64_t>> acked(static_cast<size_t>(events) * 2 + 64);
  std::vector<std::vector<std::pair<int64_t, int64_t>>> got(static_cast<size_t>(watchers));  // (revision, time)
  std::atomic<int> finished{0};
  std::vector<std::thread> consumers;
  auto start = SteadyClock::now();
  auto deadline = start + std::chrono::seconds(120);
  for (int i = 0; i < watchers; ++i) {
    got[static_cast<size_t>(i)].reserve(static_cast<size_t>(events));
    consumers.emplace_back([&, i] {
      auto& mine = got[static_cast<size_t>(i)];
      while (static_cast<int>(mine.size()) < events && SteadyClock::now() < deadline) {
        auto evs = ws[static_cast<size_t>(i)]->Next(std::chrono::milliseconds(500));
        if (!evs.ok()) break;
        int64_t now = NowNs();
        for (auto& e : *evs) mine.emplace_back(e.revision(), now);
      }
      finished.fetch_add(1);
    });
  }
  std::vector<std::thread> producers;
  std::atomic<int> next{0};
  for (int t = 0; t < writers; ++t) {
    producers.emplace_back([&, t] {
      for (;;) {
        int i = next.fetch_add(1);
        if (i >= events) break;
        if (rate > 0) {
          auto due = start + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(i / rate));
          std::this_thread::sleep_until(due);
        }
        auto r = s->Create(prefix + std::to_string(i), std::string(256, 'e'));
        int64_t now = NowNs();
        if (!r.ok()) Die("watch write", r.status());
        size_t slot = static_cast<size_t>(r->mod_revision - *base);
        if (slot < acked.size()) acked[slot].store(now);
      }
    });
  }
  for (auto& t : producers) t.join();
  for (auto& t : consumers) t.join();
  int64_t last = 0;
  uint64_t total = 0;
  std::vector<double> lat;
  lat.reserve(static_cast<size_t>(watchers) * static_cast<size_t>(events) / 4 + 1);
  for (size_t w = 0; w < got.size(); ++w) {
    total += got[w].size();
    for (size_t j = 0; j < got[w].size(); ++j) {
      auto [rev, at] = got[w][j];
      last = std::max(last, at);
      // Sample a quarter of the deliveries for latency (keeps memory small).
      if ((w + j) % 4 != 0) continue;
      size_t slot = static_cast<size_t>(rev - *base);
      int64_t ack = slot < acked.size() ? acked[slot].load() : 0;
      if (ack > 0) lat.push_back(std::max<double>(0, static_cast<double>(at - ack) / 1e6));
    }
  }
  *missing = static_cast<uint64_t>(watchers) * static_cast<uint64_t>(events) - total;
  double elapsed = static_cast<double>(last - std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                  start.time_since_epoch()).count()) / 1e9;
  *per_s = elapsed > 0 ? static_cast<double>(total) / elapsed : 0;
  *p50_ms = Percentile(lat, 0.50);
  *p99_ms = Percentile(lat, 0.99);
  for (auto& w : ws) w->Stop();
}

Figures Run(const char* name, Store* s, double seconds, int watchers, int watch_events, bool writes_only = false) {
  Figures f;
  std::fprintf(stderr, "  %s: writes...\n", name);
  f.writes_per_s = MeasureWrites(s, 32, seconds);
  std::fprintf(stderr, "  %s: single-writer latency...\n", name);
  MeasureLatency(s, 2000, &f);
  if (writes_only) return f;
  std::fprintf(stderr, "  %s: reads...\n", name);
  f.reads_per_s = MeasureReads(s, 32, seconds);
  std::fprintf(stderr, "  %s: watch throughput...\n", name);
  double p50, p99;
  MeasureWatch(s, watchers, watch_events, 32, 0, &f.deliveries_per_s, &p50, &p99, &f.watch_missing);
  std::fprintf(stderr, "  %s: watch latency...\n", name);
  uint64_t missing = 0;
  double unused;
  MeasureWatch(s, watchers, 400, 1, 200, &unused, &f.delivery_p50_ms, &f.delivery_p99_ms, &missing);
  f.watch_missing += missing;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark the embedded store against a real etcd started in the same run."};
  std::string dir;
  double seconds = 5;
  int watchers = 1000;
  int watch_events = 2000;
  app.add_option("--dir", dir, "Scratch directory (default: a temp dir)");
  app.add_option("--seconds", seconds, "Duration of the write and read phases")->capture_default_str();
  app.add_option("--watchers", watchers, "Watchers on one prefix")->capture_default_str();
  app.add_option("--watch-events", watch_events, "Events written for the watch throughput phase")->capture_default_str();
  bool embedded_only = false;
  app.add_flag("--embedded-only", embedded_only, "Skip etcd (quick iterations on the embedded store)");
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<TempDir> tmp;
  if (dir.empty()) {
    auto t = TempDir::Create("store-bench");
    if (!t.ok()) Die("temp dir", t.status());
    tmp = std::make_unique<TempDir>(std::move(*t));
    dir = tmp->path();
  }

  std::fprintf(stderr, "store bench: embedded store in %s/embedded\n", dir.c_str());
  Figures emb;
  {
    embedded::EmbeddedOptions opts;
    opts.dir = dir + "/embedded";
    auto s = embedded::EmbeddedStore::Open(opts);
    if (!s.ok()) Die("open embedded", s.status());
    emb = Run("embedded", s->get(), seconds, watchers, watch_events);
  }
  std::fprintf(stderr, "store bench: starting etcd in %s/etcd\n", dir.c_str());
  // The baseline: etcd over its native gRPC API, at its best.
  Figures etc;
  if (!embedded_only) {
    auto proc = testing::EtcdProcess::Start(dir + "/etcd");
    if (!proc.ok()) Die("start etcd", proc.status());
    auto s = bench::OpenEtcdGrpcStore((*proc)->client_url(), 4);
    if (!s.ok()) Die("open etcd", s.status());
    etc = Run("etcd (gRPC)", s->get(), seconds, watchers, watch_events);
  }
  // For information: kubepp's own etcd backend (JSON gateway), fresh etcd.
  Figures gw;
  if (!embedded_only) {
    auto proc = testing::EtcdProcess::Start(dir + "/etcd-gw");
    if (!proc.ok()) Die("start etcd", proc.status());
    etcd::EtcdOptions opts;
    opts.endpoints = {(*proc)->client_url()};
    auto s = etcd::OpenEtcdStore(opts);
    if (!s.ok()) Die("open etcd", s.status());
    gw = Run("etcd (kubepp backend, JSON gateway)", s->get(), seconds, watchers, watch_events, /*writes_only=*/true);
  }

  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  std::printf("%-44s %14s %14s %8s\n", "metric", "embedded", "etcd (gRPC)", "ratio");
  std::printf("%-44s %14.0f %14.0f %8.2f\n", "durable writes/s (32 writers, 1 KiB)", emb.writes_per_s, etc.writes_per_s,
              ratio(emb.writes_per_s, etc.writes_per_s));
  std::printf("%-44s %14.3f %14.3f %8.2f\n", "single-writer write p50 (ms)", emb.write_p50_ms, etc.write_p50_ms,
              ratio(etc.write_p50_ms, emb.write_p50_ms));
  std::printf("%-44s %14.3f %14.3f %8.2f\n", "single-writer write p99 (ms)", emb.write_p99_ms, etc.write_p99_ms,
              ratio(etc.write_p99_ms, emb.write_p99_ms));
  std::printf("%-44s %14.0f %14.0f %8.2f\n", "reads/s (32 readers)", emb.reads_per_s, etc.reads_per_s,
              ratio(emb.reads_per_s, etc.reads_per_s));
  char label[96];
  std::snprintf(label, sizeof label, "watch deliveries/s (%d watchers)", watchers);
  std::printf("%-44s %14.0f %14.0f %8.2f\n", label, emb.deliveries_per_s, etc.deliveries_per_s,
              ratio(emb.deliveries_per_s, etc.deliveries_per_s));
  std::printf("%-44s %14.3f %14.3f %8.2f\n", "watch commit-to-delivery p50 (ms, 200 ev/s)", emb.delivery_p50_ms,
              etc.delivery_p50_ms, ratio(etc.delivery_p50_ms, emb.delivery_p50_ms));
  std::printf("%-44s %14.3f %14.3f %8.2f\n", "watch commit-to-delivery p99 (ms, 200 ev/s)", emb.delivery_p99_ms,
              etc.delivery_p99_ms, ratio(etc.delivery_p99_ms, emb.delivery_p99_ms));
  std::printf("%-44s %14" PRIu64 " %14" PRIu64 "\n", "watch events missing (must be 0)", emb.watch_missing,
              etc.watch_missing);
  std::printf("%-44s %14s %14.0f\n", "  etcd via kubepp's gateway backend: writes/s", "", gw.writes_per_s);
  std::printf("%-44s %14s %14.3f\n", "  etcd via kubepp's gateway backend: p50 (ms)", "", gw.write_p50_ms);
  std::printf("store: embedded %.0f writes/s, etcd %.0f writes/s, ratio %.2f\n", emb.writes_per_s, etc.writes_per_s,
              ratio(emb.writes_per_s, etc.writes_per_s));
  return 0;
}
