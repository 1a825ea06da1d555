// Node-pressure eviction and image garbage collection (upstream's eviction
// manager and image GC manager, at their defaults): every housekeeping
// period the kubelet observes memory.available, nodefs.available,
// nodefs.inodesFree, imagefs.available and pid.available against the hard
// thresholds (--eviction-hard, default memory.available<100Mi,
// nodefs.available<10%, nodefs.inodesFree<5%, imagefs.available<15%),
// reports MemoryPressure / DiskPressure / PIDPressure on the Node, and under
// pressure first reclaims node-level resources (unused images, for disk),
// then evicts one pod: BestEffort before Burstable before Guaranteed, the
// largest user of the starved resource first; mirror pods are spared. The
// pod is killed at once (hard thresholds have no grace) and fails with
// reason Evicted and upstream's message. Image GC also runs on its own
// thresholds: above --image-gc-high-threshold percent of the image
// filesystem used, unused images go, least recently used first, until
// usage is under --image-gc-low-threshold.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include "api/object.h"
#include "api/quantity.h"
#include "api/time.h"
#include "common/file.h"
#include "common/log.h"
#include "common/strings.h"
#include "kubelet/kubelet.h"
#include "kubelet/kubelet_util.h"
#include "kubelet/node_info.h"

namespace kubepp::kubelet {
namespace {

namespace bj = boost::json;

// Which resource a signal starves, as upstream names it in its messages.
std::string ResourceOf(const std::string& signal) {
  if (signal.starts_with("memory")) return "memory";
  if (signal.starts_with("pid")) return "pids";
  if (signal.find("inodes") != std::string::npos) return "inodes";
  return "ephemeral-storage";
}

}  // namespace

Result<std::vector<EvictionThreshold>> ParseEvictionThresholds(std::string_view spec) {
  std::vector<EvictionThreshold> out;
  for (std::string_view item : SplitNonEmpty(spec)) {
    size_t lt = item.find('<');
    if (lt == std::string_view::npos) return Status::BadRequest("eviction threshold without '<': " + std::string(item));
    EvictionThreshold t;
    t.signal = std::string(item.substr(0, lt));
    static const char* kSignals[] = {"memory.available", "nodefs.available", "nodefs.inodesFree", "imagefs.available",
                                     "imagefs.inodesFree", "pid.available"};
    if (std::find(std::begin(kSignals), std::end(kSignals), t.signal) == std::end(kSignals)) {
      return Status::BadRequest("unknown eviction signal " + t.signal);
    }
    std::string_view v = item.substr(lt + 1);
    t.text = std::string(v);
    if (v.ends_with("%")) {
      t.percent = std::strtod(std::string(v.substr(0, v.size() - 1)).c_str(), nullptr);
      if (t.percent < 0 || t.percent > 100) return Status::BadRequest("eviction threshold out of range: " + std::string(item));
    } else {
      auto q = api::Quantity::Parse(v);
      if (!q.ok()) return Status::BadRequest("eviction threshold quantity: " + std::string(item));
      t.quantity = q->Value();
    }
    out.push_back(std::move(t));
  }
  return out;
}

void Kubelet::Housekeeping() {
  // Observations: available and capacity per signal.
  std::map<std::string, std::pair<uint64_t, uint64_t>> seen;
  NodeUsage u = ReadNodeUsage();
  seen["memory.available"] = {u.mem_available, u.mem_total};
  FsUsage node = ReadFsUsage(options_.data_dir), image = ReadFsUsage(images_->root());
  seen["nodefs.available"] = {node.available, node.capacity};
  seen["nodefs.inodesFree"] = {node.inodes_free, node.inodes};
  seen["imagefs.available"] = {image.available, image.capacity};
  seen["imagefs.inodesFree"] = {image.inodes_free, image.inodes};
  seen["pid.available"] = {u.pid_max > u.processes ? u.pid_max - u.processes : 0, u.pid_max};

  {
    // Every image's age counts from when it was first seen.
    auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& im : images_->List()) image_last_used_.try_emplace(im.id, now);
  }
  // Image GC on its own thresholds.
  if (image.capacity > 0) {
    double used_pct = 100.0 * static_cast<double>(image.capacity - image.available) / static_cast<double>(image.capacity);
    if (used_pct >= options_.image_gc_high_percent) {
      uint64_t want_free = static_cast<uint64_t>(
          (used_pct - options_.image_gc_low_percent) / 100.0 * static_cast<double>(image.capacity));
      FreeImages(want_free == 0 ? 1 : want_free);
    }
  }

  std::vector<std::pair<const EvictionThreshold*, uint64_t>> crossed;  // and what is available
  for (const auto& t : eviction_thresholds_) {
    auto [avail, cap] = seen[t.signal];
    uint64_t limit = t.percent >= 0 ? static_cast<uint64_t>(t.percent / 100.0 * static_cast<double>(cap))
                                    : static_cast<uint64_t>(t.quantity);
    if (cap > 0 && avail < limit) crossed.emplace_back(&t, avail);
  }
  bool memory = false, disk = false, pid = false;
  for (const auto& [t, avail] : crossed) {
    memory |= t->signal.starts_with("memory");
    disk |= t->signal.starts_with("nodefs") || t->signal.starts_with("imagefs");
    pid |= t->signal.starts_with("pid");
  }
  bool changed;
  {
    std::lock_guard<std::mutex> l(mu_);
    changed = memory != memory_pressure_ || disk != disk_pressure_ || pid != pid_pressure_;
    memory_pressure_ = memory;
    disk_pressure_ = disk;
    pid_pressure_ = pid;
  }
  if (changed) {
    KubeletLog().Info("node pressure", {{"memory", memory ? "true" : "false"}, {"disk", disk ? "true" : "false"},
                                 {"pid", pid ? "true" : "false"}});
    (void)ReportNodeStatus();
  }
  if (crossed.empty()) return;
  const EvictionThreshold* t = crossed.front().first;
  uint64_t avail = crossed.front().second;
  // Node-level reclaim first: unused images, for disk.
  if (disk && FreeImages(UINT64_MAX) > 0) return;
  // Then one pod.
  std::string resource = ResourceOf(t->signal);
  struct Candidate {
    client::ObjectPtr pod;
    int qos;  // 0 BestEffort, 1 Burstable, 2 Guaranteed
    uint64_t usage;
  };
  std::vector<Candidate> cands;
  for (const auto& p : pods_->List()) {
    if (!api::StrAt(*p, {"metadata", "annotations", "kubernetes.io/config.mirror"}).empty()) continue;
    if (!api::StrAt(*p, {"metadata", "deletionTimestamp"}).empty()) continue;
    std::string_view phase = api::StrAt(*p, {"status", "phase"});
    if (phase == "Succeeded" || phase == "Failed") continue;
    std::string_view q = api::StrAt(*p, {"status", "qosClass"}, "BestEffort");
    uint64_t usage = 0;
    for (const auto& c : runtime_->ListContainers({{kPodUidLabel, std::string(api::Uid(*p))}})) {
      if (c.state != runtime::ContainerState::kRunning) continue;
      if (auto st = runtime_->GetContainerStats(c.id); st.ok()) usage += st->memory_working_set;
    }
    cands.push_back({p, q == "BestEffort" ? 0 : q == "Burstable" ? 1 : 2, usage});
  }
  if (cands.empty()) return;
  std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    return a.qos != b.qos ? a.qos < b.qos : a.usage > b.usage;
  });
  const bj::object& pod = *cands.front().pod;
  std::string available = t->signal.starts_with("memory") ? std::to_string(avail / 1024) + "Ki" : std::to_string(avail);
  std::string msg = "The node was low on resource: " + resource + ". Threshold quantity: " + t->text +
                    ", available: " + available + ". ";
  KubeletLog().Info("evicting pod", {{"pod", client::KeyOf(pod)}, {"signal", t->signal}});
  Event(pod, "Warning", "Evicted", msg);
  std::string uid(api::Uid(pod));
  {
    std::lock_guard<std::mutex> l(mu_);
    evicted_.insert(uid);  // the pod workers stop it and leave its status to us
  }
  for (const auto& c : runtime_->ListContainers({{kPodUidLabel, uid}})) {
    if (c.state == runtime::ContainerState::kRunning) (void)runtime_->StopContainer(c.id, std::chrono::seconds(0));
  }
  std::string now = api::FormatTime(std::chrono::system_clock::now());
  bj::object status{{"phase", "Failed"}, {"reason", "Evicted"}, {"message", msg},
                    {"conditions", bj::array{bj::object{{"type", "DisruptionTarget"},
                                                        {"status", "True"},
                                                        {"reason", "TerminationByKubelet"},
                                                        {"message", msg},
                                                        {"lastTransitionTime", now}}}}};
  std::string path = client::ResourcePath("", "v1", "pods", std::string(api::Namespace(pod)), std::string(api::Name(pod)));
  auto r = client_->Patch(path + "/status", "application/strategic-merge-patch+json", bj::object{{"status", std::move(status)}});
  if (!r.ok()) KubeletLog().Warning("evicted pod status", {{"pod", client::KeyOf(pod)}, {"err", r.status().ToString()}});
}

uint64_t Kubelet::FreeImages(uint64_t want) {
  std::set<std::string> in_use;
  for (const auto& c : runtime_->ListContainers()) in_use.insert(c.image_ref);
  auto images = images_->List();
  // Least recently used first: those last used longest ago.
  {
    std::lock_guard<std::mutex> l(mu_);
    auto now = std::chrono::steady_clock::now();
    for (const auto& im : images) image_last_used_.try_emplace(im.id, now);
    std::sort(images.begin(), images.end(), [this](const images::Image& a, const images::Image& b) {
      return image_last_used_[a.id] < image_last_used_[b.id];
    });
  }
  uint64_t freed = 0;
  for (const auto& im : images) {
    if (freed >= want) break;
    if (in_use.count(im.id) != 0) continue;
    {
      // Not an image just seen or used (upstream's minimum age; it also
      // covers a pod worker about to start a container from it).
      std::lock_guard<std::mutex> l(mu_);
      auto now = std::chrono::steady_clock::now();
      auto [it, fresh] = image_last_used_.try_emplace(im.id, now);
      if (fresh || now - it->second < options_.image_minimum_age) continue;
    }
    if (images_->Remove(im.id).ok()) {
      KubeletLog().Info("image garbage-collected", {{"image", im.repo_tags.empty() ? im.id : im.repo_tags.front()}});
      freed += static_cast<uint64_t>(im.size);
    }
  }
  return freed;
}

void Kubelet::HousekeepingLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_.load()) {
    cv_.wait_for(l, options_.housekeeping_period, [this] { return stopping_.load(); });
    if (stopping_.load()) break;
    l.unlock();
    Housekeeping();
    l.lock();
  }
}

}  // namespace kubepp::kubelet
