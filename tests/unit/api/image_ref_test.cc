// Image references: normalization as the kubelet reports names, and the
// references it refuses as InvalidImageName.
#include <gtest/gtest.h>

#include "api/image_ref.h"

namespace kubepp::api {
namespace {

TEST(ImageRef, NormalizesLikeDocker) {
  EXPECT_EQ(NormalizedImageName("nginx"), "docker.io/library/nginx:latest");
  EXPECT_EQ(NormalizedImageName("user/app:1.2"), "docker.io/user/app:1.2");
  EXPECT_EQ(NormalizedImageName("quay.io/x/y:1"), "quay.io/x/y:1");
  EXPECT_EQ(NormalizedImageName("localhost:5000/y"), "localhost:5000/y:latest");
  EXPECT_EQ(NormalizedImageName("localhost/y"), "localhost/y:latest");
  std::string d = "sha256:" + std::string(64, 'a');
  auto r = ParseImageRef("registry.k8s.io/pause@" + d);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->digest, d);
  EXPECT_EQ(r->Repository(), "registry.k8s.io/pause");
  EXPECT_EQ(NormalizedImageName("busybox:1.36@" + d), "docker.io/library/busybox:1.36@" + d);
}

TEST(ImageRef, RefusesWhatTheKubeletCallsInvalid) {
  for (const char* bad : {"", "Busybox", "busy box", "busybox:", ":tag", "a//b", "a/-b", "busybox@sha256:abc",
                          "busybox:bad/tag", "-x", "x_", "localhost:port/x"}) {
    auto r = ParseImageRef(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().message(), "couldn't parse image name \"" + std::string(bad) + "\": invalid reference format");
    }
  }
}

}  // namespace
}  // namespace kubepp::api
