"""Pods as real containers: `kubepp server` with its node agent (kubelet,
runc, CNI bridge) and the busybox test image, driven by upstream kubectl and
the Python client. Needs root, runc and the CNI plugins; skips otherwise.
Traffic goes only to the pod addresses of the server's own bridge; every
container, mount and interface is gone after the test."""
import base64
import fcntl
import json
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import socket
import termios
import time
import unittest
import urllib.error
import urllib.request

from kubepp_cluster import KUBEPP, TEST_IMAGES, KubectlAssertions, Server, free_port, node_support

SKIP = node_support()


def pod(name, containers, ns, restart="Always", extra=None):
    spec = {"restartPolicy": restart, "containers": containers, "terminationGracePeriodSeconds": 5}
    spec.update(extra or {})
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": spec})


class Registry:
    """Debian's docker-registry on a loopback port, optionally with TLS and
    htpasswd (bcrypt) users; images pushed into it with skopeo."""

    def __init__(self, tmp, name, users=None):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.host = "127.0.0.1:%d" % self.port
        cfg = ["version: 0.1", "log:", "  level: warn", "storage:", "  filesystem:",
               "    rootdirectory: %s/data" % self.dir, "http:", "  addr: %s" % self.host]
        if users:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", self.dir + "/key.pem",
                            "-out", self.dir + "/cert.pem"], check=True, capture_output=True)
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                import crypt
                lines = ["%s:%s" % (u, crypt.crypt(p, crypt.mksalt(crypt.METHOD_BLOWFISH))) for u, p in users.items()]
            with open(self.dir + "/htpasswd", "w") as f:
                f.write("\n".join(lines) + "\n")
            cfg += ["  tls:", "    certificate: %s/cert.pem" % self.dir, "    key: %s/key.pem" % self.dir,
                    "auth:", "  htpasswd:", "    realm: kubepp-test", "    path: %s/htpasswd" % self.dir]
        with open(self.dir + "/config.yml", "w") as f:
            f.write("\n".join(cfg) + "\n")
        self.log = open(self.dir + "/registry.log", "ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", self.dir + "/config.yml"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")

    def push(self, ref, creds=None):
        """Copies the busybox test image to <registry>/<ref>; returns its manifest digest."""
        args = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--digestfile", self.dir + "/digest"]
        if creds:
            args += ["--dest-creds", creds]
        subprocess.run(args + ["oci-archive:" + os.path.join(TEST_IMAGES, "busybox.tar"),
                               "docker://%s/%s" % (self.host, ref)], check=True, capture_output=True, timeout=120)
        return read(self.dir + "/digest").strip()

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def read(path):
    with open(path) as f:
        return f.read()


def c(name, *cmd, **kw):
    out = {"name": name, "image": "busybox", "command": list(cmd)}
    out.update(kw)
    return out


@unittest.skipIf(SKIP, SKIP or "")
class NodeTest(KubectlAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(agent=True)

    @classmethod
    def tearDownClass(cls):
        s = cls.s
        s.close()
        # Nothing of the node is left on the machine.
        links = subprocess.run(["ip", "link"], capture_output=True, text=True).stdout
        assert s.bridge not in links, links
        routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
        assert s.cluster_cidr not in routes, routes
        with open("/proc/self/mountinfo") as f:
            mounts = f.read()
        assert s.tmp not in mounts, mounts

    def setUp(self):
        self.use_test_namespace()

    def get(self, kind, name):
        return json.loads(self.ok("get", kind, name, "-o", "json", *self.n))

    def wait_pod(self, name, check, timeout=60, what=""):
        def f():
            p = self.s.kubectl("get", "pod", name, "-o", "json", *self.n)
            if p.returncode != 0:
                return None
            o = json.loads(p.stdout)
            return o if check(o) else None
        return self.wait_for(f, timeout, what or name)

    def state(self, o, i=0, key="containerStatuses"):
        return o.get("status", {}).get(key, [{}])[i].get("state", {})

    def env(self, **extra):
        return dict(os.environ, HOME=self.s.home, KUBECONFIG=self.s.kubeconfig, **extra)

    def on_terminal(self, args, keys=(), until=b"", rows=30, cols=100, timeout=60):
        """Runs kubectl on a pseudo-terminal of rows x cols, typing each of
        `keys` once the output so far holds its prompt; returns (output, exit code)."""
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvpe("kubectl", ["kubectl", *args], self.env())
            finally:
                os._exit(127)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        out, pending, seen, deadline = b"", list(keys), 0, time.time() + timeout
        while time.time() < deadline:
            if pending and pending[0][0] in out[seen:]:
                seen = len(out)  # each prompt is answered once
                os.write(fd, pending.pop(0)[1])
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            out += d
        os.close(fd)
        _, st = os.waitpid(pid, 0)
        return out, os.waitstatus_to_exitcode(st)

    def forward(self, target, env=None):
        """`kubectl port-forward target :80`; returns (process, local port)."""
        pf = subprocess.Popen(["kubectl", "port-forward", target, ":80", *self.n], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=self.env(**(env or {})))
        line = pf.stdout.readline()
        self.assertIn("-> 80", line, pf.stderr.read() if not line else line)
        return pf, int(line.split("127.0.0.1:")[1].split()[0])

    def test_node_registers_with_the_machine(self):
        node = self.get("node", self.s.node_name)
        ready = [x for x in node["status"]["conditions"] if x["type"] == "Ready"][0]
        self.assertEqual(ready["status"], "True", node["status"]["conditions"])
        self.assertEqual(node["status"]["capacity"]["cpu"], str(len(os.sched_getaffinity(0))))
        self.assertTrue(node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("runc://"))
        names = [n for im in node["status"]["images"] for n in im["names"]]
        self.assertIn("docker.io/library/busybox:latest", names)
        self.assertTrue(node["spec"]["podCIDR"].startswith(self.s.cluster_cidr.split(".0.0/")[0]))
        out = self.ok("get", "nodes", "-o", "wide")
        self.assertIn("runc://", out)
        self.assertIn("Ready", out)

    def test_deployment_runs_and_serves_on_pod_ips(self):
        self.ok("create", "deployment", "web", "--image=busybox", "--replicas=2", *self.n,
                "--", "httpd", "-f", "-p", "80", "-h", "/var/www")
        self.ok("rollout", "status", "deployment/web", "--timeout=60s", *self.n, timeout=90)
        pods = json.loads(self.ok("get", "pods", "-l", "app=web", "-o", "json", *self.n))["items"]
        self.assertEqual(len(pods), 2)
        ips = set()
        for p in pods:
            self.assertEqual(p["status"]["phase"], "Running")
            self.assertEqual(p["status"]["qosClass"], "BestEffort")
            ip = p["status"]["podIP"]
            ips.add(ip)
            self.assertTrue(ip.startswith(self.s.cluster_cidr.split(".0.0/")[0]), ip)
            body = urllib.request.urlopen("http://%s/" % ip, timeout=5).read().decode()
            self.assertIn("hello from kubepp", body)
            cs = p["status"]["containerStatuses"][0]
            self.assertTrue(cs["ready"], p["status"])
            self.assertIn("running", cs["state"])
            self.assertTrue(cs["imageID"].startswith("docker.io/library/busybox@sha256:"), cs["imageID"])
        self.assertEqual(len(ips), 2)
        out = self.ok("get", "pods", "-o", "wide", *self.n)
        self.assertIn(self.s.node_name, out)
        # Scaling down removes a pod's container and its address.
        self.ok("scale", "deployment/web", "--replicas=1", *self.n)
        self.wait_for(lambda: len(json.loads(self.ok("get", "pods", "-l", "app=web", "-o", "json", *self.n))["items"]) == 1,
                      60, "scale down")

    def test_exit_codes_restarts_and_backoff(self):
        self.ok("apply", "-f", "-", input=pod("crash", [c("c", "sh", "-c", "echo dying; exit 2")], self.ns))
        o = self.wait_pod("crash", lambda o: o["status"].get("containerStatuses", [{}])[0].get("restartCount", 0) >= 1
                          and "waiting" in self.state(o), 60, "a restart")
        cs = o["status"]["containerStatuses"][0]
        self.assertEqual(cs["state"]["waiting"]["reason"], "CrashLoopBackOff")
        self.assertEqual(cs["lastState"]["terminated"]["exitCode"], 2)
        self.assertEqual(cs["lastState"]["terminated"]["reason"], "Error")
        self.assertIn("CrashLoopBackOff", self.ok("get", "pod", "crash", *self.n))
        events = self.ok("get", "events", "--field-selector", "involvedObject.name=crash", *self.n)
        self.assertIn("BackOff", events)
        # restartPolicy Never: the pod fails with the exit code.
        self.ok("apply", "-f", "-", input=pod("never", [c("c", "sh", "-c", "exit 3")], self.ns, restart="Never"))
        o = self.wait_pod("never", lambda o: o["status"].get("phase") == "Failed", 60)
        self.assertEqual(self.state(o)["terminated"]["exitCode"], 3)
        # Succeeded, with a termination message.
        self.ok("apply", "-f", "-", input=pod("ok", [c("c", "sh", "-c", "echo bye > /dev/termination-log")], self.ns,
                                               restart="OnFailure"))
        o = self.wait_pod("ok", lambda o: o["status"].get("phase") == "Succeeded", 60)
        t = self.state(o)["terminated"]
        self.assertEqual((t["exitCode"], t["reason"], t.get("message")), (0, "Completed", "bye\n"))
        self.assertIn("Completed", self.ok("get", "pod", "ok", *self.n))

    def test_a_job_runs_to_completion(self):
        self.ok("create", "job", "work", "--image=busybox", *self.n, "--", "sh", "-c", "echo working; exit 0")
        self.ok("wait", "--for=condition=complete", "job/work", "--timeout=60s", *self.n, timeout=90)
        self.assertEqual(self.get("job", "work")["status"]["succeeded"], 1)

    def test_init_containers_shared_volumes_and_localhost(self):
        spec = {"volumes": [{"name": "shared", "emptyDir": {}}],
                "initContainers": [c("init", "sh", "-c", "echo from-init > /data/init.txt",
                                     volumeMounts=[{"name": "shared", "mountPath": "/data"}])]}
        containers = [c("web", "httpd", "-f", "-p", "8080", "-h", "/data",
                        volumeMounts=[{"name": "shared", "mountPath": "/data"}]),
                      c("client", "sh", "-c", "sleep 1; wget -qO- http://127.0.0.1:8080/init.txt; sleep 3600",
                        volumeMounts=[{"name": "shared", "mountPath": "/data"}])]
        self.ok("apply", "-f", "-", input=pod("two", containers, self.ns, extra=spec))
        o = self.wait_pod("two", lambda o: o["status"].get("phase") == "Running" and all(
            x.get("ready") for x in o["status"].get("containerStatuses", [{}])), 60, "both containers ready")
        init = o["status"]["initContainerStatuses"][0]
        self.assertEqual(init["state"]["terminated"]["exitCode"], 0)
        conds = {x["type"]: x["status"] for x in o["status"]["conditions"]}
        self.assertEqual(conds["Initialized"], "True")
        self.assertEqual(conds["Ready"], "True")
        # The client container read the init container's file through the web container, over localhost.
        logs_dir = os.path.join(self.s.data_dir, "agent", "logs", "pods")
        found = ""
        deadline = time.time() + 20
        while time.time() < deadline and "from-init" not in found:
            for root, _, files in os.walk(logs_dir):
                if "/" + self.ns + "_two_" in root and root.endswith("client"):
                    for f in files:
                        found += read(os.path.join(root, f))
            time.sleep(0.2)
        self.assertIn("stdout F from-init", found)

    def test_config_maps_and_secrets_as_files_and_env(self):
        self.ok("create", "configmap", "cfg", "--from-literal=greeting=hello", *self.n)
        self.ok("create", "secret", "generic", "sec", "--from-literal=password=s3cret", *self.n)
        spec = {"volumes": [{"name": "cfg", "configMap": {"name": "cfg"}},
                            {"name": "sec", "secret": {"secretName": "sec", "defaultMode": 0o400}}]}
        cont = c("c", "sh", "-c", "while true; do cat /cfg/greeting; echo; sleep 0.5; done",
                 env=[{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
                      {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
                      {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                      {"name": "BOTH", "value": "$(GREETING)-$(MY_POD)"}],
                 volumeMounts=[{"name": "cfg", "mountPath": "/cfg"}, {"name": "sec", "mountPath": "/sec"}])
        self.ok("apply", "-f", "-", input=pod("conf", [cont], self.ns, extra=spec))
        self.wait_pod("conf", lambda o: o["status"].get("phase") == "Running", 60)
        agent = os.path.join(self.s.data_dir, "agent", "pods")
        uid = self.get("pod", "conf")["metadata"]["uid"]
        vol = os.path.join(agent, uid, "volumes")
        with open(os.path.join(vol, "kubernetes.io~configmap", "cfg", "greeting")) as f:
            self.assertEqual(f.read(), "hello")
        self.assertTrue(os.path.islink(os.path.join(vol, "kubernetes.io~configmap", "cfg", "..data")))
        secret_file = os.path.join(vol, "kubernetes.io~secret", "sec", "password")
        with open(secret_file) as f:
            self.assertEqual(f.read(), "s3cret")
        self.assertEqual(os.stat(secret_file).st_mode & 0o777, 0o400)
        # The container's environment, as the runtime was given it.
        cfg = json.loads(read(os.path.join(self.s.data_dir, "agent", "runtime", "containers",
                                           self.container_id("conf"), "bundle", "config.json")))
        env = dict(e.split("=", 1) for e in cfg["process"]["env"])
        self.assertEqual((env["GREETING"], env["PASSWORD"], env["MY_POD"], env["BOTH"]),
                         ("hello", "s3cret", "conf", "hello-conf"))
        # An update reaches the file (atomically swapped) while the pod runs.
        self.ok("patch", "configmap", "cfg", "-p", '{"data":{"greeting":"bonjour"}}', *self.n)
        self.wait_for(lambda: read(os.path.join(vol, "kubernetes.io~configmap", "cfg", "greeting")) == "bonjour",
                      40, "the configmap update in the volume")
        # A missing configmap: CreateContainerConfigError until it appears.
        missing = c("c", "sh", "-c", "echo $V; sleep 3600",
                    env=[{"name": "V", "valueFrom": {"configMapKeyRef": {"name": "later", "key": "v"}}}])
        self.ok("apply", "-f", "-", input=pod("waits", [missing], self.ns))
        o = self.wait_pod("waits", lambda o: self.state(o).get("waiting", {}).get("reason") == "CreateContainerConfigError",
                          60)
        self.assertEqual(self.state(o)["waiting"]["message"], 'configmap "later" not found')
        self.ok("create", "configmap", "later", "--from-literal=v=1", *self.n)
        self.wait_pod("waits", lambda o: o["status"].get("phase") == "Running", 60)

    def container_id(self, name):
        o = self.get("pod", name)
        return o["status"]["containerStatuses"][0]["containerID"].split("://")[1]

    def test_bad_images_and_commands(self):
        self.ok("apply", "-f", "-", input=pod("badname", [{"name": "c", "image": "Not_Valid:x"}], self.ns))
        self.ok("apply", "-f", "-", input=pod("absent", [{"name": "c", "image": "example.invalid/none:1",
                                                         "imagePullPolicy": "IfNotPresent"}], self.ns))
        self.ok("apply", "-f", "-", input=pod("never", [{"name": "c", "image": "example.invalid/none:1",
                                                        "imagePullPolicy": "Never"}], self.ns))
        self.ok("apply", "-f", "-", input=pod("nocmd", [c("c", "/no/such/binary")], self.ns))
        reasons = {"badname": {"InvalidImageName"}, "absent": {"ErrImagePull", "ImagePullBackOff"},
                   "never": {"ErrImageNeverPull"}, "nocmd": {"RunContainerError"}}
        for name, want in reasons.items():
            o = self.wait_pod(name, lambda o: self.state(o).get("waiting", {}).get("reason") in want, 60, name)
            self.assertEqual(o["status"]["phase"], "Pending")
        msg = self.state(self.get("pod", "nocmd"))["waiting"]["message"]
        self.assertIn("no such file or directory", msg)
        self.assertIn("ImagePullBackOff", "".join(reasons["absent"]))

    def test_graceful_deletion_and_memory_limits(self):
        self.ok("apply", "-f", "-", input=pod("polite", [c("c", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done")],
                                               self.ns))
        self.ok("apply", "-f", "-", input=pod("stubborn", [c("c", "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done")],
                                               self.ns, extra={"terminationGracePeriodSeconds": 2}))
        for n in ("polite", "stubborn"):
            self.wait_pod(n, lambda o: o["status"].get("phase") == "Running", 60)
        t0 = time.time()
        self.ok("delete", "pod", "polite", "--wait=true", *self.n, timeout=60)
        self.assertLess(time.time() - t0, 5)
        t0 = time.time()
        self.ok("delete", "pod", "stubborn", "--wait=true", *self.n, timeout=60)
        self.assertGreaterEqual(time.time() - t0, 1.8)
        if not os.path.exists("/sys/fs/cgroup/memory"):
            return
        hog = c("c", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1",
                resources={"limits": {"memory": "16Mi"}})
        self.ok("apply", "-f", "-", input=pod("hog", [hog], self.ns, restart="Never"))
        o = self.wait_pod("hog", lambda o: o["status"].get("phase") == "Failed", 60)
        t = self.state(o)["terminated"]
        self.assertEqual((t["reason"], t["exitCode"]), ("OOMKilled", 137))
        self.assertEqual(o["status"]["qosClass"], "Burstable")

    def test_logs_through_the_api(self):
        self.ok("apply", "-f", "-", input=pod("talk", [c("c", "sh", "-c",
                                                       "for i in 1 2 3 4 5; do echo line $i; done; sleep 3600")], self.ns))
        self.wait_pod("talk", lambda o: o["status"].get("phase") == "Running", 60)
        self.wait_for(lambda: "line 5" in self.s.kubectl("logs", "talk", *self.n).stdout, 20, "logs")
        self.assertEqual(self.ok("logs", "talk", *self.n), "line 1\nline 2\nline 3\nline 4\nline 5\n")
        self.assertEqual(self.ok("logs", "talk", "--tail=2", *self.n), "line 4\nline 5\n")
        self.assertEqual(self.ok("logs", "talk", "--limit-bytes=8", *self.n), "line 1\nl")
        stamped = self.ok("logs", "talk", "--timestamps", "--tail=1", *self.n)
        self.assertRegex(stamped, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line 5\n$")
        # Follow: new lines arrive while the command runs.
        self.ok("apply", "-f", "-", input=pod("ticker", [c("c", "sh", "-c",
                                                         "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done")],
                                               self.ns))
        self.wait_pod("ticker", lambda o: o["status"].get("phase") == "Running", 60)
        e = dict(os.environ, HOME=self.s.home, KUBECONFIG=self.s.kubeconfig)
        proc = subprocess.Popen(["kubectl", "logs", "-f", "ticker", *self.n], stdout=subprocess.PIPE, text=True, env=e)
        got = [proc.stdout.readline() for _ in range(8)]
        proc.kill()
        proc.wait()
        proc.stdout.close()
        self.assertEqual(got[:3], ["tick 0\n", "tick 1\n", "tick 2\n"])
        self.assertEqual(got[7], "tick 7\n")
        # Errors with upstream's texts.
        p = self.s.kubectl("logs", "talk", "--previous", *self.n)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('previous terminated container "c" in pod "talk" not found', p.stderr)
        p = self.s.kubectl("logs", "talk", "-c", "nope", *self.n)
        self.assertIn("container nope is not valid for pod talk", p.stderr)
        # --previous after a crash shows the last run's output.
        self.ok("apply", "-f", "-", input=pod("crashy", [c("c", "sh", "-c", "echo run-$(date +%s%N); exit 1")], self.ns))
        self.wait_pod("crashy", lambda o: o["status"].get("containerStatuses", [{}])[0].get("restartCount", 0) >= 1, 60)
        prev = self.ok("logs", "crashy", "--previous", *self.n)
        self.assertTrue(prev.startswith("run-"), prev)
        # The Python client reads logs the same way.
        script = """
import sys
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
print(client.CoreV1Api().read_namespaced_pod_log("talk", sys.argv[2], tail_lines=1), end="")
"""
        out = subprocess.run(["/usr/bin/python3", "-c", script, self.s.kubeconfig, self.ns], capture_output=True, text=True,
                             env=dict(os.environ, HOME=self.s.home), timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, "line 5\n")

    def test_probes_hooks_and_deadlines(self):
        # Liveness: the probe's file disappears after a while; the container is restarted.
        live = c("c", "sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600",
                 livenessProbe={"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 2})
        self.ok("apply", "-f", "-", input=pod("live", [live], self.ns))
        o = self.wait_pod("live", lambda o: o["status"].get("containerStatuses", [{}])[0].get("restartCount", 0) >= 1, 60,
                          "a liveness restart")
        events = self.ok("get", "events", "--field-selector", "involvedObject.name=live", *self.n)
        self.assertIn("Liveness probe failed", events)
        self.assertIn("failed liveness probe, will be restarted", events)
        # Readiness gates Ready: not ready until the file exists, then ready.
        ready = c("c", "sh", "-c", "sleep 2; touch /tmp/ready; sleep 3600",
                  readinessProbe={"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1})
        self.ok("apply", "-f", "-", input=pod("ready", [ready], self.ns))
        o = self.wait_pod("ready", lambda o: o["status"].get("phase") == "Running", 60)
        self.assertFalse(o["status"]["containerStatuses"][0]["ready"])
        o = self.wait_pod("ready", lambda o: o["status"]["containerStatuses"][0].get("ready"), 30, "readiness")
        conds = {x["type"]: x["status"] for x in o["status"]["conditions"]}
        self.assertEqual(conds["Ready"], "True")
        # httpGet and tcpSocket probes against the pod's address; a startup probe gates them.
        web = c("c", "httpd", "-f", "-p", "8080", "-h", "/var/www", ports=[{"name": "http", "containerPort": 8080}],
                startupProbe={"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                readinessProbe={"httpGet": {"path": "/index.html", "port": "http"}, "periodSeconds": 1})
        self.ok("apply", "-f", "-", input=pod("web", [web], self.ns))
        o = self.wait_pod("web", lambda o: o["status"].get("containerStatuses", [{}])[0].get("ready"), 60, "web ready")
        self.assertTrue(o["status"]["containerStatuses"][0]["started"])
        # postStart runs before the container counts as started; preStop runs on deletion.
        hooks = c("c", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done",
                  lifecycle={"postStart": {"exec": {"command": ["sh", "-c", "echo post > /tmp/post"]}},
                             "preStop": {"exec": {"command": ["sh", "-c", "echo stopping > /proc/1/fd/1"]}}})
        self.ok("apply", "-f", "-", input=pod("hooks", [hooks], self.ns))
        self.wait_pod("hooks", lambda o: o["status"].get("phase") == "Running", 60)
        self.ok("delete", "pod", "hooks", "--wait=true", *self.n, timeout=60)
        logs_dir = os.path.join(self.s.data_dir, "agent", "logs", "pods")
        found = ""
        for root, _, files in os.walk(logs_dir):
            if "/" + self.ns + "_hooks_" in root:
                for f in files:
                    found += read(os.path.join(root, f))
        self.assertIn("stdout F stopping", found)
        # activeDeadlineSeconds: the pod fails once it has run that long.
        self.ok("apply", "-f", "-", input=pod("deadline", [c("c", "sleep", "3600")], self.ns,
                                               extra={"activeDeadlineSeconds": 2}))
        o = self.wait_pod("deadline", lambda o: o["status"].get("phase") == "Failed", 60)
        self.assertEqual(o["status"]["reason"], "DeadlineExceeded")

    def test_killed_containers_restart_and_a_restarted_agent_adopts(self):
        self.ok("apply", "-f", "-", input=pod("victim", [c("c", "sleep", "3600")], self.ns))
        o = self.wait_pod("victim", lambda o: o["status"].get("phase") == "Running", 60)
        cid = o["status"]["containerStatuses"][0]["containerID"].split("://")[1]
        state = os.path.join(self.s.data_dir, "agent", "runtime", "containers", cid)
        # kill -9 of the container's process: the kubelet restarts it per policy.
        os.kill(int(read(os.path.join(state, "init.pid"))), 9)
        o = self.wait_pod("victim", lambda o: o["status"]["containerStatuses"][0].get("restartCount", 0) == 1 and
                          "running" in self.state(o), 60, "a restart after kill -9")
        last = o["status"]["containerStatuses"][0]["lastState"]["terminated"]
        self.assertEqual(last["exitCode"], 137)
        # kill -9 of its shim: the container, its output and exit unowned, is ended and restarted.
        cid = o["status"]["containerStatuses"][0]["containerID"].split("://")[1]
        state = os.path.join(self.s.data_dir, "agent", "runtime", "containers", cid)
        init = int(read(os.path.join(state, "init.pid")))
        os.kill(int(read(os.path.join(state, "shim.pid"))), 9)
        o = self.wait_pod("victim", lambda o: o["status"]["containerStatuses"][0].get("restartCount", 0) == 2 and
                          "running" in self.state(o), 60, "a restart after kill -9 of the shim")
        last = o["status"]["containerStatuses"][0]["lastState"]["terminated"]
        self.assertEqual((last["exitCode"], last["reason"]), (137, "Error"))
        self.wait_for(lambda: not os.path.exists("/proc/%d" % init) or
                      "zombie" in read("/proc/%d/status" % init).lower(), 10, "the unowned container gone")
        # kill -9 of the whole server with its agent: containers keep running, and
        # the restarted agent takes them over without restarting anything.
        self.ok("apply", "-f", "-", input=pod("survivor", [c("c", "sleep", "3600")], self.ns))
        before = self.wait_pod("survivor", lambda o: o["status"].get("phase") == "Running", 60)
        cid = before["status"]["containerStatuses"][0]["containerID"]
        self.s.kill9()
        pid = int(read(os.path.join(self.s.data_dir, "agent", "runtime", "containers", cid.split("://")[1], "init.pid")))
        os.kill(pid, 0)  # still running
        self.s.start()
        time.sleep(3)
        after = self.wait_pod("survivor", lambda o: o["status"].get("phase") == "Running", 60)
        cs = after["status"]["containerStatuses"][0]
        self.assertEqual((cs["containerID"], cs["restartCount"]), (cid, 0))
        os.kill(pid, 0)

    def test_stats_summary_through_the_node_proxy(self):
        self.ok("apply", "-f", "-", input=pod("measured", [c("c", "sh", "-c", "head -c 8000000 /dev/zero > /tmp/f; "
                                                             "exec httpd -f -p 80 -h /tmp")], self.ns))
        o = self.wait_pod("measured", lambda o: o["status"].get("phase") == "Running", 60)
        node = o["spec"]["nodeName"]
        # Some traffic for the pod's network counters. Running is not listening:
        # the shell writes the file before httpd binds its port.
        def fetch():
            try:
                return urllib.request.urlopen("http://%s/f" % o["status"]["podIP"], timeout=10).read()
            except urllib.error.URLError:
                return None
        self.assertEqual(len(self.wait_for(fetch, 20, "httpd in the pod")), 8000000)
        raw = "/api/v1/nodes/%s/proxy/stats/summary" % node
        json.loads(self.ok("get", "--raw", raw))
        time.sleep(1)
        summary = json.loads(self.ok("get", "--raw", raw))
        n = summary["node"]
        self.assertEqual(n["nodeName"], node)
        self.assertGreater(n["cpu"]["usageCoreNanoSeconds"], 0)
        self.assertIn("usageNanoCores", n["cpu"])  # a rate, from the previous sample
        self.assertGreater(n["memory"]["workingSetBytes"], 0)
        self.assertGreater(n["fs"]["capacityBytes"], n["fs"]["availableBytes"])
        self.assertGreater(n["runtime"]["imageFs"]["usedBytes"], 0)
        self.assertGreater(n["rlimit"]["curproc"], 0)
        mine = [p for p in summary["pods"] if p["podRef"]["name"] == "measured" and p["podRef"]["namespace"] == self.ns]
        self.assertEqual(len(mine), 1, summary["pods"])
        p = mine[0]
        self.assertEqual(p["podRef"]["uid"], o["metadata"]["uid"])
        self.assertEqual([c["name"] for c in p["containers"]], ["c"])
        self.assertGreater(p["containers"][0]["cpu"]["usageCoreNanoSeconds"], 0)
        self.assertGreater(p["containers"][0]["memory"]["usageBytes"], 0)
        self.assertGreater(p["memory"]["usageBytes"], 0)
        self.assertEqual(p["network"]["name"], "eth0")
        self.assertGreater(p["network"]["txBytes"], 8000000)

    def test_python_client_sees_running_pods(self):
        self.ok("apply", "-f", "-", input=pod("py", [c("c", "sleep", "3600")], self.ns))
        self.wait_pod("py", lambda o: o["status"].get("phase") == "Running", 60)
        script = """
import sys
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
v1 = client.CoreV1Api()
p = v1.read_namespaced_pod("py", sys.argv[2])
cs = p.status.container_statuses[0]
print(p.status.phase, p.status.pod_ip is not None, cs.ready, cs.state.running is not None, p.status.qos_class)
"""
        out = subprocess.run(["/usr/bin/python3", "-c", script, self.s.kubeconfig, self.ns], capture_output=True, text=True,
                             env=dict(os.environ, HOME=self.s.home), timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split(), ["Running", "True", "True", "True", "BestEffort"])


    def test_exec_cp_and_port_forward(self):
        self.ok("apply", "-f", "-", input=pod("box", [c("c", "sh", "-c", "mkdir -p /www && echo hello > /www/index.html"
                                                         " && exec httpd -f -p 80 -h /www")], self.ns))
        self.wait_pod("box", lambda o: o["status"].get("phase") == "Running", 60)
        self.assertEqual(self.ok("exec", "box", *self.n, "--", "echo", "hi"), "hi\n")
        # Exit codes and stderr come back; stdin goes in and its end is seen.
        p = self.s.kubectl("exec", "box", *self.n, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
        self.assertEqual((p.returncode, p.stdout), (3, "out\n"))
        self.assertIn("err\ncommand terminated with exit code 3", p.stderr)
        self.assertEqual(self.ok("exec", "-i", "box", *self.n, "--", "sh", "-c", "cat; echo done",
                                 input="line 1\nline 2\n"), "line 1\nline 2\ndone\n")
        # SPDY, the fallback of clients without WebSocket: the same results.
        spdy = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
        p = self.s.kubectl("exec", "-i", "box", *self.n, "--", "sh", "-c", "cat; exit 5", input="over spdy\n", env=spdy)
        self.assertEqual((p.returncode, p.stdout), (5, "over spdy\n"), p.stderr)
        self.assertIn("command terminated with exit code 5", p.stderr)
        # A terminal: its size is the client's and follows it; the exit code too.
        out, code = self.on_terminal(["exec", "-it", "box", *self.n, "--", "sh", "-c",
                                      "stty size; tty; read x; echo got $x; exit 4"], keys=[(b"/dev/pts", b"abc\r")])
        self.assertEqual(code, 4, out)
        self.assertIn(b"30 100\r\n/dev/pts/0\r\n", out)
        self.assertIn(b"got abc\r\n", out)
        # A terminal session whose client dies: its command is hung up, as when a terminal closes.
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvpe("kubectl", ["kubectl", "exec", "-it", "box", *self.n, "--", "sleep", "4242"], self.env())
            finally:
                os._exit(127)
        running = lambda: "sleep 4242" in self.ok("exec", "box", *self.n, "--", "ps", "-o", "args")
        self.wait_for(running, 30, "the exec'd sleep")
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
        self.wait_for(lambda: not running(), 30, "the hung-up sleep gone")
        # Errors: a command that is not there, a container that is not, no upgrade.
        p = self.s.kubectl("exec", "box", *self.n, "--", "nosuchcmd")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('exec: "nosuchcmd": executable file not found in $PATH', p.stderr)
        p = self.s.kubectl("exec", "box", "-c", "nope", *self.n, "--", "true")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("container nope is not valid for pod box", p.stderr)
        raw = self.s.kubectl("get", "--raw", "/api/v1/namespaces/%s/pods/box/exec?command=true&stdout=true" % self.ns)
        self.assertNotEqual(raw.returncode, 0)
        self.assertIn("Upgrade request required", raw.stderr)
        # cp both ways (tar through exec).
        src = os.path.join(self.s.tmp, "cp-in.txt")
        with open(src, "w") as f:
            f.write("copied\n" * 1000)
        self.ok("cp", src, "%s/box:/tmp/in.txt" % self.ns)
        self.assertEqual(self.ok("exec", "box", *self.n, "--", "md5sum", "/tmp/in.txt").split()[0],
                         subprocess.run(["md5sum", src], capture_output=True, text=True).stdout.split()[0])
        dst = os.path.join(self.s.tmp, "cp-out.txt")
        self.ok("cp", "%s/box:/www/index.html" % self.ns, dst)
        self.assertEqual(read(dst), "hello\n")
        # port-forward: SPDY in WebSocket (kubectl's default), then plain SPDY.
        for env in [None, {"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}]:
            pf, port = self.forward("pod/box", env)
            try:
                for _ in range(3):
                    self.assertEqual(urllib.request.urlopen("http://127.0.0.1:%d/index.html" % port, timeout=10).read(),
                                     b"hello\n")
                with self.assertRaises(urllib.error.HTTPError) as e:
                    urllib.request.urlopen("http://127.0.0.1:%d/missing" % port, timeout=10)
                self.assertEqual(e.exception.code, 404)
            finally:
                pf.kill()
                pf.communicate()
        log = self.s.server_log()
        for proto in ["websocket v5.channel.k8s.io", "spdy v4.channel.k8s.io", "websocket SPDY/3.1+portforward.k8s.io",
                      "spdy portforward.k8s.io"]:
            self.assertIn(proto, log)
        # The Python client: exec (v4 WebSocket) with output and exit code, port-forward (v4 WebSocket channels).
        script = r"""
import sys
from kubernetes import client, config
from kubernetes.stream import stream, portforward
config.load_kube_config(sys.argv[1])
api = client.CoreV1Api()
ns = sys.argv[2]
print(repr(stream(api.connect_get_namespaced_pod_exec, "box", ns, command=["sh", "-c", "echo out"],
                  stderr=True, stdin=False, stdout=True, tty=False)))
r = stream(api.connect_get_namespaced_pod_exec, "box", ns, command=["sh", "-c", "exit 7"], stderr=True, stdin=False,
           stdout=True, tty=False, _preload_content=False)
r.run_forever(timeout=20)
print(r.returncode)
pf = portforward(api.connect_get_namespaced_pod_portforward, "box", ns, ports="80")
sock = pf.socket(80)
sock.setblocking(True)
sock.sendall(b"GET /index.html HTTP/1.0\r\nHost: box\r\n\r\n")
data = b""
while True:
    d = sock.recv(4096)
    if not d:
        break
    data += d
print(repr(data.split(b"\r\n\r\n", 1)[1]))
"""
        out = subprocess.run(["/usr/bin/python3", "-c", script, self.s.kubeconfig, self.ns], capture_output=True, text=True,
                             env=dict(os.environ, HOME=self.s.home), timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.splitlines(), ["'out\\n'", "7", "b'hello\\n'"])

    def test_images_pulled_from_registries(self):
        open_reg = Registry(self.s.tmp, "registry-open")
        locked = Registry(self.s.tmp, "registry-locked", users={"puller": "s3cret"})
        try:
            digest = open_reg.push("test/busybox:v1")
            locked.push("private/busybox:v2", creds="puller:s3cret")
            # By tag over plain HTTP (localhost registries are insecure), then by digest.
            self.ok("apply", "-f", "-", input=pod("tagged", [c("c", "sleep", "3600", image=open_reg.host + "/test/busybox:v1")],
                                                  self.ns))
            self.wait_pod("tagged", lambda o: o["status"].get("phase") == "Running", 60)
            events = self.ok("get", "events", *self.n, "--field-selector", "involvedObject.name=tagged",
                             "-o", "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}")
            self.assertIn('Pulling: Pulling image "%s/test/busybox:v1"' % open_reg.host, events)
            self.assertRegex(events, r'Pulled: Successfully pulled image "%s/test/busybox:v1" in [0-9.]+s' % open_reg.host)
            by_digest = "%s/test/busybox@%s" % (open_reg.host, digest)
            self.ok("apply", "-f", "-", input=pod("pinned", [c("c", "sleep", "3600", image=by_digest)], self.ns))
            o = self.wait_pod("pinned", lambda o: o["status"].get("phase") == "Running", 60)
            self.assertEqual(o["status"]["containerStatuses"][0]["imageID"], by_digest)
            # The node lists it at its next status report.
            def listed():
                node = json.loads(self.ok("get", "nodes", "-o", "json"))["items"][0]
                return open_reg.host + "/test/busybox:v1" in [n for im in node["status"].get("images", []) for n in im["names"]]
            self.wait_for(listed, 30, "the pulled image in the node's status")
            # A registry with users over TLS (insecure: its certificate is self-signed): refused without
            # the pull secret, pulled with it.
            image = locked.host + "/private/busybox:v2"
            self.ok("apply", "-f", "-", input=pod("denied", [c("c", "sleep", "3600", image=image)], self.ns))
            o = self.wait_pod("denied", lambda o: self.state(o).get("waiting", {}).get("reason") in
                              ("ErrImagePull", "ImagePullBackOff"), 60)
            self.assertIn("pull access denied", self.state(o)["waiting"].get("message", "") +
                          self.ok("get", "events", *self.n, "--field-selector", "involvedObject.name=denied"))
            self.wait_pod("denied", lambda o: self.state(o).get("waiting", {}).get("reason") == "ImagePullBackOff", 60)
            self.ok("create", "secret", "docker-registry", "regcred", "--docker-server=" + locked.host,
                    "--docker-username=puller", "--docker-password=s3cret", *self.n)
            self.ok("apply", "-f", "-", input=pod("allowed", [c("c", "sleep", "3600", image=image)], self.ns,
                                                  extra={"imagePullSecrets": [{"name": "regcred"}]}))
            self.wait_pod("allowed", lambda o: o["status"].get("phase") == "Running", 60)
            # What is not there: ErrImagePull with the registry's word, then back-off.
            self.ok("apply", "-f", "-", input=pod("missing", [c("c", "true", image=open_reg.host + "/test/nothing:v9")],
                                                  self.ns))
            o = self.wait_pod("missing", lambda o: self.state(o).get("waiting", {}).get("reason") == "ErrImagePull", 60)
            self.assertIn("not found", self.state(o)["waiting"]["message"])
            # imagePullPolicy Always asks the registry again; Never does not pull.
            self.ok("apply", "-f", "-", input=pod("always", [c("c", "sleep", "3600", image=open_reg.host + "/test/busybox:v1",
                                                               imagePullPolicy="Always")], self.ns))
            self.wait_pod("always", lambda o: o["status"].get("phase") == "Running", 60)
            self.assertIn("Pulling", self.ok("get", "events", *self.n, "--field-selector", "involvedObject.name=always"))
            self.ok("apply", "-f", "-", input=pod("never", [c("c", "true", image=open_reg.host + "/test/other:v1",
                                                              imagePullPolicy="Never")], self.ns))
            o = self.wait_pod("never", lambda o: self.state(o).get("waiting", {}).get("reason") == "ErrImageNeverPull", 60)
        finally:
            open_reg.close()
            locked.close()

    def test_static_pods_run_as_mirror_pods(self):
        node = json.loads(self.ok("get", "nodes", "-o", "json"))["items"][0]["metadata"]["name"]
        manifests = os.path.join(self.s.data_dir, "agent", "manifests")
        path = os.path.join(manifests, "web.yaml")
        manifest = """apiVersion: v1
kind: Pod
metadata:
  name: static-web
  namespace: %s
  labels:
    tier: %s
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo static > /tmp/i; exec httpd -f -p 80 -h /tmp"]
"""
        with open(path + ".tmp", "w") as f:
            f.write(manifest % (self.ns, "one"))
        os.rename(path + ".tmp", path)
        name = "static-web-" + node
        try:
            o = self.wait_pod(name, lambda o: o["status"].get("phase") == "Running", 60, "the mirror pod")
            ann = o["metadata"]["annotations"]
            self.assertEqual(ann["kubernetes.io/config.source"], "file")
            self.assertEqual(ann["kubernetes.io/config.mirror"], ann["kubernetes.io/config.hash"])
            self.assertEqual(o["metadata"]["ownerReferences"][0]["kind"], "Node")
            self.assertEqual(o["spec"]["nodeName"], node)
            ip = o["status"]["podIP"]
            self.assertEqual(urllib.request.urlopen("http://%s/i" % ip, timeout=10).read(), b"static\n")
            # A mirror pod deleted through the API comes back.
            uid = o["metadata"]["uid"]
            self.ok("delete", "pod", name, "--wait=false", *self.n)
            self.wait_pod(name, lambda o: o["metadata"]["uid"] != uid and o["status"].get("phase") == "Running", 90,
                          "the mirror pod back")
            # A changed manifest replaces the pod.
            with open(path + ".tmp", "w") as f:
                f.write(manifest % (self.ns, "two"))
            os.rename(path + ".tmp", path)
            self.wait_pod(name, lambda o: o["metadata"].get("labels", {}).get("tier") == "two" and
                          o["status"].get("phase") == "Running", 90, "the changed static pod")
        finally:
            if os.path.exists(path):
                os.unlink(path)
        # A removed manifest takes its pod away.
        self.wait_for(lambda: self.s.kubectl("get", "pod", name, *self.n).returncode != 0, 90, "the static pod gone")

    def test_attach_and_run_interactively(self):
        self.ok("apply", "-f", "-", input=pod("ticker", [c("c", "sh", "-c", "sleep 2; for i in 1 2 3; do echo tick $i;"
                                                            " echo tock $i >&2; sleep 0.3; done")], self.ns, "Never"))
        self.wait_pod("ticker", lambda o: o["status"].get("phase") == "Running", 60)
        # Output as it comes, stdout and stderr apart, until the container ends.
        p = self.s.kubectl("attach", "ticker", *self.n)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "tick 1\ntick 2\ntick 3\n")
        self.assertIn("tock 1\ntock 2\ntock 3\n", p.stderr)
        # stdin of a container that asked for it; stdinOnce: its end is the container's.
        self.ok("apply", "-f", "-", input=pod("reader", [c("c", "sh", "-c", "while read l; do echo got $l; done; echo eof",
                                                           stdin=True, stdinOnce=True)], self.ns, "Never"))
        self.wait_pod("reader", lambda o: o["status"].get("phase") == "Running", 60)
        p = self.s.kubectl("attach", "-i", "reader", *self.n, input="one\ntwo\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "got one\ngot two\neof\n")
        self.wait_pod("reader", lambda o: self.state(o).get("terminated", {}).get("exitCode") == 0, 30)
        # kubectl run -it: a container on a terminal, attached to, sized, removed at the end.
        out, code = self.on_terminal(["run", "-it", "--rm", "shell", "--image=busybox", "--restart=Never", *self.n, "--", "sh"],
                                     keys=[(b"# ", b"stty size; echo sum-$((1+2))\r"), (b"sum-3", b"exit\r")],
                                     rows=33, cols=111)
        self.assertEqual(code, 0, out)
        self.assertIn(b"33 111\r\nsum-3\r\n", out)
        self.assertIn(b'pod "shell" deleted', out)


@unittest.skipIf(SKIP, SKIP or "")
class PressureTest(KubectlAssertions, unittest.TestCase):
    """A node whose disk threshold is always crossed: it reports DiskPressure,
    evicts its pod, and garbage-collects the image once nothing uses it."""

    @classmethod
    def setUpClass(cls):
        cls.s = Server(agent=True, extra_args=["--eviction-hard", "nodefs.available<100%", "--image-gc-high-threshold", "0",
                                               "--image-gc-low-threshold", "0", "--minimum-image-ttl-duration", "20s"])

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def setUp(self):
        self.use_test_namespace()

    def test_disk_pressure_evicts_and_collects_images(self):
        # (Created at once: within the images' minimum age, busybox is still there.)
        self.ok("apply", "-f", "-", input=pod("hog", [c("c", "sleep", "3600", imagePullPolicy="IfNotPresent")], self.ns))

        def evicted():
            p = self.s.kubectl("get", "pod", "hog", "-o", "json", *self.n)
            o = json.loads(p.stdout) if p.returncode == 0 else {}
            return o if o.get("status", {}).get("reason") == "Evicted" else None
        o = self.wait_for(evicted, 60, "the eviction")
        self.assertEqual(o["status"]["phase"], "Failed")
        self.assertRegex(o["status"]["message"],
                         r"^The node was low on resource: ephemeral-storage\. Threshold quantity: 100%, available: \d+\. $")
        self.assertIn("DisruptionTarget", [c["type"] for c in o["status"]["conditions"]])
        self.assertIn("Evicted", self.ok("get", "events", *self.n, "--field-selector", "involvedObject.name=hog"))

        def condition(node, kind):
            return [c for c in node["status"]["conditions"] if c["type"] == kind][0]
        node = json.loads(self.ok("get", "nodes", "-o", "json"))["items"][0]
        self.assertEqual(condition(node, "DiskPressure")["status"], "True")
        self.assertEqual(condition(node, "DiskPressure")["reason"], "KubeletHasDiskPressure")
        self.assertEqual(condition(node, "MemoryPressure")["status"], "False")
        # The node is tainted for it, so new pods without a toleration stay off it.
        self.wait_for(lambda: any(t["key"] == "node.kubernetes.io/disk-pressure" and t["effect"] == "NoSchedule"
                                  for t in json.loads(self.ok("get", "nodes", "-o", "json"))["items"][0]["spec"]
                                  .get("taints", [])), 20, "the disk-pressure taint")
        self.ok("apply", "-f", "-", input=pod("late", [c("c", "true", imagePullPolicy="IfNotPresent")], self.ns))
        self.wait_for(lambda: "untolerated taint {node.kubernetes.io/disk-pressure: }" in
                      self.ok("get", "events", *self.n, "--field-selector", "involvedObject.name=late"), 30,
                      "FailedScheduling for the pressure taint")
        self.ok("delete", "pod", "late", *self.n)
        # Its containers are stopped; once the pod is gone, nothing uses busybox and image GC removes it.
        self.ok("delete", "pod", "hog", *self.n)

        def images():
            node = json.loads(self.ok("get", "nodes", "-o", "json"))["items"][0]
            return [n for im in node["status"].get("images", []) for n in im["names"]]
        self.wait_for(lambda: "docker.io/library/busybox:latest" not in images(), 90, "busybox garbage-collected")


@unittest.skipIf(SKIP, SKIP or "")
class JoinTest(KubectlAssertions, unittest.TestCase):
    """`kubepp agent` joins a control plane that runs without a node of its own
    (--no-agent), with the server's node token: it trusts the CA through the
    signed cluster-info, gets a client certificate through a CSR the
    controllers approve and sign, and runs pods; restarted, it keeps its
    certificate and its containers."""

    @classmethod
    def setUpClass(cls):
        port = free_port()
        n = port % 50
        cls.cluster_cidr = "10.%d.0.0/16" % (150 + n)
        cls.service_cidr = "10.%d.0.0/16" % (200 + n)
        cls.s = Server(extra_args=["--cluster-cidr", cls.cluster_cidr, "--service-cidr", cls.service_cidr])
        cls.node = "joined-%d" % port
        cls.bridge = "kpj%d" % port
        cls.dir = os.path.join(cls.s.tmp, "agent")
        imports = os.path.join(cls.dir, "images", "import")
        os.makedirs(imports)
        shutil.copy(os.path.join(TEST_IMAGES, "busybox.tar"), imports)
        cls.kubelet_port = free_port()
        cls.agent = None

    @classmethod
    def tearDownClass(cls):
        cls.stop_agent()
        subprocess.run([KUBEPP, "kubelet", "--data-dir", cls.dir, "--cleanup"], capture_output=True, timeout=120)
        cls.s.close()
        links = subprocess.run(["ip", "link"], capture_output=True, text=True).stdout
        assert cls.bridge not in links, links

    @classmethod
    def start_agent(cls, *token_args, log="agent.log"):
        cls.agent_log = os.path.join(cls.s.tmp, log)
        with open(cls.agent_log, "ab") as f:
            return subprocess.Popen(
                [KUBEPP, "agent", "--server", "https://127.0.0.1:%d" % cls.s.port, *token_args, "--data-dir", cls.dir,
                 "--node-name", cls.node, "--cni-bridge", cls.bridge, "--cluster-cidr", cls.cluster_cidr,
                 "--service-cidr", cls.service_cidr, "--node-ip", "127.0.0.1", "--kubelet-port", str(cls.kubelet_port)],
                stdout=f, stderr=subprocess.STDOUT)

    @classmethod
    def stop_agent(cls, sig=signal.SIGTERM):
        if cls.agent and cls.agent.poll() is None:
            cls.agent.send_signal(sig)
            cls.agent.wait(60)

    def setUp(self):
        self.use_test_namespace()

    def test_agent_joins_with_the_node_token(self):
        token_file = os.path.join(self.s.data_dir, "node-token")
        token = read(token_file).strip()
        tid = token.split(".")[0]
        # Bad tokens: refused before anything is sent with them.
        p = self.start_agent("--token", "not-a-token", log="bad.log")
        self.assertEqual(p.wait(30), 1)
        self.assertIn("the token is not a bootstrap token", read(self.agent_log))
        p = self.start_agent("--token", tid + ".0123456789abcdef", log="wrong.log")
        self.assertEqual(p.wait(60), 1)
        self.assertIn("does not verify: the server does not know this token", read(self.agent_log))
        self.assertEqual(self.ok("get", "csr", "-o", "name"), "")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "kubelet.kubeconfig")))

        type(self).agent = self.start_agent("--token-file", token_file)

        def ready():
            p = self.s.kubectl("get", "node", self.node, "-o", "json")
            if p.returncode != 0:
                return None
            conds = {c["type"]: c["status"] for c in json.loads(p.stdout)["status"]["conditions"]}
            return conds.get("Ready") == "True"
        self.wait_for(ready, 60, "the joined node Ready")
        csrs = json.loads(self.ok("get", "csr", "-o", "json"))["items"]
        self.assertEqual(len(csrs), 1)
        self.assertEqual(csrs[0]["spec"]["username"], "system:bootstrap:" + tid)
        self.assertEqual(csrs[0]["spec"]["signerName"], "kubernetes.io/kube-apiserver-client-kubelet")
        self.assertRegex(self.ok("get", "csr", "--no-headers"), r"system:bootstrap:%s\s+<none>\s+Approved,Issued" % tid)
        # The node works under its own identity, kept 0600 in its directory.
        kc = os.path.join(self.dir, "kubelet.kubeconfig")
        self.assertEqual(os.stat(kc).st_mode & 0o777, 0o600)
        p = self.s.kubectl("auth", "whoami", "-o", "json", env={"KUBECONFIG": kc})
        self.assertEqual(p.returncode, 0, p.stderr)
        info = json.loads(p.stdout)["status"]["userInfo"]
        self.assertEqual((info["username"], info["groups"][0]), ("system:node:" + self.node, "system:nodes"))

        # Pods run there, with logs and exec through the API server.
        self.ok("apply", "-f", "-", input=pod("hello", [c("c", "sh", "-c", "echo joined; sleep 3600",
                                                          imagePullPolicy="IfNotPresent")], self.ns))
        self.wait_for(lambda: json.loads(self.ok("get", "pod", "hello", "-o", "json", *self.n))
                      .get("status", {}).get("phase") == "Running", 60, "the pod Running")
        o = json.loads(self.ok("get", "pod", "hello", "-o", "json", *self.n))
        self.assertEqual(o["spec"]["nodeName"], self.node)
        self.assertTrue(o["status"]["podIP"].startswith(self.cluster_cidr.split(".0.0/")[0] + "."), o["status"])
        self.wait_for(lambda: "joined" in self.s.kubectl("logs", "hello", *self.n).stdout, 20, "the pod's log")
        p = self.s.kubectl("exec", "hello", *self.n, "--", "sh", "-c", "exit 3")
        self.assertEqual(p.returncode, 3, p.stderr)
        cid = o["status"]["containerStatuses"][0]["containerID"]

        # kill -9 and restart without the token: the certificate is reused (no
        # new CSR) and the container adopted, not restarted.
        self.stop_agent(signal.SIGKILL)
        type(self).agent = self.start_agent(log="agent2.log")
        self.wait_for(lambda: "node registered" in read(self.agent_log), 30, "the agent back")
        time.sleep(2)
        self.assertEqual(len(json.loads(self.ok("get", "csr", "-o", "json"))["items"]), 1)
        o = json.loads(self.ok("get", "pod", "hello", "-o", "json", *self.n))
        self.assertEqual(o["status"]["containerStatuses"][0]["containerID"], cid)
        self.assertEqual(o["status"]["containerStatuses"][0]["restartCount"], 0)
        self.assertEqual(self.s.kubectl("exec", "hello", *self.n, "--", "true").returncode, 0)

        # Rotation: restarted with a certificate near the end of its life, the
        # agent renews it as the node itself (selfnodeclient) and goes on with
        # the new one after the old one has expired.
        self.stop_agent()
        expires = self.write_aging_certificate(kc, seconds=40)
        type(self).agent = self.start_agent(log="agent3.log")
        self.wait_for(lambda: "client certificate rotated" in read(self.agent_log), 60, "the rotation")
        renewals = [c for c in json.loads(self.ok("get", "csr", "-o", "json"))["items"]
                    if c["spec"]["username"] == "system:node:" + self.node]
        self.assertEqual(len(renewals), 1)
        self.assertEqual(renewals[0]["status"]["conditions"][0]["message"],
                         "Auto approving self kubelet client certificate after SubjectAccessReview.")
        p = self.s.kubectl("auth", "whoami", "-o", "json", env={"KUBECONFIG": kc})
        self.assertEqual(p.returncode, 0, p.stderr)
        time.sleep(max(0, expires - time.time()) + 2)
        # The old certificate is dead; the node's heartbeats go on with the new one.
        lease = "kube-node-lease"
        before = json.loads(self.ok("get", "lease", self.node, "-n", lease, "-o", "json"))["spec"]["renewTime"]
        self.wait_for(lambda: json.loads(self.ok("get", "lease", self.node, "-n", lease, "-o", "json"))
                      ["spec"]["renewTime"] != before, 30, "a lease renewal with the new certificate")
        self.assertNotIn("certificate has expired", read(self.agent_log))
        self.assertEqual(self.s.kubectl("exec", "hello", *self.n, "--", "true").returncode, 0)
        self.ok("delete", "pod", "hello", *self.n)

    def write_aging_certificate(self, kubeconfig, seconds):
        """Replaces the node's certificate with one signed by the cluster CA,
        issued an hour ago and expiring in `seconds`; returns its expiry."""
        import datetime
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
        pki = os.path.join(self.s.data_dir, "pki")
        ca_cert = x509.load_pem_x509_certificate(read(os.path.join(pki, "ca.crt")).encode())
        ca_key = serialization.load_pem_private_key(read(os.path.join(pki, "ca.key")).encode(), None)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                                         x509.NameAttribute(NameOID.COMMON_NAME, "system:node:" + self.node)]))
                .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(seconds=seconds))
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        pem = cert.public_bytes(serialization.Encoding.PEM)
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        lines = []
        for line in read(kubeconfig).splitlines():
            if line.strip().startswith("client-certificate-data:"):
                line = line.split(":")[0] + ": " + base64.b64encode(pem).decode()
            elif line.strip().startswith("client-key-data:"):
                line = line.split(":")[0] + ": " + base64.b64encode(key_pem).decode()
            lines.append(line)
        with open(kubeconfig, "w") as f:
            f.write("\n".join(lines) + "\n")
        return time.time() + seconds


if __name__ == "__main__":
    unittest.main(verbosity=2)
