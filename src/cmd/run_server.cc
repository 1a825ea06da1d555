// `kubepp server` and `kubepp apiserver`: the API server on the embedded store
// (or etcd); `server` also runs the controller manager, a client of the API
// over HTTPS like any other (later issues add the scheduler and a node
// agent). `kubepp controller-manager` runs the controllers alone. Runs until
// SIGINT or SIGTERM.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <string>
#include <thread>
#include <vector>

#include "apiserver/apiserver.h"
#include "client/rest.h"
#include "controllers/manager.h"
#include "controllers/nodelifecycle/node_lifecycle_controller.h"
#include "kubelet/agent.h"
#include "scheduler/scheduler.h"
#include "cmd/roles.h"
#include "common/file.h"
#include "common/strings.h"
#include "common/log.h"

namespace kubepp::cmd {
namespace {

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  for (std::string_view p : SplitNonEmpty(s)) out.emplace_back(p);
  return out;
}

int Serve(int argc, char** argv, bool full_server) {
  CLI::App app{full_server ? "Run the API server, scheduler, controllers and (unless --no-agent) a node agent."
                           : "Run the API server alone."};
  app.name(argv[0]);
  apiserver::ApiServerOptions opts;
  opts.data_dir = "/var/lib/kubepp";
  std::string etcd;
  bool no_agent = false;
  int verbosity = 0;
  std::string node_name, node_ip, cluster_cidr = "10.42.0.0/16", bridge = "kubepp0";
  int kubelet_port = 10250;
  std::vector<std::string> insecure_registries;
  std::string pod_manifest_path;
  kubelet::KubeletOptions node_defaults;
  std::string min_image_age = "2m";
  std::string grace = "40s";
  int64_t gc_threshold = 12500;
  std::string signing_duration = "8760h";
  app.add_option("--data-dir", opts.data_dir, "Directory for the embedded store, certificates and kubeconfig")
      ->capture_default_str();
  app.add_option("--bind-address", opts.bind_address, "Address the API server listens on")->capture_default_str();
  app.add_option("--https-port", opts.port, "Port of the API server (0: any free port)")->capture_default_str();
  app.add_option("--etcd", etcd, "Comma-separated etcd client URLs; the embedded store is used when empty");
  app.add_option("--token-auth-file", opts.token_auth_file, "Static bearer tokens: CSV token,user,uid[,\"groups\"]");
  app.add_option("--service-account-issuer", opts.service_account_issuer,
                 "Issuer (iss) of service account tokens")
      ->capture_default_str();
  std::string audiences;
  app.add_option("--api-audiences", audiences, "Comma-separated audiences the API accepts in tokens (default: the issuer)");
  app.add_option("--service-cidr", opts.service_cidr, "Range of service cluster IPs")->capture_default_str();
  app.add_option("--default-watch-cache-size", opts.watch_cache_size,
                 "Recent events kept per resource for watches that resume from a resourceVersion")
      ->capture_default_str();
  app.add_option("-v,--v", verbosity, "Log verbosity");
  if (full_server) {
    app.add_flag("--no-agent", no_agent, "Do not run a node agent in this process");
    app.add_option("--node-name", node_name, "Name of this node (default: the hostname)");
    app.add_option("--cluster-cidr", cluster_cidr, "Range of pod IPs")->capture_default_str();
    app.add_option("--eviction-hard", node_defaults.eviction_hard, "Hard eviction thresholds of the node agent")
        ->capture_default_str();
    app.add_option("--image-gc-high-threshold", node_defaults.image_gc_high_percent,
                   "Percent of the image filesystem used above which unused images are removed")
        ->capture_default_str();
    app.add_option("--image-gc-low-threshold", node_defaults.image_gc_low_percent,
                   "Percent of the image filesystem used that image GC brings usage down to")
        ->capture_default_str();
    app.add_option("--minimum-image-ttl-duration", min_image_age,
                   "Minimum age of an unused image before image GC removes it (e.g. 2m, 30s)");
    app.add_option("--pod-manifest-path", pod_manifest_path,
                   "Directory of static pod manifests (default: <data-dir>/agent/manifests)");
    app.add_option("--insecure-registry", insecure_registries, "A registry (host:port) reached without verifying its certificate, or over plain HTTP; repeatable");
    app.add_option("--cni-bridge", bridge, "Name of the node's pod bridge")->capture_default_str();
    app.add_option("--node-ip", node_ip, "The node's address (default: the first non-loopback one)");
    app.add_option("--kubelet-port", kubelet_port, "Port of the kubelet API (logs, exec)")->capture_default_str();
    app.add_option("--node-monitor-grace-period", grace, "How long a node may stay silent before it is NotReady")
        ->capture_default_str();
    app.add_option("--terminated-pod-gc-threshold", gc_threshold, "Terminated pods kept before the oldest are deleted")
        ->capture_default_str();
    app.add_option("--cluster-signing-duration", signing_duration,
                   "Longest validity of certificates the cluster CA issues for signing requests")
        ->capture_default_str();
  }
  app.add_option("--node-token-file", opts.node_token_file,
                 "File of the bootstrap token agents join with (default: <data-dir>/node-token)");
  CLI11_PARSE(app, argc, argv);
  if (auto d = controllers::ParseDuration(min_image_age)) {
    node_defaults.image_minimum_age = std::chrono::duration_cast<std::chrono::seconds>(*d);
  } else {
    std::fprintf(stderr, "invalid --minimum-image-ttl-duration %s\n", min_image_age.c_str());
    return 2;
  }
  log::SetVerbosity(verbosity);
  log::Logger logger(full_server ? "server" : "apiserver");
  opts.etcd_endpoints = SplitCommas(etcd);
  opts.api_audiences = SplitCommas(audiences);

  sigset_t set = BlockShutdownSignals();

  auto server = apiserver::ApiServer::Start(opts);
  if (!server.ok()) {
    logger.Error("cannot start the API server", {{"err", server.status()}});
    return 1;
  }
  std::unique_ptr<client::RestClient> self_client;
  std::unique_ptr<controllers::ControllerManager> manager;
  std::unique_ptr<client::RestClient> sched_client;
  std::unique_ptr<scheduler::Scheduler> sched;
  std::unique_ptr<client::RestClient> agent_client;
  std::unique_ptr<kubelet::Agent> agent;
  if (full_server) {
    // The controllers talk to this server through its API, as the admin.
    auto cfg = client::LoadKubeconfig((*server)->kubeconfig_path());
    if (!cfg.ok()) {
      logger.Error("cannot read our own kubeconfig", {{"err", cfg.status().ToString()}});
      return 1;
    }
    cfg->user_agent = "kube-controller-manager";
    self_client = std::make_unique<client::RestClient>(*cfg);
    // Readiness gate: the scheduler and controllers start once the API
    // server says it is ready (bootstrap done), as separate processes would.
    for (int i = 0; i < 600; ++i) {
      if (self_client->Get("/readyz").ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    controllers::ManagerOptions mo;
    mo.cluster_cidr = cluster_cidr;
    auto g = controllers::ParseDuration(grace);
    if (!g) {
      logger.Error("invalid --node-monitor-grace-period", {{"value", grace}});
      return 1;
    }
    mo.node_monitor_grace_period = *g;
    mo.terminated_pod_gc_threshold = gc_threshold;
    auto sd = controllers::ParseDuration(signing_duration);
    if (!sd || *sd < std::chrono::minutes(10)) {
      logger.Error("invalid --cluster-signing-duration", {{"value", signing_duration}});
      return 1;
    }
    mo.cluster_signing_duration = std::chrono::duration_cast<std::chrono::seconds>(*sd);
    mo.signing_cert_pem = (*server)->pki().ca.cert_pem;
    mo.signing_key_pem = (*server)->pki().ca.key_pem;
    manager = std::make_unique<controllers::ControllerManager>(self_client.get(), mo);
    manager->Start();
    cfg->user_agent = "kube-scheduler";
    sched_client = std::make_unique<client::RestClient>(*cfg);
    sched = std::make_unique<scheduler::Scheduler>(sched_client.get(), scheduler::SchedulerOptions{});
    sched->Start();
    if (!no_agent) {
      cfg->user_agent = "kubelet";
      agent_client = std::make_unique<client::RestClient>(*cfg);
      kubelet::AgentOptions ao;
      ao.dir = opts.data_dir + "/agent";
      ao.kubelet.node_name = node_name;
      ao.kubelet.node_ip = node_ip;
      ao.kubelet.kubelet_port = kubelet_port;
      ao.kubelet.insecure_registries = insecure_registries;
      ao.kubelet.static_pod_path = pod_manifest_path;
      ao.kubelet.eviction_hard = node_defaults.eviction_hard;
      ao.kubelet.image_gc_high_percent = node_defaults.image_gc_high_percent;
      ao.kubelet.image_gc_low_percent = node_defaults.image_gc_low_percent;
      ao.kubelet.image_minimum_age = node_defaults.image_minimum_age;
      ao.client_ca_pem = (*server)->pki().ca.cert_pem;
      ao.bridge = bridge;
      ao.cluster_cidr = cluster_cidr;
      ao.service_cidr = opts.service_cidr;
      auto a = kubelet::Agent::Start(agent_client.get(), ao);
      if (!a.ok()) {
        logger.Error("cannot start the node agent (it needs root, runc and the CNI plugins; --no-agent runs "
                     "the control plane alone)",
                     {{"err", a.status().ToString()}});
        sched->Stop();
        manager->Stop();
        (*server)->Stop();
        return 1;
      }
      agent = std::move(*a);
    }
  }
  logger.Info("nodes join with: kubepp agent --server " + (*server)->url() + " --token-file " +
              (*server)->node_token_file());
  int sig = 0;
  sigwait(&set, &sig);
  logger.Info("shutting down", {{"signal", sig}});
  if (agent) agent->Stop();
  if (sched) sched->Stop();
  if (manager) manager->Stop();
  (*server)->Stop();
  return 0;
}

}  // namespace

int RunServer(int argc, char** argv) { return Serve(argc, argv, true); }

int RunControllerManager(int argc, char** argv) {
  CLI::App app{"Run the controllers against a cluster's API server."};
  app.name(argv[0]);
  std::string kubeconfig;
  bool leader_elect = true;
  int verbosity = 0;
  app.add_option("--kubeconfig", kubeconfig, "Kubeconfig of the cluster")->required();
  app.add_option("--leader-elect", leader_elect, "Run only while holding the kube-controller-manager lease")
      ->capture_default_str();
  std::string cluster_cidr = "10.42.0.0/16";
  app.add_option("--cluster-cidr", cluster_cidr, "Range of pod IPs; nodes get a /24 of it")->capture_default_str();
  std::string grace = "40s";
  app.add_option("--node-monitor-grace-period", grace, "How long a node may stay silent before it is NotReady")
      ->capture_default_str();
  int64_t gc_threshold = 12500;
  app.add_option("--terminated-pod-gc-threshold", gc_threshold, "Terminated pods kept before the oldest are deleted")
      ->capture_default_str();
  std::string signing_cert, signing_key, signing_duration = "8760h";
  app.add_option("--cluster-signing-cert-file", signing_cert, "CA certificate (PEM) that issues certificates for approved signing requests");
  app.add_option("--cluster-signing-key-file", signing_key, "Key (PEM) of that CA");
  app.add_option("--cluster-signing-duration", signing_duration, "Longest validity of the certificates it issues")
      ->capture_default_str();
  app.add_option("-v,--v", verbosity, "Log verbosity");
  CLI11_PARSE(app, argc, argv);
  log::SetVerbosity(verbosity);
  log::Logger logger("controller-manager");
  controllers::ManagerOptions mo;
  if (!signing_cert.empty() || !signing_key.empty()) {
    auto c = ReadFile(signing_cert);
    auto k = ReadFile(signing_key);
    if (!c.ok() || !k.ok()) {
      logger.Error("cannot read the cluster signing certificate and key",
                   {{"err", (!c.ok() ? c.status() : k.status()).ToString()}});
      return 1;
    }
    mo.signing_cert_pem = *c;
    mo.signing_key_pem = *k;
  }
  auto sd = controllers::ParseDuration(signing_duration);
  if (!sd || *sd < std::chrono::minutes(10)) {
    logger.Error("invalid --cluster-signing-duration", {{"value", signing_duration}});
    return 1;
  }
  mo.cluster_signing_duration = std::chrono::duration_cast<std::chrono::seconds>(*sd);
  auto g = controllers::ParseDuration(grace);
  if (!g) {
    logger.Error("invalid --node-monitor-grace-period", {{"value", grace}});
    return 1;
  }
  sigset_t set = BlockShutdownSignals();
  auto cfg = client::LoadKubeconfig(kubeconfig);
  if (!cfg.ok()) {
    logger.Error("cannot load the kubeconfig", {{"err", cfg.status().ToString()}});
    return 1;
  }
  cfg->user_agent = "kube-controller-manager";
  client::RestClient client(*cfg);
  mo.leader_elect = leader_elect;
  mo.cluster_cidr = cluster_cidr;
  mo.node_monitor_grace_period = *g;
  mo.terminated_pod_gc_threshold = gc_threshold;
  controllers::ControllerManager manager(&client, mo);
  manager.Start();
  int sig = 0;
  sigwait(&set, &sig);
  logger.Info("shutting down", {{"signal", sig}});
  manager.Stop();
  return 0;
}
int RunApiServer(int argc, char** argv) { return Serve(argc, argv, false); }

}  // namespace kubepp::cmd
