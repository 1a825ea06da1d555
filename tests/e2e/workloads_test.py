"""Workload controllers inside `kubepp server` with `kubepp sim` nodes, driven
by upstream kubectl and the Python client: replica sets and replication
controllers keep their replicas (replace deleted pods, scale, adopt matching
orphans, release pods whose labels change); deployments roll out, roll a new
image (`kubectl rollout status`), roll back (`rollout undo`), scale, pause and
resume, and recreate; cascading deletion in the background, foreground and
orphan modes (the garbage collector); a node that stops heartbeating goes
NotReady, is tainted, and its pods are evicted after their tolerationSeconds
and recreated elsewhere (node lifecycle); a daemon set lands on every eligible node and rolls a new
image; a stateful set creates pods in order with stable names and claims,
rolls updates down to its partition and scales down from the top; services
get Endpoints and EndpointSlices of the pods they select; disruption budgets
get their status; terminated pods beyond the threshold are collected; resource quotas report
what the namespace uses."""
import json
import subprocess
import unittest

from kubepp_cluster import Component, KubectlAssertions, Server

RS = """apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: %(ns)s}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx:1.25}]}
"""

RC = """apiVersion: v1
kind: ReplicationController
metadata: {name: legacy, namespace: %(ns)s}
spec:
  replicas: 2
  selector: {app: legacy}
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: c, image: nginx:1.25}]}
"""


class WorkloadsTest(KubectlAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Hollow nodes renew their leases every 10 s, as kubelets do.
        cls.s = Server(extra_args=("--node-monitor-grace-period", "15s", "--terminated-pod-gc-threshold", "3"))
        cls.sim = Component(cls.s, "sim", "--nodes", "3")

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        cls.s.close()

    def setUp(self):
        self.use_test_namespace()

    def pods(self, selector):
        out = json.loads(self.ok("get", "pods", "-n", self.ns, "-l", selector, "-o", "json"))
        return [p for p in out["items"] if not p["metadata"].get("deletionTimestamp")]

    def wait_replicas(self, kind, name, n, selector):
        def check():
            obj = json.loads(self.ok("get", kind, name, "-n", self.ns, "-o", "json"))
            st = obj.get("status", {})
            running = [p for p in self.pods(selector) if p["status"].get("phase") == "Running"]
            if st.get("replicas") == n and st.get("readyReplicas", 0) == n and len(running) == n:
                return obj
            return None
        return self.wait_for(check, timeout=30, what="%s/%s at %d ready" % (kind, name, n))

    def test_replicaset_replaces_scales_adopts_and_releases(self):
        self.ok("apply", "-f", "-", input=RS % {"ns": self.ns})
        rs = self.wait_replicas("rs", "web", 3, "app=web")
        self.assertEqual(rs["status"]["observedGeneration"], rs["metadata"]["generation"])
        pods = self.pods("app=web")
        for p in pods:
            ref = p["metadata"]["ownerReferences"][0]
            self.assertEqual((ref["kind"], ref["name"], ref["controller"]), ("ReplicaSet", "web", True))
            self.assertTrue(p["metadata"]["name"].startswith("web-"))
        gone = pods[0]["metadata"]["name"]
        self.ok("delete", "pod", gone, "-n", self.ns)
        self.wait_replicas("rs", "web", 3, "app=web")
        self.assertNotIn(gone, [p["metadata"]["name"] for p in self.pods("app=web")])
        self.ok("scale", "rs", "web", "--replicas=5", "-n", self.ns)
        self.wait_replicas("rs", "web", 5, "app=web")
        self.ok("scale", "rs", "web", "--replicas=2", "-n", self.ns)
        self.wait_replicas("rs", "web", 2, "app=web")
        out = self.ok("get", "rs", "web", "-n", self.ns, "--no-headers")
        self.assertRegex(out, r"^web\s+2\s+2\s+2\s+")
        events = self.ok("describe", "rs", "web", "-n", self.ns)
        self.assertRegex(events, r"Normal\s+SuccessfulCreate\s+\S+\s+replicaset-controller\s+Created pod: web-")
        self.assertRegex(events, r"Normal\s+SuccessfulDelete\s+\S+\s+replicaset-controller\s+Deleted pod: web-")
        # A matching orphan is adopted (and the extra pod removed).
        self.ok("run", "stray", "-n", self.ns, "--image=nginx:1.25", "--labels=app=web")
        self.wait_for(lambda: any(p["metadata"]["name"] == "stray" and p["metadata"].get("ownerReferences")
                                  for p in json.loads(self.ok("get", "pods", "-n", self.ns, "-o", "json"))["items"])
                      or self.s.kubectl("get", "pod", "stray", "-n", self.ns).returncode != 0, what="stray adopted")
        self.wait_replicas("rs", "web", 2, "app=web")
        # A pod relabelled out of the selector is released and replaced.
        keep = self.pods("app=web")[0]["metadata"]["name"]
        self.ok("label", "pod", keep, "-n", self.ns, "app=debug", "--overwrite")
        self.wait_replicas("rs", "web", 2, "app=web")
        released = json.loads(self.ok("get", "pod", keep, "-n", self.ns, "-o", "json"))
        self.assertFalse(released["metadata"].get("ownerReferences"))

    def test_replication_controller_with_python_client(self):
        self.ok("apply", "-f", "-", input=RC % {"ns": self.ns})
        self.wait_replicas("rc", "legacy", 2, "app=legacy")
        script = """
import sys, time
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
v1 = client.CoreV1Api()
v1.patch_namespaced_replication_controller_scale("legacy", sys.argv[2], {"spec": {"replicas": 4}})
for _ in range(300):
    rc = v1.read_namespaced_replication_controller("legacy", sys.argv[2])
    if rc.status.ready_replicas == 4 and rc.status.replicas == 4:
        print("ok", rc.status.available_replicas)
        sys.exit(0)
    time.sleep(0.1)
sys.exit("rc did not reach 4: %s" % rc.status)
"""
        r = subprocess.run(["/usr/bin/python3", "-c", script, self.s.kubeconfig, self.ns], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.strip(), "ok 4")
        self.wait_replicas("rc", "legacy", 4, "app=legacy")

    def test_deployment_rollout_undo_scale_pause(self):
        ns = ["-n", self.ns]
        self.ok("create", "deployment", "web", "--image=nginx:1.25", "--replicas=4", *ns)
        self.assertIn('deployment "web" successfully rolled out',
                      self.ok("rollout", "status", "deployment/web", "--timeout=30s", *ns))
        self.ok("set", "image", "deployment/web", "nginx=nginx:1.26", *ns)
        self.assertIn("successfully rolled out", self.ok("rollout", "status", "deployment/web", "--timeout=30s", *ns))
        rs = json.loads(self.ok("get", "rs", "-l", "app=web", "-o", "json", *ns))["items"]
        self.assertEqual(len(rs), 2)
        by_rev = {r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: r for r in rs}
        self.assertEqual(by_rev["2"]["spec"]["replicas"], 4)
        self.assertEqual(by_rev["1"]["spec"]["replicas"], 0)
        self.assertEqual(by_rev["2"]["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26")
        h = by_rev["2"]["metadata"]["labels"]["pod-template-hash"]
        self.assertEqual(by_rev["2"]["metadata"]["name"], "web-" + h)
        images = {p["spec"]["containers"][0]["image"] for p in self.pods("app=web")}
        self.assertEqual(images, {"nginx:1.26"})
        history = self.ok("rollout", "history", "deployment/web", *ns)
        self.assertRegex(history, r"REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>")
        d = json.loads(self.ok("get", "deployment", "web", "-o", "json", *ns))
        conds = {c["type"]: c for c in d["status"]["conditions"]}
        self.assertEqual(conds["Available"]["reason"], "MinimumReplicasAvailable")
        self.assertEqual(conds["Progressing"]["reason"], "NewReplicaSetAvailable")
        self.assertEqual(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2")
        self.assertRegex(self.ok("describe", "deployment", "web", *ns),
                         r"Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set web-")
        # Undo: back to nginx:1.25 as revision 3.
        self.ok("rollout", "undo", "deployment/web", *ns)
        self.ok("rollout", "status", "deployment/web", "--timeout=30s", *ns)
        d = json.loads(self.ok("get", "deployment", "web", "-o", "json", *ns))
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25")
        self.assertEqual(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3")
        self.assertEqual({p["spec"]["containers"][0]["image"] for p in self.pods("app=web")}, {"nginx:1.25"})
        # Scale.
        self.ok("scale", "deployment", "web", "--replicas=6", *ns)
        self.ok("rollout", "status", "deployment/web", "--timeout=30s", *ns)
        self.assertRegex(self.ok("get", "deployment", "web", "--no-headers", *ns), r"^web\s+6/6\s+6\s+6\s+")
        # Pause: a template change waits; resume rolls it out.
        self.ok("rollout", "pause", "deployment/web", *ns)
        self.ok("set", "image", "deployment/web", "nginx=nginx:1.27", *ns)
        def paused():
            d = json.loads(self.ok("get", "deployment", "web", "-o", "json", *ns))
            c = {c["type"]: c for c in d["status"].get("conditions", [])}.get("Progressing", {})
            return d if c.get("reason") == "DeploymentPaused" and d["status"].get("observedGeneration") == \
                d["metadata"]["generation"] else None
        self.wait_for(paused, what="Progressing=Unknown DeploymentPaused")
        self.assertEqual({p["spec"]["containers"][0]["image"] for p in self.pods("app=web")}, {"nginx:1.25"})
        self.ok("rollout", "resume", "deployment/web", *ns)
        self.ok("rollout", "status", "deployment/web", "--timeout=30s", *ns)
        self.assertEqual({p["spec"]["containers"][0]["image"] for p in self.pods("app=web")}, {"nginx:1.27"})

    def test_proportional_scaling_during_a_stuck_rollout(self):
        ns = ["-n", self.ns]
        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "prop", "namespace": self.ns},
               "spec": {"replicas": 10, "selector": {"matchLabels": {"app": "prop"}},
                        "strategy": {"rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}},
                        "template": {"metadata": {"labels": {"app": "prop"}},
                                     "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}
        self.ok("apply", "-f", "-", input=json.dumps(dep))
        self.ok("rollout", "status", "deployment/prop", "--timeout=30s", *ns)
        # A new template whose pods can never be placed: the rollout stalls.
        self.ok("patch", "deployment", "prop", "-p", json.dumps({"spec": {"template": {"spec": {
            "nodeSelector": {"nowhere": "true"}}}}}), *ns)
        def stalled():
            rs = json.loads(self.ok("get", "rs", "-l", "app=prop", "-o", "json", *ns))["items"]
            sizes = sorted(r["spec"]["replicas"] for r in rs)
            return rs if len(rs) == 2 and sum(sizes) == 13 else None
        rs = self.wait_for(stalled, what="a stalled rollout at 13 replicas")
        before = {r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: r["spec"]["replicas"] for r in rs}
        self.assertEqual(before, {"1": 8, "2": 5})
        self.ok("scale", "deployment", "prop", "--replicas=30", *ns)
        def scaled():
            rs = json.loads(self.ok("get", "rs", "-l", "app=prop", "-o", "json", *ns))["items"]
            sizes = {r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: r["spec"]["replicas"] for r in rs}
            return sizes if sum(sizes.values()) == 33 else None
        after = self.wait_for(scaled, what="33 replicas across both sets")
        # Each set grows by its share: 8/13 and 5/13 of 33 (upstream's arithmetic).
        self.assertEqual(after, {"1": 20, "2": 13})

    def test_deployment_with_python_client(self):
        script = """
import sys, time
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
apps = client.AppsV1Api()
ns = sys.argv[2]
body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "py"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "py"}},
                 "template": {"metadata": {"labels": {"app": "py"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}
apps.create_namespaced_deployment(ns, body)
def wait(image):
    for _ in range(300):
        d = apps.read_namespaced_deployment("py", ns)
        s = d.status
        if (s.observed_generation == d.metadata.generation and s.updated_replicas == 3 and s.available_replicas == 3
                and s.replicas == 3 and d.spec.template.spec.containers[0].image == image):
            return d
        time.sleep(0.1)
    sys.exit("not rolled out: %s" % d.status)
wait("nginx:1.25")
apps.patch_namespaced_deployment("py", ns, {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.26"}]}}}})
d = wait("nginx:1.26")
rs = apps.list_namespaced_replica_set(ns, label_selector="app=py").items
print(d.metadata.annotations["deployment.kubernetes.io/revision"], sorted(r.spec.replicas for r in rs))
"""
        r = subprocess.run(["/usr/bin/python3", "-c", script, self.s.kubeconfig, self.ns], capture_output=True,
                           text=True, timeout=90)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.strip(), "2 [0, 3]")

    def test_recreate_strategy(self):
        ns = ["-n", self.ns]
        manifest = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "db", "namespace": self.ns},
                    "spec": {"replicas": 2, "strategy": {"type": "Recreate"},
                             "selector": {"matchLabels": {"app": "db"}},
                             "template": {"metadata": {"labels": {"app": "db"}},
                                          "spec": {"containers": [{"name": "db", "image": "postgres:15"}]}}}}
        self.ok("apply", "-f", "-", input=json.dumps(manifest))
        self.ok("rollout", "status", "deployment/db", "--timeout=30s", *ns)
        self.ok("set", "image", "deployment/db", "db=postgres:16", *ns)
        self.ok("rollout", "status", "deployment/db", "--timeout=30s", *ns)
        self.assertEqual({p["spec"]["containers"][0]["image"] for p in self.pods("app=db")}, {"postgres:16"})
        events = self.ok("describe", "deployment", "db", *ns)
        # Recreate: the old set goes to 0 before the new one comes up.
        down = events.index("Scaled down replica set")
        up_new = [i for i in range(len(events)) if events.startswith("Scaled up replica set", i)][-1]
        self.assertLess(down, up_new)

    def test_cascading_delete_three_modes(self):
        ns = ["-n", self.ns]
        for name in ("bg", "fg", "orph"):
            self.ok("create", "deployment", name, "--image=nginx:1.25", "--replicas=2", *ns)
        for name in ("bg", "fg", "orph"):
            self.ok("rollout", "status", "deployment/" + name, "--timeout=30s", *ns)
        # Background (kubectl's default): the deployment goes at once, then its sets and pods.
        self.ok("delete", "deployment", "bg", *ns)
        self.wait_for(lambda: not self.pods("app=bg") and
                      not json.loads(self.ok("get", "rs", "-l", "app=bg", "-o", "json", *ns))["items"],
                      what="bg's replica set and pods collected")
        # Foreground: the deployment waits (finalizer) until its dependents are gone.
        self.ok("delete", "deployment", "fg", "--cascade=foreground", "--wait=false", *ns)
        d = self.s.kubectl("get", "deployment", "fg", "-o", "json", *ns)
        if d.returncode == 0:
            meta = json.loads(d.stdout)["metadata"]
            self.assertIn("deletionTimestamp", meta)
        self.wait_for(lambda: self.s.kubectl("get", "deployment", "fg", *ns).returncode != 0, what="fg gone")
        self.assertEqual(self.pods("app=fg"), [])
        self.assertEqual(json.loads(self.ok("get", "rs", "-l", "app=fg", "-o", "json", *ns))["items"], [])
        # Orphan: the replica set and pods stay, without the reference.
        self.ok("delete", "deployment", "orph", "--cascade=orphan", *ns)
        self.wait_for(lambda: self.s.kubectl("get", "deployment", "orph", *ns).returncode != 0, what="orph gone")
        rs = json.loads(self.ok("get", "rs", "-l", "app=orph", "-o", "json", *ns))["items"]
        self.assertEqual(len(rs), 1)
        self.assertFalse(rs[0]["metadata"].get("ownerReferences"))
        self.assertEqual(len(self.pods("app=orph")), 2)
        # A pod whose owner vanished while the collector was not looking is
        # still collected: an owner reference to a uid that does not exist.
        rs_name = rs[0]["metadata"]["name"]
        ghost = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "ghost", "namespace": self.ns, "ownerReferences": [
                     {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name,
                      "uid": "00000000-0000-0000-0000-000000000000"}]}}
        self.ok("apply", "-f", "-", input=json.dumps(ghost))
        self.wait_for(lambda: self.s.kubectl("get", "configmap", "ghost", *ns).returncode != 0,
                      what="dangling dependent collected")

    def test_daemonset_on_every_eligible_node(self):
        ns = ["-n", self.ns]
        self.ok("taint", "node", "hollow-2", "dedicated=x:NoSchedule")
        try:
            ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": self.ns},
                  "spec": {"selector": {"matchLabels": {"app": "agent"}},
                           "template": {"metadata": {"labels": {"app": "agent"}},
                                        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}}
            self.ok("apply", "-f", "-", input=json.dumps(ds))
            self.ok("rollout", "status", "ds/agent", "--timeout=30s", *ns)
            nodes = sorted(p["spec"]["nodeName"] for p in self.pods("app=agent"))
            self.assertEqual(nodes, ["hollow-0", "hollow-1"])
            pod = self.pods("app=agent")[0]
            keys = {(t.get("key"), t.get("effect")) for t in pod["spec"]["tolerations"]}
            self.assertIn(("node.kubernetes.io/unschedulable", "NoSchedule"), keys)
            self.assertIn("matchFields", json.dumps(pod["spec"]["affinity"]))
            self.ok("set", "image", "ds/agent", "c=busybox:1.37", *ns)
            self.ok("rollout", "status", "ds/agent", "--timeout=30s", *ns)
            self.assertEqual({p["spec"]["containers"][0]["image"] for p in self.pods("app=agent")}, {"busybox:1.37"})
            self.ok("taint", "node", "hollow-2", "dedicated-")
            self.wait_for(lambda: sorted(p["spec"].get("nodeName", "") for p in self.pods("app=agent")
                                         if p["status"].get("phase") == "Running") == ["hollow-0", "hollow-1", "hollow-2"],
                          what="a daemon pod on the untainted node")
            self.assertRegex(self.ok("get", "ds", "agent", "--no-headers", *ns), r"^agent\s+3\s+3\s+3\s+3\s+3\s+")
        finally:
            self.s.kubectl("taint", "node", "hollow-2", "dedicated-")

    def test_statefulset_ordered_stable_names(self):
        ns = ["-n", self.ns]
        sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": self.ns},
               "spec": {"serviceName": "db", "replicas": 3, "selector": {"matchLabels": {"app": "db"}},
                        "template": {"metadata": {"labels": {"app": "db"}},
                                     "spec": {"containers": [{"name": "c", "image": "postgres:15"}]}},
                        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}
        self.ok("apply", "-f", "-", input=json.dumps(sts))
        seen = []
        def ordered():
            names = sorted(p["metadata"]["name"] for p in self.pods("app=db"))
            seen.append(names)
            return names if len(names) == 3 and all(p["status"].get("phase") == "Running"
                                                    for p in self.pods("app=db")) else None
        self.wait_for(ordered, what="3 pods")
        for names in seen:  # always a prefix of db-0, db-1, db-2
            self.assertEqual(names, ["db-0", "db-1", "db-2"][:len(names)])
        self.ok("rollout", "status", "sts/db", "--timeout=30s", *ns)
        p1 = json.loads(self.ok("get", "pod", "db-1", "-o", "json", *ns))
        self.assertEqual((p1["spec"]["hostname"], p1["spec"]["subdomain"]), ("db-1", "db"))
        self.assertEqual(p1["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], "db-1")
        claim = [v for v in p1["spec"]["volumes"] if v["name"] == "data"][0]["persistentVolumeClaim"]["claimName"]
        self.assertEqual(claim, "data-db-1")
        self.ok("get", "pvc", "data-db-0", "data-db-1", "data-db-2", *ns)
        # Rolling update down to partition 1: db-2 and db-1 change, db-0 stays.
        self.ok("patch", "sts", "db", "-p", json.dumps({"spec": {"updateStrategy": {
            "type": "RollingUpdate", "rollingUpdate": {"partition": 1}}}}), *ns)
        self.ok("set", "image", "sts/db", "c=postgres:16", *ns)
        out = self.ok("rollout", "status", "sts/db", "--timeout=40s", *ns)
        self.assertIn("partitioned roll out complete: 2 new pods have been updated", out)
        images = {p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in self.pods("app=db")}
        self.assertEqual(images, {"db-0": "postgres:15", "db-1": "postgres:16", "db-2": "postgres:16"})
        # Scale down from the top.
        self.ok("scale", "sts", "db", "--replicas=1", *ns)
        self.wait_for(lambda: sorted(p["metadata"]["name"] for p in self.pods("app=db")) == ["db-0"], what="scaled to 1")
        self.assertEqual(len(json.loads(self.ok("get", "pvc", "-o", "json", *ns))["items"]), 3)  # claims are kept

    def test_service_endpoints_and_slices(self):
        ns = ["-n", self.ns]
        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": self.ns},
               "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"}},
                        "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [
                            {"name": "c", "image": "nginx:1.25", "ports": [{"name": "http", "containerPort": 8080}]}]}}}}
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": self.ns},
               "spec": {"selector": {"app": "api"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}]}}
        self.ok("apply", "-f", "-", input=json.dumps(dep))
        self.ok("apply", "-f", "-", input=json.dumps(svc))
        self.ok("rollout", "status", "deployment/api", "--timeout=30s", *ns)
        def endpoints(n):
            ep = json.loads(self.ok("get", "endpoints", "api", "-o", "json", *ns)) \
                if self.s.kubectl("get", "endpoints", "api", *ns).returncode == 0 else {}
            addrs = [a for s in ep.get("subsets", []) for a in s.get("addresses", [])]
            return ep if len(addrs) == n else None
        ep = self.wait_for(lambda: endpoints(3), what="3 endpoint addresses")
        self.assertEqual(ep["subsets"][0]["ports"], [{"name": "web", "port": 8080, "protocol": "TCP"}])
        ips = sorted(p["status"]["podIP"] for p in self.pods("app=api"))
        self.assertEqual(sorted(a["ip"] for a in ep["subsets"][0]["addresses"]), ips)
        self.assertEqual(ep["subsets"][0]["addresses"][0]["targetRef"]["kind"], "Pod")
        self.assertRegex(self.ok("get", "endpoints", "api", "--no-headers", *ns), r"^api\s+\S+:8080,\S+:8080,\S+:8080")
        slices = json.loads(self.ok("get", "endpointslices", "-l", "kubernetes.io/service-name=api", "-o", "json",
                                    *ns))["items"]
        self.assertEqual(len(slices), 1)
        self.assertEqual(sorted(e["addresses"][0] for e in slices[0]["endpoints"]), ips)
        self.assertTrue(all(e["conditions"]["ready"] for e in slices[0]["endpoints"]))
        self.assertEqual(slices[0]["ports"], [{"name": "web", "port": 8080, "protocol": "TCP"}])
        self.assertEqual(slices[0]["metadata"]["ownerReferences"][0]["kind"], "Service")
        self.ok("scale", "deployment", "api", "--replicas=1", *ns)
        self.wait_for(lambda: endpoints(1), what="1 endpoint address")
        self.ok("delete", "service", "api", *ns)
        self.wait_for(lambda: self.s.kubectl("get", "endpoints", "api", *ns).returncode != 0, what="endpoints removed")
        self.wait_for(lambda: not json.loads(self.ok("get", "endpointslices", "-o", "json", *ns))["items"],
                      what="slices collected")

    def test_pdb_status(self):
        ns = ["-n", self.ns]
        self.ok("create", "deployment", "guarded", "--image=nginx:1.25", "--replicas=3", *ns)
        self.ok("rollout", "status", "deployment/guarded", "--timeout=30s", *ns)
        self.ok("create", "pdb", "min2", "--selector=app=guarded", "--min-available=2", *ns)
        self.ok("create", "pdb", "half", "--selector=app=guarded", "--max-unavailable=50%", *ns)
        def status(name):
            return json.loads(self.ok("get", "pdb", name, "-o", "json", *ns)).get("status", {})
        st = self.wait_for(lambda: (lambda s: s if s.get("expectedPods") == 3 else None)(status("min2")), what="min2 status")
        self.assertEqual((st["currentHealthy"], st["desiredHealthy"], st["disruptionsAllowed"]), (3, 2, 1))
        self.assertEqual(st["conditions"][0]["reason"], "SufficientPods")
        st = self.wait_for(lambda: (lambda s: s if s.get("expectedPods") == 3 else None)(status("half")), what="half status")
        self.assertEqual((st["desiredHealthy"], st["disruptionsAllowed"]), (1, 2))
        self.assertRegex(self.ok("get", "pdb", "min2", "--no-headers", *ns), r"^min2\s+2\s+N/A\s+1\s+")
        # Two healthy pods left: min2 allows no more disruptions.
        self.ok("scale", "deployment", "guarded", "--replicas=2", *ns)
        st = self.wait_for(lambda: (lambda s: s if s.get("currentHealthy") == 2 else None)(status("min2")),
                           what="min2 at 2 healthy")
        self.assertEqual(st["disruptionsAllowed"], 0)
        self.assertEqual(st["conditions"][0]["reason"], "InsufficientPods")
        pod = self.pods("app=guarded")[0]["metadata"]["name"]
        # The eviction API reads the budget: 429 while it allows no disruption.
        evict = self.s.request("POST", "/api/v1/namespaces/%s/pods/%s/eviction" % (self.ns, pod),
                               {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod}})
        self.assertEqual(evict[0], 429)

    def test_terminated_pods_beyond_threshold_are_collected(self):
        ns = ["-n", self.ns]
        for i in range(5):
            self.ok("run", "done-%d" % i, "--image=busybox", "--restart=Never",
                    "--annotations=kubepp.io/sim-run-seconds=0.1", *ns)
        def succeeded():
            return [p for p in json.loads(self.ok("get", "pods", "-o", "json", *ns))["items"]
                    if p["status"].get("phase") == "Succeeded"]
        self.wait_for(lambda: len(succeeded()) == 5, what="5 pods Succeeded")
        # The collector runs every 20 s; the threshold here is 3 (whole cluster).
        self.wait_for(lambda: len(succeeded()) <= 3, timeout=45, what="terminated pods collected")
        left = sorted(p["metadata"]["name"] for p in succeeded())
        self.assertNotIn("done-0", left)

    def test_resource_quota_usage(self):
        ns = ["-n", self.ns]
        quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": self.ns},
                 "spec": {"hard": {"pods": "10", "requests.cpu": "2", "limits.memory": "4Gi", "configmaps": "5",
                                   "count/deployments.apps": "2"}}}
        self.ok("apply", "-f", "-", input=json.dumps(quota))
        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sized", "namespace": self.ns},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "sized"}},
                        "template": {"metadata": {"labels": {"app": "sized"}}, "spec": {"containers": [
                            {"name": "c", "image": "nginx:1.25", "resources": {
                                "requests": {"cpu": "100m"}, "limits": {"cpu": "200m", "memory": "256Mi"}}}]}}}}
        self.ok("apply", "-f", "-", input=json.dumps(dep))
        self.ok("create", "configmap", "one", "--from-literal=a=b", *ns)
        cms = len(json.loads(self.ok("get", "configmaps", "-o", "json", *ns))["items"])
        want = {"pods": "2", "requests.cpu": "200m", "limits.memory": "512Mi", "configmaps": str(cms),
                "count/deployments.apps": "1"}
        q = self.wait_for(lambda: (lambda q: q if q.get("status", {}).get("used") == want else None)(
            json.loads(self.ok("get", "resourcequota", "q", "-o", "json", *ns))), what="quota usage " + str(want))
        self.assertEqual(q["status"]["hard"], quota["spec"]["hard"])
        self.assertRegex(self.ok("describe", "quota", "q", *ns), r"requests\.cpu\s+200m\s+2")

    def test_silent_node_goes_not_ready_and_pods_move(self):
        lost = Component(self.s, "sim", "--nodes", "1", "--name-prefix", "lost", log="lost-sim.log")
        try:
            self.wait_for(lambda: " Ready " in self.s.kubectl("get", "node", "lost-0", "--no-headers").stdout,
                          what="lost-0 Ready")
            manifest = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "mover", "namespace": self.ns},
                        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "mover"}},
                                 "template": {"metadata": {"labels": {"app": "mover"}}, "spec": {
                                     "containers": [{"name": "c", "image": "nginx:1.25"}],
                                     "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                                      "effect": "NoExecute", "tolerationSeconds": 2}],
                                     "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                                         {"weight": 100, "preference": {"matchExpressions": [
                                             {"key": "kubernetes.io/hostname", "operator": "In",
                                              "values": ["lost-0"]}]}}]}}}}}}
            self.ok("apply", "-f", "-", input=json.dumps(manifest))
            self.wait_replicas("rs", "mover", 2, "app=mover")
            self.assertEqual({p["spec"]["nodeName"] for p in self.pods("app=mover")}, {"lost-0"})
            lost.kill9()
            node = self.wait_for(lambda: (lambda n: n if len(n["spec"].get("taints", [])) == 2 else None)(
                json.loads(self.ok("get", "node", "lost-0", "-o", "json"))), timeout=40, what="lost-0 tainted")
            ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"][0]
            self.assertEqual((ready["status"], ready["reason"], ready["message"]),
                             ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."))
            self.assertEqual(sorted((t["key"], t["effect"]) for t in node["spec"]["taints"]),
                             [("node.kubernetes.io/unreachable", "NoExecute"),
                              ("node.kubernetes.io/unreachable", "NoSchedule")])
            self.assertRegex(self.ok("get", "node", "lost-0", "--no-headers"), r"lost-0\s+NotReady")
            # Evicted after 2 s; the replica set brings them up on live nodes.
            def moved():
                pods = [p for p in self.pods("app=mover") if p["status"].get("phase") == "Running"]
                return pods if len(pods) == 2 and all(p["spec"]["nodeName"] != "lost-0" for p in pods) else None
            self.wait_for(moved, timeout=30, what="pods recreated on live nodes")
            events = self.ok("get", "events", "-n", self.ns)
            self.assertIn("TaintManagerEviction", events)
        finally:
            lost.close()
            self.s.kubectl("delete", "node", "lost-0")


if __name__ == "__main__":
    unittest.main()
