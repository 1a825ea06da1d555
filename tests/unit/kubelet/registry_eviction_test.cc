// Pull-secret parsing and eviction thresholds as upstream writes them (the
// pulls and evictions themselves run end to end in tests/e2e/node_test.py).
#include <gtest/gtest.h>

#include "kubelet/images/registry.h"
#include "kubelet/kubelet.h"

namespace kubepp::kubelet::images {
namespace {

TEST(Registry, DockerConfigsOfPullSecrets) {
  // kubectl create secret docker-registry writes both forms of the credentials.
  auto c = ParseDockerConfig(
      R"({"auths":{"https://127.0.0.1:5000/v1/":{"username":"u","password":"p","auth":"dTpw"},)"
      R"("https://index.docker.io/v1/":{"auth":"YWxpY2U6c2VjcmV0OndpdGg6Y29sb25z"}}})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)["127.0.0.1:5000"].username, "u");
  EXPECT_EQ((*c)["127.0.0.1:5000"].password, "p");
  EXPECT_EQ((*c)["docker.io"].username, "alice");
  EXPECT_EQ((*c)["docker.io"].password, "secret:with:colons");
  auto legacy = ParseDockerConfig(R"({"registry.example:443":{"username":"x","password":"y"}})");
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ((*legacy)["registry.example:443"].password, "y");
  EXPECT_FALSE(ParseDockerConfig("[]").ok());
}

}  // namespace
}  // namespace kubepp::kubelet::images

namespace kubepp::kubelet {
namespace {

TEST(Eviction, ThresholdsAsUpstreamWritesThem) {
  auto t = ParseEvictionThresholds("memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 4u);
  EXPECT_EQ((*t)[0].signal, "memory.available");
  EXPECT_EQ((*t)[0].quantity, 100 << 20);
  EXPECT_LT((*t)[0].percent, 0);
  EXPECT_EQ((*t)[1].percent, 10);
  EXPECT_EQ((*t)[3].text, "15%");
  EXPECT_FALSE(ParseEvictionThresholds("memory.available>1Gi").ok());
  EXPECT_FALSE(ParseEvictionThresholds("cpu.available<1").ok());
  EXPECT_FALSE(ParseEvictionThresholds("nodefs.available<150%").ok());
  EXPECT_FALSE(ParseEvictionThresholds("memory.available<lots").ok());
  EXPECT_TRUE(ParseEvictionThresholds("")->empty());
}

}  // namespace
}  // namespace kubepp::kubelet
