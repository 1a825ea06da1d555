// The scheduling queue: priority order, backoff, unschedulable pods moved by
// the events that can help them, in-flight events, gated pods.
#include <gtest/gtest.h>

#include "api/yaml.h"
#include "scheduler/queue/scheduling_queue.h"

namespace kubepp::scheduler {
namespace {

PodInfoPtr Pod(const std::string& name, int priority = 0, const std::string& extra = "") {
  auto v = api::YamlToJson("metadata: {name: " + name + ", namespace: d}\nspec: {priority: " + std::to_string(priority) +
                           ", containers: [{name: c, image: x}]" + extra + "}");
  return ParsePod(std::make_shared<const bj::object>(v->get_object()));
}

SchedulingQueue NewQueue() {
  return SchedulingQueue([](const PodInfo& a, int64_t at, const PodInfo& b,
                            int64_t bt) { return a.priority != b.priority ? a.priority > b.priority : at < bt; },
                         [](const PodInfo& p) { return !p.scheduling_gated; }, std::chrono::milliseconds(50),
                         std::chrono::milliseconds(200));
}

TEST(Queue, PriorityThenAge) {
  auto q = NewQueue();
  q.Add(Pod("a"));
  q.Add(Pod("b", 10));
  q.Add(Pod("c"));
  EXPECT_EQ(q.Pop()->pod->name, "b");
  EXPECT_EQ(q.Pop()->pod->name, "a");
  EXPECT_EQ(q.Pop()->pod->name, "c");
}

TEST(Queue, UnschedulableWaitsForAnEventThatHelps) {
  auto q = NewQueue();
  q.Add(Pod("a"));
  auto qp = q.Pop();
  qp->unschedulable_plugins = {"NodeAffinity"};
  q.AddUnschedulable(*qp, false);
  q.Done("d/a");
  EXPECT_EQ(q.Stats()["unschedulable"], 1u);
  q.MoveAllToActiveOrBackoff(ClusterEvent::kAssignedPodDelete);  // does not help NodeAffinity
  EXPECT_EQ(q.Stats()["unschedulable"], 1u);
  // A status-only update does not move it either.
  q.Update(Pod("a"));
  EXPECT_EQ(q.Stats()["unschedulable"], 1u);
  q.MoveAllToActiveOrBackoff(ClusterEvent::kNodeAdd);
  EXPECT_EQ(q.Stats()["unschedulable"], 0u);
  auto again = q.Pop();  // after its backoff
  EXPECT_EQ(again->pod->name, "a");
  EXPECT_EQ(again->attempts, 2);
}

TEST(Queue, EventWhileInFlightMeansBackoffNotUnschedulable) {
  auto q = NewQueue();
  q.Add(Pod("a"));
  auto qp = q.Pop();
  q.MoveAllToActiveOrBackoff(ClusterEvent::kNodeUpdate);
  q.AddUnschedulable(*qp, false);
  q.Done("d/a");
  EXPECT_EQ(q.Stats()["backoff"], 1u);
  EXPECT_EQ(q.Pop()->pod->name, "a");
}

TEST(Queue, GatedPodsWaitForTheirGatesAndDeletesLeave) {
  auto q = NewQueue();
  q.Add(Pod("g", 0, ", schedulingGates: [{name: wait}]"));
  q.Add(Pod("x"));
  EXPECT_EQ(q.Pop()->pod->name, "x");
  q.Done("d/x");
  EXPECT_EQ(q.Stats()["unschedulable"], 1u);
  q.MoveAllToActiveOrBackoff(ClusterEvent::kNodeAdd);
  EXPECT_EQ(q.Stats()["unschedulable"], 1u);
  q.Update(Pod("g"));  // gates removed
  EXPECT_EQ(q.Pop()->pod->name, "g");
  q.Add(Pod("y"));
  q.Delete("d/y");
  EXPECT_EQ(q.Stats()["active"], 0u);
  q.ShutDown();
  EXPECT_FALSE(q.Pop().has_value());
}

}  // namespace
}  // namespace kubepp::scheduler
