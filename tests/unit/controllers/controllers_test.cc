// Pure helpers of the controllers: cron schedules, completed-index ranges,
// template hashes, durations, expectations, the CSR signers' rules.
#include <gtest/gtest.h>

#include "api/time.h"
#include "controllers/certificates/csr_controllers.h"
#include "controllers/controller_utils.h"
#include "controllers/cronjob/cron_schedule.h"
#include "controllers/deployment/deployment_controller.h"
#include "controllers/job/job_controller.h"
#include "controllers/nodelifecycle/node_lifecycle_controller.h"

namespace kubepp::controllers {
namespace {

std::chrono::system_clock::time_point T(const char* s) { return *api::ParseTime(s); }
std::string S(std::chrono::system_clock::time_point t) { return api::FormatTime(t); }

TEST(Cron, NextActivations) {
  auto every5 = CronSchedule::Parse("*/5 * * * *");
  ASSERT_TRUE(every5.ok());
  EXPECT_EQ(S(every5->Next(T("2026-11-27T10:02:30Z"))), "2026-11-27T10:05:00Z");
  EXPECT_EQ(S(every5->Next(T("2026-11-27T10:05:00Z"))), "2026-11-27T10:10:00Z");
  auto weekdays = CronSchedule::Parse("30 9 * * MON-FRI");
  ASSERT_TRUE(weekdays.ok());
  EXPECT_EQ(S(weekdays->Next(T("2026-11-27T10:00:00Z"))), "2026-11-30T09:30:00Z");  // Friday -> Monday
  auto monthly = CronSchedule::Parse("@monthly");
  EXPECT_EQ(S(monthly->Next(T("2026-12-15T00:00:00Z"))), "2027-01-01T00:00:00Z");
  // Day of month and day of week both restricted: either matches.
  auto either = CronSchedule::Parse("0 0 13 * 5");
  EXPECT_EQ(S(either->Next(T("2026-11-01T00:00:00Z"))), "2026-11-06T00:00:00Z");  // a Friday before the 13th
  auto feb29 = CronSchedule::Parse("0 0 29 2 *");
  EXPECT_EQ(S(feb29->Next(T("2026-03-01T00:00:00Z"))), "2028-02-29T00:00:00Z");
  auto list = CronSchedule::Parse("0,15,45 1-3/2 * JAN,jul *");
  EXPECT_EQ(S(list->Next(T("2026-11-27T00:00:00Z"))), "2027-01-01T01:00:00Z");
  EXPECT_FALSE(CronSchedule::Parse("* * * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("61 * * * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("*/0 * * * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("TZ=UTC * * * * *").ok());
}

TEST(Job, CompressIndexes) {
  EXPECT_EQ(CompressIndexes({}), "");
  EXPECT_EQ(CompressIndexes({0, 1, 2, 4, 6, 7}), "0-2,4,6-7");
}

TEST(Deployment, TemplateHashIsStableAndSafe) {
  boost::json::object t{{"metadata", boost::json::object{{"labels", boost::json::object{{"app", "web"}}}}}};
  std::string a = PodTemplateHash(t, 0);
  EXPECT_EQ(a, PodTemplateHash(t, 0));
  EXPECT_NE(a, PodTemplateHash(t, 1));
  for (char c : a) EXPECT_NE(std::string("bcdfghjklmnpqrstvwxz2456789").find(c), std::string::npos);
}

TEST(Durations, GoForms) {
  EXPECT_EQ(ParseDuration("40s")->count(), 40000);
  EXPECT_EQ(ParseDuration("1500ms")->count(), 1500);
  EXPECT_EQ(ParseDuration("2m")->count(), 120000);
  EXPECT_FALSE(ParseDuration("soon").has_value());
}

TEST(Expectations, SatisfiedWhenObserved) {
  Expectations e;
  EXPECT_TRUE(e.Satisfied("k"));
  e.Expect("k", 2, 0);
  EXPECT_FALSE(e.Satisfied("k"));
  e.CreationObserved("k");
  EXPECT_FALSE(e.Satisfied("k"));
  e.CreationObserved("k");
  EXPECT_TRUE(e.Satisfied("k"));
}

TEST(CsrSigners, KubeletAndClientRules) {
  apiserver::CsrInfo node;
  node.common_name = "system:node:n1";
  node.organizations = {"system:nodes"};
  const std::vector<std::string> client = {"digital signature", "client auth"};
  EXPECT_EQ(CheckSignerRules(kKubeletClientSigner, node, client), "");
  EXPECT_EQ(CheckSignerRules(kKubeletClientSigner, node, {"key encipherment", "digital signature", "client auth"}), "");
  EXPECT_EQ(CheckSignerRules(kKubeletClientSigner, node, {"client auth"}),
            "usages did not match [client auth digital signature key encipherment]");
  apiserver::CsrInfo bad = node;
  bad.organizations = {"system:masters"};
  EXPECT_EQ(CheckSignerRules(kKubeletClientSigner, bad, client), "subject organization is not system:nodes");
  bad = node;
  bad.common_name = "admin";
  EXPECT_EQ(CheckSignerRules(kKubeletClientSigner, bad, client), "subject common name does not begin with system:node:");
  bad = node;
  bad.dns_names = {"n1"};
  EXPECT_EQ(CheckSignerRules(kKubeletClientSigner, bad, client), "DNS subjectAltNames are not allowed");
  // Serving certificates need a name to serve.
  EXPECT_EQ(CheckSignerRules(kKubeletServingSigner, node, {"digital signature", "server auth"}),
            "DNS or IP subjectAltName is required");
  EXPECT_EQ(CheckSignerRules(kKubeletServingSigner, bad, {"digital signature", "server auth"}), "");
  EXPECT_EQ(CheckSignerRules(kApiServerClientSigner, bad, {"client auth"}), "");
  EXPECT_EQ(CheckSignerRules(kApiServerClientSigner, bad, {"digital signature"}),
            "missing required usage for client certificate: client auth");
  EXPECT_EQ(CheckSignerRules(kApiServerClientSigner, bad, {"client auth", "server auth"}),
            "invalid usage for client certificate: server auth");
}

}  // namespace
}  // namespace kubepp::controllers
