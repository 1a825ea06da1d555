// The multi-call binary as a user runs it: roles, argv[0] dispatch, exit codes.
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include <gtest/gtest.h>

#include "common/file.h"
#include "common/process.h"

namespace kubepp {
namespace {

struct RunResult {
  int code = -1;
  std::string out;
};

RunResult Exec(std::vector<std::string> argv) {
  auto tmp = TempDir::Create("cli-test");
  std::string out_path = JoinPath(tmp->path(), "out");
  auto p = ChildProcess::Spawn({.argv = argv, .stdout_path = out_path, .stderr_path = "=stdout"});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return {};
  auto st = p->Wait();
  RunResult r;
  r.code = WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
  r.out = ReadFile(out_path).value();
  return r;
}

std::string Kubepp() {
  char buf[PATH_MAX];
  const char* bin = std::getenv("KUBEPP_BIN");
  return bin != nullptr && ::realpath(bin, buf) != nullptr ? buf : "kubepp";
}

TEST(CliTest, VersionPrintsVersionAndCommit) {
  RunResult r = Exec({Kubepp(), "version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("kubepp 0."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("commit "), std::string::npos) << r.out;
}

TEST(CliTest, HelpListsEveryRole) {
  RunResult r = Exec({Kubepp(), "--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* role : {"server", "agent", "apiserver", "scheduler", "controller-manager", "kubelet", "proxy",
                           "kubectl", "sim", "cluster", "version"}) {
    EXPECT_NE(r.out.find(std::string("  ") + role + " "), std::string::npos) << role;
  }
}

TEST(CliTest, UnknownRoleExits2) {
  RunResult r = Exec({Kubepp(), "frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("unknown role"), std::string::npos);
}

TEST(CliTest, UnimplementedRoleSaysSoAndExits2) {
  RunResult r = Exec({Kubepp(), "cluster"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("not implemented"), std::string::npos) << r.out;
  RunResult help = Exec({Kubepp(), "cluster", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("Usage"), std::string::npos) << help.out;
}

TEST(CliTest, DispatchesOnTheNameItIsCalledBy) {
  auto tmp = TempDir::Create("cli-test");
  std::string link = JoinPath(tmp->path(), "version");
  ASSERT_EQ(::symlink(Kubepp().c_str(), link.c_str()), 0);
  RunResult r = Exec({link});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("kubepp 0."), std::string::npos) << r.out;
}

}  // namespace
}  // namespace kubepp
