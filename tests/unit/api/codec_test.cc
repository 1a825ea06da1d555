// Patches, YAML, protobuf and schema decoding.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/decode.h"
#include "api/errors.h"
#include "api/patch.h"
#include "api/protobuf.h"
#include "api/schema/schema.h"
#include "api/time.h"
#include "api/yaml.h"

namespace kubepp::api {
namespace {

namespace bj = boost::json;

bj::value J(const char* s) { return bj::parse(s); }

const schema::Type* PodType() { return schema::Builtin().FindKind("", "v1", "Pod"); }

TEST(SchemaTest, BuiltinResolvesAndFindsKinds) {
  const auto& r = schema::Builtin();
  ASSERT_NE(PodType(), nullptr);
  ASSERT_NE(r.FindKind("apps", "v1", "Deployment"), nullptr);
  ASSERT_NE(r.FindKind("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"), nullptr);
  const auto* spec = PodType()->FindField("spec");
  ASSERT_NE(spec, nullptr);
  const auto* containers = spec->type.type->FindField("containers");
  ASSERT_NE(containers, nullptr);
  EXPECT_EQ(containers->merge_key, "name");
  // An inline member is found through its embedding field.
  const auto* volume = r.Find("io.k8s.api.core.v1.Volume");
  ASSERT_NE(volume, nullptr);
  const schema::Field* via = nullptr;
  EXPECT_NE(volume->FindField("hostPath", &via), nullptr);
  ASSERT_NE(via, nullptr);
  EXPECT_EQ(via->name, "volumeSource");
}

TEST(PatchTest, MergePatch) {
  auto out = MergePatch(J(R"({"a":1,"b":{"c":2,"d":3},"l":[1,2]})"), J(R"({"b":{"c":null,"e":4},"l":[3],"n":null})"));
  EXPECT_EQ(out, J(R"({"a":1,"b":{"d":3,"e":4},"l":[3]})"));
}

TEST(PatchTest, JsonPatch) {
  auto out = JsonPatch(J(R"({"spec":{"replicas":1,"list":["a","b"]}})"),
                       J(R"([{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/spec/list/-","value":"c"},
                             {"op":"remove","path":"/spec/list/0"},{"op":"test","path":"/spec/replicas","value":3},
                             {"op":"copy","from":"/spec/replicas","path":"/spec/copy"},{"op":"add","path":"/metadata","value":{"a~b":1}}])"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, J(R"({"spec":{"replicas":3,"list":["b","c"],"copy":3},"metadata":{"a~b":1}})"));
  auto bad = JsonPatch(J(R"({"a":1})"), J(R"([{"op":"replace","path":"/missing","value":1}])"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalid);
  EXPECT_FALSE(JsonPatch(J("{}"), J(R"([{"op":"frob","path":"/a"}])")).ok());
  EXPECT_FALSE(JsonPatch(J("{}"), J(R"({"op":"add"})")).ok());
}

TEST(PatchTest, StrategicMergeByKey) {
  auto pod = J(R"({"metadata":{"labels":{"a":"1"},"finalizers":["x"]},
                   "spec":{"containers":[{"name":"web","image":"nginx:1","ports":[{"containerPort":80}]},{"name":"side","image":"busybox"}],
                           "tolerations":[{"key":"a"}]}})");
  auto patch = J(R"({"metadata":{"labels":{"b":"2"},"finalizers":["y"]},
                     "spec":{"containers":[{"name":"web","image":"nginx:2"},{"name":"new","image":"alpine"},{"name":"side","$patch":"delete"}],
                             "tolerations":[{"key":"b"}]}})");
  auto out = StrategicMergePatch(pod, patch, PodType());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, J(R"({"metadata":{"labels":{"a":"1","b":"2"},"finalizers":["x","y"]},
                        "spec":{"containers":[{"name":"web","image":"nginx:2","ports":[{"containerPort":80}]},{"name":"new","image":"alpine"}],
                                "tolerations":[{"key":"b"}]}})"))
      << bj::serialize(*out);
}

TEST(PatchTest, StrategicDirectives) {
  auto pod = J(R"({"metadata":{"finalizers":["a","b","c"]},"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]}})");
  auto patch = J(R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b"]},
                     "spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"}],"containers":[{"name":"a","image":"z"}]}})");
  auto out = StrategicMergePatch(pod, patch, PodType());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, J(R"({"metadata":{"finalizers":["a","c"]},"spec":{"containers":[{"name":"b","image":"y"},{"name":"a","image":"z"}]}})"))
      << bj::serialize(*out);
  auto replace = StrategicMergePatch(pod, J(R"({"spec":{"$patch":"replace","containers":[]}})"), PodType());
  ASSERT_TRUE(replace.ok());
  EXPECT_EQ(*replace, J(R"({"metadata":{"finalizers":["a","b","c"]},"spec":{"containers":[]}})"));
  auto missing_key = StrategicMergePatch(pod, J(R"({"spec":{"containers":[{"image":"q"}]}})"), PodType());
  EXPECT_FALSE(missing_key.ok());
}

TEST(YamlTest, ScalarsAndDocuments) {
  auto v = YamlToJson("a: 1\nb: true\nc: \"1\"\nd: null\ne: [x, 2.5]\nf: hello world\ng: ~\nh: '0x10'\ni: 0x10\n");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, J(R"({"a":1,"b":true,"c":"1","d":null,"e":["x",2.5],"f":"hello world","g":null,"h":"0x10","i":16})"));
  auto docs = YamlDocumentsToJson("a: 1\n---\n---\nb: 2\n");
  ASSERT_TRUE(docs.ok());
  EXPECT_EQ(docs->size(), 2u);
  EXPECT_FALSE(YamlToJson("a: [1, 2").ok());
  auto round = YamlToJson(JsonToYaml(J(R"({"k":"true","n":"123","s":"a: b","e":{},"l":[],"m":"x\ny"})")));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(*round, J(R"({"k":"true","n":"123","s":"a: b","e":{},"l":[],"m":"x\ny"})"));
}

// Minimal protobuf writer for tests.
std::string Varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
  return s;
}
std::string Len(int field, const std::string& bytes) { return Varint((field << 3) | 2) + Varint(bytes.size()) + bytes; }
std::string Num(int field, uint64_t v) { return Varint(static_cast<uint64_t>(field) << 3) + Varint(v); }

TEST(ProtobufTest, DecodesANamespaceAsKubectlSendsIt) {
  // metadata{name="team", creationTimestamp=zero time}, spec{}, status{}
  std::string time = Num(1, static_cast<uint64_t>(-62135596800LL));
  std::string meta = Len(1, "team") + Len(2, "") + Len(8, time);
  std::string ns = Len(1, meta) + Len(2, "") + Len(3, "");
  std::string typemeta = Len(1, "v1") + Len(2, "Namespace");
  std::string body = std::string("k8s\0", 4) + Len(1, typemeta) + Len(2, ns) + Len(3, "") + Len(4, "");
  auto obj = DecodeProtobufObject(body, schema::Builtin());
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  EXPECT_EQ(*obj, J(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"},"spec":{},"status":{}})"))
      << bj::serialize(*obj);
}

TEST(ProtobufTest, DecodesMapsRepeatedIntOrStringAndInline) {
  // A Service with a port whose targetPort is an int, labels, a selector.
  std::string target = Num(1, 0) + Num(2, 8080);
  std::string port = Len(1, "http") + Len(2, "TCP") + Num(3, 80) + Len(4, target);
  std::string spec = Len(1, port) + Len(2, Len(1, "app") + Len(2, "web"));
  std::string meta = Len(1, "web") + Len(11, Len(1, "app") + Len(2, "web"));
  std::string svc = Len(1, meta) + Len(2, spec);
  std::string body = std::string("k8s\0", 4) + Len(1, Len(1, "v1") + Len(2, "Service")) + Len(2, svc);
  auto obj = DecodeProtobufObject(body, schema::Builtin());
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  EXPECT_EQ(*obj, J(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","labels":{"app":"web"}},
                        "spec":{"ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":8080}],"selector":{"app":"web"}}})"))
      << bj::serialize(*obj);
  EXPECT_FALSE(DecodeProtobufObject("garbage", schema::Builtin()).ok());
  EXPECT_FALSE(DecodeProtobufObject(std::string("k8s\0\x0a\xff", 6), schema::Builtin()).ok());
}

TEST(DecodeTest, UnknownFieldsAndTypeErrors) {
  auto pod = J(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":null},
                   "spec":{"containers":[{"name":"c","image":"i","imagePullPolicyy":"Always"}],"bogus":1}})");
  DecodeIssues issues;
  ASSERT_TRUE(NormalizeObject(pod, PodType(), &issues).ok());
  EXPECT_EQ(issues.unknown_fields, (std::vector<std::string>{"spec.containers[0].imagePullPolicyy", "spec.bogus"}));
  EXPECT_EQ(pod, J(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}})"));
  auto bad = J(R"({"spec":{"containers":"nope"}})");
  Status st = NormalizeObject(bad, PodType(), &issues);
  EXPECT_EQ(st.message(), "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container");
  auto port = J(R"({"spec":{"containers":[{"name":"c","ports":[{"containerPort":"80"}]}]}})");
  EXPECT_FALSE(NormalizeObject(port, PodType(), &issues).ok());
  auto vol = J(R"({"spec":{"volumes":[{"name":"v","hostPath":{"path":"/x"}}]}})");
  issues = {};
  ASSERT_TRUE(NormalizeObject(vol, PodType(), &issues).ok());
  EXPECT_TRUE(issues.unknown_fields.empty()) << issues.unknown_fields[0];
  // Empty omitempty maps and lists vanish as they do through Go's encoder; required lists stay.
  auto empty = J(R"({"metadata":{"name":"p","annotations":{},"finalizers":[]},"spec":{"containers":[],"volumes":[]}})");
  ASSERT_TRUE(NormalizeObject(empty, PodType(), &issues).ok());
  EXPECT_EQ(empty, J(R"({"metadata":{"name":"p"},"spec":{"containers":[]}})")) << bj::serialize(empty);
}

TEST(ErrorsTest, InvalidCarriesCausesAndMessage) {
  Status st = NewInvalid("", "Pod", "broken", {Required("spec.containers[0].image")});
  EXPECT_EQ(st.message(), "Pod \"broken\" is invalid: spec.containers[0].image: Required value");
  auto obj = StatusObject(st);
  EXPECT_EQ(obj.at("reason"), "Invalid");
  EXPECT_EQ(obj.at("code"), 422);
  EXPECT_EQ(obj.at("details").at("kind"), "Pod");
  EXPECT_EQ(obj.at("details").at("causes").at(0).at("reason"), "FieldValueRequired");
  Status two = NewInvalid("apps", "Deployment", "d",
                          {Required("spec.selector"), InvalidString("metadata.name", "A", "bad name")});
  EXPECT_EQ(two.message(), "Deployment.apps \"d\" is invalid: [spec.selector: Required value, metadata.name: Invalid value: \"A\": bad name]");
  Status nf = NewNotFound({"apps", "deployments"}, "web");
  EXPECT_EQ(nf.message(), "deployments.apps \"web\" not found");
  EXPECT_EQ(StatusObject(nf).at("details").at("kind"), "deployments");
}

TEST(TimeTest, FormatsAndHumanDurations) {
  auto t = ParseTime("2026-11-27T03:56:52Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatTime(*t), "2026-11-27T03:56:52Z");
  EXPECT_EQ(FormatTime(*ParseTime("2026-11-27T05:56:52+02:00")), "2026-11-27T03:56:52Z");
  EXPECT_FALSE(ParseTime("yesterday").has_value());
  using namespace std::chrono;
  EXPECT_EQ(HumanDuration(seconds(5)), "5s");
  EXPECT_EQ(HumanDuration(seconds(119)), "119s");
  EXPECT_EQ(HumanDuration(seconds(125)), "2m5s");
  EXPECT_EQ(HumanDuration(minutes(10)), "10m");
  EXPECT_EQ(HumanDuration(minutes(185)), "3h5m");
  EXPECT_EQ(HumanDuration(hours(10)), "10h");
  EXPECT_EQ(HumanDuration(hours(53)), "2d5h");
  EXPECT_EQ(HumanDuration(hours(24 * 30)), "30d");
  EXPECT_EQ(HumanDuration(hours(24 * 740)), "2y10d");
  EXPECT_EQ(HumanDuration(seconds(-5)), "<invalid>");
}

}  // namespace
}  // namespace kubepp::api
