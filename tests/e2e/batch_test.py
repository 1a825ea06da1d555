"""Jobs and CronJobs inside `kubepp server` on `kubepp sim` nodes, driven by
upstream kubectl: completions and parallelism, Indexed jobs, a failing job
stopping at backoffLimit, activeDeadlineSeconds, suspend, ttlSecondsAfterFinished,
and a cronjob firing on schedule."""
import json
import unittest

from kubepp_cluster import Component, KubectlAssertions, Server


def job(name, ns, extra_spec=None, annotations=None):
    spec = {"template": {"metadata": {"annotations": annotations or {"kubepp.io/sim-run-seconds": "0.3"}},
                         "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}
    spec.update(extra_spec or {})
    return json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": ns}, "spec": spec})


class BatchTest(KubectlAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.sim = Component(cls.s, "sim", "--nodes", "3")

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()
        cls.s.close()

    def setUp(self):
        self.use_test_namespace()

    def get(self, kind, name):
        return json.loads(self.ok("get", kind, name, "-o", "json", *self.n))

    def test_completions_parallelism_and_indexed(self):
        self.ok("apply", "-f", "-", input=job("work", self.ns, {"completions": 5, "parallelism": 2}))
        self.ok("apply", "-f", "-", input=job("idx", self.ns, {"completions": 3, "parallelism": 3,
                                                             "completionMode": "Indexed"}))
        self.ok("wait", "--for=condition=complete", "job/work", "job/idx", "--timeout=40s", *self.n)
        self.assertRegex(self.ok("get", "job", "work", "--no-headers", *self.n), r"^work\s+Complete\s+5/5\s+")
        w = self.get("job", "work")
        self.assertEqual((w["status"]["succeeded"], w["status"].get("failed", 0)), (5, 0))
        self.assertIn("completionTime", w["status"])
        self.assertEqual({c["type"] for c in w["status"]["conditions"]}, {"SuccessCriteriaMet", "Complete"})
        pods = json.loads(self.ok("get", "pods", "-l", "job-name=work", "-o", "json", *self.n))["items"]
        self.assertEqual(len(pods), 5)
        self.assertTrue(all(p["metadata"]["ownerReferences"][0]["kind"] == "Job" for p in pods))
        i = self.get("job", "idx")
        self.assertEqual(i["status"]["completedIndexes"], "0-2")
        pods = json.loads(self.ok("get", "pods", "-l", "job-name=idx", "-o", "json", *self.n))["items"]
        self.assertEqual(sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods),
                         ["0", "1", "2"])
        env = pods[0]["spec"]["containers"][0]["env"]
        self.assertIn("JOB_COMPLETION_INDEX", [e["name"] for e in env])

    def test_failing_job_stops_at_backoff_limit(self):
        self.ok("apply", "-f", "-", input=job("bad", self.ns, {"backoffLimit": 1},
                                             {"kubepp.io/sim-exit-code": "3", "kubepp.io/sim-run-seconds": "0.2"}))
        self.ok("wait", "--for=condition=failed", "job/bad", "--timeout=40s", *self.n)
        b = self.get("job", "bad")
        failed = [c for c in b["status"]["conditions"] if c["type"] == "Failed"][0]
        self.assertEqual((failed["reason"], failed["message"]),
                         ("BackoffLimitExceeded", "Job has reached the specified backoff limit"))
        self.assertEqual(b["status"]["failed"], 2)
        self.assertRegex(self.ok("get", "job", "bad", "--no-headers", *self.n), r"^bad\s+Failed\s+0/1\s+")
        self.assertIn("BackoffLimitExceeded", self.ok("describe", "job", "bad", *self.n))

    def test_deadline_suspend_and_ttl(self):
        self.ok("apply", "-f", "-", input=job("slow", self.ns, {"activeDeadlineSeconds": 2},
                                             {"kubepp.io/sim-run-seconds": "60"}))
        self.ok("wait", "--for=condition=failed", "job/slow", "--timeout=30s", *self.n)
        reason = [c for c in self.get("job", "slow")["status"]["conditions"] if c["type"] == "Failed"][0]["reason"]
        self.assertEqual(reason, "DeadlineExceeded")
        self.ok("apply", "-f", "-", input=job("held", self.ns, {"suspend": True}))
        self.wait_for(lambda: any(c["type"] == "Suspended" and c["status"] == "True"
                                  for c in self.get("job", "held")["status"].get("conditions", [])), what="Suspended")
        self.assertEqual(json.loads(self.ok("get", "pods", "-l", "job-name=held", "-o", "json", *self.n))["items"], [])
        self.ok("patch", "job", "held", "-p", '{"spec":{"suspend":false}}', *self.n)
        self.ok("wait", "--for=condition=complete", "job/held", "--timeout=30s", *self.n)
        self.ok("apply", "-f", "-", input=job("brief", self.ns, {"ttlSecondsAfterFinished": 3}))
        self.ok("wait", "--for=condition=complete", "job/brief", "--timeout=30s", *self.n)
        self.wait_for(lambda: self.s.kubectl("get", "job", "brief", *self.n).returncode != 0, what="ttl deletion")

    def test_cronjob_fires(self):
        self.ok("create", "cronjob", "tick", "--image=busybox", "--schedule=* * * * *", *self.n)
        self.ok("patch", "cronjob", "tick", "-p", json.dumps({"spec": {"jobTemplate": {"spec": {"template": {
            "metadata": {"annotations": {"kubepp.io/sim-run-seconds": "0.2"}}}}}}}), *self.n)
        def fired():
            jobs = json.loads(self.ok("get", "jobs", "-o", "json", *self.n))["items"]
            return jobs if jobs else None
        jobs = self.wait_for(fired, timeout=75, what="a job from the cronjob")
        j = jobs[0]
        self.assertTrue(j["metadata"]["name"].startswith("tick-"))
        self.assertEqual(j["metadata"]["ownerReferences"][0]["kind"], "CronJob")
        self.assertIn("batch.kubernetes.io/cronjob-scheduled-timestamp", j["metadata"]["annotations"])
        self.ok("wait", "--for=condition=complete", "job/" + j["metadata"]["name"], "--timeout=30s", *self.n)
        cj = self.wait_for(lambda: (lambda c: c if c["status"].get("lastSuccessfulTime") else None)(
            self.get("cronjob", "tick")), what="lastSuccessfulTime")
        self.assertIn("lastScheduleTime", cj["status"])
        self.assertRegex(self.ok("get", "cronjob", "tick", "--no-headers", *self.n),
                         r"^tick\s+\* \* \* \* \*\s+<none>\s+False\s+0\s+\d+s")


if __name__ == "__main__":
    unittest.main()
