"""Test harness: a real `kubepp server` in a temp dir on a free loopback port,
and helpers to drive it with the upstream kubectl and plain HTTPS."""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

KUBEPP = os.environ.get("KUBEPP_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin/kubepp"))
KUBECTL = os.environ.get("KUBECTL", shutil.which("kubectl") or "kubectl")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


TEST_IMAGES = os.environ.get("KUBEPP_TEST_IMAGES", os.path.join(os.path.dirname(__file__), "../../build/test-images"))


def node_support():
    """Why node tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root"
    if not os.access("/usr/sbin/runc", os.X_OK):
        return "runc missing (scripts/setup installs it)"
    if not os.access("/usr/lib/cni/bridge", os.X_OK):
        return "CNI plugins missing (scripts/setup installs them)"
    if not os.path.exists(os.path.join(TEST_IMAGES, "busybox.tar")):
        return "test images missing (scripts/build-test-images)"
    return None


class Server:
    def __init__(self, extra_args=(), data_dir=None, agent=False):
        self.tmp = tempfile.mkdtemp(prefix="kubepp-e2e-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home, exist_ok=True)
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.agent = agent
        if agent:
            # A node of our own: its bridge and address ranges are unique to
            # this server, so tests running side by side do not meet; the
            # busybox test image is imported at start.
            n = self.port % 100
            self.cluster_cidr = "10.%d.0.0/16" % (100 + n)
            self.service_cidr = "10.%d.0.0/16" % (200 + n % 50)
            self.bridge = "kpe%d" % self.port
            self.node_name = "node-%d" % self.port
            imports = os.path.join(self.data_dir, "agent", "images", "import")
            os.makedirs(imports, exist_ok=True)
            shutil.copy(os.path.join(TEST_IMAGES, "busybox.tar"), imports)
            self.kubelet_port = free_port()
            self.extra_args += ["--node-name", self.node_name, "--cni-bridge", self.bridge,
                                "--cluster-cidr", self.cluster_cidr, "--service-cidr", self.service_cidr,
                                "--node-ip", "127.0.0.1", "--kubelet-port", str(self.kubelet_port)]
        self.proc = None
        self.log = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.tmp, "server.log"), "ab")
        args = [KUBEPP, "server"] + ([] if self.agent else ["--no-agent"])
        self.proc = subprocess.Popen(
            args + ["--data-dir", self.data_dir, "--https-port", str(self.port)] + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT)
        self.kubeconfig = os.path.join(self.data_dir, "kubeconfig")
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kubepp server exited: " + self.server_log())
            try:
                if self.request("GET", "/readyz", auth=False)[0] == 200:
                    return
            except (OSError, ssl.SSLError):
                pass
            time.sleep(0.02)
        raise RuntimeError("kubepp server did not become ready: " + self.server_log())

    def server_log(self):
        with open(os.path.join(self.tmp, "server.log"), "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60 if self.agent else 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log and not self.log.closed:
            self.log.close()

    def close(self):
        self.stop()
        if self.agent:
            # Containers outlive their kubelet, as upstream: remove what is left.
            subprocess.run([KUBEPP, "kubelet", "--data-dir", os.path.join(self.data_dir, "agent"), "--cleanup"],
                           capture_output=True, timeout=120)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- clients -------------------------------------------------------------

    def kubectl(self, *args, input=None, env=None, timeout=60, check=False):
        e = dict(os.environ)
        e["HOME"] = self.home
        e["KUBECONFIG"] = self.kubeconfig
        e.pop("KUBERNETES_SERVICE_HOST", None)
        if env:
            e.update(env)
        p = subprocess.run([KUBECTL] + list(args), input=input, capture_output=True, text=True, env=e, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("kubectl %s failed (%d): %s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def ssl_context(self, client_cert=True):
        pki = os.path.join(self.data_dir, "pki")
        ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
        if client_cert:
            ctx.load_cert_chain(os.path.join(pki, "admin.crt"), os.path.join(pki, "admin.key"))
        return ctx

    def request(self, method, path, body=None, headers=None, auth=True):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ssl_context(auth), timeout=30)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                headers = dict(headers or {})
                headers.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, data, dict(r.getheaders())
        finally:
            conn.close()

    def json(self, method, path, body=None, headers=None):
        status, data, _ = self.request(method, path, body, headers)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data.decode(errors="replace")


class Component:
    """Another kubepp role (`sim`, `scheduler`, ...) against a Server's
    kubeconfig, logging to a file in the server's temp dir."""

    def __init__(self, server, role, *args, log=None):
        self.log = open(os.path.join(server.tmp, log or role + ".log"), "ab")
        self.proc = subprocess.Popen([KUBEPP, role, "--kubeconfig", server.kubeconfig] + list(args),
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.log.close()


class KubectlAssertions:
    """Assertion helpers for unittest.TestCase classes with a Server in `self.s`."""

    def ok(self, *args, **kw):
        p = self.s.kubectl(*args, **kw)
        self.assertEqual(p.returncode, 0, "kubectl %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def use_test_namespace(self):
        """Creates a namespace named after the running test: self.ns, and self.n for kubectl."""
        self.ns = self.id().split(".")[-1].replace("_", "-")[:40].strip("-")
        self.ok("create", "namespace", self.ns)
        self.n = ["-n", self.ns]

    def wait_for(self, fn, timeout=20, what=""):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)
