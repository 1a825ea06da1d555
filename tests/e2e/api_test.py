"""The API over raw HTTPS: bad input answered with Kubernetes-shaped Status
errors (and the server keeps serving, nothing half-written), authentication,
content negotiation, and acknowledged writes surviving kill -9."""
import gzip
import json
import os
import socket
import ssl
import threading
import time
import unittest

from kubepp_cluster import Server

TOKENS = "s3cret-token,alice,1001,\"devs,qa\"\n"


def pod(name, **extra):
    o = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
         "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    o.update(extra)
    return o


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp_tokens = None
        cls.s = Server()
        # The same server, restarted with a token file (tests the flag too).
        path = os.path.join(cls.s.tmp, "tokens.csv")
        with open(path, "w") as f:
            f.write(TOKENS)
        cls.s.stop()
        cls.s.extra_args = ["--token-auth-file", path]
        cls.s.start()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def status(self, method, path, body=None, headers=None, code=None, reason=None):
        st, data, _ = self.s.request(method, path, body, headers)
        obj = json.loads(data)
        self.assertEqual(obj.get("kind"), "Status", obj)
        self.assertEqual(obj["status"], "Failure")
        if code is not None:
            self.assertEqual(st, code, obj)
            self.assertEqual(obj["code"], code)
        if reason is not None:
            self.assertEqual(obj["reason"], reason, obj)
        return obj

    def absent(self, name):
        st, _, _ = self.s.request("GET", "/api/v1/namespaces/default/pods/" + name)
        self.assertEqual(st, 404)

    def test_malformed_bodies(self):
        P = "/api/v1/namespaces/default/pods"
        self.status("POST", P, b'{"apiVersion":"v1","kind":"Pod",', {"Content-Type": "application/json"}, 400, "BadRequest")
        self.status("POST", P, b"a: [1, 2", {"Content-Type": "application/yaml"}, 400, "BadRequest")
        self.status("POST", P, b"k8s\x00\x0a\xff\xff", {"Content-Type": "application/vnd.kubernetes.protobuf"}, 400, "BadRequest")
        self.status("POST", P, b"\x00\x01garbage", {"Content-Type": "application/vnd.kubernetes.protobuf"}, 400, "BadRequest")
        self.status("POST", P, b"<xml/>", {"Content-Type": "application/xml"}, 415, "UnsupportedMediaType")
        self.status("POST", P, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t"}, "spec": {"containers": "x"}},
                    code=400, reason="BadRequest")
        self.status("POST", P, b"[1,2,3]", {"Content-Type": "application/json"}, 400, "BadRequest")
        self.absent("t")

    def test_wrong_kind_version_namespace_name(self):
        P = "/api/v1/namespaces/default/pods"
        self.status("POST", P, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "k1"}}, code=400)
        self.status("POST", P, dict(pod("k2"), apiVersion="apps/v1"), code=400)
        body = pod("k3")
        body["metadata"]["namespace"] = "kube-system"
        obj = self.status("POST", P, body, code=400, reason="BadRequest")
        self.assertIn("does not match the namespace", obj["message"])
        obj = self.status("POST", P, pod("Not_A_Name"), code=422, reason="Invalid")
        self.assertEqual(obj["details"]["causes"][0]["field"], "metadata.name")
        obj = self.status("POST", "/api/v1/namespaces/nosuchns/pods", pod("k4"), code=404, reason="NotFound")
        self.assertEqual(obj["message"], 'namespaces "nosuchns" not found')
        obj = self.status("PUT", P + "/k5", pod("other"), code=400)
        for n in ["k1", "k2", "k3", "k5", "other"]:
            self.absent(n)

    def test_oversized_body(self):
        big = json.dumps(pod("huge", metadata={"name": "huge", "annotations": {"a": "x" * (4 << 20)}}))
        obj = self.status("POST", "/api/v1/namespaces/default/pods", big.encode(), {"Content-Type": "application/json"},
                          413, "RequestEntityTooLarge")
        self.absent("huge")
        # Still serving.
        self.assertEqual(self.s.request("GET", "/api/v1/namespaces/default/pods")[0], 200)

    def test_selectors_and_params(self):
        self.status("GET", "/api/v1/pods?labelSelector=a%20in%20(", code=400, reason="BadRequest")
        obj = self.status("GET", "/api/v1/pods?fieldSelector=spec.bogus%3Dx", code=400, reason="BadRequest")
        self.assertEqual(obj["message"], "field label not supported: spec.bogus")
        self.status("GET", "/api/v1/pods?resourceVersion=abc", code=400)
        self.status("POST", "/api/v1/namespaces/default/pods?dryRun=Maybe", pod("dr"), code=400)
        self.status("GET", "/api/v1/nosuchresources", code=404, reason="NotFound")
        self.status("GET", "/apis/nosuch.group/v1/things", code=404, reason="NotFound")
        self.status("PATCH", "/api/v1/namespaces/default/pods/nosuch", b"{}",
                    {"Content-Type": "application/merge-patch+json"}, 404, "NotFound")
        self.status("PATCH", "/api/v1/namespaces/default/configmaps/x", b"{}", {"Content-Type": "text/plain"}, 415)

    def test_garbage_on_the_socket(self):
        for payload in [b"\x16\x03\x01\x00\x05hello", b"GET / HTTP/1.1\r\n\r\n", os.urandom(4096)]:
            s = socket.create_connection(("127.0.0.1", self.s.port), timeout=5)
            s.sendall(payload)
            try:
                s.recv(100)
            except OSError:
                pass
            s.close()
        ctx = self.s.ssl_context()
        with socket.create_connection(("127.0.0.1", self.s.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                data = tls.recv(1000)
                self.assertIn(b"400", data.split(b"\r\n")[0])
        self.assertEqual(self.s.request("GET", "/api/v1/namespaces")[0], 200)

    def test_authentication(self):
        st, data, _ = self.s.request("GET", "/api/v1/pods", auth=False)
        self.assertEqual(st, 401)
        self.assertEqual(json.loads(data)["reason"], "Unauthorized")
        for p in ["/healthz", "/livez", "/readyz", "/version", "/version/"]:
            self.assertEqual(self.s.request("GET", p, auth=False)[0], 200, p)
        st, data, _ = self.s.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                     {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                                     {"Authorization": "Bearer s3cret-token"}, auth=False)
        self.assertEqual(st, 201)
        info = json.loads(data)["status"]["userInfo"]
        self.assertEqual(info["username"], "alice")
        self.assertIn("devs", info["groups"])
        st, _, _ = self.s.request("GET", "/api/v1/pods", headers={"Authorization": "Bearer wrong"}, auth=False)
        self.assertEqual(st, 401)
        st, _, _ = self.s.request("GET", "/api/v1/pods", headers={"Authorization": "Bearer a.b.c"}, auth=False)
        self.assertEqual(st, 401)
        # Service account token issuer discovery, as upstream publishes it.
        st, data, _ = self.s.request("GET", "/.well-known/openid-configuration")
        self.assertEqual(st, 200)
        oidc = json.loads(data)
        self.assertEqual(oidc["issuer"], "https://kubernetes.default.svc.cluster.local")
        self.assertEqual(oidc["id_token_signing_alg_values_supported"], ["ES256"])
        st, data, _ = self.s.request("GET", "/openid/v1/jwks")
        self.assertEqual(json.loads(data)["keys"][0]["crv"], "P-256")
        # A token from TokenRequest authenticates as its service account.
        st, data, _ = self.s.request("POST", "/api/v1/namespaces/default/serviceaccounts/nobody/token",
                                     {"spec": {"expirationSeconds": 600}})
        self.assertEqual(st, 404)
        # The serviceaccount controller makes `default`; make sure it is there.
        self.s.request("POST", "/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "default"}})
        st, data, _ = self.s.request("POST", "/api/v1/namespaces/default/serviceaccounts/default/token",
                                     {"spec": {"expirationSeconds": 600}})
        self.assertEqual(st, 201, data)
        tr = json.loads(data)
        self.assertEqual((tr["kind"], tr["apiVersion"]), ("TokenRequest", "authentication.k8s.io/v1"))
        token = tr["status"]["token"]
        st, data, _ = self.s.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                     {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                                     {"Authorization": "Bearer " + token}, auth=False)
        self.assertEqual(st, 201)
        self.assertEqual(json.loads(data)["status"]["userInfo"]["username"], "system:serviceaccount:default:default")
        st, data, _ = self.s.request("POST", "/api/v1/namespaces/default/serviceaccounts/default/token",
                                     {"spec": {"expirationSeconds": 60}})
        self.assertEqual(st, 422)
        self.assertEqual(json.loads(data)["message"], 'TokenRequest.authentication.k8s.io "" is invalid: '
                         'spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes')
        st, data, _ = self.s.request("POST", "/api/v1/namespaces/default/serviceaccounts/default/token",
                                     {"metadata": {"name": "other"}})
        self.assertEqual(st, 400)
        st, data, _ = self.s.request("POST", "/api/v1/namespaces/default/serviceaccounts/default/token", "[1]")
        self.assertEqual(st, 400)

    def test_negotiation(self):
        st, data, h = self.s.request("GET", "/apis", headers={
            "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"})
        self.assertEqual(h["Content-Type"], "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
        groups = [g["metadata"]["name"] for g in json.loads(data)["items"]]
        self.assertIn("apps", groups)
        st, data, h = self.s.request("GET", "/openapi/v3")
        url = json.loads(data)["paths"]["api/v1"]["serverRelativeURL"]
        st, data, h = self.s.request("GET", url)
        self.assertEqual(st, 200)
        st2, _, _ = self.s.request("GET", url, headers={"If-None-Match": h["Etag"]})
        self.assertEqual(st2, 304)
        for i in range(3):
            self.s.request("POST", "/api/v1/namespaces/default/configmaps",
                           {"metadata": {"name": "big-%d" % i}, "data": {"x": "y" * 60000}})
        st, data, h = self.s.request("GET", "/api/v1/configmaps", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(h.get("Content-Encoding"), "gzip")
        self.assertEqual(json.loads(gzip.decompress(data))["kind"], "ConfigMapList")
        tbl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        st, data, _ = self.s.request("GET", "/api/v1/namespaces", headers={"Accept": tbl})
        t = json.loads(data)
        self.assertEqual(t["kind"], "Table")
        self.assertEqual(t["rows"][0]["object"]["kind"], "PartialObjectMetadata")
        st, data, _ = self.s.request("GET", "/api/v1/namespaces?includeObject=None", headers={"Accept": tbl})
        self.assertIsNone(json.loads(data)["rows"][0]["object"])
        self.status("GET", "/api/v1/namespaces?includeObject=Bogus", headers={"Accept": tbl}, code=400)

    def test_watch_over_websocket(self):
        import websocket  # websocket-client, a dependency of python3-kubernetes
        pki = os.path.join(self.s.data_dir, "pki")
        sslopt = {"ca_certs": os.path.join(pki, "ca.crt"), "certfile": os.path.join(pki, "admin.crt"),
                  "keyfile": os.path.join(pki, "admin.key")}
        st, lst = self.s.json("GET", "/api/v1/namespaces/default/configmaps")
        url = "wss://127.0.0.1:%d/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=%s" % (
            self.s.port, lst["metadata"]["resourceVersion"])
        ws = websocket.create_connection(url, sslopt=sslopt, timeout=10)
        try:
            self.s.json("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "ws1"}})
            self.s.json("DELETE", "/api/v1/namespaces/default/configmaps/ws1")
            ws.ping("are you there")
            got = []
            while len(got) < 2:
                op, data = ws.recv_data()
                if op != websocket.ABNF.OPCODE_TEXT:
                    continue
                ev = json.loads(data)
                if ev["object"]["metadata"]["name"] == "ws1":
                    got.append(ev["type"])
            self.assertEqual(got, ["ADDED", "DELETED"])
        finally:
            ws.close()
        # A watch that times out ends with a normal close.
        ws = websocket.create_connection(url.replace("watch=true", "watch=1&timeoutSeconds=1"), sslopt=sslopt,
                                         timeout=10)
        try:
            op, _ = ws.recv_data(control_frame=True)
            while op != websocket.ABNF.OPCODE_CLOSE:
                op, _ = ws.recv_data(control_frame=True)
        finally:
            ws.close()
        # No credentials: refused before the upgrade.
        with self.assertRaises(websocket.WebSocketBadStatusException) as e:
            websocket.create_connection(url, sslopt={"ca_certs": sslopt["ca_certs"]}, timeout=10)
        self.assertEqual(e.exception.status_code, 401)
        # exec on a pod no node runs: a Status, no upgrade.
        self.s.json("POST", "/api/v1/namespaces/default/pods",
                    {"metadata": {"name": "ws-pod"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        with self.assertRaises(websocket.WebSocketBadStatusException) as e:
            websocket.create_connection(
                "wss://127.0.0.1:%d/api/v1/namespaces/default/pods/ws-pod/exec?command=ls&stdout=true" % self.s.port,
                sslopt=sslopt, subprotocols=["v5.channel.k8s.io", "v4.channel.k8s.io"], timeout=10)
        self.assertEqual(e.exception.status_code, 400)
        self.assertEqual(self.s.request("GET", "/readyz")[0], 200)

    def test_watch_expired_is_an_error_event(self):
        # A resourceVersion older than what the watch cache keeps (20 events
        # per resource here) ends the watch with a 410 ERROR event.
        s = Server(extra_args=["--default-watch-cache-size=5"])
        try:
            st, first = s.json("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "e0"}})
            for i in range(1, 10):
                s.json("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "e%d" % i}})
            self.assertEqual(st, 201, first)
            rv = first["metadata"]["resourceVersion"]
            st, data, _ = s.request("GET", "/api/v1/namespaces/default/configmaps?watch=True&resourceVersion=" + rv)
            self.assertEqual(st, 200)
            ev = json.loads(data.decode().splitlines()[0])
            self.assertEqual(ev["type"], "ERROR")
            self.assertEqual(ev["object"]["code"], 410)
            self.assertEqual(ev["object"]["reason"], "Expired")
            self.assertTrue(ev["object"]["message"].startswith("too old resource version: %s (" % rv))
        finally:
            s.close()


class Kill9Test(unittest.TestCase):
    def test_acknowledged_writes_survive_kill9(self):
        s = Server()
        try:
            acked_creates = {}
            acked_updates = {}
            lock = threading.Lock()
            stop = threading.Event()

            def writer(t):
                counter = "counter-%d" % t
                st, _, _ = s.request("POST", "/api/v1/namespaces/default/configmaps",
                                     {"metadata": {"name": counter}, "data": {"n": "0"}})
                if st != 201:
                    return
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        st, _, _ = s.request("POST", "/api/v1/namespaces/default/configmaps",
                                             {"metadata": {"name": "w%d-%d" % (t, i)}, "data": {"v": str(i)}})
                        if st == 201:
                            with lock:
                                acked_creates["w%d-%d" % (t, i)] = str(i)
                        st, _, _ = s.request("PATCH", "/api/v1/namespaces/default/configmaps/" + counter,
                                             {"data": {"n": str(i)}}, {"Content-Type": "application/merge-patch+json"})
                        if st == 200:
                            with lock:
                                acked_updates[counter] = i
                    except OSError:
                        return

            ts = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
            for t in ts:
                t.start()
            # Kill while every writer is mid-stream: wait (bounded) until each
            # has had an update acknowledged, so slow machines test the same thing.
            deadline = time.time() + 20
            time.sleep(1.0)
            while time.time() < deadline:
                with lock:
                    if len(acked_updates) == 8 and len(acked_creates) > 50:
                        break
                time.sleep(0.1)
            time.sleep(0.3)
            s.kill9()
            stop.set()
            for t in ts:
                t.join()
            self.assertGreater(len(acked_creates), 50)
            s.start()
            st, data, _ = s.request("GET", "/api/v1/namespaces/default/configmaps")
            stored = {c["metadata"]["name"]: c["data"].get("v") for c in json.loads(data)["items"]}
            for name, v in acked_creates.items():
                self.assertEqual(stored.get(name), v, "acknowledged create %s lost" % name)
            counters = {c["metadata"]["name"]: int(c["data"]["n"]) for c in json.loads(data)["items"]
                        if c["metadata"]["name"].startswith("counter-")}
            self.assertEqual(len(acked_updates), 8)
            for name, n in acked_updates.items():
                # A write may land without its answer arriving; never fewer.
                self.assertGreaterEqual(counters[name], n, "acknowledged update of %s lost" % name)
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main()
