// TLS bootstrap helpers: when a client certificate is renewed, and what a
// node agent does without a usable token.
#include "kubelet/tls_bootstrap.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/file.h"

namespace kubepp::kubelet {
namespace {

TEST(TlsBootstrapTest, RotationDeadlineIsAFractionOfTheLifetime) {
  EXPECT_EQ(RotationDeadline(1000, 2000, 0.7), 1700);
  EXPECT_EQ(RotationDeadline(1000, 2000, 0.9), 1900);
  // A year's certificate issued now is renewed between 8.4 and 10.8 months on.
  int64_t year = 365 * 24 * 3600;
  EXPECT_GT(RotationDeadline(0, year, 0.7), year / 2);
  EXPECT_LT(RotationDeadline(0, year, 0.9), year);
}

TEST(TlsBootstrapTest, NoKubeconfigAndABadTokenIsAnError) {
  char tmpl[] = "/tmp/tls-bootstrap-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  BootstrapOptions o;
  o.server = "https://127.0.0.1:1";
  o.dir = dir;
  o.node_name = "n1";
  o.token = "not-a-token";
  auto r = BootstrapClient(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a bootstrap token"), std::string::npos) << r.status().ToString();
  // A server that does not answer: the wait ends at the timeout, with its reason.
  o.token = "abcdef.0123456789abcdef";
  o.timeout = std::chrono::seconds(1);
  r = BootstrapClient(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot read a signed cluster-info"), std::string::npos) << r.status().ToString();
  (void)RemoveAll(dir);
}

}  // namespace
}  // namespace kubepp::kubelet
