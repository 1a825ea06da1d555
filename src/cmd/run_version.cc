#include <pthread.h>
#include <signal.h>

#include <cstdio>

#include <CLI/CLI.hpp>

#include "cmd/roles.h"
#include "common/version.h"

namespace kubepp::cmd {

int RunVersion(int argc, char** argv) {
  CLI::App app{"Print the kubepp version and the git commit it was built from."};
  app.name(argv[0]);
  CLI11_PARSE(app, argc, argv);
  std::printf("kubepp %s (commit %s)\n", kVersion, kGitCommit);
  return 0;
}

sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

int RunUnimplemented(const char* role, const char* summary, int argc, char** argv) {
  CLI::App app{std::string(summary) + " (not implemented yet)."};
  app.name(argv[0]);
  app.allow_extras();
  CLI11_PARSE(app, argc, argv);
  std::fprintf(stderr, "kubepp %s: this role is not implemented yet\n", role);
  return 2;
}

}  // namespace kubepp::cmd
