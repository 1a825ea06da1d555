// The roles of the multi-call binary: `kubepp <role> [flags]`, or a symlink
// named after the role (busybox style).
#pragma once

#include <signal.h>

namespace kubepp::cmd {

// Each takes the arguments after the role name (argv[0] is "kubepp <role>").
int RunServer(int argc, char** argv);
int RunApiServer(int argc, char** argv);
int RunVersion(int argc, char** argv);
int RunSim(int argc, char** argv);
int RunControllerManager(int argc, char** argv);
int RunScheduler(int argc, char** argv);
int RunShim(int argc, char** argv);
int RunKubelet(int argc, char** argv);
int RunAgent(int argc, char** argv);
int RunImages(int argc, char** argv);
// Blocks SIGINT and SIGTERM (to be taken with sigwait by the calling
// thread; call before any other thread starts so all inherit the mask) and
// ignores SIGPIPE. Returns the blocked set.
sigset_t BlockShutdownSignals();
// A role that a later release fills in: prints so (and --help) and exits 2.
int RunUnimplemented(const char* role, const char* summary, int argc, char** argv);

}  // namespace kubepp::cmd
