"""`kubepp sim` hollow nodes against a real server, seen through upstream
kubectl: nodes register Ready with leases that are renewed, pods bound to
them run with an IP from the node's podCIDR, simulated jobs complete or fail,
and graceful deletions are finished by the node."""
import json
import time
import unittest

from kubepp_cluster import Component, KubectlAssertions, Server


class SimTest(KubectlAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.sim = Component(cls.s, "sim", "--nodes", "3", "--cpu", "4", "--memory", "8Gi")

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        cls.s.close()

    def test_nodes_register_ready_with_leases(self):
        def ready():
            out = self.s.kubectl("get", "nodes", "--no-headers").stdout
            return out if out.count(" Ready ") == 3 else None
        out = self.wait_for(ready, what="3 Ready nodes")
        for i in range(3):
            self.assertIn("hollow-%d" % i, out)
        node = json.loads(self.ok("get", "node", "hollow-1", "-o", "json"))
        self.assertEqual(node["spec"]["podCIDR"], "10.128.1.0/24")
        self.assertEqual(node["status"]["allocatable"]["cpu"], "4")
        self.assertEqual(node["status"]["nodeInfo"]["kubeletVersion"], "v1.32.4")
        self.assertIn("InternalIP", [a["type"] for a in node["status"]["addresses"]])
        lease = json.loads(self.ok("get", "lease", "hollow-1", "-n", "kube-node-lease", "-o", "json"))
        self.assertEqual(lease["spec"]["holderIdentity"], "hollow-1")
        self.assertEqual(lease["metadata"]["ownerReferences"][0]["kind"], "Node")
        first = lease["spec"]["renewTime"]
        self.wait_for(lambda: json.loads(self.ok("get", "lease", "hollow-1", "-n", "kube-node-lease", "-o", "json"))
                      ["spec"]["renewTime"] != first, timeout=25, what="a lease renewal")

    def test_bound_pods_run_and_deletions_finish(self):
        self.ok("run", "web", "--image=nginx:1.25", "--overrides",
                json.dumps({"spec": {"nodeName": "hollow-2"}}))
        pod = self.wait_for(lambda: (lambda p: p if p["status"].get("phase") == "Running" else None)(
            json.loads(self.ok("get", "pod", "web", "-o", "json"))), what="web Running")
        self.assertTrue(pod["status"]["podIP"].startswith("10.128.2."))
        self.assertEqual([c["type"] for c in pod["status"]["conditions"] if c["status"] == "True"][-1], "PodScheduled")
        out = self.ok("get", "pod", "web", "-o", "wide", "--no-headers")
        self.assertRegex(out, r"web\s+1/1\s+Running\s+0\s+\S+\s+10\.128\.2\.\d+\s+hollow-2")
        self.ok("wait", "--for=condition=Ready", "pod/web", "--timeout=20s")
        # Graceful deletion: the API marks it, the node finishes it.
        self.assertIn('pod "web" deleted', self.ok("delete", "pod", "web", "--timeout=20s"))
        self.assertNotEqual(self.s.kubectl("get", "pod", "web").returncode, 0)

    def test_simulated_completion(self):
        for name, code in (("job-ok", "0"), ("job-bad", "3")):
            self.ok("run", name, "--image=busybox", "--restart=Never", "--annotations=kubepp.io/sim-exit-code=" + code,
                    "--annotations=kubepp.io/sim-run-seconds=0.5",
                    "--overrides", json.dumps({"spec": {"nodeName": "hollow-0"}}))
        ok = self.wait_for(lambda: (lambda p: p if p["status"].get("phase") == "Succeeded" else None)(
            json.loads(self.ok("get", "pod", "job-ok", "-o", "json"))), what="job-ok Succeeded")
        self.assertEqual(ok["status"]["containerStatuses"][0]["state"]["terminated"]["reason"], "Completed")
        bad = self.wait_for(lambda: (lambda p: p if p["status"].get("phase") == "Failed" else None)(
            json.loads(self.ok("get", "pod", "job-bad", "-o", "json"))), what="job-bad Failed")
        self.assertEqual(bad["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 3)
        self.assertRegex(self.ok("get", "pod", "job-bad", "--no-headers"), r"job-bad\s+0/1\s+Error")
        # A pod for another node is left alone.
        self.ok("run", "elsewhere", "--image=busybox", "--overrides", json.dumps({"spec": {"nodeName": "real-node"}}))
        time.sleep(1)
        self.assertEqual(json.loads(self.ok("get", "pod", "elsewhere", "-o", "json"))["status"]["phase"], "Pending")


if __name__ == "__main__":
    unittest.main()
