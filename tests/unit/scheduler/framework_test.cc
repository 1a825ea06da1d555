// The framework and in-tree plugins on hand-built nodes and pods: filters
// with upstream's reasons, scores, profiles from a configuration file, and
// the preemption dry run's victim choice.
#include <gtest/gtest.h>

#include "api/yaml.h"
#include "scheduler/cache/cache.h"
#include "scheduler/framework/framework.h"

namespace kubepp::scheduler {
namespace {

std::shared_ptr<const bj::object> Yaml(const std::string& text) {
  auto v = api::YamlToJson(text);
  EXPECT_TRUE(v.ok()) << text;
  return std::make_shared<const bj::object>(v->get_object());
}

std::shared_ptr<const bj::object> Node(const std::string& name, const std::string& cpu = "4",
                                       const std::string& extra = "") {
  return Yaml("metadata: {name: " + name + ", labels: {kubernetes.io/hostname: " + name + "}}\n" + extra +
              "\nstatus: {allocatable: {cpu: '" + cpu + "', memory: 8Gi, pods: '110'}}");
}

PodInfoPtr Pod(const std::string& name, const std::string& spec = "containers: [{name: c, image: nginx}]",
               const std::string& labels = "{}") {
  return ParsePod(Yaml("metadata: {name: " + name + ", namespace: default, uid: u-" + name + ", labels: " + labels +
                       "}\nspec: {" + spec + "}"));
}

PodInfoPtr Bound(PodInfoPtr p, const std::string& node) {
  auto c = std::make_shared<PodInfo>(*p);
  c->node_name = node;
  return c;
}

struct Fixture {
  Cache cache;
  std::unique_ptr<Framework> fw;
  std::vector<PodInfoPtr> nominated;
  explicit Fixture(ProfileConfig cfg = DefaultProfile()) {
    Handle h;
    h.nominated_pods = [this](const std::string&) { return nominated; };
    auto f = Framework::New(cfg, h);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    fw = std::move(*f);
  }
  // Filter status per node, after PreFilter.
  std::map<std::string, PluginStatus> Filter(const PodInfo& pod) {
    Snapshot& snap = const_cast<Snapshot&>(cache.UpdateSnapshot());
    static const Labels no_labels;
    snap.namespace_labels = [](const std::string&) { return &no_labels; };  // every namespace exists, unlabelled
    CycleState st;
    std::map<std::string, PluginStatus> out;
    PluginStatus pre = fw->RunPreFilter(st, pod, snap);
    for (NodeInfo* n : snap.nodes) out[n->name] = pre.ok() ? fw->RunFilterWithNominatedPods(st, pod, *n) : pre;
    return out;
  }
};

TEST(Types, PodRequestsFollowUpstream) {
  auto p = Pod("p",
               "initContainers: [{name: i, image: x, resources: {requests: {cpu: '2'}}}],"
               "containers: [{name: a, image: x, resources: {requests: {cpu: 500m, memory: 1Gi}}},"
               "{name: b, image: x, resources: {limits: {cpu: 700m, example.com/gpu: '1'}}}],"
               "overhead: {cpu: 100m}");
  EXPECT_EQ(p->requests.milli_cpu, 2100);  // max(init 2000, 1200) + overhead
  EXPECT_EQ(p->requests.memory, 1LL << 30);
  EXPECT_EQ(p->requests.scalar.at("example.com/gpu"), 1);
  EXPECT_EQ(p->non_zero_requests.memory, (1LL << 30) + 200LL * 1024 * 1024);  // b has no memory: 200Mi
}

TEST(Filters, ResourcesReportEveryShortfall) {
  Fixture f;
  f.cache.AddOrUpdateNode(Node("n1", "1"));
  auto st = f.Filter(*Pod("p", "containers: [{name: c, image: x, resources: {requests: {cpu: '2', memory: 9Gi}}}]"));
  ASSERT_FALSE(st["n1"].ok());
  EXPECT_EQ(st["n1"].plugin(), "NodeResourcesFit");
  EXPECT_EQ(st["n1"].reasons(), (std::vector<std::string>{"Insufficient cpu", "Insufficient memory"}));
  EXPECT_EQ(st["n1"].code(), PluginStatus::Code::kUnschedulable);
  // Assumed pods count.
  f.cache.AssumePod(Bound(Pod("a", "containers: [{name: c, image: x, resources: {requests: {cpu: 800m}}}]"), "n1"));
  EXPECT_FALSE(f.Filter(*Pod("q", "containers: [{name: c, image: x, resources: {requests: {cpu: 300m}}}]"))["n1"].ok());
  f.cache.ForgetPod("default/a");
  EXPECT_TRUE(f.Filter(*Pod("q", "containers: [{name: c, image: x, resources: {requests: {cpu: 300m}}}]"))["n1"].ok());
  // Pods nominated to the node (with at least our priority) hold their room.
  f.nominated = {Bound(Pod("nom", "containers: [{name: c, image: x, resources: {requests: {cpu: 800m}}}]"), "n1")};
  EXPECT_FALSE(f.Filter(*Pod("q", "containers: [{name: c, image: x, resources: {requests: {cpu: 300m}}}]"))["n1"].ok());
}

TEST(Filters, TaintsSelectorsPortsAndCordon) {
  Fixture f;
  f.cache.AddOrUpdateNode(Node("n1", "4", "spec: {taints: [{key: k, value: v, effect: NoSchedule}]}"));
  f.cache.AddOrUpdateNode(Node("n2", "4", "spec: {unschedulable: true}"));
  f.cache.AddOrUpdateNode(Node("n3"));
  auto st = f.Filter(*Pod("p", "containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 8080}]}],"
                                "nodeSelector: {kubernetes.io/hostname: n3}"));
  EXPECT_EQ(st["n1"].Message(), "node(s) had untolerated taint {k: v}");
  EXPECT_EQ(st["n2"].Message(), "node(s) were unschedulable");
  EXPECT_TRUE(st["n3"].ok());
  f.cache.AddOrUpdatePod(Bound(Pod("h", "containers: [{name: c, image: x, ports: [{containerPort: 1, hostPort: 8080}]}]"), "n3"));
  st = f.Filter(*Pod("p", "containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 8080}]}],"
                          "tolerations: [{operator: Exists}]"));
  EXPECT_TRUE(st["n1"].ok());
  EXPECT_EQ(st["n3"].Message(), "node(s) didn't have free ports for the requested pod ports");
  st = f.Filter(*Pod("p", "containers: [{name: c, image: x}], affinity: {nodeAffinity: "
                          "{requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: "
                          "[{matchFields: [{key: metadata.name, operator: In, values: [n1]}]}]}}}"));
  EXPECT_EQ(st["n3"].Message(), "node(s) didn't match Pod's node affinity/selector");
  EXPECT_EQ(st["n3"].code(), PluginStatus::Code::kUnschedulableAndUnresolvable);
}

TEST(Filters, InterPodAffinityAndSpread) {
  Fixture f;
  for (const char* n : {"n1", "n2", "n3"}) {
    f.cache.AddOrUpdateNode(Node(n, "4", std::string("metadata: {name: ") + n + ", labels: {kubernetes.io/hostname: " + n +
                                             ", zone: " + (std::string(n) == "n3" ? "b" : "a") + "}}"));
  }
  f.cache.AddOrUpdatePod(Bound(Pod("db", "containers: [{name: c, image: x}]", "{app: db}"), "n1"));
  auto st = f.Filter(*Pod("web", "containers: [{name: c, image: x}], affinity: {podAffinity: "
                                 "{requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: "
                                 "{matchLabels: {app: db}}, topologyKey: zone}]}}"));
  EXPECT_TRUE(st["n1"].ok());
  EXPECT_TRUE(st["n2"].ok());  // same zone
  EXPECT_EQ(st["n3"].Message(), "node(s) didn't match pod affinity rules");
  // The placed pod's anti-affinity keeps matching pods out of its zone.
  f.cache.AddOrUpdatePod(Bound(Pod("lonely", "containers: [{name: c, image: x}], affinity: {podAntiAffinity: "
                                             "{requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: "
                                             "{matchLabels: {app: noisy}}, topologyKey: zone}]}}"),
                               "n3"));
  st = f.Filter(*Pod("noisy", "containers: [{name: c, image: x}]", "{app: noisy}"));
  EXPECT_TRUE(st["n1"].ok());
  EXPECT_EQ(st["n3"].Message(), "node(s) didn't satisfy existing pods anti-affinity rules");
  // Spread: zone a already holds 2 matching pods, zone b none; maxSkew 1.
  f.cache.AddOrUpdatePod(Bound(Pod("s1", "containers: [{name: c, image: x}]", "{app: s}"), "n1"));
  f.cache.AddOrUpdatePod(Bound(Pod("s2", "containers: [{name: c, image: x}]", "{app: s}"), "n2"));
  st = f.Filter(*Pod("s3", "containers: [{name: c, image: x}], topologySpreadConstraints: [{maxSkew: 1, "
                           "topologyKey: zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: s}}}]",
                     "{app: s}"));
  EXPECT_EQ(st["n1"].Message(), "node(s) didn't match pod topology spread constraints");
  EXPECT_TRUE(st["n3"].ok());
}

// The index InterPodAffinity reads instead of scanning placed pods: counts
// follow pods placed, assumed, forgotten and removed, and node relabels.
TEST(Filters, AffinityIndexFollowsPodsAndNodeLabels) {
  Fixture f;
  auto zoned = [&](const std::string& n, const std::string& zone) {
    f.cache.AddOrUpdateNode(Node(n, "4", "metadata: {name: " + n + ", labels: {kubernetes.io/hostname: " + n +
                                             ", zone: " + zone + "}}"));
  };
  zoned("n1", "a");
  zoned("n2", "a");
  zoned("n3", "b");
  const std::string anti = "containers: [{name: c, image: x}], affinity: {podAntiAffinity: "
                           "{requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: "
                           "{matchLabels: {app: web}}, topologyKey: zone}]}}";
  auto web = [&](const std::string& name) { return Pod(name, anti, "{app: web}"); };
  auto ok_nodes = [&](const PodInfo& p) {
    std::string out;
    for (auto& [n, st] : f.Filter(p)) {
      if (st.ok()) out += n + " ";
    }
    return out;
  };
  EXPECT_EQ(ok_nodes(*web("w0")), "n1 n2 n3 ");  // counts memoized from here on
  f.cache.AddOrUpdatePod(Bound(web("w1"), "n1"));
  EXPECT_EQ(ok_nodes(*web("w0")), "n3 ");
  f.cache.AssumePod(Bound(web("w2"), "n3"));
  EXPECT_EQ(ok_nodes(*web("w0")), "");
  f.cache.ForgetPod("default/w2");
  EXPECT_EQ(ok_nodes(*web("w0")), "n3 ");
  f.cache.RemovePod("default/w1");
  EXPECT_EQ(ok_nodes(*web("w0")), "n1 n2 n3 ");
  // A plain pod labelled app=web: only the placed web pods' own terms keep it out.
  f.cache.AddOrUpdatePod(Bound(web("w3"), "n3"));
  EXPECT_EQ(ok_nodes(*Pod("plain", "containers: [{name: c, image: x}]", "{app: web}")), "n1 n2 ");
  // n3 moves to zone a: every node is now in w3's domain.
  zoned("n3", "a");
  EXPECT_EQ(ok_nodes(*web("w0")), "");
  EXPECT_EQ(ok_nodes(*Pod("plain", "containers: [{name: c, image: x}]", "{app: web}")), "");
  zoned("n3", "b");
  EXPECT_EQ(ok_nodes(*web("w0")), "n1 n2 ");
  // Required affinity (a conjunction of two terms) over the same index.
  const std::string aff = "containers: [{name: c, image: x}], affinity: {podAffinity: "
                          "{requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: "
                          "{matchLabels: {app: web}}, topologyKey: zone}, {labelSelector: {matchExpressions: "
                          "[{key: tier, operator: Exists}]}, topologyKey: kubernetes.io/hostname}]}}";
  EXPECT_EQ(ok_nodes(*Pod("a0", aff, "{}")), "");  // w3 has no tier label
  f.cache.AddOrUpdatePod(Bound(Pod("t1", "containers: [{name: c, image: x}]", "{app: web, tier: x}"), "n2"));
  EXPECT_EQ(ok_nodes(*Pod("a0", aff, "{}")), "n2 ");
  // A term with a namespaceSelector is scanned, not indexed: same answers.
  const std::string nsel = "containers: [{name: c, image: x}], affinity: {podAntiAffinity: "
                           "{requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: "
                           "{matchLabels: {app: web}}, namespaceSelector: {}, topologyKey: zone}]}}";
  EXPECT_EQ(ok_nodes(*Pod("n0", nsel, "{}")), "");
  f.cache.RemovePod("default/t1");
  EXPECT_EQ(ok_nodes(*Pod("n0", nsel, "{}")), "n1 n2 ");
}

TEST(Scores, LeastAndMostAllocated) {
  Fixture least;
  auto cfg = DefaultProfile();
  cfg.args["NodeResourcesFit"] = bj::object{{"scoringStrategy", bj::object{{"type", "MostAllocated"}}}};
  cfg.disabled["score"] = {"*"};
  cfg.enabled["score"] = {{"NodeResourcesFit", 5}};
  Fixture most(cfg);
  EXPECT_EQ(most.fw->PluginNames("score"), (std::vector<std::string>{"NodeResourcesFit:5"}));
  for (Fixture* f : {&least, &most}) {
    f->cache.AddOrUpdateNode(Node("empty"));
    f->cache.AddOrUpdateNode(Node("busy"));
    f->cache.AddOrUpdatePod(
        Bound(Pod("x", "containers: [{name: c, image: x, resources: {requests: {cpu: '3', memory: 6Gi}}}]"), "busy"));
  }
  auto score = [](Fixture& f) {
    const Snapshot& snap = f.cache.UpdateSnapshot();
    CycleState st;
    auto p = Pod("p", "containers: [{name: c, image: x, resources: {requests: {cpu: 500m, memory: 1Gi}}}]");
    EXPECT_TRUE(f.fw->RunPreFilter(st, *p, snap).ok());
    EXPECT_TRUE(f.fw->RunPreScore(st, *p, snap.nodes, snap).ok());
    auto s = f.fw->RunScore(st, *p, snap.nodes);
    std::map<std::string, int64_t> out;
    for (size_t i = 0; i < snap.nodes.size(); ++i) out[snap.nodes[i]->name] = s[i];
    return out;
  };
  auto l = score(least);
  EXPECT_GT(l["empty"], l["busy"]);
  auto m = score(most);
  EXPECT_GT(m["busy"], m["empty"]);
  // MostAllocated, weight 5: busy has cpu 3.5/4 (87) and memory 7/8 (87).
  EXPECT_EQ(m["busy"], 87 * 5);
}

TEST(Config, ProfilesFromAFile) {
  auto cfg = ParseSchedulerConfig(R"(apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: a
- schedulerName: b
  plugins:
    multiPoint:
      disabled: [{name: ImageLocality}]
    filter:
      disabled: [{name: NodePorts}]
    score:
      enabled: [{name: NodeAffinity, weight: 7}]
)");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_EQ(cfg->profiles.size(), 2u);
  EXPECT_EQ(cfg->percentage_of_nodes_to_score, 30);
  auto fw = Framework::New(cfg->profiles[1], Handle{});
  ASSERT_TRUE(fw.ok());
  auto filters = (*fw)->PluginNames("filter");
  EXPECT_EQ(std::count(filters.begin(), filters.end(), "NodePorts"), 0);
  auto scores = (*fw)->PluginNames("score");
  EXPECT_EQ(std::count(scores.begin(), scores.end(), "ImageLocality:1"), 0);
  EXPECT_EQ(std::count(scores.begin(), scores.end(), "NodeAffinity:7"), 1);
  EXPECT_EQ((*fw)->PluginNames("postFilter"), (std::vector<std::string>{"DefaultPreemption"}));
  EXPECT_EQ((*fw)->PluginNames("bind"), (std::vector<std::string>{"DefaultBinder"}));

  EXPECT_FALSE(ParseSchedulerConfig("apiVersion: v1\nkind: Pod\n").ok());
  auto dup = ParseSchedulerConfig(
      "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
      "profiles: [{schedulerName: x}, {schedulerName: x}]\n");
  EXPECT_FALSE(dup.ok());
  ProfileConfig bad = DefaultProfile();
  bad.enabled["filter"] = {{"NoSuchPlugin", 0}};
  auto f = Framework::New(bad, Handle{});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("NoSuchPlugin"), std::string::npos);
}

}  // namespace
}  // namespace kubepp::scheduler
