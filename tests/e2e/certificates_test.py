"""Certificates and TLS bootstrapping: CertificateSigningRequests (create,
validation, /approval and /status, `kubectl certificate approve|deny`, the
csrapproving and csrsigning controllers), bootstrap tokens (authentication,
expiry, the token cleaner) and the signed kube-public/cluster-info, driven by
upstream kubectl, the Python client and raw HTTPS."""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import unittest

from kubepp_cluster import Server, KubectlAssertions

CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_csr(tmp, name, cn, orgs=(), sans=None):
    """A new EC key and CSR made by openssl: (csr_pem, key_path)."""
    key = os.path.join(tmp, name + ".key")
    subj = "".join("/O=" + o for o in orgs) + "/CN=" + cn
    args = ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-subj", subj]
    if sans:
        args += ["-addext", "subjectAltName=" + sans]
    csr = subprocess.run(args, capture_output=True, check=True).stdout
    return csr, key


def csr_object(name, pem, signer, usages, **spec):
    s = {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": usages}
    s.update(spec)
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name}, "spec": s}


class CertificatesTest(KubectlAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        with open(os.path.join(cls.s.data_dir, "node-token")) as f:
            cls.token = f.read().strip()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def bearer(self, token, method, path, body=None):
        st, data, _ = self.s.request(method, path, body, {"Authorization": "Bearer " + token}, auth=False)
        try:
            return st, json.loads(data)
        except ValueError:
            return st, data

    def whoami(self, token):
        st, o = self.bearer(token, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        return st, (o["status"]["userInfo"] if st == 201 else o)

    def wait_csr(self, name, cond, timeout=20):
        def f():
            st, o = self.s.json("GET", CSR_PATH + "/" + name)
            return o if st == 200 and cond(o) else None
        return self.wait_for(f, timeout, "csr " + name)

    def token_secret(self, tid, secret, **data):
        d = {"token-id": tid, "token-secret": secret}
        d.update(data)
        return {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
                "metadata": {"name": "bootstrap-token-" + tid, "namespace": "kube-system"},
                "stringData": d}

    def test_cluster_info_is_public_and_signed_for_the_token(self):
        self.assertRegex(self.token, r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
        tid, secret = self.token.split(".")
        path = "/api/v1/namespaces/kube-public/configmaps/cluster-info"

        def signed():
            st, data, _ = self.s.request("GET", path, auth=False)  # no client certificate: anonymous
            self.assertEqual(st, 200, data)
            o = json.loads(data)
            return o if "jws-kubeconfig-" + tid in o["data"] else None
        cm = self.wait_for(signed, 20, "the cluster-info signature")
        kubeconfig = cm["data"]["kubeconfig"]
        with open(os.path.join(self.s.data_dir, "pki", "ca.crt")) as f:
            ca = f.read()
        self.assertIn("certificate-authority-data: " + base64.b64encode(ca.encode()).decode(), kubeconfig)
        # The detached JWS upstream's bootstrapsigner writes: HS256 keyed by the token secret.
        header, empty, sig = cm["data"]["jws-kubeconfig-" + tid].split(".")
        self.assertEqual(empty, "")
        self.assertEqual(json.loads(base64.urlsafe_b64decode(header + "==")), {"alg": "HS256", "kid": tid})
        want = hmac.new(secret.encode(), (header + "." + b64url(kubeconfig.encode())).encode(), hashlib.sha256).digest()
        self.assertEqual(sig, b64url(want))
        # Nothing else is anonymous.
        for p in ["/api/v1/namespaces/kube-public/configmaps", "/api/v1/namespaces/kube-system/configmaps/cluster-info"]:
            self.assertEqual(self.s.request("GET", p, auth=False)[0], 401, p)
        self.assertEqual(self.s.request("DELETE", path, auth=False)[0], 401)

        # A new signing token is signed for too; deleting it removes its signature.
        self.ok("apply", "-f", "-", input=json.dumps(self.token_secret("sig123", "0123456789abcdef",
                                                                        **{"usage-bootstrap-signing": "true"})))
        self.wait_for(lambda: "jws-kubeconfig-sig123" in json.loads(self.s.request("GET", path, auth=False)[1])["data"],
                      20, "the new token's signature")
        self.ok("delete", "secret", "bootstrap-token-sig123", "-n", "kube-system")
        self.wait_for(lambda: "jws-kubeconfig-sig123" not in
                      json.loads(self.s.request("GET", path, auth=False)[1])["data"], 20, "the signature removed")

    def test_bootstrap_tokens_authenticate_while_valid(self):
        tid = self.token.split(".")[0]
        st, user = self.whoami(self.token)
        self.assertEqual(st, 201, user)
        self.assertEqual(user["username"], "system:bootstrap:" + tid)
        self.assertEqual(user["groups"], ["system:bootstrappers", "system:bootstrappers:kubepp:default-node-token",
                                          "system:authenticated"])
        # Upstream kubectl with the token.
        p = self.s.kubectl("--token", self.token, "auth", "whoami", "-o", "json",
                           env={"KUBECONFIG": self.userless_kubeconfig()})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["status"]["userInfo"]["username"], "system:bootstrap:" + tid)
        # A token may ask for a certificate and nothing more (upstream's node-bootstrapper role).
        st, o = self.bearer(self.token, "GET", "/api/v1/namespaces/kube-system/secrets")
        self.assertEqual(st, 403, o)
        self.assertEqual(o["message"], 'secrets is forbidden: User "system:bootstrap:%s" cannot list resource '
                                       '"secrets" in API group "" in the namespace "kube-system"' % tid)
        st, o = self.bearer(self.token, "DELETE", "/api/v1/nodes/n1")
        self.assertEqual(st, 403, o)
        self.assertEqual(self.bearer(self.token, "GET", CSR_PATH)[0], 200)
        st, o = self.bearer(self.token, "PUT", CSR_PATH + "/x/approval", {"metadata": {"name": "x"}})
        self.assertEqual(st, 403, o)
        self.assertIn('cannot update resource "certificatesigningrequests/approval" in API group '
                      '"certificates.k8s.io" at the cluster scope', o["message"])
        # Bad credentials are not anonymous, even for cluster-info.
        st, _, _ = self.s.request("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info",
                                  headers={"Authorization": "Bearer nonsense"}, auth=False)
        self.assertEqual(st, 401)
        # A wrong secret, a token without the authentication usage, an expired one: 401.
        self.assertEqual(self.whoami(tid + ".0000000000000000")[0], 401)
        self.ok("apply", "-f", "-", input=json.dumps(self.token_secret("nouse1", "0123456789abcdef")))
        self.assertEqual(self.whoami("nouse1.0123456789abcdef")[0], 401)
        self.ok("apply", "-f", "-", input=json.dumps(self.token_secret(
            "short1", "0123456789abcdef", **{"usage-bootstrap-authentication": "true",
                                               "expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                           time.gmtime(time.time() + 3))})))
        self.assertEqual(self.whoami("short1.0123456789abcdef")[0], 201)
        # Once expired it no longer works, and the token cleaner deletes it.
        self.wait_for(lambda: self.s.kubectl("get", "secret", "bootstrap-token-short1", "-n", "kube-system").returncode != 0,
                      20, "the token cleaner")
        self.assertEqual(self.whoami("short1.0123456789abcdef")[0], 401)
        # Extra groups must stay under system:bootstrappers:.
        self.ok("apply", "-f", "-", input=json.dumps(self.token_secret(
            "group1", "0123456789abcdef", **{"usage-bootstrap-authentication": "true",
                                               "auth-extra-groups": "system:masters"})))
        self.assertEqual(self.whoami("group1.0123456789abcdef")[0], 401)

    def as_cert(self, cert, key, *args, **kw):
        """kubectl as the holder of a client certificate."""
        return self.s.kubectl("--client-certificate", cert, "--client-key", key, *args,
                              env={"KUBECONFIG": self.userless_kubeconfig()}, **kw)

    def userless_kubeconfig(self):
        path = os.path.join(self.s.tmp, "userless.kubeconfig")
        with open(os.path.join(self.s.data_dir, "pki", "ca.crt")) as f:
            ca = base64.b64encode(f.read().encode()).decode()
        with open(path, "w") as f:
            f.write("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: %s\n"
                    "    server: https://127.0.0.1:%d\n  name: c\ncontexts:\n- context:\n    cluster: c\n    user: u\n"
                    "  name: c\ncurrent-context: c\nusers:\n- name: u\n  user: {}\n" % (ca, self.s.port))
        return path

    def test_node_client_csr_is_approved_and_signed(self):
        tid = self.token.split(".")[0]
        pem, key = new_csr(self.s.tmp, "n1", "system:node:n1", ["system:nodes"])
        st, o = self.bearer(self.token, "POST", CSR_PATH, csr_object(
            "node-csr-n1", pem, "kubernetes.io/kube-apiserver-client-kubelet", ["digital signature", "client auth"],
            username="forged", groups=["system:masters"]))
        self.assertEqual(st, 201, o)
        # The server records who asked, whatever the body says.
        self.assertEqual(o["spec"]["username"], "system:bootstrap:" + tid)
        self.assertIn("system:bootstrappers", o["spec"]["groups"])
        self.assertNotIn("system:masters", o["spec"]["groups"])
        o = self.wait_csr("node-csr-n1", lambda o: o.get("status", {}).get("certificate"))
        approved = [c for c in o["status"]["conditions"] if c["type"] == "Approved"][0]
        self.assertEqual((approved["status"], approved["reason"]), ("True", "AutoApproved"))
        self.assertEqual(approved["message"], "Auto approving kubelet client certificate after SubjectAccessReview.")
        self.assertTrue(approved["lastUpdateTime"] and approved["lastTransitionTime"])
        out = self.ok("get", "csr", "node-csr-n1")
        self.assertRegex(out, r"NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION\n"
                              r"node-csr-n1\s+\S+\s+kubernetes.io/kube-apiserver-client-kubelet\s+system:bootstrap:"
                              + tid + r"\s+<none>\s+Approved,Issued\n")
        cert = os.path.join(self.s.tmp, "n1.crt")
        with open(cert, "wb") as f:
            f.write(base64.b64decode(o["status"]["certificate"]))
        ca = os.path.join(self.s.data_dir, "pki", "ca.crt")
        v = subprocess.run(["openssl", "verify", "-CAfile", ca, "-purpose", "sslclient", cert], capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        text = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-text"], capture_output=True, text=True).stdout
        self.assertIn("O = system:nodes, CN = system:node:n1", text)
        self.assertIn("TLS Web Client Authentication", text)
        self.assertNotIn("CA:TRUE", text)
        # The certificate authenticates as the node.
        p = self.as_cert(cert, key, "auth", "whoami", "-o", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        info = json.loads(p.stdout)["status"]["userInfo"]
        self.assertEqual((info["username"], info["groups"][0]), ("system:node:n1", "system:nodes"))
        # The node renews its own certificate: approved as selfnodeclient.
        pem2, _ = new_csr(self.s.tmp, "n1b", "system:node:n1", ["system:nodes"])
        p = self.as_cert(cert, key, "create", "-f", "-", input=json.dumps(
            csr_object("node-csr-n1-renew", pem2, "kubernetes.io/kube-apiserver-client-kubelet",
                       ["digital signature", "client auth"])))
        self.assertEqual(p.returncode, 0, p.stderr)
        o = self.wait_csr("node-csr-n1-renew", lambda o: o.get("status", {}).get("certificate"))
        self.assertEqual(o["status"]["conditions"][0]["message"],
                         "Auto approving self kubelet client certificate after SubjectAccessReview.")
        # But a node may not get another node's certificate approved, nor may
        # a bootstrap token get a certificate outside system:nodes.
        pem3, _ = new_csr(self.s.tmp, "n2", "system:node:n2", ["system:nodes"])
        p = self.as_cert(cert, key, "create", "-f", "-", input=json.dumps(
            csr_object("node-csr-other", pem3, "kubernetes.io/kube-apiserver-client-kubelet",
                       ["digital signature", "client auth"])))
        self.assertEqual(p.returncode, 0, p.stderr)
        pem4, _ = new_csr(self.s.tmp, "adm", "admin", ["system:masters"])
        st, _ = self.bearer(self.token, "POST", CSR_PATH, csr_object(
            "bootstrap-masters", pem4, "kubernetes.io/kube-apiserver-client-kubelet", ["digital signature", "client auth"]))
        self.assertEqual(st, 201)
        time.sleep(2)
        for name in ["node-csr-other", "bootstrap-masters"]:
            self.assertRegex(self.ok("get", "csr", name, "--no-headers"), r"\sPending\n", name)

    def test_kubectl_certificate_approve_and_deny(self):
        pem, key = new_csr(self.s.tmp, "dev", "developer", ["devs"])
        obj = csr_object("dev", pem, "kubernetes.io/kube-apiserver-client", ["client auth"], expirationSeconds=3600)
        self.ok("create", "-f", "-", input=json.dumps(obj))
        self.assertRegex(self.ok("get", "csr", "dev", "--no-headers"), r"kubernetes-admin\s+60m\s+Pending\n")
        self.assertEqual(self.ok("certificate", "approve", "dev"),
                         "certificatesigningrequest.certificates.k8s.io/dev approved\n")
        o = self.wait_csr("dev", lambda o: o.get("status", {}).get("certificate"))
        approved = o["status"]["conditions"][0]
        self.assertEqual((approved["type"], approved["reason"]), ("Approved", "KubectlApprove"))
        cert = os.path.join(self.s.tmp, "dev.crt")
        with open(cert, "wb") as f:
            f.write(base64.b64decode(o["status"]["certificate"]))
        # expirationSeconds is honoured (after the five-minute backdating).
        dates = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-startdate", "-enddate"],
                               capture_output=True, text=True).stdout
        self.assertIn("notAfter", dates)
        p = self.as_cert(cert, key, "auth", "whoami", "-o", "json")
        self.assertEqual(json.loads(p.stdout)["status"]["userInfo"]["groups"][:1], ["devs"])

        pem, _ = new_csr(self.s.tmp, "denied", "nobody")
        self.ok("create", "-f", "-", input=json.dumps(csr_object("nobody", pem, "kubernetes.io/kube-apiserver-client",
                                                                 ["client auth"])))
        self.assertEqual(self.ok("certificate", "deny", "nobody"),
                         "certificatesigningrequest.certificates.k8s.io/nobody denied\n")
        self.assertRegex(self.ok("get", "csr", "nobody", "--no-headers"), r"\sDenied\n")
        time.sleep(1)
        st, o = self.s.json("GET", CSR_PATH + "/nobody")
        self.assertNotIn("certificate", o["status"])
        # Denied and Approved exclude each other; an approval cannot be taken back.
        p = self.s.kubectl("certificate", "approve", "nobody")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('certificate signing request "nobody" is already Denied', p.stderr)
        st, cur = self.s.json("GET", CSR_PATH + "/nobody")
        cur["status"]["conditions"].append({"type": "Approved", "status": "True"})
        st, o = self.s.json("PUT", CSR_PATH + "/nobody/approval", cur)
        self.assertEqual(st, 422, o)
        self.assertIn("Approved and Denied conditions are mutually exclusive", o["message"])
        st, cur = self.s.json("GET", CSR_PATH + "/dev")
        cur["status"]["conditions"] = []
        st, o = self.s.json("PUT", CSR_PATH + "/dev/approval", cur)
        self.assertEqual(st, 422, o)
        self.assertIn('updates may not remove a condition of type \\"Approved\\"', json.dumps(o["message"]))

        # A request its signer may not issue fails instead of being signed.
        pem, _ = new_csr(self.s.tmp, "srv", "server")
        self.ok("create", "-f", "-", input=json.dumps(csr_object("srv", pem, "kubernetes.io/kube-apiserver-client",
                                                                 ["server auth"])))
        self.ok("certificate", "approve", "srv")
        o = self.wait_csr("srv", lambda o: any(c["type"] == "Failed" for c in o["status"].get("conditions", [])))
        failed = [c for c in o["status"]["conditions"] if c["type"] == "Failed"][0]
        self.assertEqual((failed["reason"], failed["message"]),
                         ("SignerValidationFailure", "invalid usage for client certificate: server auth"))
        self.assertRegex(self.ok("get", "csr", "srv", "--no-headers"), r"\sApproved,Failed\n")
        # Another signer's requests are left for that signer.
        pem, _ = new_csr(self.s.tmp, "ext", "ext")
        self.ok("create", "-f", "-", input=json.dumps(csr_object("ext", pem, "example.com/custom", ["client auth"])))
        self.ok("certificate", "approve", "ext")
        time.sleep(1)
        self.assertRegex(self.ok("get", "csr", "ext", "--no-headers"), r"\sApproved\n")

    def test_status_and_approval_subresources(self):
        pem, _ = new_csr(self.s.tmp, "sub", "sub")
        self.assertEqual(self.s.json("POST", CSR_PATH, csr_object("sub", pem, "example.com/x", ["client auth"]))[0], 201)
        st, cur = self.s.json("GET", CSR_PATH + "/sub")
        # /status may not approve; the main resource changes neither spec nor status.
        cur["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "Sneaky"},
                                        {"type": "Custom", "status": "True"}]}
        st, o = self.s.json("PUT", CSR_PATH + "/sub/status", cur)
        self.assertEqual(st, 200, o)
        self.assertEqual([c["type"] for c in o["status"]["conditions"]], ["Custom"])
        o["spec"]["signerName"] = "example.com/y"
        o["metadata"]["labels"] = {"a": "b"}
        st, o = self.s.json("PUT", CSR_PATH + "/sub", o)
        self.assertEqual(st, 200, o)
        self.assertEqual((o["spec"]["signerName"], o["metadata"]["labels"]), ("example.com/x", {"a": "b"}))
        # /approval sets conditions but not the certificate.
        o["status"]["conditions"].append({"type": "Approved", "status": "True", "reason": "ByHand"})
        o["status"]["certificate"] = base64.b64encode(b"junk").decode()
        st, o = self.s.json("PUT", CSR_PATH + "/sub/approval", o)
        self.assertEqual(st, 200, o)
        self.assertEqual([c["type"] for c in o["status"]["conditions"]], ["Custom", "Approved"])
        self.assertNotIn("certificate", o["status"])
        # The signer's certificate must be PEM CERTIFICATE blocks, and is set once.
        o["status"]["certificate"] = base64.b64encode(b"junk").decode()
        st, err = self.s.json("PUT", CSR_PATH + "/sub/status", o)
        self.assertEqual(st, 422, err)
        self.assertIn("status.certificate", err["message"])
        with open(os.path.join(self.s.data_dir, "pki", "ca.crt"), "rb") as f:
            o["status"]["certificate"] = base64.b64encode(f.read()).decode()
        st, o = self.s.json("PUT", CSR_PATH + "/sub/status", o)
        self.assertEqual(st, 200, o)
        with open(os.path.join(self.s.data_dir, "pki", "admin.crt"), "rb") as f:
            o["status"]["certificate"] = base64.b64encode(f.read()).decode()
        st, err = self.s.json("PUT", CSR_PATH + "/sub/status", o)
        self.assertEqual(st, 422, err)
        self.assertIn("updates may not modify existing certificate content", err["message"])
        # Field selector on the signer, and delete.
        out = self.ok("get", "csr", "--field-selector", "spec.signerName=example.com/x", "-o", "name")
        self.assertEqual(out, "certificatesigningrequest.certificates.k8s.io/sub\n")
        self.ok("delete", "csr", "sub")

    def test_validation(self):
        pem, _ = new_csr(self.s.tmp, "val", "val")

        def create(**kw):
            spec = {"request": base64.b64encode(pem).decode(), "signerName": "example.com/s", "usages": ["client auth"]}
            spec.update(kw)
            return self.s.json("POST", CSR_PATH, {"apiVersion": "certificates.k8s.io/v1",
                                                  "kind": "CertificateSigningRequest",
                                                  "metadata": {"generateName": "v-"}, "spec": spec})
        for kw, want in [
                ({"request": base64.b64encode(b"not a csr").decode()},
                 "spec.request: Invalid value: []byte{...}: PEM block type must be CERTIFICATE REQUEST"),
                ({"signerName": ""}, "spec.signerName: Required value"),
                ({"signerName": "nodomain"}, "spec.signerName: Invalid value: \"nodomain\": must be a fully qualified "
                                             "domain and path of the form 'example.com/signer-name'"),
                ({"signerName": "example/x"}, "should be a domain with at least two segments separated by dots"),
                ({"signerName": "kubernetes.io/legacy-unknown"}, "the legacy signerName is not allowed via this API version"),
                ({"usages": []}, "spec.usages: Required value: usages must be provided"),
                ({"usages": ["client auth", "flying"]}, "spec.usages[1]: Unsupported value: \"flying\""),
                ({"usages": ["client auth", "client auth"]}, "spec.usages[1]: Duplicate value: \"client auth\""),
                ({"expirationSeconds": 100}, "spec.expirationSeconds: Invalid value: 100: may not specify a duration "
                                             "less than 600 seconds (10 minutes)")]:
            st, o = create(**kw)
            self.assertEqual(st, 422, (kw, o))
            self.assertEqual(o["reason"], "Invalid")
            self.assertIn(want, o["message"], kw)
        # Nothing half-written.
        self.assertEqual(self.ok("get", "csr", "-o", "name").count("/v-"), 0)

    def test_z_a_revoked_node_token_is_replaced(self):
        # Deleting the node token's Secret revokes it for good: the next
        # server start writes a new token instead of bringing it back.
        tid = self.token.split(".")[0]
        self.ok("delete", "secret", "bootstrap-token-" + tid, "-n", "kube-system")
        self.assertEqual(self.whoami(self.token)[0], 401)
        self.s.stop()
        self.s.start()
        with open(os.path.join(self.s.data_dir, "node-token")) as f:
            new = f.read().strip()
        self.assertRegex(new, r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
        self.assertNotEqual(new, self.token)
        self.assertEqual(self.whoami(self.token)[0], 401)
        self.assertEqual(self.whoami(new)[0], 201)
        self.ok("get", "secret", "bootstrap-token-" + new.split(".")[0], "-n", "kube-system")
        type(self).token = new

    def test_python_client(self):
        from kubernetes import client, config
        api = client.CertificatesV1Api(config.new_client_from_config(self.s.kubeconfig))
        pem, _ = new_csr(self.s.tmp, "py", "py-user", ["py"])
        body = client.V1CertificateSigningRequest(
            metadata=client.V1ObjectMeta(name="py"),
            spec=client.V1CertificateSigningRequestSpec(request=base64.b64encode(pem).decode(),
                                                        signer_name="kubernetes.io/kube-apiserver-client",
                                                        usages=["digital signature", "client auth"]))
        created = api.create_certificate_signing_request(body)
        self.assertEqual(created.spec.username, "kubernetes-admin")
        cur = api.read_certificate_signing_request("py")
        cur.status.conditions = [client.V1CertificateSigningRequestCondition(
            type="Approved", status="True", reason="PythonApprove", message="approved from python")]
        api.replace_certificate_signing_request_approval("py", cur)
        deadline = time.time() + 20
        while time.time() < deadline and not api.read_certificate_signing_request_status("py").status.certificate:
            time.sleep(0.2)
        got = api.read_certificate_signing_request("py")
        self.assertTrue(base64.b64decode(got.status.certificate).startswith(b"-----BEGIN CERTIFICATE-----"))
        self.assertIn("py", [c.metadata.name for c in api.list_certificate_signing_request().items])


if __name__ == "__main__":
    unittest.main(verbosity=2)
