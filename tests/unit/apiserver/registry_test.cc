// The per-kind strategies of the registry, called directly: defaulting,
// create/update preparation, validation, field selectors and table cells.
#include <gtest/gtest.h>

#include "api/errors.h"
#include "apiserver/registry/resource.h"
#include "common/json.h"

namespace kubepp::apiserver {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { InstallAllResources(registry_); }

  const ResourceDef& Def(const char* group, const char* version, const char* resource) {
    const ResourceDef* d = registry_.Find(group, version, resource);
    EXPECT_NE(d, nullptr) << resource;
    return *d;
  }
  static bj::object Obj(std::string_view text) {
    auto v = json::Parse(text);
    EXPECT_TRUE(v.ok()) << text;
    return v->get_object();
  }
  static api::FieldErrors Validate(const ResourceDef& d, const bj::object& obj, const bj::object* old = nullptr) {
    api::FieldErrors errs;
    d.hooks.validate(obj, old, errs);
    return errs;
  }
  static std::string Messages(const api::FieldErrors& errs) {
    std::string out;
    for (const auto& e : errs) out += e.Error() + "\n";
    return out;
  }

  ResourceRegistry registry_;
};

constexpr std::string_view kPod = R"({"apiVersion":"v1","kind":"Pod",
  "metadata":{"name":"web","namespace":"default","labels":{"app":"web"}},
  "spec":{"containers":[{"name":"c","image":"nginx:1.25","ports":[{"containerPort":80}]},
                        {"name":"side","image":"busybox"}]}})";

TEST_F(RegistryTest, PodDefaultsAsUpstream) {
  const ResourceDef& pods = Def("", "v1", "pods");
  bj::object pod = Obj(kPod);
  pods.hooks.defaults(pod);
  const auto& spec = pod.at("spec").as_object();
  EXPECT_EQ(spec.at("restartPolicy"), "Always");
  EXPECT_EQ(spec.at("dnsPolicy"), "ClusterFirst");
  EXPECT_EQ(spec.at("schedulerName"), "default-scheduler");
  EXPECT_EQ(spec.at("terminationGracePeriodSeconds"), 30);
  const auto& c0 = spec.at("containers").at(0).as_object();
  EXPECT_EQ(c0.at("imagePullPolicy"), "IfNotPresent");
  EXPECT_EQ(c0.at("terminationMessagePath"), "/dev/termination-log");
  EXPECT_EQ(c0.at("ports").at(0).at("protocol"), "TCP");
  // No tag means :latest, which is pulled always.
  EXPECT_EQ(spec.at("containers").at(1).at("imagePullPolicy"), "Always");
}

TEST_F(RegistryTest, DeploymentDefaultsAsUpstream) {
  const ResourceDef& deps = Def("apps", "v1", "deployments");
  bj::object d = Obj(R"({"metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},
      "template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x:1"}]}}}})");
  deps.hooks.defaults(d);
  const auto& spec = d.at("spec").as_object();
  EXPECT_EQ(spec.at("replicas"), 1);
  EXPECT_EQ(spec.at("revisionHistoryLimit"), 10);
  EXPECT_EQ(spec.at("progressDeadlineSeconds"), 600);
  EXPECT_EQ(spec.at("strategy").at("type"), "RollingUpdate");
  EXPECT_EQ(spec.at("strategy").at("rollingUpdate").at("maxSurge"), "25%");
  EXPECT_EQ(spec.at("strategy").at("rollingUpdate").at("maxUnavailable"), "25%");
  EXPECT_EQ(spec.at("template").at("spec").at("restartPolicy"), "Always");
}

TEST_F(RegistryTest, PodValidationOnCreateAndUpdate) {
  const ResourceDef& pods = Def("", "v1", "pods");
  bj::object pod = Obj(kPod);
  pods.hooks.defaults(pod);
  EXPECT_TRUE(Validate(pods, pod).empty()) << Messages(Validate(pods, pod));

  bj::object broken = pod;
  broken["spec"].as_object()["containers"].as_array()[0].as_object().erase("image");
  auto errs = Validate(pods, broken);
  ASSERT_FALSE(errs.empty());
  EXPECT_EQ(errs[0].Error(), "spec.containers[0].image: Required value");

  bj::object dup = pod;
  dup["spec"].as_object()["containers"].as_array()[1].as_object()["name"] = "c";
  EXPECT_NE(Messages(Validate(pods, dup)).find("spec.containers[1].name: Duplicate value: \"c\""), std::string::npos)
      << Messages(Validate(pods, dup));

  // Updates may change images, not the rest of the spec.
  bj::object newer = pod;
  newer["spec"].as_object()["containers"].as_array()[0].as_object()["image"] = "nginx:1.26";
  EXPECT_TRUE(Validate(pods, newer, &pod).empty()) << Messages(Validate(pods, newer, &pod));
  bj::object moved = pod;
  moved["spec"].as_object()["restartPolicy"] = "Never";
  EXPECT_NE(Messages(Validate(pods, moved, &pod)).find("pod updates may not change fields other than"), std::string::npos);
}

TEST_F(RegistryTest, DeploymentSelectorMustMatchTemplate) {
  const ResourceDef& deps = Def("apps", "v1", "deployments");
  bj::object d = Obj(R"({"metadata":{"name":"d","namespace":"default"},"spec":{"selector":{"matchLabels":{"a":"b"}},
      "template":{"metadata":{"labels":{"a":"c"}},"spec":{"containers":[{"name":"c","image":"x:1"}]}}}})");
  deps.hooks.defaults(d);
  EXPECT_NE(Messages(Validate(deps, d)).find("spec.template.metadata.labels: Invalid value: "
                                             "map[string]string{\"a\":\"c\"}: `selector` does not match template `labels`"),
            std::string::npos)
      << Messages(Validate(deps, d));
}

TEST_F(RegistryTest, ConfigMapImmutability) {
  const ResourceDef& cms = Def("", "v1", "configmaps");
  bj::object old = Obj(R"({"metadata":{"name":"c","namespace":"default"},"immutable":true,"data":{"k":"v"}})");
  bj::object changed = old;
  changed["data"].as_object()["k"] = "w";
  EXPECT_NE(Messages(Validate(cms, changed, &old)).find("data: Forbidden: field is immutable when `immutable` is set"),
            std::string::npos)
      << Messages(Validate(cms, changed, &old));
  EXPECT_TRUE(Validate(cms, old, &old).empty());
}

TEST_F(RegistryTest, StatusIsServerOwned) {
  // A create starts from the server's status, whatever the client sent; the
  // generic store keeps status across main-resource updates for these kinds.
  const ResourceDef& pods = Def("", "v1", "pods");
  bj::object pod = Obj(kPod);
  pod["status"] = Obj(R"({"phase":"Running","podIP":"10.0.0.9"})");
  pods.hooks.prepare_create(pod);
  // qosClass is computed at create, as upstream does.
  EXPECT_EQ(bj::serialize(pod.at("status")), R"({"phase":"Pending","qosClass":"BestEffort"})");
  EXPECT_TRUE(pods.has_status);
  const ResourceDef& svcs = Def("", "v1", "services");
  bj::object svc = Obj(R"({"metadata":{"name":"s"},"status":{"loadBalancer":{"ingress":[{"ip":"1.2.3.4"}]}}})");
  svcs.hooks.prepare_create(svc);
  EXPECT_EQ(bj::serialize(svc.at("status")), R"({"loadBalancer":{}})");
  EXPECT_FALSE(Def("", "v1", "configmaps").has_status);
}

TEST_F(RegistryTest, FieldSelectorsPerKind) {
  const ResourceDef& pods = Def("", "v1", "pods");
  bj::object pod = Obj(kPod);
  pod["spec"].as_object()["nodeName"] = "n1";
  pod["status"] = Obj(R"({"phase":"Running"})");
  EXPECT_EQ(pods.hooks.fields(pod, "spec.nodeName"), std::optional<std::string>("n1"));
  EXPECT_EQ(pods.hooks.fields(pod, "status.phase"), std::optional<std::string>("Running"));
  const ResourceDef& events = Def("", "v1", "events");
  bj::object ev = Obj(R"({"metadata":{"name":"e"},"involvedObject":{"kind":"Pod","name":"web","namespace":"default"},
      "reason":"Scheduled","type":"Normal"})");
  EXPECT_EQ(events.hooks.fields(ev, "involvedObject.name"), std::optional<std::string>("web"));
  EXPECT_EQ(events.hooks.fields(ev, "reason"), std::optional<std::string>("Scheduled"));
}

TEST_F(RegistryTest, TableColumnsAndCells) {
  const ResourceDef& pods = Def("", "v1", "pods");
  std::vector<std::string> names, wide;
  for (const auto& c : pods.hooks.columns) (c.priority == 0 ? names : wide).push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Ready", "Status", "Restarts", "Age"}));
  EXPECT_EQ(wide, (std::vector<std::string>{"IP", "Node", "Nominated Node", "Readiness Gates"}));
  bj::object pod = Obj(kPod);
  pod["metadata"].as_object()["creationTimestamp"] = "2026-11-27T10:00:00Z";
  pod["status"] = Obj(R"({"phase":"Running","podIP":"10.42.0.5","containerStatuses":[
      {"name":"c","ready":true,"restartCount":2,"state":{"running":{}}},
      {"name":"side","ready":false,"restartCount":0,"state":{"running":{}}}]})");
  TableContext ctx{*api::ParseTime("2026-11-27T10:05:00Z")};
  bj::array cells = pods.hooks.cells(pod, ctx);
  ASSERT_GE(cells.size(), 6u);
  EXPECT_EQ(cells[0], "web");
  EXPECT_EQ(cells[1], "1/2");
  EXPECT_EQ(cells[2], "Running");
  EXPECT_EQ(cells[4], "5m");
  EXPECT_EQ(cells[5], "10.42.0.5");

  const ResourceDef& deps = Def("apps", "v1", "deployments");
  std::vector<std::string> dnames;
  for (const auto& c : deps.hooks.columns) {
    if (c.priority == 0) dnames.push_back(c.name);
  }
  EXPECT_EQ(dnames, (std::vector<std::string>{"Name", "Ready", "Up-to-date", "Available", "Age"}));
}

}  // namespace
}  // namespace kubepp::apiserver
