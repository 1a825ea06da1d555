"""The controllers inside `kubepp server`, seen through upstream kubectl: the
controller manager holds its lease; the serviceaccount controller gives every
namespace a `default` service account (so `kubectl create token default`
works out of the box), creating it again when deleted; node IPAM gives every
node a pod CIDR. A second manager (`kubepp controller-manager`) waits for the
lease. Namespace deletion is in kubectl_test."""
import json
import os
import signal
import subprocess
import time
import unittest

from kubepp_cluster import KUBEPP, KubectlAssertions, Server


class ControllersTest(KubectlAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_default_service_accounts(self):
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.wait_for(lambda: self.s.kubectl("get", "sa", "default", "-n", ns).returncode == 0,
                          what="sa default in " + ns)
        self.ok("create", "namespace", "team-a")
        self.wait_for(lambda: self.s.kubectl("get", "sa", "default", "-n", "team-a").returncode == 0,
                      what="sa default in team-a")
        token = self.ok("create", "token", "default", "-n", "team-a").strip()
        self.assertEqual(token.count("."), 2)
        uid = json.loads(self.ok("get", "sa", "default", "-n", "team-a", "-o", "json"))["metadata"]["uid"]
        self.ok("delete", "sa", "default", "-n", "team-a")
        self.wait_for(lambda: (lambda p: p.returncode == 0 and json.loads(p.stdout)["metadata"]["uid"] != uid)(
            self.s.kubectl("get", "sa", "default", "-n", "team-a", "-o", "json")), what="sa default recreated")

    def test_nodes_get_pod_cidrs(self):
        def node(name, cidr=None):
            spec = {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {}
            return json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": spec})
        self.ok("create", "-f", "-", input=node("preset", "10.42.0.0/24"))
        self.ok("create", "-f", "-", input=node("n1"))
        self.ok("create", "-f", "-", input=node("n2"))

        def cidrs():
            out = self.ok("get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.spec.podCIDR} {end}")
            got = dict(kv.split("=", 1) for kv in out.split())
            return got if all(got.get(n) for n in ("preset", "n1", "n2")) else None
        got = self.wait_for(cidrs, what="pod CIDRs")
        self.assertEqual(got["preset"], "10.42.0.0/24")
        self.assertEqual(sorted([got["n1"], got["n2"]]), ["10.42.1.0/24", "10.42.2.0/24"])
        spec = json.loads(self.ok("get", "node", "n1", "-o", "json"))["spec"]
        self.assertEqual(spec["podCIDRs"], [spec["podCIDR"]])
        self.ok("delete", "node", "n1", "n2", "preset")

    def test_leader_lease_and_a_standby_manager(self):
        lease = json.loads(self.wait_for(
            lambda: (lambda p: p.stdout if p.returncode == 0 else None)(
                self.s.kubectl("get", "lease", "kube-controller-manager", "-n", "kube-system", "-o", "json")),
            what="the controller manager lease"))
        holder = lease["spec"]["holderIdentity"]
        self.assertTrue(holder)
        log = open(os.path.join(self.s.tmp, "cm.log"), "ab")
        standby = subprocess.Popen([KUBEPP, "controller-manager", "--kubeconfig", self.s.kubeconfig],
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            time.sleep(3)
            self.assertIsNone(standby.poll())
            lease = json.loads(self.ok("get", "lease", "kube-controller-manager", "-n", "kube-system", "-o", "json"))
            self.assertEqual(lease["spec"]["holderIdentity"], holder)  # the standby does not take it
        finally:
            standby.send_signal(signal.SIGTERM)
            self.assertEqual(standby.wait(10), 0)
            log.close()


if __name__ == "__main__":
    unittest.main()
