// The client library against a real `kubepp apiserver` on a loopback port:
// kubeconfig loading, REST calls and their errors, and an informer that
// follows a resource across changes and across a server restart.
#include <signal.h>

#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "client/events.h"
#include "client/informer.h"
#include "client/leader_election.h"
#include "client/rest.h"
#include "common/file.h"
#include "common/net.h"
#include "common/process.h"

namespace kubepp::client {
namespace {

using namespace std::chrono_literals;

std::string Kubepp() {
  char buf[PATH_MAX];
  const char* bin = std::getenv("KUBEPP_BIN");
  return bin != nullptr && ::realpath(bin, buf) != nullptr ? buf : "kubepp";
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tmp = TempDir::Create("client-test");
    ASSERT_TRUE(tmp.ok());
    tmp_.emplace(std::move(*tmp));
    auto port = PickFreePort();
    ASSERT_TRUE(port.ok());
    port_ = *port;
    StartServer();
    auto cfg = LoadKubeconfig(JoinPath(tmp_->path(), "data/kubeconfig"));
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    client_ = std::make_unique<RestClient>(*cfg);
    WaitReady();
  }
  void TearDown() override {
    if (server_) {
      (void)server_->Signal(SIGTERM);
      (void)server_->Wait();
    }
  }
  void StartServer() {
    auto p = ChildProcess::Spawn({.argv = {Kubepp(), "apiserver", "--data-dir", JoinPath(tmp_->path(), "data"),
                                           "--https-port", std::to_string(port_), "--default-watch-cache-size=5"},
                                  .stdout_path = JoinPath(tmp_->path(), "server.log"),
                                  .stderr_path = "=stdout"});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    server_.emplace(std::move(*p));
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!PathExists(JoinPath(tmp_->path(), "data/kubeconfig")) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
  }
  void WaitReady() {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (client_->Get("/api/v1/namespaces/default").ok()) return;
      std::this_thread::sleep_for(20ms);
    }
    auto log = ReadFile(JoinPath(tmp_->path(), "server.log"));
    FAIL() << "server not ready: " << (log.ok() ? *log : log.status().ToString());
  }
  static bj::value ConfigMap(const std::string& name, const std::string& tier) {
    return bj::object{{"apiVersion", "v1"},
                      {"kind", "ConfigMap"},
                      {"metadata", bj::object{{"name", name}, {"labels", bj::object{{"app", "x"}, {"tier", tier}}}}},
                      {"data", bj::object{{"k", "v"}}}};
  }

  std::optional<TempDir> tmp_;
  int port_ = 0;
  std::optional<ChildProcess> server_;
  std::unique_ptr<RestClient> client_;
};

// Records what an informer's handlers saw.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> events;
  EventHandler Handler() {
    return EventHandler{
        [this](const ObjectPtr& o) { Note("add " + KeyOf(*o)); },
        [this](const ObjectPtr&, const ObjectPtr& o) { Note("update " + KeyOf(*o)); },
        [this](const ObjectPtr& o) { Note("delete " + KeyOf(*o)); },
    };
  }
  void Note(std::string e) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(std::move(e));
    cv.notify_all();
  }
  bool WaitFor(const std::string& e, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, timeout, [&] { return std::find(events.begin(), events.end(), e) != events.end(); });
  }
};

TEST_F(ClientTest, RestCallsAndTheirErrors) {
  std::string cms = ResourcePath("", "v1", "configmaps", "default");
  auto created = client_->Post(cms, ConfigMap("one", "web"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_FALSE(created->at("metadata").at("uid").as_string().empty());
  auto again = client_->Post(cms, ConfigMap("one", "web"));
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "configmaps \"one\" already exists");
  auto missing = client_->Get(cms + "/nope");
  EXPECT_TRUE(missing.status().IsNotFound());
  // A stale resourceVersion conflicts.
  bj::value stale = *created;
  stale.at("data").as_object()["k"] = "w";
  ASSERT_TRUE(client_->Put(cms + "/one", stale).ok());
  EXPECT_TRUE(client_->Put(cms + "/one", stale).status().IsConflict());
  auto patched = client_->Patch(cms + "/one", "application/merge-patch+json", bj::object{{"data", bj::object{{"p", "1"}}}});
  ASSERT_TRUE(patched.ok());
  EXPECT_EQ(patched->at("data").at("p"), "1");
  auto invalid = client_->Post(cms, bj::object{{"metadata", bj::object{{"name", "Bad_Name"}}}});
  EXPECT_TRUE(invalid.status().IsInvalid());
  ASSERT_TRUE(client_->Delete(cms + "/one").ok());
  EXPECT_TRUE(client_->Get(cms + "/one").status().IsNotFound());
  EXPECT_EQ(ResourcePath("apps", "v1", "deployments", "ns", "d", "scale"), "/apis/apps/v1/namespaces/ns/deployments/d/scale");
}

TEST_F(ClientTest, EventsFoldAndAreRateLimitedPerObject) {
  bj::object ref{{"kind", "ConfigMap"}, {"namespace", "default"}, {"name", "cm"}, {"uid", "u1"}, {"apiVersion", "v1"}};
  bj::object other = ref;
  other["name"] = "other";
  other["uid"] = "u2";
  {
    EventRecorder rec(client_.get(), "test-controller");
    // The same event three times: one Event, count 3.
    for (int i = 0; i < 3; ++i) rec.Record(ref, "Normal", "Same", "same message");
    // 20 similar events (messages differ): 9 of their own, then one
    // combined event for the rest.
    for (int i = 0; i < 20; ++i) rec.Record(ref, "Normal", "Created", "Created thing " + std::to_string(i));
    // 3 + 20 writes so far; 25 allowed per object: 2 more, then dropped.
    for (int i = 0; i < 5; ++i) rec.Record(ref, "Warning", "Other", "other " + std::to_string(i));
    // Another object has its own allowance.
    rec.Record(other, "Normal", "Created", "Created thing");
    rec.Stop();
  }
  auto list = client_->Get("/api/v1/namespaces/default/events");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::map<std::string, int64_t> counts;  // reason/message -> count
  int64_t written = 0;
  for (const auto& e : list->at("items").as_array()) {
    const auto& o = e.as_object();
    std::string key = std::string(o.at("involvedObject").at("name").as_string()) + " " +
                      std::string(o.at("reason").as_string()) + " " + std::string(o.at("message").as_string());
    counts[key] = o.at("count").as_int64();
    if (o.at("involvedObject").at("name") == "cm") written += o.at("count").as_int64();
  }
  EXPECT_EQ(counts["cm Same same message"], 3);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(counts["cm Created Created thing " + std::to_string(i)], 1) << i;
  // The combined event carries the latest message and counts the rest.
  EXPECT_EQ(counts["cm Created (combined from similar events): Created thing 19"], 11);
  EXPECT_EQ(counts["cm Other other 0"], 1);
  EXPECT_EQ(counts["cm Other other 1"], 1);
  EXPECT_EQ(counts.count("cm Other other 2"), 0u);
  EXPECT_EQ(written, 25);
  EXPECT_EQ(counts["other Created Created thing"], 1);
}

TEST_F(ClientTest, InformerFollowsChangesAndServerRestarts) {
  ASSERT_TRUE(client_->Post("/api/v1/namespaces", bj::object{{"metadata", bj::object{{"name", "t"}}}}).ok());
  std::string cms = ResourcePath("", "v1", "configmaps", "t");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client_->Post(cms, ConfigMap("cm" + std::to_string(i), i % 2 ? "db" : "web")).ok());
  }
  // Not selected: another app.
  ASSERT_TRUE(client_->Post(cms, bj::object{{"metadata", bj::object{{"name", "other"}, {"labels", bj::object{{"app", "y"}}}}}}).ok());

  InformerOptions opts;
  opts.resource = "configmaps";
  opts.ns = "t";
  opts.label_selector = "app=x";
  opts.page_size = 2;  // the first list takes three pages
  Informer inf(client_.get(), opts);
  Recorder rec;
  inf.AddEventHandler(rec.Handler());
  inf.AddIndex("tier", [](const bj::object& o) {
    const auto* labels = o.at("metadata").as_object().if_contains("labels");
    const auto* tier = labels != nullptr ? labels->as_object().if_contains("tier") : nullptr;
    return tier != nullptr ? std::vector<std::string>{std::string(tier->as_string())} : std::vector<std::string>{};
  });
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(10s));
  EXPECT_EQ(inf.List().size(), 5u);
  EXPECT_EQ(inf.ByIndex("tier", "web").size(), 3u);
  EXPECT_EQ(inf.ByIndex("namespace", "t").size(), 5u);
  EXPECT_EQ(inf.Get("t/other"), nullptr);
  EXPECT_TRUE(rec.WaitFor("add t/cm4"));

  ASSERT_TRUE(client_->Post(cms, ConfigMap("cm5", "web")).ok());
  EXPECT_TRUE(rec.WaitFor("add t/cm5"));
  ASSERT_TRUE(client_->Patch(cms + "/cm1", "application/merge-patch+json",
                             bj::object{{"metadata", bj::object{{"labels", bj::object{{"tier", "web"}}}}}})
                  .ok());
  EXPECT_TRUE(rec.WaitFor("update t/cm1"));
  ASSERT_TRUE(client_->Delete(cms + "/cm0").ok());
  EXPECT_TRUE(rec.WaitFor("delete t/cm0"));
  EXPECT_EQ(inf.ByIndex("tier", "web").size(), 4u);  // cm1 moved over, cm0 gone
  EXPECT_EQ(inf.ByIndex("tier", "db").size(), 1u);

  // Restart the server; change things while the informer is cut off and
  // right after. It converges, reporting the deletes it missed.
  (void)server_->Signal(SIGTERM);
  (void)server_->Wait();
  server_.reset();
  StartServer();
  WaitReady();
  ASSERT_TRUE(client_->Delete(cms + "/cm2").ok());
  for (int i = 6; i < 14; ++i) ASSERT_TRUE(client_->Post(cms, ConfigMap("cm" + std::to_string(i), "db")).ok());
  EXPECT_TRUE(rec.WaitFor("delete t/cm2", 20s));
  EXPECT_TRUE(rec.WaitFor("add t/cm13", 20s));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (inf.List().size() != 12u && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(inf.List().size(), 12u);  // cm1, cm3, cm4, cm5, cm6..cm13
  inf.Stop();
  size_t seen = rec.events.size();
  ASSERT_TRUE(client_->Post(cms, ConfigMap("after-stop", "web")).ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(rec.events.size(), seen);
}

TEST_F(ClientTest, WatchErrorsComeBackAsStatus) {
  auto list = client_->Get("/api/v1/namespaces/default/configmaps");
  ASSERT_TRUE(list.ok());
  // More events than the watch cache keeps (5), then watch from the start.
  std::string first;
  for (int i = 0; i < 8; ++i) {
    auto c = client_->Post("/api/v1/namespaces/default/configmaps", ConfigMap("w" + std::to_string(i), "web"));
    ASSERT_TRUE(c.ok());
    if (i == 0) first = std::string(c->at("metadata").at("resourceVersion").as_string());
  }
  Status st = client_->Watch("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=" + first,
                             [](std::string_view, bj::object&) { return true; });
  EXPECT_EQ(st.code(), Code::kExpired) << st.ToString();
  // A watch stopped from another thread returns Cancelled.
  WatchHandle h;
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    h.Stop();
  });
  st = client_->Watch("/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=30",
                      [](std::string_view, bj::object&) { return true; }, &h);
  stopper.join();
  EXPECT_EQ(st.code(), Code::kCancelled) << st.ToString();
}

TEST_F(ClientTest, OneLeaderAtATimeAndTakeovers) {
  auto config = [](std::string id, std::atomic<int>* leading) {
    LeaderElectionConfig c;
    c.lease_name = "test-lock";
    c.identity = std::move(id);
    c.lease_duration = 1s;
    c.renew_deadline = 700ms;
    c.retry_period = 100ms;
    c.on_started_leading = [leading] { ++*leading; };
    c.on_stopped_leading = [leading] { --*leading; };
    return c;
  };
  std::atomic<int> leading_a{0}, leading_b{0};
  auto a = std::make_unique<LeaderElector>(client_.get(), config("a", &leading_a));
  LeaderElector b(client_.get(), config("b", &leading_b));
  a->Start();
  b.Start();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (leading_a + leading_b == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(leading_a + leading_b, 1);
  // Nobody else takes it while it is renewed.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(leading_a + leading_b, 1);
  bool a_led = leading_a == 1;
  LeaderElector* leader = a_led ? a.get() : &b;
  EXPECT_TRUE(leader->IsLeader());
  auto lease = client_->Get(ResourcePath("coordination.k8s.io", "v1", "leases", "kube-system", "test-lock"));
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->at("spec").at("holderIdentity"), a_led ? "a" : "b");
  // The leader steps down and releases: the other takes over promptly.
  auto t0 = std::chrono::steady_clock::now();
  if (a_led) {
    a->Stop();
  } else {
    b.Stop();
  }
  std::atomic<int>& other = a_led ? leading_b : leading_a;
  while (other == 0 && std::chrono::steady_clock::now() < t0 + 10s) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(other.load(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);  // released, not expired
  a->Stop();
  b.Stop();
  EXPECT_EQ(leading_a + leading_b, 0);

  // A lease held by a candidate that stopped renewing (no release) is taken
  // once its duration has passed, not before.
  std::string now = "2026-01-01T00:00:00.000000Z";
  ASSERT_TRUE(client_
                  ->Post(ResourcePath("coordination.k8s.io", "v1", "leases", "kube-system"),
                         bj::object{{"metadata", bj::object{{"name", "ghost-lock"}}},
                                    {"spec", bj::object{{"holderIdentity", "ghost"},
                                                        {"leaseDurationSeconds", 2},
                                                        {"renewTime", now}}}})
                  .ok());
  std::atomic<int> leading_c{0};
  auto cfg = config("c", &leading_c);
  cfg.lease_name = "ghost-lock";
  LeaderElector c(client_.get(), cfg);
  t0 = std::chrono::steady_clock::now();
  c.Start();
  while (leading_c == 0 && std::chrono::steady_clock::now() < t0 + 10s) std::this_thread::sleep_for(10ms);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(leading_c.load(), 1);
  EXPECT_GE(took, 2s);  // judged by our own clock, whatever the holder wrote
  lease = client_->Get(ResourcePath("coordination.k8s.io", "v1", "leases", "kube-system", "ghost-lock"));
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->at("spec").at("holderIdentity"), "c");
  EXPECT_EQ(lease->at("spec").at("leaseTransitions"), 1);
  c.Stop();
}

}  // namespace
}  // namespace kubepp::client
