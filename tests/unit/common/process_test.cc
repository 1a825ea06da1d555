#include "common/process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace kubepp {
namespace {

TEST(ProcessTest, RunsAndReportsExitCode) {
  auto p = ChildProcess::Spawn({.argv = {"sh", "-c", "exit 3"}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto st = p->Wait();
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 3);
}

TEST(ProcessTest, PipesStdout) {
  auto p = ChildProcess::Spawn({.argv = {"echo", "hello"}, .pipe_stdout = true});
  ASSERT_TRUE(p.ok());
  char buf[64];
  ssize_t n = ::read(p->stdout_fd(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "hello\n");
  ASSERT_TRUE(p->Wait().ok());
}

TEST(ProcessTest, MissingProgramIsAnError) {
  auto p = ChildProcess::Spawn({.argv = {"/nonexistent/program"}});
  EXPECT_FALSE(p.ok());
  auto q = ChildProcess::Spawn({.argv = {"no-such-program-kubepp"}});
  EXPECT_TRUE(q.status().IsNotFound());
}

TEST(ProcessTest, DestructorKillsARunningChild) {
  pid_t pid;
  {
    auto p = ChildProcess::Spawn({.argv = {"sleep", "60"}});
    ASSERT_TRUE(p.ok());
    pid = p->pid();
    auto w = p->WaitFor(std::chrono::milliseconds(20));
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE(w->has_value());
  }
  // Reaped: the pid no longer names our child.
  EXPECT_EQ(::kill(pid, 0), -1);
}

TEST(ProcessTest, RunCommandFeedsStdinAndCollectsBothStreams) {
  std::string big(200000, 'x');  // more than a pipe holds: reads and writes interleave
  auto r = RunCommand({"sh", "-c", "wc -c; echo oops >&2; exit 3"}, {}, big, std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "200000\n");
  EXPECT_EQ(r->err, "oops\n");
  auto env = RunCommand({"sh", "-c", "echo $KUBEPP_X"}, {"KUBEPP_X=1"}, "", std::chrono::seconds(10));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->out, "1\n");
  auto slow = RunCommand({"sleep", "10"}, {}, "", std::chrono::milliseconds(100));
  EXPECT_EQ(slow.status().code(), Code::kTimeout);
}

}  // namespace
}  // namespace kubepp
