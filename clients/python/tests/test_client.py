import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
import warnings
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import trickbench  # noqa: E402
from trickbench import _run, _transport  # noqa: E402
from fake_server import TOKEN, FakeServer  # noqa: E402


class Scalar:
    """What numpy and torch scalars look like to the client: a number behind .item()."""

    def __init__(self, v):
        self.v = v

    def item(self):
        return self.v


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.server = FakeServer()
        self.addCleanup(self.server.close)
        # Fast clocks so the tests take milliseconds; the behaviour is the same.
        for mod, name, value in (
            (_transport, "BACKOFF_S", 0.01),
            (_transport, "TIMEOUT_S", 2.0),
            (_run, "FLUSH_INTERVAL_S", 0.05),
            (_run, "HEARTBEAT_S", 3600.0),
        ):
            patcher = mock.patch.object(mod, name, value)
            patcher.start()
            self.addCleanup(patcher.stop)
        env = mock.patch.dict(os.environ, {"TRICKBENCH_URL": "", "TRICKBENCH_TOKEN": "", "TRICKBENCH_HOME": tempfile.mkdtemp()})
        env.start()
        self.addCleanup(env.stop)

    def init(self, **kw):
        run = trickbench.init(url=self.server.url, token=TOKEN, **kw)
        self.addCleanup(lambda: run._finished or run.finish())
        return run

    def test_init_creates_the_run_with_its_spec_and_the_bearer_token(self):
        run = self.init(experiment="smoothing", arm="ls", seed=3, params={"lr": Scalar(0.1), "layers": [32, 64]}, metric="val/acc")
        self.assertEqual((run.id, run.experiment_id, run.arm_id), (7, 2, 3))
        (spec,) = self.server.of("ingest:create")
        self.assertEqual({k: v for k, v in spec.items() if k != "clientKey"},
                         {"experiment": "smoothing", "arm": "ls", "seed": 3, "params": {"lr": 0.1, "layers": [32, 64]}, "metric": "val/acc"})
        self.assertRegex(spec["clientKey"], r"^[0-9a-f]{32}$")  # a retried create makes one run
        self.assertEqual(self.server.calls[0][2]["Authorization"], "Bearer " + TOKEN)

    def test_buffered_points_go_in_batches_of_at_most_1000_and_arrive_whole(self):
        run = self.init()
        for step in range(2500):
            run.log({"train/loss": 1.0 / (step + 1), "lr": Scalar(0.1)}, step=step, epoch=step / 100)
        run.finish()
        batches = [b["points"] for b in self.server.of("ingest:metrics")]
        self.assertTrue(all(len(b) <= 1000 for b in batches), [len(b) for b in batches])
        self.assertEqual(sum(len(b) for b in batches), 5000)  # each point sent once
        self.assertEqual(len(self.server.points), 5000)
        self.assertEqual(self.server.points[("train/loss", 9)], 0.1)
        self.assertEqual(batches[0][0]["epoch"], 0.0)
        self.assertEqual(self.server.of("ingest:finish"), [{"runId": 7, "status": "completed"}])

    def test_1000_buffered_points_are_sent_without_waiting_for_the_interval(self):
        with mock.patch.object(_run, "FLUSH_INTERVAL_S", 3600.0):
            run = self.init()
            for step in range(1000):
                run.log({"train/loss": 0.5}, step=step)
            self.server.wait_for(lambda: len(self.server.points) == 1000, "the flush of a full buffer")
            run.finish()

    @unittest.skipUnless(importlib.util.find_spec("numpy"), "numpy is not installed")
    def test_numpy_and_torch_scalars_are_numbers(self):
        import numpy as np

        values = {"np32": np.float32(0.25), "np64": np.float64(0.5), "npint": np.int64(3)}
        if importlib.util.find_spec("torch"):
            import torch

            values["torch"] = torch.tensor(0.75)
            with self.assertRaisesRegex(TypeError, "vec: expected a number or a one-element tensor"):
                self.init().log({"vec": torch.tensor([1.0, 2.0])}, step=0)
        run = self.init(params={"lr": np.float32(0.5), "sizes": np.array([1, 2])})
        run.log(values, step=np.int64(2))
        run.finish()
        self.assertEqual(self.server.of("ingest:create")[-1]["params"], {"lr": 0.5, "sizes": [1, 2]})
        self.assertEqual({k: v for (k, _), v in self.server.points.items()}, {"np32": 0.25, "np64": 0.5, "npint": 3.0, **({"torch": 0.75} if "torch" in values else {})})

    def test_a_point_is_sent_in_the_background_without_finish(self):
        run = self.init()
        run.log({"train/loss": 0.5}, step=1)
        self.server.wait_for(lambda: ("train/loss", 1) in self.server.points, "the background flush")
        self.assertEqual(self.server.of("ingest:finish"), [])

    def test_5xx_and_timeouts_are_retried_and_nothing_is_lost(self):
        run = self.init()
        self.server.script["ingest:metrics"] = [(503, {"ok": False, "error": {"message": "busy"}}), ("sleep", 0.5), (500, "")]
        with mock.patch.object(_transport, "TIMEOUT_S", 0.2):
            run.log({"a": 1.0}, step=0)
            run.finish()
        # The batch came 4 times (the timed-out one too: the server kept it once, by key and step).
        self.assertEqual(len(self.server.of("ingest:metrics")), 4)
        self.assertEqual(self.server.points, {("a", 0): 1.0})

    def test_a_refused_batch_is_not_retried_and_raised_at_the_next_call(self):
        run = self.init()
        msg = "ingest:metrics: points.0.step: must be <= 9007199254740991"
        self.server.script["ingest:metrics"] = [(400, {"ok": False, "error": {"code": "bad_request", "message": msg}})]
        run.log({"a": 1.0}, step=0)
        self.server.wait_for(lambda: self.server.of("ingest:metrics"), "the flush")
        self.server.wait_for(lambda: run._error is not None, "the refusal")
        with self.assertRaisesRegex(trickbench.TrickbenchError, "points.0.step: must be <="):
            run.log({"ok": 1.0}, step=1)
        run.finish()  # raised once, not again
        self.assertEqual(len(self.server.of("ingest:metrics")), 1)

    def test_a_refusal_found_at_finish_is_raised_by_finish_after_the_run_is_finished(self):
        run = self.init()
        self.server.script["ingest:summary"] = [(409, {"ok": False, "error": {"code": "conflict", "message": "run 7 is finished"}})]
        run.summary(best=1.0)
        with self.assertRaisesRegex(trickbench.TrickbenchError, "HTTP 409.*run 7 is finished"):
            run.finish()
        self.assertEqual(self.server.of("ingest:finish"), [{"runId": 7, "status": "completed"}])
        with self.assertRaisesRegex(trickbench.TrickbenchError, "is finished"):
            run.log({"a": 1}, step=0)

    def test_an_unreachable_server_at_finish_is_an_error_naming_what_was_not_sent(self):
        run = self.init()
        with mock.patch.object(_transport, "ATTEMPTS", 2):
            self.server.script["ingest:metrics"] = [(503, "")] * 100
            self.server.script["ingest:finish"] = [(503, "")] * 100
            run.log({"a": 1.0, "b": 2.0}, step=0)
            with self.assertRaisesRegex(trickbench.TrickbenchError, "2 buffered values were not sent.*HTTP 503"):
                run.finish()

    def test_non_finite_values_are_dropped_warned_once_per_key_and_recorded_as_an_event(self):
        run = self.init()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run.log({"loss": float("nan"), "acc": 0.5}, step=3)
            run.log({"loss": float("inf")}, step=4)
        run.finish()
        self.assertEqual(len(caught), 1)
        self.assertIn("loss is nan at step 3", str(caught[0].message))
        self.assertEqual(self.server.points, {("acc", 3): 0.5})
        (events,) = [b["events"] for b in self.server.of("ingest:events")]
        self.assertEqual([(e["kind"], e["step"], e["payload"]) for e in events], [("nonfinite", 3, {"key": "loss", "value": "nan"})])

    def test_bad_values_are_refused_at_the_call_naming_the_key(self):
        run = self.init()
        with self.assertRaisesRegex(TypeError, "val/acc: expected a number, got str"):
            run.log({"val/acc": "0.9"}, step=0)
        with self.assertRaisesRegex(TypeError, "step: expected an integer"):
            run.log({"a": 1}, step=1.5)
        with self.assertRaisesRegex(ValueError, "payload is not JSON"):
            run.event("lr.drop", step=0, payload={"x": float("nan")})
        with self.assertRaisesRegex(TypeError, "payload is a dict"):
            run.event("lr.drop", step=0, payload=[1])
        with self.assertRaisesRegex(ValueError, "kind is 1-100 letters"):
            run.event("lr drop", step=0)
        # The server's rules for keys, checked before buffering: one bad key would sink a batch.
        for bad in ("k" * 201, " loss", "a\tb"):
            with self.assertRaisesRegex(ValueError, "metric key: at most 200 characters"):
                run.log({bad: 1.0}, step=0)
        run.finish()
        self.assertEqual(self.server.of("ingest:metrics"), [])  # nothing of the refused calls was buffered

    def test_events_and_summary_are_sent(self):
        run = self.init()
        run.event("lr.drop", step=10, payload={"lr": 0.01}, epoch=2)
        run.summary({"test/acc": Scalar(0.91)}, best_epoch=4)
        run.finish("cancelled", error="stopped by hand")
        (events,) = [b["events"] for b in self.server.of("ingest:events")]
        self.assertEqual([(e["kind"], e["step"], e["epoch"], e["payload"]) for e in events], [("lr.drop", 10, 2.0, {"lr": 0.01})])
        self.assertEqual(self.server.of("ingest:summary"), [{"runId": 7, "values": {"test/acc": 0.91, "best_epoch": 4.0}}])
        self.assertEqual(self.server.of("ingest:finish"), [{"runId": 7, "status": "cancelled", "error": "stopped by hand"}])

    def test_the_context_manager_finishes_failed_with_the_exception(self):
        with self.assertRaises(ZeroDivisionError):
            with self.init() as run:
                run.log({"a": 1.0}, step=0)
                1 / 0
        self.assertEqual(self.server.of("ingest:finish"), [{"runId": 7, "status": "failed", "error": "ZeroDivisionError('division by zero')"}])
        self.assertEqual(self.server.points, {("a", 0): 1.0})
        with self.init():
            pass
        self.assertEqual(self.server.of("ingest:finish")[-1]["status"], "completed")

    def test_heartbeats_are_sent_while_the_run_lives(self):
        with mock.patch.object(_run, "HEARTBEAT_S", 0.02):
            run = self.init()
            self.server.wait_for(lambda: len(self.server.of("ingest:heartbeat")) >= 2, "two heartbeats")
            run.finish()
        self.assertEqual(self.server.of("ingest:heartbeat")[0], {"runId": 7})

    def test_a_wrong_token_is_a_clear_error(self):
        with self.assertRaisesRegex(trickbench.TrickbenchError, "refused the token \\(401\\)"):
            trickbench.init(url=self.server.url, token="nope")


class DiscoveryTest(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp()
        env = mock.patch.dict(os.environ, {"TRICKBENCH_URL": "", "TRICKBENCH_TOKEN": "", "TRICKBENCH_HOME": self.home})
        env.start()
        self.addCleanup(env.stop)

    def write(self, info):
        with open(os.path.join(self.home, "server.json"), "w") as f:
            json.dump(info, f)

    def test_arguments_then_environment_then_server_json(self):
        self.write({"url": "http://127.0.0.1:3/", "token": "file", "pid": os.getpid()})
        self.assertEqual(_transport.discover("http://h:1", "arg"), ("http://h:1", "arg"))
        with mock.patch.dict(os.environ, {"TRICKBENCH_URL": "http://127.0.0.1:2", "TRICKBENCH_TOKEN": "env"}):
            self.assertEqual(_transport.discover(), ("http://127.0.0.1:2", "env"))
        self.assertEqual(_transport.discover(), ("http://127.0.0.1:3", "file"))
        self.assertEqual(_transport.discover("http://127.0.0.1:3"), ("http://127.0.0.1:3", "file"))

    def test_no_server_is_a_clear_error(self):
        with self.assertRaisesRegex(trickbench.TrickbenchError, "no Trickbench server found.*TRICKBENCH_URL.*server.json"):
            _transport.discover()
        self.write({"url": "http://127.0.0.1:3", "token": "file", "pid": os.getpid()})
        with self.assertRaisesRegex(trickbench.TrickbenchError, "a token is missing"):
            _transport.discover("http://elsewhere:9")  # server.json's token is not sent to another server

    def test_a_stale_or_broken_server_json_is_named(self):
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        self.write({"url": "http://127.0.0.1:3", "token": "t", "pid": dead.pid})
        with self.assertRaisesRegex(trickbench.TrickbenchError, "pid %d.*no longer running" % dead.pid):
            _transport.discover()
        self.write(["not", "an", "object"])
        with self.assertRaisesRegex(trickbench.TrickbenchError, "not a server file"):
            _transport.discover()


class AtExitTest(unittest.TestCase):
    """A script that never calls finish(): its run is finished when the interpreter exits."""

    def run_script(self, body):
        server = FakeServer()
        self.addCleanup(server.close)
        script = textwrap.dedent("""
            import sys
            sys.path.insert(0, %r)
            import trickbench
            run = trickbench.init(url=%r, token=%r, seed=1)
            run.log({"a": 1.0}, step=0)
        """) % (os.path.dirname(HERE), server.url, TOKEN) + textwrap.dedent(body)
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        return server, proc

    def test_a_script_that_ends_finishes_its_run_completed_with_its_points_sent(self):
        server, proc = self.run_script("")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(server.points, {("a", 0): 1.0})
        self.assertEqual(server.of("ingest:finish"), [{"runId": 7, "status": "completed"}])

    def test_a_script_that_dies_of_an_exception_finishes_its_run_failed(self):
        server, proc = self.run_script("raise RuntimeError('out of memory')\n")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(server.points, {("a", 0): 1.0})
        self.assertEqual(server.of("ingest:finish"), [{"runId": 7, "status": "failed", "error": "RuntimeError('out of memory')"}])


if __name__ == "__main__":
    unittest.main()
