"""Debian's python3-kubernetes (22.6) against a real kubepp server: the
calls of the census' Python table, with its capitalised booleans."""
import os
import threading
import time
import unittest

from kubepp_cluster import Server

from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(extra_args=["--default-watch-cache-size=20"])
        os.environ["TMPDIR"] = cls.s.tmp  # the dynamic client's discovery cache
        cls.api_client = config.new_client_from_config(cls.s.kubeconfig)
        cls.core = client.CoreV1Api(cls.api_client)
        cls.apps = client.AppsV1Api(cls.api_client)

    @classmethod
    def tearDownClass(cls):
        cls.api_client.close()
        cls.s.close()

    def pod(self, name, labels=None):
        # For a scheduler that does not run: the server's scheduler would
        # otherwise write status (no nodes here) between a read and a replace.
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": "py"}},
                "spec": {"schedulerName": "not-running", "containers": [{"name": "c", "image": "busybox"}]}}

    def test_version(self):
        v = client.VersionApi(self.api_client).get_code()
        self.assertEqual((v.major, v.minor), ("1", "32"))

    def test_crud_and_errors(self):
        created = self.core.create_namespaced_pod("default", self.pod("py-crud"))
        self.assertEqual(created.metadata.name, "py-crud")
        self.assertEqual(created.status.phase, "Pending")
        with self.assertRaises(ApiException) as e:
            self.core.create_namespaced_pod("default", self.pod("py-crud"))
        self.assertEqual(e.exception.status, 409)
        self.assertIn('pods \\"py-crud\\" already exists', e.exception.body)
        with self.assertRaises(ApiException) as e:
            self.core.read_namespaced_pod("nosuch", "default")
        self.assertEqual(e.exception.status, 404)
        got = self.core.read_namespaced_pod("py-crud", "default")
        self.assertEqual(got.spec.containers[0].image, "busybox")
        patched = self.core.patch_namespaced_pod("py-crud", "default", {"metadata": {"labels": {"extra": "1"}}})
        self.assertEqual(patched.metadata.labels["extra"], "1")
        patched = self.core.patch_namespaced_pod("py-crud", "default", [{"op": "add", "path": "/metadata/labels/j", "value": "2"}])
        self.assertEqual(patched.metadata.labels["j"], "2")
        got.metadata.labels["replaced"] = "yes"
        got = self.core.read_namespaced_pod("py-crud", "default")
        got.metadata.labels["replaced"] = "yes"
        replaced = self.core.replace_namespaced_pod("py-crud", "default", got)
        self.assertEqual(replaced.metadata.labels["replaced"], "yes")
        got.metadata.labels["stale"] = "yes"
        with self.assertRaises(ApiException) as e:
            self.core.replace_namespaced_pod("py-crud", "default", got)  # stale resourceVersion
        self.assertEqual(e.exception.status, 409)
        deleted = self.core.delete_namespaced_pod("py-crud", "default")
        self.assertEqual(deleted.metadata.name, "py-crud")

    def test_list_paging(self):
        for i in range(3):
            self.core.create_namespaced_config_map("default", {"metadata": {"name": "page-%d" % i, "labels": {"paged": "y"}}, "data": {"i": str(i)}})
        first = self.core.list_namespaced_config_map("default", label_selector="paged=y", limit=2)
        self.assertEqual(len(first.items), 2)
        self.assertTrue(first.metadata._continue)
        rest = self.core.list_namespaced_config_map("default", label_selector="paged=y", limit=2, _continue=first.metadata._continue)
        self.assertEqual([c.metadata.name for c in first.items + rest.items], ["page-0", "page-1", "page-2"])
        self.assertFalse(rest.metadata._continue)

    def test_watch_with_capital_booleans(self):
        self.core.create_namespaced_pod("default", self.pod("py-watch", {"watched": "y"}))

        def later():
            time.sleep(0.5)
            self.core.patch_namespaced_pod("py-watch", "default", {"metadata": {"labels": {"changed": "1"}}})
        threading.Thread(target=later).start()
        seen = []
        w = watch.Watch()
        for ev in w.stream(self.core.list_namespaced_pod, "default", label_selector="watched=y", timeout_seconds=3):
            seen.append((ev["type"], ev["object"].metadata.name))
            if len(seen) == 2:
                w.stop()
        self.assertEqual(seen, [("ADDED", "py-watch"), ("MODIFIED", "py-watch")])

    def test_watch_too_old(self):
        # The server keeps 20 events per resource (--default-watch-cache-size).
        first = self.core.create_namespaced_secret("default", {"metadata": {"name": "old-0"}})
        for i in range(1, 30):
            self.core.create_namespaced_secret("default", {"metadata": {"name": "old-%d" % i}})
        with self.assertRaises(ApiException) as e:
            for _ in watch.Watch().stream(self.core.list_namespaced_secret, "default",
                                          resource_version=first.metadata.resource_version, timeout_seconds=2):
                pass
        self.assertEqual(e.exception.status, 410)
        self.assertIn("too old resource version", str(e.exception))

    def test_deployment_scale(self):
        d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "py-web"},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "py-web"}},
                      "template": {"metadata": {"labels": {"app": "py-web"}},
                                   "spec": {"containers": [{"name": "w", "image": "nginx"}]}}}}
        self.apps.create_namespaced_deployment("default", d)
        scale = self.apps.patch_namespaced_deployment_scale("py-web", "default", {"spec": {"replicas": 3}})
        self.assertEqual(scale.spec.replicas, 3)
        self.assertEqual(self.apps.read_namespaced_deployment("py-web", "default").spec.replicas, 3)
        self.apps.delete_namespaced_deployment("py-web", "default", body=client.V1DeleteOptions(propagation_policy="Foreground"))

    def test_namespace_without_kind(self):
        # A V1Namespace built without api_version/kind: the server fills them in.
        ns = self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py-bare")))
        self.assertEqual(ns.metadata.name, "py-bare")
        self.assertEqual(ns.status.phase, "Active")

    def test_token_request_and_review(self):
        self.core.create_namespaced_service_account(
            "default", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "py-sa"}})
        pod = self.core.create_namespaced_pod("default", self.pod("py-token-pod"))
        tr = self.core.create_namespaced_service_account_token("py-sa", "default", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": ["vault"], "expirationSeconds": 7200,
                     "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "py-token-pod"}}})
        self.assertEqual(tr.spec.audiences, ["vault"])
        self.assertEqual(tr.spec.bound_object_ref.uid, pod.metadata.uid)
        left = tr.status.expiration_timestamp.timestamp() - time.time()
        self.assertTrue(7100 < left < 7300, left)
        auth = client.AuthenticationV1Api(self.api_client)

        def review(token, audiences=None):
            spec = {"token": token}
            if audiences:
                spec["audiences"] = audiences
            return auth.create_token_review({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                             "spec": spec}).status
        # Our API server accepts only its own audience unless asked for others.
        self.assertFalse(review(tr.status.token).authenticated)
        st = review(tr.status.token, ["vault"])
        self.assertTrue(st.authenticated)
        self.assertEqual(st.user.username, "system:serviceaccount:default:py-sa")
        self.assertEqual(st.audiences, ["vault"])
        self.assertIn("system:serviceaccounts:default", st.user.groups)
        # Unbound token with the default audience is accepted by the server itself.
        plain = self.core.create_namespaced_service_account_token("py-sa", "default", {"spec": {}})
        self.assertEqual(plain.spec.expiration_seconds, 3600)
        self.assertTrue(review(plain.status.token).authenticated)
        # A token bound to a pod dies with the pod.
        self.core.delete_namespaced_pod("py-token-pod", "default", grace_period_seconds=0)
        deadline = time.time() + 20
        while review(tr.status.token, ["vault"]).authenticated and time.time() < deadline:
            time.sleep(0.5)
        self.assertFalse(review(tr.status.token, ["vault"]).authenticated)
        with self.assertRaises(ApiException) as e:
            self.core.create_namespaced_service_account_token("py-sa", "default", {
                "spec": {"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "py-token-pod"}}})
        self.assertEqual(e.exception.status, 404)
        with self.assertRaises(ApiException) as e:
            self.core.create_namespaced_service_account_token("py-sa", "default", {
                "spec": {"boundObjectRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"}}})
        self.assertEqual(e.exception.status, 400)

    def test_dynamic_client(self):
        dyn = dynamic.DynamicClient(self.api_client)
        pods = dyn.resources.get(api_version="v1", kind="Pod")
        pods.create(body=self.pod("py-dyn"), namespace="default")
        names = [p.metadata.name for p in pods.get(namespace="default").items]
        self.assertIn("py-dyn", names)
        deploys = dyn.resources.get(api_version="apps/v1", kind="Deployment")
        self.assertEqual(deploys.kind, "Deployment")


if __name__ == "__main__":
    unittest.main()
