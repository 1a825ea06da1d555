"""The controllers inside `kubepp server`, seen through upstream kubectl: the
controller manager holds its lease, and the serviceaccount controller gives
every namespace a `default` service account (so `kubectl create token default`
works out of the box), creating it again when deleted. A second manager
(`kubepp controller-manager`) waits for the lease."""
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
