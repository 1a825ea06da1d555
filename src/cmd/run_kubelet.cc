// `kubepp kubelet`: the node agent alone, joined to a cluster through a
// kubeconfig; `kubepp kubelet --cleanup` removes every pod it left running.
// `kubepp images import FILE...`: adds OCI layout or docker archive images to
// a node's image store (the running kubelet picks them up).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <thread>

#include "client/rest.h"
#include "cmd/node_flags.h"
#include "cmd/roles.h"
#include "common/log.h"
#include "controllers/nodelifecycle/node_lifecycle_controller.h"
#include "kubelet/agent.h"

namespace kubepp::cmd {

void AddNodeFlags(CLI::App& app, NodeFlags& f) {
  kubelet::AgentOptions& ao = f.ao;
  ao.dir = "/var/lib/kubepp/agent";
  app.add_option("--data-dir", ao.dir, "The agent's directory (images, runtime state, pods, logs)")->capture_default_str();
  app.add_option("--node-name", ao.kubelet.node_name, "Name of this node (default: the hostname)");
  app.add_option("--pod-cidr", ao.kubelet.pod_cidr, "This node's pod range (default: the one node IPAM assigns)");
  app.add_option("--cluster-cidr", ao.cluster_cidr, "The cluster's pod range (blackholed on the host)")->capture_default_str();
  app.add_option("--service-cidr", ao.service_cidr, "The cluster's service range (blackholed on the host)")->capture_default_str();
  app.add_option("--cluster-dns", f.dns, "Cluster DNS address (default: .10 of the service range)");
  app.add_option("--cluster-domain", ao.kubelet.cluster_domain, "Cluster domain")->capture_default_str();
  app.add_option("--node-ip", ao.kubelet.node_ip, "The node's address (default: the first non-loopback one)");
  app.add_option("--cni-bridge", ao.bridge, "Name of the node's pod bridge")->capture_default_str();
  app.add_option("--kubelet-port", ao.kubelet.kubelet_port, "Port of the kubelet API (logs, exec)")->capture_default_str();
  app.add_option("--eviction-hard", ao.kubelet.eviction_hard, "Hard eviction thresholds")->capture_default_str();
  app.add_option("--image-gc-high-threshold", ao.kubelet.image_gc_high_percent,
                 "Percent of the image filesystem used above which unused images are removed")->capture_default_str();
  app.add_option("--image-gc-low-threshold", ao.kubelet.image_gc_low_percent,
                 "Percent of the image filesystem used that image GC brings usage down to")->capture_default_str();
  app.add_option("--minimum-image-ttl-duration", f.min_image_age,
                 "Minimum age of an unused image before image GC removes it (e.g. 2m, 30s)");
  app.add_option("--pod-manifest-path", ao.kubelet.static_pod_path,
                 "Directory of static pod manifests (default: <data-dir>/manifests)");
  app.add_option("--insecure-registry", ao.kubelet.insecure_registries,
                 "A registry (host:port) reached without verifying its certificate, or over plain HTTP; repeatable");
  app.add_option("-v,--v", f.verbosity, "Log verbosity");
}

bool FinishNodeFlags(NodeFlags& f) {
  if (auto d = controllers::ParseDuration(f.min_image_age)) {
    f.ao.kubelet.image_minimum_age = std::chrono::duration_cast<std::chrono::seconds>(*d);
  } else {
    std::fprintf(stderr, "invalid --minimum-image-ttl-duration %s\n", f.min_image_age.c_str());
    return false;
  }
  if (!f.dns.empty()) f.ao.kubelet.cluster_dns = {f.dns};
  log::SetVerbosity(f.verbosity);
  return true;
}

int RunKubelet(int argc, char** argv) {
  CLI::App app{"Run the node agent (kubelet, runtime, pod network) against a cluster's API server."};
  app.name(argv[0]);
  std::string kubeconfig;
  NodeFlags flags;
  bool cleanup = false;
  app.add_option("--kubeconfig", kubeconfig, "Kubeconfig of the cluster");
  AddNodeFlags(app, flags);
  app.add_flag("--cleanup", cleanup, "Stop and remove every pod sandbox and container the agent left, then exit");
  CLI11_PARSE(app, argc, argv);
  if (!FinishNodeFlags(flags)) return 2;
  kubelet::AgentOptions& ao = flags.ao;
  log::Logger logger("kubelet");
  if (cleanup) {
    Status st = kubelet::CleanupNode(ao.dir);
    if (!st.ok()) {
      std::fprintf(stderr, "cleanup: %s\n", st.ToString().c_str());
      return 1;
    }
    return 0;
  }
  if (kubeconfig.empty()) {
    std::fprintf(stderr, "--kubeconfig is required\n");
    return 2;
  }
  sigset_t set = BlockShutdownSignals();
  auto cfg = client::LoadKubeconfig(kubeconfig);
  if (!cfg.ok()) {
    logger.Error("cannot read the kubeconfig", {{"err", cfg.status().ToString()}});
    return 1;
  }
  return RunNodeAgent(std::move(*cfg), ao, [&](bool started) {
    if (!started) return;
    int sig = 0;
    sigwait(&set, &sig);
    logger.Info("shutting down", {{"signal", sig}});
  });
}

int RunNodeAgent(client::ClientConfig cfg, kubelet::AgentOptions ao, const std::function<void(bool started)>& wait,
                 const kubelet::BootstrapOptions* rotate) {
  cfg.user_agent = "kubelet";
  if (cfg.endpoint.tls_config) ao.client_ca_pem = cfg.endpoint.tls_config->ca_pem;
  client::RestClient client(cfg);
  auto agent = kubelet::Agent::Start(&client, ao);
  if (!agent.ok()) {
    log::Logger("kubelet").Error("cannot start the node agent", {{"err", agent.status().ToString()}});
    wait(false);
    return 1;
  }
  std::thread rotation;
  if (rotate != nullptr) rotation = std::thread([&] { kubelet::RotateClientCertificate(&client, *rotate); });
  wait(true);
  if (rotation.joinable()) rotation.join();
  (*agent)->Stop();
  return 0;
}

int RunImages(int argc, char** argv) {
  CLI::App app{"Manage a node's images."};
  app.name(argv[0]);
  app.require_subcommand(1);
  std::string dir = "/var/lib/kubepp/agent";
  std::vector<std::string> files;
  auto* imp = app.add_subcommand("import", "Import OCI image layouts or docker archives (tar files or directories)");
  imp->add_option("--data-dir", dir, "The agent's directory")->capture_default_str();
  imp->add_option("files", files, "Image archives")->required();
  auto* ls = app.add_subcommand("list", "List the node's images");
  ls->add_option("--data-dir", dir, "The agent's directory")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  auto store = kubelet::images::ImageStore::Open(dir + "/images");
  if (!store.ok()) {
    std::fprintf(stderr, "images: %s\n", store.status().ToString().c_str());
    return 1;
  }
  if (imp->parsed()) {
    for (const auto& f : files) {
      auto got = (*store)->Import(f);
      if (!got.ok()) {
        std::fprintf(stderr, "import %s: %s\n", f.c_str(), got.status().ToString().c_str());
        return 1;
      }
      for (const auto& im : *got) {
        std::printf("imported %s (%s)\n", im.repo_tags.empty() ? im.id.c_str() : im.repo_tags.front().c_str(), im.id.c_str());
      }
    }
    return 0;
  }
  std::printf("%-50s %-20s %s\n", "IMAGE", "ID", "SIZE");
  for (const auto& im : (*store)->List()) {
    std::printf("%-50s %-20s %ld\n", im.repo_tags.empty() ? "<none>" : im.repo_tags.front().c_str(),
                im.id.substr(7, 13).c_str(), static_cast<long>(im.size));
  }
  return 0;
}

}  // namespace kubepp::cmd
