// ImageLocality: favours nodes that already have the pod's images, weighted
// by image size and by how widely the image is spread (so one node with the
// image does not attract every pod).
#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {
namespace {

constexpr int64_t kMinThreshold = 23LL * 1024 * 1024;
constexpr int64_t kMaxContainerThreshold = 1000LL * 1024 * 1024;

struct ImageState : StateData {
  const std::map<std::string, int, std::less<>>* image_nodes = nullptr;
  size_t total_nodes = 0;
  std::unique_ptr<StateData> Clone() const override { return std::make_unique<ImageState>(*this); }
};

class ImageLocality : public PreScorePlugin, public ScorePlugin {
 public:
  std::string Name() const override { return "ImageLocality"; }
  PluginStatus PreScore(CycleState& state, const PodInfo& pod, const std::vector<NodeInfo*>&, const Snapshot& snap) override {
    if (pod.images.empty() || snap.image_nodes == nullptr || snap.image_nodes->empty()) return PluginStatus::Skip();
    auto s = std::make_unique<ImageState>();
    s->image_nodes = snap.image_nodes;
    s->total_nodes = snap.nodes.size();
    state.Write(Name(), std::move(s));
    return {};
  }
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node) override {
    const auto* s = static_cast<const ImageState*>(state.Read(Name()));
    if (s == nullptr || s->total_nodes == 0) return 0;
    int64_t sum = 0;
    for (const auto& img : pod.images) {
      auto it = node.image_sizes.find(img);
      if (it == node.image_sizes.end()) continue;
      auto cnt = s->image_nodes->find(img);
      double spread = cnt == s->image_nodes->end() ? 0 : static_cast<double>(cnt->second) / static_cast<double>(s->total_nodes);
      sum += static_cast<int64_t>(static_cast<double>(it->second) * spread);
    }
    int64_t max_threshold = kMaxContainerThreshold * static_cast<int64_t>(pod.images.size());
    if (sum < kMinThreshold) sum = kMinThreshold;
    if (sum > max_threshold) sum = max_threshold;
    return 100 * (sum - kMinThreshold) / (max_threshold - kMinThreshold);
  }
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewImageLocality(const PluginArgs&, Handle*) {
  return std::unique_ptr<Plugin>(std::make_unique<ImageLocality>());
}

}  // namespace kubepp::scheduler::plugins
