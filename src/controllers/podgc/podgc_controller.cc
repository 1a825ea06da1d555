#include "controllers/podgc/podgc_controller.h"

#include <algorithm>

#include "api/object.h"
#include "api/time.h"
#include "common/log.h"

namespace kubepp::controllers {
namespace {

constexpr auto kQuarantine = std::chrono::seconds(40);

const log::Logger& Log() {
  static const log::Logger l("pod-garbage-collector");
  return l;
}

}  // namespace

PodGcController::PodGcController(client::RestClient* client, int64_t terminated_threshold, std::chrono::milliseconds period)
    : QueueController("podgc", 1), client_(client), threshold_(terminated_threshold), period_(period) {}

void PodGcController::Init(InformerFactory* informers) {
  pods_ = informers->For("", "v1", "pods");
  nodes_ = informers->For("", "v1", "nodes");
}

void PodGcController::Run() {
  QueueController::Run();
  stop_.store(false);
  ticker_ = std::thread([this] {
    while (!stop_.load()) {
      for (int i = 0; i < 20 && !stop_.load(); ++i) std::this_thread::sleep_for(period_ / 20);
      if (!stop_.load()) queue().Add("sweep");
    }
  });
}

void PodGcController::Stop() {
  stop_.store(true);
  if (ticker_.joinable()) ticker_.join();
  QueueController::Stop();
}

Status PodGcController::ForceDelete(const bj::object& pod, bool mark_failed) {
  std::string ns(api::Namespace(pod)), name(api::Name(pod));
  if (mark_failed) {
    bj::object patch{{"status", bj::object{{"phase", "Failed"},
                                           {"conditions", bj::array{bj::object{
                                                              {"type", "DisruptionTarget"},
                                                              {"status", "True"},
                                                              {"reason", "DeletionByPodGC"},
                                                              {"message", "PodGC: node no longer exists"},
                                                              {"lastTransitionTime", api::FormatTime(std::chrono::system_clock::now())}}}}}}};
    (void)client_->Patch(client::ResourcePath("", "v1", "pods", ns, name, "status"), "application/strategic-merge-patch+json",
                         patch);
  }
  bj::value opts = bj::object{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"gracePeriodSeconds", 0},
                              {"preconditions", bj::object{{"uid", api::Uid(pod)}}}};
  auto r = client_->Delete(client::ResourcePath("", "v1", "pods", ns, name), &opts);
  if (!r.ok() && !r.status().IsNotFound() && !r.status().IsConflict()) return r.status();
  Log().V(1, "deleted pod", {{"pod", ns + "/" + name}});
  return Status::OK();
}

Status PodGcController::Reconcile(const std::string&) {
  if (!pods_->HasSynced() || !nodes_->HasSynced()) return Status::OK();
  std::vector<client::ObjectPtr> terminated;
  std::set<std::string> nodes;
  for (const auto& n : nodes_->List()) nodes.insert(std::string(api::Name(*n)));
  std::set<std::string> out_of_service;
  for (const auto& n : nodes_->List()) {
    if (const auto* taints = api::ArrAt(*n, {"spec", "taints"})) {
      for (const auto& t : *taints) {
        if (api::StrAt(t.get_object(), {"key"}) == "node.kubernetes.io/out-of-service") {
          out_of_service.insert(std::string(api::Name(*n)));
        }
      }
    }
  }
  auto now = std::chrono::steady_clock::now();
  Status first;
  for (const auto& p : pods_->List()) {
    std::string_view phase = api::StrAt(*p, {"status", "phase"});
    std::string node(api::StrAt(*p, {"spec", "nodeName"}));
    bool terminating = api::At(*p, {"metadata", "deletionTimestamp"}) != nullptr;
    if (phase == "Succeeded" || phase == "Failed") terminated.push_back(p);
    Status st;
    if (!node.empty() && !nodes.count(node)) {
      auto [it, fresh] = missing_since_.try_emplace(node, now);
      if (now - it->second >= kQuarantine) st = ForceDelete(*p, phase != "Succeeded" && phase != "Failed");
    } else if (node.empty() && terminating) {
      st = ForceDelete(*p, false);
    } else if (terminating && out_of_service.count(node)) {
      st = ForceDelete(*p, true);
    }
    if (!st.ok() && first.ok()) first = st;
  }
  for (auto it = missing_since_.begin(); it != missing_since_.end();) {
    if (nodes.count(it->first)) it = missing_since_.erase(it);
    else ++it;
  }
  if (threshold_ > 0 && static_cast<int64_t>(terminated.size()) > threshold_) {
    std::sort(terminated.begin(), terminated.end(), [](const client::ObjectPtr& a, const client::ObjectPtr& b) {
      return api::StrAt(*a, {"metadata", "creationTimestamp"}) < api::StrAt(*b, {"metadata", "creationTimestamp"});
    });
    size_t excess = terminated.size() - static_cast<size_t>(threshold_);
    for (size_t i = 0; i < excess; ++i) {
      Status st = ForceDelete(*terminated[i], false);
      if (!st.ok() && first.ok()) first = st;
    }
  }
  return first;
}

}  // namespace kubepp::controllers
