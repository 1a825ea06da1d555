// Small socket helpers for tests, benchmarks and process wiring.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"

namespace kubepp {

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it
// back, close). Racy by nature; used to hand ports to child processes.
Result<int> PickFreePort();

// Polls until a TCP connect to host:port succeeds, or the timeout passes.
Status WaitForPort(const std::string& host, int port, std::chrono::milliseconds timeout);

}  // namespace kubepp
