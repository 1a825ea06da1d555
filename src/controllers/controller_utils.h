// What the workload controllers share (upstream's pkg/controller utilities):
// expectations, controller references, pods from templates, pod state
// predicates, slow-start batches and the ranking of pods to delete.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/informer.h"

namespace kubepp::controllers {

namespace bj = boost::json;

// Creations and deletions a controller has asked for and not yet seen in its
// informer (upstream's ControllerExpectations): until they are seen (or 5
// minutes pass), the controller does not act on its stale view again, so a
// slow cache never makes it create twice.
class Expectations {
 public:
  void Expect(const std::string& key, int adds, int dels);
  void CreationObserved(const std::string& key) { Lower(key, 1, 0); }
  void DeletionObserved(const std::string& key) { Lower(key, 0, 1); }
  void Lower(const std::string& key, int adds, int dels);
  bool Satisfied(const std::string& key) const;
  void Delete(const std::string& key);

 private:
  struct Entry {
    int adds = 0, dels = 0;
    std::chrono::steady_clock::time_point at;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
};

struct ControllerRef {
  std::string api_version, kind, name, uid;
};
std::optional<ControllerRef> GetControllerRef(const bj::object& obj);

// Indexes an informer's objects by their controller's uid, and objects with
// no controller by OrphansKey(namespace) (upstream's controllerUIDIndex): a
// controller's claim pass reads its own objects and the orphans it might
// adopt, not every object in the namespace.
inline constexpr const char* kControllerUidIndex = "controllerUID";
void AddControllerUidIndex(client::Informer* informer);
std::string OrphansKey(std::string_view ns);
// An ownerReference to `owner` with controller and blockOwnerDeletion set.
bj::object NewControllerRef(const bj::object& owner, std::string_view api_version, std::string_view kind);

// A pod for `tmpl` (a PodTemplateSpec) owned by `owner_ref`, named
// generateName `prefix`.
bj::object PodFromTemplate(const bj::object& tmpl, const std::string& ns, const std::string& prefix,
                           const bj::object& owner_ref);

bool IsPodActive(const bj::object& pod);  // not finished, not being deleted
bool IsPodReady(const bj::object& pod);
// Ready for at least min_ready_seconds.
bool IsPodAvailable(const bj::object& pod, int64_t min_ready_seconds, std::chrono::system_clock::time_point now);

// Runs fn for `count` items in batches of 1, 2, 4, ... (in parallel within a
// batch), stopping after a batch with a failure. Returns the successes.
int SlowStartBatch(int count, const std::function<bool(int)>& fn);

// Sorts pods so the ones to delete first come first (upstream's
// ActivePodsWithRanks: unassigned, pending, not ready, recently ready, more
// restarts, newer).
void SortPodsForDeletion(std::vector<client::ObjectPtr>& pods);

// metadata.labels of a pod template, and whether labels satisfy a map selector.
bool MapSelectorMatches(const bj::object* selector, const bj::object& obj);

}  // namespace kubepp::controllers

namespace kubepp::controllers {

// Whether `node` satisfies a pod spec's nodeSelector and required node
// affinity (matchExpressions on labels, matchFields on metadata.name).
bool NodeMatchesPodSelector(const bj::object& pod_spec, const bj::object& node);
// Whether one toleration (JSON) tolerates one taint (JSON).
bool TolerationMatches(const bj::object& toleration, const bj::object& taint);
// Whether a pod spec tolerates every taint of `node` whose effect is one of `effects`.
bool ToleratesTaints(const bj::object& pod_spec, const bj::object& node, std::initializer_list<std::string_view> effects);

}  // namespace kubepp::controllers
