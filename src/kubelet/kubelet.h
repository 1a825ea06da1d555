// The kubelet: registers its Node (capacity read from the machine), renews
// its Lease, and runs the pods bound to it through the CRI-shaped runtime.
//
// Pods come from an informer on spec.nodeName; a work queue hands each pod
// to one worker at a time (upstream's pod workers), which brings it to what
// its spec asks: a sandbox with the pod network, volumes, init containers in
// order, then the app containers, restarted per restartPolicy with
// CrashLoopBackOff (10 s doubling to 5 min); then it writes the pod's status
// (phase, conditions, container states, IPs, QoS class) when it changed. A
// relist of the runtime's containers every second (upstream's PLEG) wakes
// the pod whose container changed. Deleted pods are stopped with their
// grace period and then removed from the API (grace 0, uid precondition).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/events.h"
#include "client/informer.h"
#include "client/rest.h"
#include "client/workqueue.h"
#include "common/thread_pool.h"
#include "kubelet/cni/cni.h"
#include "kubelet/images/image_store.h"
#include "kubelet/images/registry.h"
#include "kubelet/node_info.h"
#include "kubelet/pod_config.h"
#include "kubelet/runtime/runtime.h"

namespace kubepp::apiserver::http {
class Server;
class Exchange;
}  // namespace kubepp::apiserver::http

namespace kubepp::kubelet {

namespace bj = boost::json;

// One hard eviction threshold: "<signal><<quantity or percent>".
struct EvictionThreshold {
  std::string signal;  // memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, ...
  std::string text;    // as given ("100Mi", "10%")
  int64_t quantity = 0;
  double percent = -1;  // of capacity, when given as a percentage
};
// Parses --eviction-hard ("memory.available<100Mi,nodefs.available<10%").
Result<std::vector<EvictionThreshold>> ParseEvictionThresholds(std::string_view spec);

struct KubeletOptions {
  std::string node_name;
  std::string data_dir;  // pods/ and logs/ go here
  std::string pod_cidr;  // empty: node.spec.podCIDR, set by node IPAM
  std::vector<std::string> cluster_dns;
  std::string cluster_domain = "cluster.local";
  std::string node_ip;  // empty: the machine's first address
  int max_pods = 110;
  int kubelet_port = 10250;
  int workers = 8;
  std::string runc = "/usr/sbin/runc";
  std::map<std::string, std::string> node_labels;
  std::chrono::milliseconds lease_period{10000};
  std::chrono::milliseconds status_period{10000};
  std::chrono::milliseconds resync{10000};  // each running pod is synced again this often
  // The kubelet API (HTTPS; off when the port is 0 or no certificate is given).
  std::string bind_address = "0.0.0.0";
  std::string serving_cert_pem, serving_key_pem;
  std::string client_ca_pem;  // clients (the API server) must present a certificate from this CA
  // Node-pressure eviction (upstream's default hard thresholds) and image GC.
  std::string eviction_hard =
      "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%";
  double image_gc_high_percent = 85, image_gc_low_percent = 80;
  // Image GC spares images first seen or last used more recently than this.
  std::chrono::seconds image_minimum_age{120};
  std::chrono::milliseconds housekeeping_period{10000};
  // Static pods: manifests in this directory run as mirror pods (empty: none).
  std::string static_pod_path;
  std::chrono::milliseconds static_pod_check{5000};
  // Registries reached without verifying their certificate, or over plain
  // HTTP (localhost's always are).
  std::vector<std::string> insecure_registries;
};

class Kubelet {
 public:
  Kubelet(client::RestClient* client, KubeletOptions options, runtime::RuntimeService* runtime,
          images::ImageStore* images, cni::Network* network);
  ~Kubelet();
  Status Start();
  // The kubelet API's port (after Start; 0 when it is off).
  int port() const;
  // Stops the kubelet; containers keep running (a restarted kubelet adopts them).
  void Stop();

 private:
  struct Waiting {
    std::string reason, message;
    std::chrono::steady_clock::time_point retry_at;
    int failures = 0;
  };
  // Probe results per running container (by container id).
  struct ProbeState {
    std::string pod_key, container;
    bool started = false, ready = false, in_flight = false;
    int live_failures = 0, ready_successes = 0, ready_failures = 0, start_failures = 0;
    std::chrono::steady_clock::time_point next_live, next_ready, next_start;
  };
  struct Running {  // a running container, as the last relist saw it
    std::string pod_key, container;
    int64_t started_at = 0;
  };
  struct PodState {
    std::map<std::string, Waiting> waiting;  // container name -> why it is not running
    std::string volume_error;
    std::string start_time;
  };

  Status RegisterNode();
  Status ReportNodeStatus();
  Status RenewLease();
  void HeartbeatLoop();
  void RelistLoop();
  void ProbeLoop();
  void ProbeOne(const std::string& id, const std::string& kind, bj::object probe, bj::object container,
                bj::object pod, std::string pod_ip);
  void Worker();
  Status SyncPod(const std::string& key);
  Status TerminatePod(const std::string& uid, int64_t grace_seconds, const bj::object* pod = nullptr);
  Status StartContainer(const bj::object& pod, const bj::object& container, bool init, int attempt,
                        const std::string& sandbox_id, const std::map<std::string, std::string>& volumes,
                        const std::string& pod_ip, PodState& state);
  Status UpdatePodStatus(const bj::object& pod, const std::string& sandbox_id, const std::string& pod_ip,
                         bool pod_failed, const PodState& state);
  std::vector<runtime::ContainerStatus> PodContainers(const std::string& uid);
  // eviction.cc: pressure, eviction and image GC every housekeeping period.
  void HousekeepingLoop();
  void Housekeeping();
  // Removes unused images (least recently used first) until `want` bytes
  // are freed; returns the bytes freed.
  uint64_t FreeImages(uint64_t want);
  // stats.cc: /stats/summary.
  bj::object StatsSummary();
  void ServeStatsSummary(const std::shared_ptr<apiserver::http::Exchange>& ex);
  // CPU stats with usageNanoCores from the previous sample under `key`.
  bj::object CpuOf(const std::string& key, int64_t ts, uint64_t usage_ns);
  // static_pods.cc: the manifests (as mirror pods, by namespace/name), and
  // their reconciliation with the API.
  std::map<std::string, bj::object> ReadStaticPods();
  void SyncStaticPods();
  void StaticPodLoop();
  // The registry credentials of the pod's imagePullSecrets.
  std::vector<images::AuthConfigs> PullSecrets(const bj::object& pod);
  // Reads configMaps and secrets of namespace `ns` for env and volumes.
  ObjectGetter Getter(const std::string& ns);
  void Event(const bj::object& pod, std::string_view type, std::string_view reason, const std::string& message);
  std::string PodDir(const std::string& uid) const;
  // The kubelet API: /healthz, /pods, /containerLogs, /exec, /attach, /portForward.
  void Handle(std::shared_ptr<apiserver::http::Exchange> ex);
  void ServeLogs(const std::shared_ptr<apiserver::http::Exchange>& ex, const std::string& ns, const std::string& pod,
                 const std::string& container);
  // kubelet_stream.cc: /exec, /attach (`attach` true) and /portForward.
  void ServeExec(const std::shared_ptr<apiserver::http::Exchange>& ex, const std::string& ns, const std::string& pod,
                 const std::string& container, bool attach);
  void ServePortForward(const std::shared_ptr<apiserver::http::Exchange>& ex, const std::string& ns,
                        const std::string& pod);
  std::string PodCidr();

  client::RestClient* client_;
  KubeletOptions options_;
  runtime::RuntimeService* runtime_;
  images::ImageStore* images_;
  std::unique_ptr<images::Puller> puller_;
  cni::Network* network_;
  MachineInfo machine_;
  std::unique_ptr<client::EventRecorder> events_;
  std::unique_ptr<client::Informer> pods_;
  std::unique_ptr<client::WorkQueue> queue_;
  std::vector<std::thread> threads_;
  std::unique_ptr<apiserver::http::Server> server_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string node_uid_;                   // GUARDED_BY(mu_)
  std::string pod_cidr_;                   // GUARDED_BY(mu_)
  std::map<std::string, PodState> state_;  // GUARDED_BY(mu_) by pod uid
  std::map<std::string, ProbeState> probes_;  // GUARDED_BY(mu_) by container id
  std::map<std::string, Running> running_;    // GUARDED_BY(mu_) by container id
  std::unique_ptr<ThreadPool> probe_pool_;
  std::string node_start_time_;  // GUARDED_BY(mu_)
  std::vector<EvictionThreshold> eviction_thresholds_;
  bool memory_pressure_ = false, disk_pressure_ = false, pid_pressure_ = false;  // GUARDED_BY(mu_)
  std::set<std::string> evicted_;  // GUARDED_BY(mu_): uids of pods being evicted
  // GUARDED_BY(mu_): image id -> first seen or last used by a container
  std::map<std::string, std::chrono::steady_clock::time_point> image_last_used_;
  std::mutex stats_mu_;
  std::map<std::string, std::pair<int64_t, uint64_t>> cpu_samples_;  // GUARDED_BY(stats_mu_): time, usage
};

}  // namespace kubepp::kubelet
