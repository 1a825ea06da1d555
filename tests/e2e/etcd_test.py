"""The API server on real etcd (Debian's etcd-server 3.4), as for clusters with
several API servers: two kubepp API servers on one etcd, sharing the cluster's
certificates, driven by upstream kubectl and plain HTTPS. Writes through one
are read, watched and conflict-checked through the other."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import threading
import time
import unittest
import urllib.request

from kubepp_cluster import Server, free_port


class Etcd:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="kubepp-etcd-")
        for _ in range(5):
            client, peer = free_port(), free_port()
            self.url = "http://127.0.0.1:%d" % client
            peer_url = "http://127.0.0.1:%d" % peer
            self.log = open(os.path.join(self.tmp, "etcd.log"), "ab")
            env = dict(os.environ, ETCD_UNSUPPORTED_ARCH="")
            self.proc = subprocess.Popen(
                ["etcd", "--name=default", "--data-dir=" + os.path.join(self.tmp, "data"),
                 "--listen-client-urls=" + self.url, "--advertise-client-urls=" + self.url,
                 "--listen-peer-urls=" + peer_url, "--initial-advertise-peer-urls=" + peer_url,
                 "--initial-cluster=default=" + peer_url, "--max-request-bytes=2097152", "--log-level=error"],
                stdout=self.log, stderr=subprocess.STDOUT, env=env)
            if self._wait_serving():
                return
            self.close(remove=False)
        raise RuntimeError("etcd did not start")

    def _wait_serving(self):
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                req = urllib.request.Request(self.url + "/v3/kv/range", data=b'{"key":"AA==","count_only":true}',
                                             method="POST")
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def close(self, remove=True):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.log.close()
        if remove:
            shutil.rmtree(self.tmp, ignore_errors=True)


class EtcdBackendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("etcd") is None:
            raise unittest.SkipTest("etcd is not installed (apt package etcd-server)")
        cls.etcd = Etcd()
        cls.a = Server(extra_args=["--etcd", cls.etcd.url])
        # The second server shares the first one's certificates and keys, as
        # servers of one cluster do.
        cls.b_dir = tempfile.mkdtemp(prefix="kubepp-b-")
        shutil.copytree(os.path.join(cls.a.data_dir, "pki"), os.path.join(cls.b_dir, "pki"))
        cls.b = Server(extra_args=["--etcd", cls.etcd.url], data_dir=cls.b_dir)

    @classmethod
    def tearDownClass(cls):
        cls.b.close()
        cls.a.close()
        shutil.rmtree(cls.b_dir, ignore_errors=True)
        cls.etcd.close()

    def ok(self, server, *args, **kw):
        p = server.kubectl(*args, **kw)
        self.assertEqual(p.returncode, 0, "kubectl %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def test_nothing_is_stored_locally(self):
        self.assertFalse(os.path.exists(os.path.join(self.a.data_dir, "db")))
        st, data = self.b.json("GET", "/api/v1/namespaces/default/services/kubernetes")
        self.assertEqual(st, 200)

    def test_write_through_one_read_through_the_other(self):
        self.ok(self.a, "create", "namespace", "shared")
        self.ok(self.a, "create", "configmap", "cfg", "-n", "shared", "--from-literal=k=v1")
        out = self.ok(self.b, "get", "configmap", "cfg", "-n", "shared", "-o", "jsonpath={.data.k}")
        self.assertEqual(out, "v1")
        manifest = textwrap.dedent("""\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: shared}
            spec:
              replicas: 2
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec: {containers: [{name: web, image: nginx:1.25}]}
            """)
        self.assertIn("created", self.ok(self.a, "apply", "-f", "-", input=manifest))
        self.assertIn("unchanged", self.ok(self.b, "apply", "-f", "-", input=manifest))
        self.assertIn("scaled", self.ok(self.b, "scale", "deployment", "web", "-n", "shared", "--replicas=5"))
        out = self.ok(self.a, "get", "deployment", "web", "-n", "shared", "-o", "jsonpath={.spec.replicas}")
        self.assertEqual(out, "5")
        # A stale resourceVersion conflicts, whichever server takes it.
        st, cm = self.a.json("GET", "/api/v1/namespaces/shared/configmaps/cfg")
        cm["data"]["k"] = "v2"
        st, _ = self.b.json("PUT", "/api/v1/namespaces/shared/configmaps/cfg", cm)
        self.assertEqual(st, 200)
        cm["data"]["k"] = "v3"
        st, err = self.a.json("PUT", "/api/v1/namespaces/shared/configmaps/cfg", cm)
        self.assertEqual(st, 409)
        self.assertEqual(err["reason"], "Conflict")

    def test_watch_on_one_sees_writes_on_the_other(self):
        st, lst = self.b.json("GET", "/api/v1/namespaces/default/configmaps")
        rv = lst["metadata"]["resourceVersion"]
        events = []

        def watch():
            st, data, _ = self.b.request(
                "GET", "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=3&resourceVersion=" + rv)
            for line in data.decode().splitlines():
                events.append(json.loads(line))

        t = threading.Thread(target=watch)
        t.start()
        time.sleep(0.3)
        self.a.json("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "w1"}, "data": {"x": "1"}})
        self.a.json("PATCH", "/api/v1/namespaces/default/configmaps/w1", {"data": {"x": "2"}},
                    {"Content-Type": "application/merge-patch+json"})
        self.a.json("DELETE", "/api/v1/namespaces/default/configmaps/w1")
        t.join()
        seen = [(e["type"], e["object"]["metadata"]["name"]) for e in events if e["object"]["metadata"].get("name") == "w1"]
        self.assertEqual(seen, [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")])
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        self.assertEqual(rvs, sorted(rvs))

    def test_paging_and_deletecollection(self):
        self.ok(self.a, "create", "namespace", "paged")
        for i in range(7):
            st, _ = self.a.json("POST", "/api/v1/namespaces/paged/configmaps",
                                {"metadata": {"name": "c%d" % i, "labels": {"group": "odd" if i % 2 else "even"}}})
            self.assertEqual(st, 201)
        names = []
        st, page = self.a.json("GET", "/api/v1/namespaces/paged/configmaps?limit=3")
        names += [c["metadata"]["name"] for c in page["items"]]
        while page["metadata"].get("continue"):
            # Pages continue on the other server: the token carries the revision.
            st, page = self.b.json("GET", "/api/v1/namespaces/paged/configmaps?limit=3&continue=" +
                                   page["metadata"]["continue"])
            self.assertEqual(st, 200)
            names += [c["metadata"]["name"] for c in page["items"]]
        self.assertEqual(names, ["c%d" % i for i in range(7)])
        st, _ = self.b.json("DELETE", "/api/v1/namespaces/paged/configmaps?labelSelector=group%3Dodd")
        self.assertEqual(st, 200)
        out = self.ok(self.a, "get", "configmaps", "-n", "paged", "-o", "name")
        self.assertEqual(out.split(), ["configmap/c0", "configmap/c2", "configmap/c4", "configmap/c6"])

    def test_acknowledged_writes_survive_kill9_of_a_server(self):
        for i in range(20):
            st, _ = self.a.json("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "k%d" % i}})
            self.assertEqual(st, 201)
        self.a.kill9()
        try:
            out = self.ok(self.b, "get", "configmaps", "-n", "default", "-o", "name")
            for i in range(20):
                self.assertIn("configmap/k%d\n" % i, out)
        finally:
            self.a.start()
        st, cm = self.a.json("GET", "/api/v1/namespaces/default/configmaps/k19")
        self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main()
