"""Upstream kubectl (the apt package, running its built-in 1.32.4) against a
real kubepp server: the everyday commands of the census that need no running
container, with assertions on what kubectl prints and on what is stored."""
import json
import os
import re
import stat
import subprocess
import tempfile
import textwrap
import time
import unittest

from kubepp_cluster import Server

POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: nginx
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
    """)

DEPLOY = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicas: 2
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
          - name: web
            image: nginx:1.25
    """)


class KubectlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.dir = tempfile.mkdtemp(prefix="kubectl-files-")

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def k(self, *args, **kw):
        return self.s.kubectl(*args, **kw)

    def ok(self, *args, **kw):
        p = self.k(*args, **kw)
        self.assertEqual(p.returncode, 0, "kubectl %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def file(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def stored(self, path):
        status, obj = self.s.json("GET", path)
        self.assertEqual(status, 200, obj)
        return obj

    def ns(self, name):
        self.ok("create", "namespace", name)
        return name

    # --- discovery and basics -----------------------------------------------

    def test_version_reports_1_32(self):
        out = self.ok("version")
        self.assertIn("Server Version: v1.32.4", out)

    def test_api_resources_and_versions(self):
        out = self.ok("api-resources")
        self.assertRegex(out, r"deployments\s+deploy\s+apps/v1\s+true\s+Deployment")
        self.assertRegex(out, r"pods\s+po\s+v1\s+true\s+Pod")
        self.assertRegex(out, r"horizontalpodautoscalers\s+hpa\s+autoscaling/v2\s+true")
        versions = self.ok("api-versions")
        for gv in ["apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "v1", "autoscaling/v1", "autoscaling/v2"]:
            self.assertIn(gv + "\n", versions)

    def test_cluster_info_and_namespaces(self):
        self.assertIn("Kubernetes control plane is running at https://127.0.0.1:%d" % self.s.port, self.ok("cluster-info"))
        out = self.ok("get", "ns")
        for n in ["default", "kube-system", "kube-public", "kube-node-lease"]:
            self.assertRegex(out, n + r"\s+Active")
        svc = self.ok("get", "svc", "kubernetes", "-n", "default")
        self.assertRegex(svc, r"kubernetes\s+ClusterIP\s+10\.43\.0\.1\s+<none>\s+443/TCP")

    def test_auth(self):
        p = self.k("auth", "can-i", "create", "pods")
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stdout.strip(), "yes")
        out = self.ok("auth", "whoami")
        self.assertRegex(out, r"Username\s+kubernetes-admin")
        self.assertIn("system:masters", out)

    def test_create_token_and_use_it(self):
        ns = self.ns("tokens")
        self.ok("create", "serviceaccount", "robot", "-n", ns)
        token = self.ok("create", "token", "robot", "-n", ns, "--duration", "15m").strip()
        self.assertEqual(token.count("."), 2)
        p = self.k("create", "token", "ghost", "-n", ns)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('serviceaccounts "ghost" not found', p.stderr)
        p = self.k("create", "token", "robot", "-n", ns, "--duration", "1m")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("may not specify a duration less than 10 minutes", p.stderr)
        # A kubeconfig holding only the token: kubectl is the service account.
        with open(self.s.kubeconfig) as f:
            ca = re.search(r"certificate-authority-data: (\S+)", f.read()).group(1)
        kc = self.file("token.kubeconfig", textwrap.dedent("""\
            apiVersion: v1
            kind: Config
            clusters:
            - name: c
              cluster: {server: "https://127.0.0.1:%d", certificate-authority-data: %s}
            users:
            - name: robot
              user: {token: "%s"}
            contexts:
            - name: c
              context: {cluster: c, user: robot}
            current-context: c
            """ % (self.s.port, ca, token)))
        out = self.ok("--kubeconfig", kc, "auth", "whoami")
        self.assertRegex(out, r"Username\s+system:serviceaccount:%s:robot" % ns)
        self.assertIn("system:serviceaccounts:" + ns, out)
        self.assertIn("robot", self.ok("--kubeconfig", kc, "get", "sa", "-n", ns))
        # Deleting the service account revokes its tokens.
        self.ok("delete", "serviceaccount", "robot", "-n", ns)
        deadline = time.time() + 20
        while time.time() < deadline:
            p = self.k("--kubeconfig", kc, "get", "sa", "-n", ns)
            if p.returncode != 0:
                break
            time.sleep(0.5)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Unauthorized", p.stderr)

    def test_explain(self):
        out = self.ok("explain", "pod.spec.containers")
        self.assertIn("FIELD: containers <[]Container>", out)
        self.assertIn("image\t<string>", out)
        out = self.ok("explain", "deployment.spec.strategy")
        self.assertIn("rollingUpdate", out)

    # --- create, get and output formats --------------------------------------

    def test_create_get_formats(self):
        ns = self.ns("formats")
        self.assertIn("pod/nginx created", self.ok("create", "-n", ns, "-f", self.file("pod.yaml", POD)))
        table = self.ok("get", "pods", "-n", ns)
        self.assertRegex(table, r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nnginx\s+0/1\s+Pending\s+0\s+\d+s")
        wide = self.ok("get", "pods", "-n", ns, "-o", "wide")
        self.assertRegex(wide, r"IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES")
        pod = json.loads(self.ok("get", "pod", "nginx", "-n", ns, "-o", "json"))
        self.assertEqual(pod["metadata"]["labels"], {"app": "web"})
        self.assertEqual(pod["status"]["phase"], "Pending")
        self.assertTrue(pod["metadata"]["uid"])
        self.assertIn("name: nginx", self.ok("get", "pod", "nginx", "-n", ns, "-o", "yaml"))
        self.assertEqual(self.ok("get", "pods", "-n", ns, "-o", "name").strip(), "pod/nginx")
        self.assertEqual(self.ok("get", "pods", "-n", ns, "-o", "jsonpath={.items[0].spec.containers[0].image}"), "nginx:1.25")
        cc = self.ok("get", "pods", "-n", ns, "-o", "custom-columns=N:.metadata.name,I:.spec.containers[0].image")
        self.assertRegex(cc, r"N\s+I\nnginx\s+nginx:1.25")
        self.assertRegex(self.ok("get", "pods", "-n", ns, "--show-labels"), r"nginx .*app=web")
        self.assertRegex(self.ok("get", "pods", "-A"), r"formats\s+nginx\s+0/1\s+Pending")
        # Defaults the server applies are visible.
        self.assertEqual(pod["spec"]["restartPolicy"], "Always")
        self.assertEqual(pod["spec"]["containers"][0]["ports"][0]["protocol"], "TCP")
        self.assertEqual(pod["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent")

    def test_selectors_sorting_and_chunks(self):
        ns = self.ns("lists")
        for i, tier in enumerate(["fe", "be", "fe"]):
            self.ok("run", "p%d" % i, "-n", ns, "--image=busybox", "--labels=tier=%s,i=%d" % (tier, i))
        self.assertEqual(self.ok("get", "pods", "-n", ns, "-l", "tier=fe", "-o", "name").split(), ["pod/p0", "pod/p2"])
        self.assertEqual(self.ok("get", "pods", "-n", ns, "-l", "tier in (be)", "-o", "name").split(), ["pod/p1"])
        self.assertEqual(self.ok("get", "pods", "-n", ns, "--field-selector", "metadata.name=p1", "-o", "name").split(), ["pod/p1"])
        out = self.ok("get", "pods", "-n", ns, "--sort-by=.metadata.labels.i", "-o", "name")
        self.assertEqual(out.split(), ["pod/p0", "pod/p1", "pod/p2"])
        out = self.ok("get", "pods", "-n", ns, "--chunk-size=1", "-o", "name")
        self.assertEqual(out.split(), ["pod/p0", "pod/p1", "pod/p2"])
        p = self.k("get", "pods", "-n", ns, "-l", "a in (")
        self.assertNotEqual(p.returncode, 0)

    def test_create_errors(self):
        ns = self.ns("errors")
        path = self.file("pod-errors.yaml", POD)
        self.ok("create", "-n", ns, "-f", path)
        p = self.k("create", "-n", ns, "-f", path)
        self.assertEqual(p.returncode, 1)
        self.assertIn('Error from server (AlreadyExists): error when creating "%s": pods "nginx" already exists' % path, p.stderr)
        bad = self.file("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\nspec:\n  containers:\n  - name: c\n")
        p = self.k("create", "-n", ns, "-f", bad)
        self.assertIn('The Pod "broken" is invalid: spec.containers[0].image: Required value', p.stderr)
        typo = self.file("typo.yaml", POD.replace("name: nginx\n", "name: typo\n", 1).replace("containerPort: 80", "containerPort: 80\n      hostPortt: 80"))
        p = self.k("create", "-n", ns, "-f", typo)
        self.assertIn('strict decoding error: unknown field "spec.containers[0].ports[0].hostPortt"', p.stderr)
        p = self.k("create", "-n", ns, "-f", typo, "--validate=warn")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('Warning: unknown field "spec.containers[0].ports[0].hostPortt"', p.stderr)
        self.assertNotIn("hostPortt", json.dumps(self.stored("/api/v1/namespaces/%s/pods/typo" % ns)))
        p = self.k("get", "pod", "nosuch", "-n", ns)
        self.assertIn('Error from server (NotFound): pods "nosuch" not found', p.stderr)
        p = self.k("create", "namespace", "Bad_Name")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Invalid value: \"Bad_Name\"", p.stderr)

    # --- apply, replace, edit, patch ------------------------------------------

    def test_apply_twice_and_server_side(self):
        ns = self.ns("apply")
        path = self.file("deploy.yaml", DEPLOY)
        self.assertIn("deployment.apps/web created", self.ok("apply", "-n", ns, "-f", path))
        self.assertIn("deployment.apps/web unchanged", self.ok("apply", "-n", ns, "-f", path))
        path2 = self.file("deploy2.yaml", DEPLOY.replace("replicas: 2", "replicas: 4").replace("nginx:1.25", "nginx:1.27"))
        self.assertIn("deployment.apps/web configured", self.ok("apply", "-n", ns, "-f", path2))
        d = self.stored("/apis/apps/v1/namespaces/%s/deployments/web" % ns)
        self.assertEqual(d["spec"]["replicas"], 4)
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27")
        self.assertEqual(d["metadata"]["generation"], 2)
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration", d["metadata"]["annotations"])
        out = self.ok("apply", "-n", ns, "-f", path, "--dry-run=server")
        self.assertIn("configured (server dry run)", out)
        self.assertEqual(self.stored("/apis/apps/v1/namespaces/%s/deployments/web" % ns)["spec"]["replicas"], 4)
        cm = self.file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"1\"\n")
        self.assertIn("configmap/settings serverside-applied", self.ok("apply", "--server-side", "-n", ns, "-f", cm))
        cm2 = self.file("cm2.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"2\"\n  b: \"3\"\n")
        self.assertIn("configmap/settings serverside-applied", self.ok("apply", "--server-side", "-n", ns, "-f", cm2))
        self.assertEqual(self.stored("/api/v1/namespaces/%s/configmaps/settings" % ns)["data"], {"a": "2", "b": "3"})
        p = self.k("diff", "-n", ns, "-f", path)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("-  replicas: 4", p.stdout)

    def test_replace_edit_patch_label(self):
        ns = self.ns("mutate")
        path = self.file("pod-mutate.yaml", POD)
        self.ok("create", "-n", ns, "-f", path)
        live = self.ok("get", "pod", "nginx", "-n", ns, "-o", "yaml").replace("app: web", "app: web2")
        self.assertIn("pod/nginx replaced", self.ok("replace", "-n", ns, "-f", self.file("pod-r.yaml", live)))
        pod = self.stored("/api/v1/namespaces/%s/pods/nginx" % ns)
        self.assertEqual(pod["metadata"]["labels"]["app"], "web2")
        self.assertEqual(pod["status"]["phase"], "Pending", "replace must not wipe status")
        editor = self.file("editor.sh", "#!/bin/sh\nsed -i 's/app: web2/app: edited/' \"$1\"\n")
        os.chmod(editor, stat.S_IRWXU)
        self.assertIn("pod/nginx edited", self.ok("edit", "pod", "nginx", "-n", ns, env={"EDITOR": editor, "KUBE_EDITOR": editor}))
        self.assertEqual(self.stored("/api/v1/namespaces/%s/pods/nginx" % ns)["metadata"]["labels"]["app"], "edited")
        self.ok("patch", "pod", "nginx", "-n", ns, "-p", '{"metadata":{"labels":{"s":"1"}}}')
        self.ok("patch", "pod", "nginx", "-n", ns, "--type=merge", "-p", '{"metadata":{"labels":{"m":"2"}}}')
        self.ok("patch", "pod", "nginx", "-n", ns, "--type=json", "-p", '[{"op":"add","path":"/metadata/labels/j","value":"3"}]')
        self.ok("patch", "pod", "nginx", "-n", ns, "-p",
                '{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}')
        pod = self.stored("/api/v1/namespaces/%s/pods/nginx" % ns)
        self.assertEqual({k: pod["metadata"]["labels"][k] for k in ["s", "m", "j"]}, {"s": "1", "m": "2", "j": "3"})
        self.assertEqual(pod["spec"]["containers"][0]["image"], "nginx:1.27")
        self.assertEqual(pod["spec"]["containers"][0]["ports"][0]["containerPort"], 80, "strategic merge keeps other fields")
        self.assertIn("pod/nginx labeled", self.ok("label", "pod", "nginx", "-n", ns, "env=prod"))
        self.assertIn("pod/nginx annotated", self.ok("annotate", "pod", "nginx", "-n", ns, "note=hello"))
        self.assertIn("pod/nginx unlabeled", self.ok("label", "pod", "nginx", "-n", ns, "env-"))
        pod = self.stored("/api/v1/namespaces/%s/pods/nginx" % ns)
        self.assertNotIn("env", pod["metadata"]["labels"])
        self.assertEqual(pod["metadata"]["annotations"]["note"], "hello")
        managers = {e["manager"] for e in pod["metadata"]["managedFields"]}
        self.assertTrue({"kubectl-create", "kubectl-label", "kubectl-annotate", "kubectl-patch"} <= managers, managers)

    def test_scale_and_typed_creates(self):
        ns = self.ns("typed")
        # kubectl 1.32 sends these as protobuf.
        self.ok("create", "deployment", "web", "-n", ns, "--image=nginx", "--replicas=2", "--port=80")
        self.ok("create", "configmap", "cfg", "-n", ns, "--from-literal=k=v")
        self.ok("create", "secret", "generic", "sec", "-n", ns, "--from-literal=p=q")
        self.ok("create", "serviceaccount", "robot", "-n", ns)
        self.ok("create", "service", "clusterip", "svc1", "-n", ns, "--tcp=80:8080")
        self.ok("create", "job", "once", "-n", ns, "--image=busybox", "--", "true")
        self.ok("create", "cronjob", "tick", "-n", ns, "--image=busybox", "--schedule=*/5 * * * *", "--", "true")
        self.ok("create", "role", "reader", "-n", ns, "--verb=get", "--resource=pods")
        self.ok("create", "rolebinding", "rb", "-n", ns, "--role=reader", "--user=alice")
        self.ok("create", "poddisruptionbudget", "pdb", "-n", ns, "--selector=app=web", "--min-available=1")
        d = self.stored("/apis/apps/v1/namespaces/%s/deployments/web" % ns)
        self.assertEqual(d["spec"]["replicas"], 2)
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 80)
        self.assertEqual(self.stored("/api/v1/namespaces/%s/configmaps/cfg" % ns)["data"], {"k": "v"})
        self.assertEqual(self.stored("/api/v1/namespaces/%s/secrets/sec" % ns)["data"], {"p": "cQ=="})
        svc = self.stored("/api/v1/namespaces/%s/services/svc1" % ns)
        self.assertEqual(svc["spec"]["ports"][0]["targetPort"], 8080)
        self.assertRegex(svc["spec"]["clusterIP"], r"^10\.43\.")
        job = self.stored("/apis/batch/v1/namespaces/%s/jobs/once" % ns)
        self.assertEqual(job["spec"]["template"]["spec"]["containers"][0]["command"], ["true"])
        self.assertEqual(self.stored("/apis/batch/v1/namespaces/%s/cronjobs/tick" % ns)["spec"]["schedule"], "*/5 * * * *")
        rb = self.stored("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings/rb" % ns)
        self.assertEqual(rb["subjects"][0]["name"], "alice")
        self.assertIn("deployment.apps/web scaled", self.ok("scale", "deployment", "web", "-n", ns, "--replicas=5"))
        self.assertEqual(self.stored("/apis/apps/v1/namespaces/%s/deployments/web/scale" % ns)["spec"]["replicas"], 5)
        out = self.ok("get", "deploy,cm,secret,sa,svc,job,cronjob,pdb,role,rolebinding", "-n", ns)
        # No nodes here: the deployment's pods exist (up to date once the
        # controller has written status) but none is ready.
        self.assertRegex(out, r"deployment.apps/web\s+0/5\s+[0-5]\s+0")
        self.assertRegex(out, r"cronjob.batch/tick\s+\*/5 \* \* \* \*")
        self.ok("expose", "deployment", "web", "-n", ns, "--port=80", "--name=websvc")
        self.assertEqual(self.stored("/api/v1/namespaces/%s/services/websvc" % ns)["spec"]["selector"], {"app": "web"})
        self.ok("autoscale", "deployment", "web", "-n", ns, "--min=1", "--max=4", "--cpu-percent=60")
        hpa = self.stored("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/web" % ns)
        self.assertEqual(hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 60)

    def test_describe_and_events(self):
        ns = self.ns("describe")
        self.ok("create", "-n", ns, "-f", self.file("pod-d.yaml", POD))
        out = self.ok("describe", "pod", "nginx", "-n", ns)
        self.assertRegex(out, r"Name:\s+nginx")
        self.assertRegex(out, r"Port:\s+80/TCP")
        event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "nginx.1"},
                 "involvedObject": {"kind": "Pod", "name": "nginx", "namespace": ns, "apiVersion": "v1"},
                 "reason": "Testing", "message": "hello from the test", "type": "Normal",
                 "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z", "count": 1,
                 "source": {"component": "e2e"}}
        status, _ = self.s.json("POST", "/api/v1/namespaces/%s/events" % ns, event)
        self.assertEqual(status, 201)
        self.assertRegex(self.ok("get", "events", "-n", ns), r"Normal\s+Testing\s+pod/nginx\s+hello from the test")
        self.assertIn("hello from the test", self.ok("events", "-n", ns))

    def test_watch_and_wait(self):
        ns = self.ns("watch")
        self.ok("create", "-n", ns, "-f", self.file("pod-w.yaml", POD))
        w = subprocess.Popen(["kubectl", "get", "pods", "-n", ns, "-w"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, HOME=self.s.home, KUBECONFIG=self.s.kubeconfig))
        time.sleep(1.0)
        self.ok("label", "pod", "nginx", "-n", ns, "seen=yes")
        time.sleep(1.0)
        w.terminate()
        out, _ = w.communicate(timeout=10)
        lines = [l for l in out.splitlines() if l.startswith("nginx")]
        self.assertGreaterEqual(len(lines), 2, out)
        wt = self.k("wait", "--for=delete", "pod/nosuch", "-n", ns, "--timeout=5s")
        self.assertEqual(wt.returncode, 0, wt.stderr)
        self.ok("patch", "pod", "nginx", "-n", ns, "--subresource=status", "--type=merge", "-p",
                '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}')
        self.assertIn("condition met", self.ok("wait", "--for=condition=Ready", "pod/nginx", "-n", ns, "--timeout=10s"))

    def test_delete(self):
        ns = self.ns("delete")
        self.ok("create", "-n", ns, "-f", self.file("pod-del.yaml", POD))
        self.ok("create", "configmap", "a", "-n", ns, "--from-literal=x=y")
        self.ok("create", "configmap", "b", "-n", ns, "--from-literal=x=y")
        self.ok("label", "configmap", "a", "b", "-n", ns, "group=g")
        self.assertIn('pod "nginx" deleted', self.ok("delete", "pod", "nginx", "-n", ns, "--timeout=20s"))
        self.assertIn('configmap "a" deleted', self.ok("delete", "configmaps", "-l", "group=g", "-n", ns))
        self.assertEqual(self.ok("get", "cm", "-n", ns, "-o", "name", "-l", "group=g").strip(), "")
        p = self.k("delete", "pod", "nginx", "-n", ns)
        self.assertIn('pods "nginx" not found', p.stderr)
        p = self.k("delete", "namespace", "default")
        self.assertIn('namespaces "default" is forbidden: this namespace may not be deleted', p.stderr)
        # An object with a finalizer holds the namespace in Terminating.
        self.ok("create", "configmap", "held", "-n", ns, "--from-literal=x=y")
        self.ok("patch", "configmap", "held", "-n", ns, "--type=merge", "-p",
                '{"metadata":{"finalizers":["example.com/hold"]}}')
        self.ok("delete", "namespace", ns, "--wait=false")
        self.assertRegex(self.ok("get", "ns", ns), ns + r"\s+Terminating")
        p = self.k("create", "configmap", "late", "-n", ns, "--from-literal=a=b")
        self.assertIn("because it is being terminated", p.stderr)
        # The namespace controller emptied the rest and waits for the finalizer.
        deadline = time.time() + 20
        while time.time() < deadline and self.ok("get", "cm", "-n", ns, "-o", "name").split() != ["configmap/held"]:
            time.sleep(0.2)
        self.assertEqual(self.ok("get", "cm", "-n", ns, "-o", "name").split(), ["configmap/held"])
        self.ok("patch", "configmap", "held", "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
        self.ok("wait", "--for=delete", "namespace/" + ns, "--timeout=30s")

    def test_namespace_deletion_empties_and_removes_it(self):
        ns = self.ns("doomed")
        self.ok("create", "deployment", "web", "-n", ns, "--image=nginx:1.25")
        self.ok("create", "-n", ns, "-f", self.file("pod-doomed.yaml", POD))
        self.ok("create", "secret", "generic", "s", "-n", ns, "--from-literal=a=b")
        self.assertIn('namespace "doomed" deleted', self.ok("delete", "namespace", ns, "--timeout=60s"))
        self.assertNotEqual(self.k("get", "ns", ns).returncode, 0)
        self.assertEqual(self.ok("get", "deployments,pods,secrets", "-n", ns, "-o", "name").strip(), "")


if __name__ == "__main__":
    unittest.main()
