"""The scheduler inside `kubepp server`, and a second one (`kubepp scheduler`
with a configuration file) side by side, placing pods on `kubepp sim` hollow
nodes, driven by upstream kubectl: default placement with a Scheduled event,
nodeSelector and node affinity, pod anti-affinity and affinity, taints and
tolerations, cordoned nodes and the event that requeues a waiting pod,
FailedScheduling with upstream's message and PodScheduled=False, schedulerName,
and preemption by priority."""
import json
import os
import time
import unittest

from kubepp_cluster import Component, KubectlAssertions, Server

NODES = ["hollow-0", "hollow-1", "hollow-2"]

SECOND_CONFIG = """apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: packer
  plugins:
    score:
      disabled:
      - name: NodeResourcesBalancedAllocation
      - name: PodTopologySpread
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
"""


def pod(name, ns, spec_extra=None, labels=None, cpu=None, scheduler=None):
    c = {"name": "c", "image": "nginx:1.25"}
    if cpu:
        c["resources"] = {"requests": {"cpu": cpu}}
    p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
         "spec": {"containers": [c]}}
    if scheduler:
        p["spec"]["schedulerName"] = scheduler
    p["spec"].update(spec_extra or {})
    return json.dumps(p)


class SchedulerTest(KubectlAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.sim = Component(cls.s, "sim", "--nodes", "3", "--cpu", "4", "--memory", "8Gi")
        cfg = os.path.join(cls.s.tmp, "second.yaml")
        with open(cfg, "w") as f:
            f.write(SECOND_CONFIG)
        cls.second = Component(cls.s, "scheduler", "--config", cfg, "--leader-elect=false")

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        cls.second.close()
        cls.s.close()

    def setUp(self):
        self.wait_for(lambda: self.s.kubectl("get", "nodes", "--no-headers").stdout.count(" Ready ") == 3,
                      what="3 Ready nodes")
        self.use_test_namespace()

    def create(self, manifest):
        self.ok("apply", "-f", "-", input=manifest)

    def get(self, name):
        return json.loads(self.ok("get", "pod", name, "-n", self.ns, "-o", "json"))

    def node_of(self, name, timeout=20):
        return self.wait_for(lambda: self.get(name)["spec"].get("nodeName"), timeout=timeout, what=name + " bound")

    def failed_scheduling(self, name):
        def msg():
            for c in self.get(name)["status"].get("conditions", []):
                if c["type"] == "PodScheduled" and c["status"] == "False":
                    return c
            return None
        return self.wait_for(msg, what=name + " PodScheduled=False")

    def test_default_placement_runs_and_records_event(self):
        self.create(pod("web", self.ns))
        node = self.node_of("web")
        self.assertIn(node, NODES)
        self.ok("wait", "--for=condition=Ready", "pod/web", "-n", self.ns, "--timeout=20s")
        events = self.wait_for(lambda: (lambda o: o if "Scheduled" in o else None)(
            self.ok("get", "events", "-n", self.ns)), what="Scheduled event")
        self.assertIn("Successfully assigned %s/web to %s" % (self.ns, node), events)
        described = self.ok("describe", "pod", "web", "-n", self.ns)
        self.assertRegex(described, r"Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned")

    def test_node_selector_and_affinity(self):
        self.ok("label", "node", "hollow-1", "disk=ssd", "--overwrite")
        try:
            self.create(pod("sel", self.ns, {"nodeSelector": {"disk": "ssd"}}))
            self.assertEqual(self.node_of("sel"), "hollow-1")
            affinity = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": ["hollow-0", "hollow-2"]}]}]}}}}
            for i in range(4):
                self.create(pod("aff-%d" % i, self.ns, affinity))
            for i in range(4):
                self.assertIn(self.node_of("aff-%d" % i), ("hollow-0", "hollow-2"))
            # A selector nothing matches: upstream's reasons and no preemption.
            self.create(pod("nowhere", self.ns, {"nodeSelector": {"disk": "tape"}}))
            c = self.failed_scheduling("nowhere")
            self.assertEqual(c["reason"], "Unschedulable")
            self.assertEqual(c["message"], "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. "
                             "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..")
            # Labelling a node is the cluster event that lets it in.
            self.ok("label", "node", "hollow-2", "disk=tape")
            self.assertEqual(self.node_of("nowhere"), "hollow-2")
        finally:
            self.ok("label", "node", "hollow-1", "disk-")
            self.s.kubectl("label", "node", "hollow-2", "disk-")

    def test_pod_anti_affinity_and_affinity(self):
        anti = {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "one-per-node"}}, "topologyKey": "kubernetes.io/hostname"}]}}}
        for i in range(3):
            self.create(pod("anti-%d" % i, self.ns, anti, labels={"app": "one-per-node"}))
        nodes = sorted(self.node_of("anti-%d" % i) for i in range(3))
        self.assertEqual(nodes, NODES)
        self.create(pod("anti-3", self.ns, anti, labels={"app": "one-per-node"}))
        c = self.failed_scheduling("anti-3")
        # The pod's own anti-affinity is checked before the placed pods' (upstream's order).
        self.assertEqual(c["message"], "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. "
                         "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..")
        events = self.ok("get", "events", "-n", self.ns, "--field-selector", "involvedObject.name=anti-3")
        self.assertIn("FailedScheduling", events)
        # Affinity: next to the pod labelled "leader".
        self.create(pod("leader", self.ns, labels={"role": "leader"}))
        leader_node = self.node_of("leader")
        aff = {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"role": "leader"}}, "topologyKey": "kubernetes.io/hostname"}]}}}
        for i in range(3):
            self.create(pod("follower-%d" % i, self.ns, aff))
        for i in range(3):
            self.assertEqual(self.node_of("follower-%d" % i), leader_node)
        # Deleting one of the spread pods frees its node for the waiting one.
        victim_node = self.get("anti-0")["spec"]["nodeName"]
        self.ok("delete", "pod", "anti-0", "-n", self.ns, "--wait=false")
        self.assertEqual(self.node_of("anti-3", timeout=30), victim_node)

    def test_taints_and_tolerations(self):
        for n in ("hollow-0", "hollow-1"):
            self.ok("taint", "node", n, "dedicated=infra:NoSchedule")
        try:
            for i in range(3):
                self.create(pod("plain-%d" % i, self.ns))
            for i in range(3):
                self.assertEqual(self.node_of("plain-%d" % i), "hollow-2")
            tol = {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}],
                   "nodeSelector": {"kubernetes.io/hostname": "hollow-0"}}
            self.create(pod("tolerant", self.ns, tol))
            self.assertEqual(self.node_of("tolerant"), "hollow-0")
        finally:
            for n in ("hollow-0", "hollow-1"):
                self.s.kubectl("taint", "node", n, "dedicated=infra:NoSchedule-")

    def test_cordoned_nodes_and_requeue_on_uncordon(self):
        for n in NODES:
            self.ok("cordon", n)
        try:
            self.create(pod("waits", self.ns))
            c = self.failed_scheduling("waits")
            self.assertEqual(c["message"], "0/3 nodes are available: 3 node(s) were unschedulable. "
                             "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..")
            self.ok("uncordon", "hollow-1")
            self.assertEqual(self.node_of("waits"), "hollow-1")
            described = self.ok("describe", "pod", "waits", "-n", self.ns)
            self.assertIn("node(s) were unschedulable", described)
        finally:
            for n in NODES:
                self.s.kubectl("uncordon", n)

    def test_too_big_pod_reports_insufficient_cpu(self):
        self.create(pod("huge", self.ns, cpu="10"))
        c = self.failed_scheduling("huge")
        self.assertEqual(c["message"], "0/3 nodes are available: 3 Insufficient cpu. "
                         "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..")
        out = self.ok("get", "pod", "huge", "-n", self.ns, "--no-headers")
        self.assertRegex(out, r"huge\s+0/1\s+Pending")
        events = self.wait_for(lambda: (lambda o: o if "FailedScheduling" in o else None)(
            self.ok("describe", "pod", "huge", "-n", self.ns)), what="FailedScheduling in describe")
        self.assertRegex(events, r"Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0/3 nodes are available: "
                                 r"3 Insufficient cpu\.")

    def test_scheduler_name_picks_the_scheduler(self):
        self.create(pod("nobodys", self.ns, scheduler="no-such-scheduler"))
        self.create(pod("packed", self.ns, scheduler="packer"))
        node = self.node_of("packed")
        self.assertIn(node, NODES)
        events = self.wait_for(lambda: (lambda o: o if "Scheduled" in o else None)(
            self.ok("describe", "pod", "packed", "-n", self.ns)), what="Scheduled by packer")
        self.assertRegex(events, r"Normal\s+Scheduled\s+\S+\s+packer\s+Successfully assigned")
        time.sleep(1)
        p = self.get("nobodys")
        self.assertNotIn("nodeName", p["spec"])
        self.assertEqual(p["status"].get("conditions"), None)
        self.assertEqual(self.ok("get", "events", "-n", self.ns, "--field-selector", "involvedObject.name=nobodys",
                                 "-o", "name"), "")

    def test_preemption_by_priority(self):
        self.create(json.dumps({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                "metadata": {"name": "urgent"}, "value": 100000}))
        only = {"nodeSelector": {"kubernetes.io/hostname": "hollow-0"}}
        self.create(pod("low", self.ns, only, cpu="3"))
        self.assertEqual(self.node_of("low"), "hollow-0")
        high = dict(only, priorityClassName="urgent")
        self.create(pod("high", self.ns, high, cpu="3"))
        self.assertEqual(self.get("high")["spec"]["priority"], 100000)
        self.assertEqual(self.node_of("high", timeout=30), "hollow-0")
        self.assertEqual(self.get("high")["status"].get("nominatedNodeName"), "hollow-0")
        self.wait_for(lambda: self.s.kubectl("get", "pod", "low", "-n", self.ns).returncode != 0, what="low preempted")
        events = self.ok("get", "events", "-n", self.ns)
        self.assertRegex(events, r"Preempted\s+pod/low\s+Preempted by pod \S+ on node hollow-0")
        # Unknown class: refused by admission.
        r = self.s.kubectl("apply", "-f", "-", input=pod("nope", self.ns, {"priorityClassName": "missing"}))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('pods "nope" is forbidden: no PriorityClass with name missing was found', r.stderr)
        self.ok("delete", "priorityclass", "urgent")


if __name__ == "__main__":
    unittest.main()
