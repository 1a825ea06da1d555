// The node agent's flags, shared by `kubepp kubelet` and `kubepp agent`.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "client/rest.h"

#include "kubelet/agent.h"
#include "kubelet/tls_bootstrap.h"

namespace kubepp::cmd {

struct NodeFlags {
  kubelet::AgentOptions ao;
  std::string min_image_age = "2m";
  std::string dns;
  int verbosity = 0;
};

void AddNodeFlags(CLI::App& app, NodeFlags& f);
// Checks and applies what CLI11 cannot (durations, defaults); prints the
// error and returns false on bad input.
bool FinishNodeFlags(NodeFlags& f);

// Runs the node agent as the client `cfg` until shutdown: `wait(true)`
// blocks until a shutdown signal; if the agent cannot start, `wait(false)`
// is called instead to release the waiter. With `rotate`, the client
// certificate is renewed as it ages (kubelet/tls_bootstrap.h); its
// `cancelled` must say stop once `wait` returns. Returns the exit code.
int RunNodeAgent(client::ClientConfig cfg, kubelet::AgentOptions ao, const std::function<void(bool started)>& wait,
                 const kubelet::BootstrapOptions* rotate = nullptr);

}  // namespace kubepp::cmd
