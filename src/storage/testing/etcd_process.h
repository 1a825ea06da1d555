// A real etcd server for tests and benchmarks: started on free loopback
// ports with its data in a directory the caller owns, killed on destruction.
#pragma once

#include <memory>
#include <string>

#include "common/process.h"
#include "common/status.h"

namespace kubepp::storage::testing {

class EtcdProcess {
 public:
  // Starts `etcd` (from PATH) with data under `dir` and waits until it serves.
  // Unavailable when no etcd binary is installed.
  static Result<std::unique_ptr<EtcdProcess>> Start(const std::string& dir);
  ~EtcdProcess();

  const std::string& client_url() const { return client_url_; }
  pid_t pid() const { return process_.pid(); }

 private:
  EtcdProcess(ChildProcess p, std::string url) : process_(std::move(p)), client_url_(std::move(url)) {}
  ChildProcess process_;
  std::string client_url_;
};

// Whether an etcd binary is on PATH.
bool EtcdAvailable();

}  // namespace kubepp::storage::testing
