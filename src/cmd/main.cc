// kubepp: one binary, many roles. Dispatches on argv[0]'s basename when it
// names a role (a symlink such as `kubectl -> kubepp`), else on argv[1].
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "cmd/roles.h"

// jemalloc's options, read before main. Transparent huge pages for the heap
// (the machine's THP mode is "madvise"; jemalloc asks for them): the API
// server's memory grows by a few KiB per object, and on this virtualized
// kernel 4 KiB page faults cost ~9% of its CPU; 2 MiB pages cut minor faults
// ~20x and lift pod creates/s ~40% (bench/apiserver). Two arenas (default
// 4 per CPU) keep the idle server near 20 MB despite 2 MiB granules.
// MALLOC_CONF in the environment still overrides these.
extern "C" {
__attribute__((used)) const char* malloc_conf = "thp:always,narenas:2";
}

namespace {

struct Role {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);  // null: not implemented yet
};

constexpr Role kRoles[] = {
    {"server", "API server, scheduler, controllers and a node agent in one process", kubepp::cmd::RunServer},
    {"agent", "join this machine to a cluster as a node (with the server's node token)", kubepp::cmd::RunAgent},
    {"apiserver", "the API server alone", kubepp::cmd::RunApiServer},
    {"scheduler", "the scheduler alone", kubepp::cmd::RunScheduler},
    {"controller-manager", "the controllers alone", kubepp::cmd::RunControllerManager},
    {"kubelet", "the kubelet alone (the node agent without the API server)", kubepp::cmd::RunKubelet},
    {"images", "a node's images: import archives, list", kubepp::cmd::RunImages},
    {"proxy", "the service proxy alone", nullptr},
    {"kubectl", "the command line client", nullptr},
    {"sim", "hollow nodes for scale tests", kubepp::cmd::RunSim},
    {"cluster", "a local multi-node cluster in network namespaces", nullptr},
    {"shim", "internal: the monitor process of one container", kubepp::cmd::RunShim},
    {"version", "print the version and git commit", kubepp::cmd::RunVersion},
};

void Usage(FILE* out) {
  std::fprintf(out, "kubepp: Kubernetes in one binary.\n\nUsage: kubepp <role> [flags]\n\nRoles:\n");
  for (const Role& r : kRoles) std::fprintf(out, "  %-20s %s\n", r.name, r.summary);
  std::fprintf(out, "\nRun 'kubepp <role> --help' for the flags of a role.\n");
}

const Role* FindRole(std::string_view name) {
  for (const Role& r : kRoles) {
    if (name == r.name) return &r;
  }
  return nullptr;
}

// The node agent's roles run without transparent huge pages: a kubelet's
// heap is small and 2 MiB pages only inflate it (bench/pods: kubelet RSS
// 27 -> 18 MiB). jemalloc reads its options before main, so these roles
// start again once with MALLOC_CONF set (unless the environment sets it).
// Once started, the setting is not passed on to the role's children.
void ExecWithSmallHeap(std::string_view role, char** full_argv) {
  if (role != "kubelet" && role != "agent") return;
  if (std::getenv("KUBEPP_SMALL_HEAP") != nullptr) {
    ::unsetenv("KUBEPP_SMALL_HEAP");
    ::unsetenv("MALLOC_CONF");
    return;
  }
  if (std::getenv("MALLOC_CONF") != nullptr) return;
  ::setenv("MALLOC_CONF", "thp:never,narenas:1", 1);
  ::setenv("KUBEPP_SMALL_HEAP", "1", 1);
  ::execv("/proc/self/exe", full_argv);
  // Could not: run as we are.
  ::unsetenv("MALLOC_CONF");
  ::unsetenv("KUBEPP_SMALL_HEAP");
}

int Run(const Role& role, int argc, char** argv) {
  if (role.run == nullptr) return kubepp::cmd::RunUnimplemented(role.name, role.summary, argc, argv);
  return role.run(argc, argv);
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view self = argv[0];
  if (size_t slash = self.rfind('/'); slash != std::string_view::npos) self.remove_prefix(slash + 1);
  if (const Role* r = FindRole(self); r != nullptr && self != "kubepp") {
    ExecWithSmallHeap(r->name, argv);
    return Run(*r, argc, argv);
  }

  if (argc < 2) {
    Usage(stderr);
    return 2;
  }
  std::string_view name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    Usage(stdout);
    return 0;
  }
  if (name == "--version" || name == "-version") name = "version";
  const Role* r = FindRole(name);
  if (r == nullptr) {
    std::fprintf(stderr, "kubepp: unknown role \"%s\"\n\n", argv[1]);
    Usage(stderr);
    return 2;
  }
  ExecWithSmallHeap(r->name, argv);
  // The role sees "kubepp <role>" as its program name.
  std::string prog = std::string("kubepp ") + r->name;
  argv[1] = prog.data();
  return Run(*r, argc - 1, argv + 1);
}
