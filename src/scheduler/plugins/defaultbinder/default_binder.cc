// DefaultBinder: POST pods/NAME/binding, as upstream's default binder does.
#include "api/object.h"
#include "client/rest.h"
#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {
namespace {

class DefaultBinder : public BindPlugin {
 public:
  explicit DefaultBinder(Handle* h) : handle_(h) {}
  std::string Name() const override { return "DefaultBinder"; }
  PluginStatus Bind(CycleState&, const PodInfo& pod, const std::string& node) override {
    bj::object binding{{"apiVersion", "v1"},
                       {"kind", "Binding"},
                       {"metadata", bj::object{{"name", pod.name}, {"namespace", pod.ns}, {"uid", pod.uid}}},
                       {"target", bj::object{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
    auto r = handle_->client->Post(client::ResourcePath("", "v1", "pods", pod.ns, pod.name, "binding"), binding);
    if (!r.ok()) return PluginStatus::Error(r.status().message());
    return {};
  }

 private:
  Handle* handle_;
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewDefaultBinder(const PluginArgs&, Handle* h) {
  return std::unique_ptr<Plugin>(std::make_unique<DefaultBinder>(h));
}

}  // namespace kubepp::scheduler::plugins
