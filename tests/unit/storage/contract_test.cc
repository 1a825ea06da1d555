// The storage contract (storage/store.h), run against every backend: the
// embedded store and a real etcd started for the suite.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "common/file.h"
#include "storage/embedded/embedded_store.h"
#include "storage/etcd/etcd_store.h"
#include "storage/testing/etcd_process.h"

namespace kubepp::storage {
namespace {

using namespace std::chrono_literals;

// Opens fresh stores of one backend. Tests confine themselves to their own
// key prefix, so backends that share one server (etcd) stay isolated.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<std::unique_ptr<Store>> Open(int64_t max_watch_backlog) = 0;
};

class EmbeddedBackend : public Backend {
 public:
  Result<std::unique_ptr<Store>> Open(int64_t max_watch_backlog) override {
    ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("contract-embedded"));
    embedded::EmbeddedOptions opts;
    opts.dir = dir.path();
    opts.max_watch_backlog = max_watch_backlog;
    opts.background_maintenance = false;
    dirs_.push_back(std::make_unique<TempDir>(std::move(dir)));
    ASSIGN_OR_RETURN(auto store, embedded::EmbeddedStore::Open(opts));
    return std::unique_ptr<Store>(std::move(store));
  }

 private:
  std::vector<std::unique_ptr<TempDir>> dirs_;
};

class EtcdBackend : public Backend {
 public:
  static Result<std::unique_ptr<EtcdBackend>> Start() {
    auto b = std::unique_ptr<EtcdBackend>(new EtcdBackend());
    ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("contract-etcd"));
    b->dir_ = std::make_unique<TempDir>(std::move(dir));
    ASSIGN_OR_RETURN(b->etcd_, testing::EtcdProcess::Start(b->dir_->path()));
    return b;
  }
  Result<std::unique_ptr<Store>> Open(int64_t max_watch_backlog) override {
    etcd::EtcdOptions opts;
    opts.endpoints = {etcd_->client_url()};
    opts.max_watch_backlog = max_watch_backlog;
    return etcd::OpenEtcdStore(opts);
  }

 private:
  EtcdBackend() = default;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<testing::EtcdProcess> etcd_;
};

std::unique_ptr<Backend>* g_etcd = nullptr;
std::string g_etcd_error;

class ContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    if (g_etcd == nullptr && testing::EtcdAvailable()) {
      auto b = EtcdBackend::Start();
      if (b.ok()) {
        g_etcd = new std::unique_ptr<Backend>(std::move(*b));
      } else {
        g_etcd_error = b.status().ToString();
      }
    }
  }
  static void TearDownTestSuite() {
    delete g_etcd;
    g_etcd = nullptr;
  }

  void SetUp() override {
    if (GetParam() == "etcd") {
      if (!testing::EtcdAvailable()) GTEST_SKIP() << "etcd is not installed (scripts/setup installs etcd-server)";
      ASSERT_NE(g_etcd, nullptr) << g_etcd_error;
      backend_ = g_etcd->get();
    } else {
      embedded_ = std::make_unique<EmbeddedBackend>();
      backend_ = embedded_.get();
    }
    store_ = OpenStore();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info->name();
    std::replace(name.begin(), name.end(), '/', '.');  // "Test/embedded"
    prefix_ = "/contract/" + name + "/";
  }

  std::unique_ptr<Store> OpenStore(int64_t backlog = 1 << 20) {
    auto s = backend_->Open(backlog);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::string K(std::string_view k) const { return prefix_ + std::string(k); }
  int64_t Rev() {
    auto r = store_->CurrentRevision();
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : -1;
  }

  // Collects events from `w` until `n` arrived or 10 s passed.
  std::vector<Event> Collect(Watcher* w, size_t n) {
    std::vector<Event> out;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto evs = w->Next(200ms);
      EXPECT_TRUE(evs.ok()) << evs.status().ToString();
      if (!evs.ok()) break;
      for (auto& e : *evs) out.push_back(std::move(e));
    }
    return out;
  }

  std::unique_ptr<EmbeddedBackend> embedded_;
  Backend* backend_ = nullptr;
  std::unique_ptr<Store> store_;
  std::string prefix_;
};

TEST_P(ContractTest, CreateUpdateAndRevisions) {
  int64_t r0 = Rev();
  auto c = store_->Create(K("a"), "one");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->key, K("a"));
  EXPECT_EQ(c->value, "one");
  EXPECT_EQ(c->create_revision, r0 + 1);
  EXPECT_EQ(c->mod_revision, r0 + 1);
  EXPECT_EQ(c->version, 1);

  auto u = store_->Update(K("a"), "two", c->mod_revision);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->create_revision, r0 + 1);
  EXPECT_EQ(u->mod_revision, r0 + 2);
  EXPECT_EQ(u->version, 2);
  EXPECT_EQ(Rev(), r0 + 2);

  auto g = store_->Get(K("a"));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, *u);
  EXPECT_TRUE(store_->Get(K("missing")).status().IsNotFound());
}

TEST_P(ContractTest, CreateExistingFailsWithCurrentValue) {
  ASSERT_TRUE(store_->Create(K("a"), "one").ok());
  int64_t r = Rev();
  KeyValue current;
  auto c = store_->Create(K("a"), "other", &current);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsAlreadyExists());
  EXPECT_EQ(current.value, "one");
  EXPECT_EQ(current.mod_revision, r);
  EXPECT_EQ(Rev(), r) << "a failed write must not consume a revision";
}

TEST_P(ContractTest, UpdatePreconditions) {
  auto c = store_->Create(K("a"), "one");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(store_->Update(K("a"), "two", c->mod_revision).ok());
  KeyValue current;
  auto stale = store_->Update(K("a"), "three", c->mod_revision, &current);
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(stale.status().IsConflict()) << stale.status().ToString();
  EXPECT_EQ(current.value, "two");
  EXPECT_EQ(current.version, 2);
  EXPECT_TRUE(store_->Update(K("missing"), "x", 0).status().IsNotFound());
  EXPECT_TRUE(store_->Update(K("missing"), "x", 5).status().IsNotFound());
  // Expected revision 0: any revision will do.
  auto any = store_->Update(K("a"), "four", 0);
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->version, 3);
  EXPECT_EQ(store_->Get(K("a"))->value, "four");
}

TEST_P(ContractTest, DeletePreconditionsAndRecreate) {
  auto c = store_->Create(K("a"), "one");
  ASSERT_TRUE(c.ok());
  KeyValue current;
  auto stale = store_->Delete(K("a"), c->mod_revision + 100, &current);
  EXPECT_TRUE(stale.status().IsConflict());
  EXPECT_EQ(current.value, "one");
  auto d = store_->Delete(K("a"), c->mod_revision);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->prev.value, "one");
  EXPECT_EQ(d->prev.mod_revision, c->mod_revision);
  EXPECT_EQ(d->revision, c->mod_revision + 1);
  EXPECT_TRUE(store_->Get(K("a")).status().IsNotFound());
  EXPECT_TRUE(store_->Delete(K("a"), 0).status().IsNotFound());
  auto again = store_->Create(K("a"), "new");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version, 1);
  EXPECT_EQ(again->create_revision, d->revision + 1);
}

TEST_P(ContractTest, ReadsAtPastRevisions) {
  auto c = store_->Create(K("a"), "one");
  ASSERT_TRUE(c.ok());
  auto u = store_->Update(K("a"), "two", 0);
  ASSERT_TRUE(u.ok());
  auto d = store_->Delete(K("a"), 0);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(store_->Get(K("a"), c->mod_revision)->value, "one");
  EXPECT_EQ(store_->Get(K("a"), u->mod_revision)->value, "two");
  EXPECT_TRUE(store_->Get(K("a"), d->revision).status().IsNotFound());
  EXPECT_TRUE(store_->Get(K("a"), c->mod_revision - 1).status().IsNotFound());
  auto future = store_->Get(K("a"), Rev() + 1000);
  EXPECT_EQ(future.status().code(), Code::kBadRequest) << future.status().ToString();
}

TEST_P(ContractTest, ListIsOrderedAndPrefixBound) {
  for (const char* k : {"b", "a", "c/x", "c/y", "ab"}) ASSERT_TRUE(store_->Create(K(k), k).ok());
  // A key just past the prefix must not appear.
  std::string outside = prefix_.substr(0, prefix_.size() - 1) + "0";
  ASSERT_TRUE(store_->Create(outside, "no").ok());
  auto l = store_->List({.prefix = prefix_});
  ASSERT_TRUE(l.ok());
  std::vector<std::string> keys;
  for (auto& kv : l->kvs) keys.push_back(kv.key);
  EXPECT_EQ(keys, (std::vector<std::string>{K("a"), K("ab"), K("b"), K("c/x"), K("c/y")}));
  EXPECT_FALSE(l->more);
  EXPECT_EQ(l->revision, Rev());
  auto sub = store_->List({.prefix = K("c/")});
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(sub->kvs.size(), 2u);
  EXPECT_EQ(sub->kvs[1].value, "c/y");
}

TEST_P(ContractTest, PaginationAtAFixedRevision) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->Create(K("k" + std::to_string(i)), std::to_string(i)).ok());
  auto p1 = store_->List({.prefix = prefix_, .limit = 4});
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->kvs.size(), 4u);
  EXPECT_TRUE(p1->more);
  // The world changes between pages...
  ASSERT_TRUE(store_->Delete(K("k5"), 0).ok());
  ASSERT_TRUE(store_->Update(K("k6"), "changed", 0).ok());
  ASSERT_TRUE(store_->Create(K("k55"), "new").ok());
  // ...but later pages read the first page's revision.
  std::vector<KeyValue> all = p1->kvs;
  std::string next = p1->kvs.back().key + '\0';
  for (;;) {
    auto p = store_->List({.prefix = prefix_, .start_key = next, .revision = p1->revision, .limit = 4});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->revision, p1->revision);
    for (auto& kv : p->kvs) all.push_back(kv);
    if (!p->more) break;
    next = p->kvs.back().key + '\0';
  }
  ASSERT_EQ(all.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(all[i].key, K("k" + std::to_string(i)));
    EXPECT_EQ(all[i].value, std::to_string(i));
  }
  // The current view has the changes.
  auto now = store_->List({.prefix = prefix_});
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->kvs.size(), 10u);
}

TEST_P(ContractTest, WatchDeliversInOrderWithPrevKv) {
  auto w = store_->Watch({.prefix = prefix_});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto c = store_->Create(K("a"), "one");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(store_->Create("/elsewhere" + prefix_, "ignored").ok());
  ASSERT_TRUE(store_->Update(K("a"), "two", 0).ok());
  ASSERT_TRUE(store_->Delete(K("a"), 0).ok());
  auto evs = Collect(w->get(), 3);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].type, EventType::kPut);
  EXPECT_EQ(evs[0].kv->value, "one");
  EXPECT_EQ(evs[0].prev_kv, nullptr);
  EXPECT_EQ(evs[1].type, EventType::kPut);
  EXPECT_EQ(evs[1].kv->value, "two");
  ASSERT_NE(evs[1].prev_kv, nullptr);
  EXPECT_EQ(evs[1].prev_kv->value, "one");
  EXPECT_EQ(evs[2].type, EventType::kDelete);
  EXPECT_EQ(evs[2].kv->key, K("a"));
  ASSERT_NE(evs[2].prev_kv, nullptr);
  EXPECT_EQ(evs[2].prev_kv->value, "two");
  EXPECT_EQ(evs[0].revision(), c->mod_revision);
  EXPECT_EQ(evs[1].revision(), c->mod_revision + 2);
  EXPECT_EQ(evs[2].revision(), c->mod_revision + 3);
  // Nothing more arrives.
  auto more = (*w)->Next(50ms);
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty());
}

TEST_P(ContractTest, WatchResumesFromAnyRevision) {
  int64_t first = Rev() + 1;
  constexpr int kWrites = 30;
  std::vector<std::pair<int64_t, std::string>> history;  // revision, value
  for (int i = 0; i < kWrites; ++i) {
    std::string key = K("k" + std::to_string(i % 4));
    Result<KeyValue> r = (i < 4) ? store_->Create(key, std::to_string(i)) : store_->Update(key, std::to_string(i), 0);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    history.emplace_back(r->mod_revision, r->value);
  }
  for (int64_t start = first; start <= first + kWrites; start += 3) {
    auto w = store_->Watch({.prefix = prefix_, .start_revision = start});
    ASSERT_TRUE(w.ok());
    size_t expect = static_cast<size_t>(first + kWrites - start);
    auto evs = Collect(w->get(), expect);
    ASSERT_EQ(evs.size(), expect) << "from " << start;
    for (size_t i = 0; i < evs.size(); ++i) {
      EXPECT_EQ(evs[i].revision(), start + static_cast<int64_t>(i));
      EXPECT_EQ(evs[i].kv->value, history[static_cast<size_t>(start - first) + i].second);
    }
  }
}

TEST_P(ContractTest, CompactionThenGone) {
  auto c = store_->Create(K("a"), "0");
  ASSERT_TRUE(c.ok());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(store_->Update(K("a"), std::to_string(i), 0).ok());
  int64_t at = c->mod_revision + 3;  // value "3"
  ASSERT_TRUE(store_->Compact(at).ok());
  EXPECT_EQ(*store_->CompactRevision(), at);
  EXPECT_TRUE(store_->Get(K("a"), at - 1).status().IsGone());
  EXPECT_TRUE(store_->List({.prefix = prefix_, .revision = at - 1}).status().IsGone());
  EXPECT_EQ(store_->Get(K("a"), at)->value, "3");
  EXPECT_EQ(store_->Get(K("a"))->value, "5");
  // A watch from below the compaction point ends with Gone.
  auto w = store_->Watch({.prefix = prefix_, .start_revision = at - 1});
  if (w.ok()) {
    auto evs = (*w)->Next(2s);
    EXPECT_TRUE(evs.status().IsGone()) << evs.status().ToString();
  } else {
    EXPECT_TRUE(w.status().IsGone()) << w.status().ToString();
  }
  // From the compaction point on, history is whole.
  auto w2 = store_->Watch({.prefix = prefix_, .start_revision = at});
  ASSERT_TRUE(w2.ok());
  auto evs = Collect(w2->get(), 3);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].kv->value, "3");
  // (The event at the compaction point itself may lack prev_kv: etcd no
  // longer has it.) Later events have theirs.
  ASSERT_NE(evs[1].prev_kv, nullptr);
  EXPECT_EQ(evs[1].prev_kv->value, "3");
  // Compacting again at or below the point is a no-op; the future is refused.
  EXPECT_TRUE(store_->Compact(at - 1).ok());
  EXPECT_TRUE(store_->Compact(at).ok());
  EXPECT_FALSE(store_->Compact(Rev() + 100).ok());
}

TEST_P(ContractTest, ConcurrentWritersLoseNoUpdate) {
  ASSERT_TRUE(store_->Create(K("counter"), "0").ok());
  constexpr int kThreads = 8, kIncrements = 40;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto cur = store_->Get(K("counter"));
        ASSERT_TRUE(cur.ok());
        KeyValue latest = *cur;
        for (;;) {
          int v = std::stoi(latest.value);
          auto u = store_->Update(K("counter"), std::to_string(v + 1), latest.mod_revision, &latest);
          if (u.ok()) break;
          ASSERT_TRUE(u.status().IsConflict()) << u.status().ToString();
          conflicts.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  auto final = store_->Get(K("counter"));
  ASSERT_TRUE(final.ok());
  EXPECT_EQ(final->value, std::to_string(kThreads * kIncrements));
  EXPECT_EQ(final->version, kThreads * kIncrements + 1);
}

TEST_P(ContractTest, ConcurrentCreatesOfOneKeyHaveOneWinner) {
  constexpr int kThreads = 8;
  std::atomic<int> won{0}, lost{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      auto r = store_->Create(K("once"), std::to_string(t));
      if (r.ok()) {
        won.fetch_add(1);
      } else if (r.status().IsAlreadyExists()) {
        lost.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), kThreads - 1);
}

TEST_P(ContractTest, SlowWatcherIsCutOffNotWaitedFor) {
  auto store = OpenStore(/*backlog=*/50);
  ASSERT_NE(store, nullptr);
  auto w = store->Watch({.prefix = prefix_});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(store->Create(K("a"), "0").ok());
  // Writers go on at full speed while the watcher reads nothing.
  for (int i = 1; i <= 200; ++i) ASSERT_TRUE(store->Update(K("a"), std::to_string(i), 0).ok());
  Status end;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto evs = (*w)->Next(100ms);
    if (!evs.ok()) {
      end = evs.status();
      break;
    }
  }
  EXPECT_TRUE(end.IsGone()) << end.ToString();
  // A fresh watch works.
  auto w2 = store->Watch({.prefix = prefix_});
  ASSERT_TRUE(w2.ok());
  ASSERT_TRUE(store->Update(K("a"), "last", 0).ok());
  auto evs = Collect(w2->get(), 1);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].kv->value, "last");
}

TEST_P(ContractTest, StopEndsAWatch) {
  auto w = store_->Watch({.prefix = prefix_});
  ASSERT_TRUE(w.ok());
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    (*w)->Stop();
  });
  auto start = std::chrono::steady_clock::now();
  auto evs = (*w)->Next(10s);
  stopper.join();
  EXPECT_EQ(evs.status().code(), Code::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_P(ContractTest, AnyBytesInKeysAndValues) {
  std::string key = K(std::string("bin\0\xff\x01\n key", 11));
  std::string value("\0\x00\xff\xfe{\"json\"}\r\n", 13);
  ASSERT_TRUE(store_->Create(key, value).ok());
  auto g = store_->Get(key);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->value, value);
  // An empty value is a value.
  ASSERT_TRUE(store_->Create(K("empty"), "").ok());
  auto e = store_->Get(K("empty"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->value, "");
  // A prefix ending in 0xff bytes still bounds the range.
  std::string ff = K(std::string("\xff\xff", 2));
  ASSERT_TRUE(store_->Create(ff + "x", "in").ok());
  auto l = store_->List({.prefix = ff});
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->kvs.size(), 1u);
  EXPECT_EQ(l->kvs[0].value, "in");
  // Watch sees binary keys intact.
  auto w = store_->Watch({.prefix = prefix_, .start_revision = g->mod_revision});
  ASSERT_TRUE(w.ok());
  auto evs = Collect(w->get(), 1);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs[0].kv->key, key);
  EXPECT_EQ(evs[0].kv->value, value);
}

TEST_P(ContractTest, LargeValuesUpToTheLimit) {
  std::string big(kMaxValueBytes, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  auto c = store_->Create(K("big"), big);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto g = store_->Get(K("big"));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->value, big);
  int64_t r = Rev();
  auto too = store_->Create(K("bigger"), std::string(kMaxValueBytes + 1, 'y'));
  ASSERT_FALSE(too.ok());
  EXPECT_EQ(too.status().code(), Code::kRequestEntityTooLarge);
  EXPECT_NE(too.status().message().find("1.5 MiB"), std::string::npos) << too.status().message();
  EXPECT_TRUE(store_->Update(K("big"), std::string(kMaxValueBytes + 1, 'y'), 0).status().code() ==
              Code::kRequestEntityTooLarge);
  EXPECT_EQ(Rev(), r);
  EXPECT_EQ(store_->Create("", "x").status().code(), Code::kBadRequest);
}

INSTANTIATE_TEST_SUITE_P(Backends, ContractTest, ::testing::Values("embedded", "etcd"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kubepp::storage
