#include "client/leader_election.h"

#include <pthread.h>

#include <random>

#include "api/object.h"
#include "api/time.h"
#include "common/log.h"

namespace kubepp::client {
namespace {

const log::Logger& Log() {
  static const log::Logger l("leaderelection");
  return l;
}

}  // namespace

LeaderElector::LeaderElector(RestClient* client, LeaderElectionConfig config)
    : client_(client),
      config_(std::move(config)),
      path_(ResourcePath("coordination.k8s.io", "v1", "leases", config_.lease_namespace, config_.lease_name)) {}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Start() {
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), "leader-elect");
}

void LeaderElector::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string LeaderElector::LeaderIdentity() const {
  std::lock_guard<std::mutex> l(mu_);
  return observed_holder_;
}

bool LeaderElector::Sleep(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, d, [this] { return stopping_; });
  return !stopping_;
}

bool LeaderElector::TryAcquireOrRenew() {
  auto now_wall = std::chrono::system_clock::now();
  std::string now = api::FormatMicroTime(now_wall);
  int64_t duration_s = std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count());
  auto cur = client_->Get(path_);
  if (!cur.ok()) {
    if (!cur.status().IsNotFound()) return false;
    bj::object lease{{"apiVersion", "coordination.k8s.io/v1"},
                     {"kind", "Lease"},
                     {"metadata", bj::object{{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
                     {"spec", bj::object{{"holderIdentity", config_.identity},
                                         {"leaseDurationSeconds", duration_s},
                                         {"acquireTime", now},
                                         {"renewTime", now},
                                         {"leaseTransitions", 0}}}};
    auto created = client_->Post(ResourcePath("coordination.k8s.io", "v1", "leases", config_.lease_namespace), lease);
    if (!created.ok()) return false;
    std::lock_guard<std::mutex> l(mu_);
    observed_record_ = config_.identity + "@" + now;
    observed_holder_ = config_.identity;
    observed_at_ = std::chrono::steady_clock::now();
    return true;
  }
  bj::object& lease = cur->as_object();
  std::string holder = std::string(api::StrAt(lease, {"spec", "holderIdentity"}));
  std::string record = holder + "@" + std::string(api::StrAt(lease, {"spec", "renewTime"}));
  int64_t held_for = api::IntAt(lease, {"spec", "leaseDurationSeconds"}).value_or(0);
  bool expired;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (record != observed_record_) {
      observed_record_ = record;
      observed_at_ = std::chrono::steady_clock::now();
    }
    observed_holder_ = holder;
    expired = observed_at_ + std::chrono::seconds(held_for) < std::chrono::steady_clock::now();
  }
  if (!holder.empty() && holder != config_.identity && !expired) return false;
  bj::object& spec = lease["spec"].as_object();
  if (holder != config_.identity) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = api::IntAt(lease, {"spec", "leaseTransitions"}).value_or(0) + (holder.empty() ? 0 : 1);
  }
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] = duration_s;
  spec["renewTime"] = now;
  // The update carries the resourceVersion we read: a rival's write in
  // between makes it a 409 and this round fails.
  auto updated = client_->Put(path_, lease);
  if (!updated.ok()) return false;
  std::lock_guard<std::mutex> l(mu_);
  observed_record_ = config_.identity + "@" + now;
  observed_holder_ = config_.identity;
  observed_at_ = std::chrono::steady_clock::now();
  return true;
}

void LeaderElector::Release() {
  auto cur = client_->Get(path_);
  if (!cur.ok()) return;
  bj::object& lease = cur->as_object();
  if (std::string(api::StrAt(lease, {"spec", "holderIdentity"})) != config_.identity) return;
  bj::object& spec = lease["spec"].as_object();
  // As client-go's release: no holder, a one-second duration.
  spec["holderIdentity"] = "";
  spec["leaseDurationSeconds"] = 1;
  std::string now = api::FormatMicroTime(std::chrono::system_clock::now());
  spec["renewTime"] = now;
  spec["acquireTime"] = now;
  if (!client_->Put(path_, lease).ok()) Log().V(1, "could not release the lease", {{"lease", config_.lease_name}});
}

void LeaderElector::Run() {
  std::mt19937 rng(std::random_device{}());
  auto jittered = [&](std::chrono::milliseconds d) {
    // client-go's wait.Jitter with factor 1.2.
    return d + std::chrono::milliseconds(static_cast<int64_t>(d.count() * 1.2 * (rng() % 1000) / 1000.0));
  };
  std::string last_leader;
  auto note_leader = [&] {
    std::string who = LeaderIdentity();
    if (who != last_leader) {
      last_leader = who;
      if (!who.empty() && config_.on_new_leader) config_.on_new_leader(who);
    }
  };
  while (true) {
    // Campaign.
    while (!TryAcquireOrRenew()) {
      note_leader();
      if (!Sleep(jittered(config_.retry_period))) return;
    }
    note_leader();
    leading_.store(true);
    Log().Info("became leader", {{"lease", config_.lease_namespace + "/" + config_.lease_name}, {"identity", config_.identity}});
    if (config_.on_started_leading) config_.on_started_leading();
    // Renew until a renewal deadline passes without success, or we stop.
    auto last_renew = std::chrono::steady_clock::now();
    bool stopping = false;
    while (true) {
      if (!Sleep(config_.retry_period)) {
        stopping = true;
        break;
      }
      if (TryAcquireOrRenew()) {
        last_renew = std::chrono::steady_clock::now();
        continue;
      }
      if (std::chrono::steady_clock::now() - last_renew >= config_.renew_deadline) break;
    }
    leading_.store(false);
    if (stopping) Release();
    Log().Info("stopped leading", {{"lease", config_.lease_namespace + "/" + config_.lease_name}, {"identity", config_.identity}});
    if (config_.on_stopped_leading) config_.on_stopped_leading();
    if (stopping) return;
  }
}

}  // namespace kubepp::client
