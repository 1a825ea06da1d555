#include "storage/testing/etcd_process.h"

#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "common/file.h"
#include "common/http_client.h"
#include "common/net.h"

namespace kubepp::storage::testing {

bool EtcdAvailable() {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    if (::access((p.substr(start, end - start) + "/etcd").c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

Result<std::unique_ptr<EtcdProcess>> EtcdProcess::Start(const std::string& dir) {
  if (!EtcdAvailable()) return Status::Unavailable("etcd is not installed (apt package etcd-server)");
  RETURN_IF_ERROR(MakeDirs(dir));
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSIGN_OR_RETURN(int client_port, PickFreePort());
    ASSIGN_OR_RETURN(int peer_port, PickFreePort());
    std::string client = "http://127.0.0.1:" + std::to_string(client_port);
    std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
    SpawnOptions opts;
    opts.argv = {"etcd",
                 "--name=default",
                 "--data-dir=" + JoinPath(dir, "etcd-data"),
                 "--listen-client-urls=" + client,
                 "--advertise-client-urls=" + client,
                 "--listen-peer-urls=" + peer,
                 "--initial-advertise-peer-urls=" + peer,
                 "--initial-cluster=default=" + peer,
                 // Room for a 1.5 MiB value plus the request around it.
                 "--max-request-bytes=2097152",
                 "--log-level=error"};
    opts.env = {"ETCD_UNSUPPORTED_ARCH="};
    opts.stdout_path = JoinPath(dir, "etcd.log");
    opts.stderr_path = "=stdout";
    ASSIGN_OR_RETURN(ChildProcess proc, ChildProcess::Spawn(opts));
    // Serving means the KV API answers, not just that the port is open.
    http::Client c(*http::Endpoint::Parse(client), std::chrono::seconds(2));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      auto exited = proc.WaitFor(std::chrono::milliseconds(0));
      if (exited.ok() && exited->has_value()) break;
      http::Request req;
      req.method = "POST";
      req.target = "/v3/kv/range";
      req.body = R"({"key":"AA==","count_only":true})";
      auto r = c.Do(req);
      if (r.ok() && r->status == 200) {
        return std::unique_ptr<EtcdProcess>(new EtcdProcess(std::move(proc), client));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto log = ReadFile(JoinPath(dir, "etcd.log"));
    last = Status::Unavailable("etcd did not start: " + (log.ok() ? log->substr(0, 2000) : std::string()));
    (void)proc.Kill();
  }
  return last;
}

EtcdProcess::~EtcdProcess() { (void)process_.Kill(); }

}  // namespace kubepp::storage::testing
