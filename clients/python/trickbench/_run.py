"""A run logged from a script: buffered metrics and events, flushed by a background thread, a
heartbeat, and a finish at exit when the script did not call finish() itself."""

import atexit
import math
import numbers
import operator
import re
import sys
import threading
import time
import uuid
import warnings

from . import _transport
from ._transport import TrickbenchError, Transport, Unreachable, discover, dumps

# Tests shorten these.
FLUSH_INTERVAL_S = 1.0
HEARTBEAT_S = 10.0
FLUSH_AT = 1000  # buffered points that wake the flusher early
BATCH = 1000  # points (or events) per request; the server takes up to 10000

FINAL = ("completed", "failed", "cancelled", "interrupted")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KIND = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")


def _label(what, v):
    """The server's rule for keys and names (checked here, so one bad key cannot sink a batch):
    1-200 characters, no control characters, no spaces at either end."""
    if not isinstance(v, str) or not v:
        raise TypeError("%s: expected a non-empty string, got %r" % (what, v))
    if len(v) > 200 or _CONTROL.search(v) or v.strip() != v:
        raise ValueError("%s: at most 200 characters, no control characters and no spaces at either end, got %r" % (what, v[:80]))
    return v


def _number(key, v):
    """A metric value as a float: ints, floats, and numpy/torch scalars (anything with .item())."""
    if hasattr(v, "item") and callable(v.item) and not isinstance(v, numbers.Number):
        try:
            v = v.item()
        except (ValueError, RuntimeError) as e:  # a tensor of more than one element
            raise TypeError("%s: expected a number or a one-element tensor, got %s (%s)" % (key, type(v).__name__, e)) from None
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError("%s: expected a number, got %s" % (key, type(v).__name__))
    return float(v)


def _step(v, what="step"):
    try:
        n = operator.index(v)
    except TypeError:
        raise TypeError("%s: expected an integer, got %r" % (what, v)) from None
    if what == "step" and n < 0:
        raise ValueError("step: expected an integer >= 0, got %d" % n)
    return n


def _epoch(v):
    e = _number("epoch", v)
    if not math.isfinite(e) or e < 0:
        raise ValueError("epoch: expected a finite number >= 0, got %r" % (v,))
    return e


class Run:
    """Made by trickbench.init(); see its docstring."""

    def __init__(self, transport, spec):
        self._t = transport
        created = transport.call("ingest:create", spec)
        self.id = created["runId"]
        self.experiment_id = created.get("experimentId")
        self.arm_id = created.get("armId")
        self.url = transport.url
        self._lock = threading.Lock()  # the buffers and the error
        self._send_lock = threading.Lock()  # one flush at a time
        self._points = []
        self._events = []
        self._summary = {}
        self._error = None  # the first refusal (4xx) not yet raised
        self._unreachable = None  # the latest batch that could not be sent yet
        self._warned = set()  # keys whose non-finite values were reported
        self._finished = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="trickbench-flush-%d" % self.id, daemon=True)
        self._beater = threading.Thread(target=self._heartbeat_loop, name="trickbench-heartbeat-%d" % self.id, daemon=True)
        self._flusher.start()
        self._beater.start()
        atexit.register(self._at_exit)

    # ---- what a script calls ----------------------------------------------------------------

    def log(self, values, step, epoch=None):
        """Buffer metric values at a step: {"train/loss": 0.31, "val/acc": 0.9}. Values may be numpy
        or torch scalars. NaN and infinities are not stored (the server takes finite values only):
        the first one of each key is warned about and recorded as a "nonfinite" event at its step."""
        self._raise_pending()
        if not isinstance(values, dict):
            raise TypeError("log: expected a dict of metric values, got %s" % type(values).__name__)
        step = _step(step)
        epoch = None if epoch is None else _epoch(epoch)
        point_time = time.time() * 1000
        points, events = [], []
        for key, v in values.items():
            _label("log: metric key", key)
            value = _number(key, v)
            if not math.isfinite(value):
                if key not in self._warned:
                    self._warned.add(key)
                    warnings.warn("trickbench: %s is %s at step %d: not logged (only finite values are stored; "
                                  "reported once per key)" % (key, value, step), RuntimeWarning, stacklevel=2)
                    events.append(self._event_body("nonfinite", step, {"key": key, "value": str(value)}, epoch))
                continue
            p = {"key": key, "step": step, "value": value, "time": point_time}
            if epoch is not None:
                p["epoch"] = epoch
            points.append(p)
        with self._lock:
            self._points.extend(points)
            self._events.extend(events)
            full = len(self._points) >= FLUSH_AT
        if full:
            self._wake.set()

    def event(self, kind, step, payload=None, epoch=None):
        """Buffer an event (drawn as a marker on the run's charts): a kind, a step, a JSON payload."""
        self._raise_pending()
        if not isinstance(kind, str) or not _KIND.match(kind):
            raise ValueError("event: kind is 1-100 letters, digits and _ . : / -, got %r" % (kind,))
        if payload is not None and not isinstance(payload, dict):
            raise TypeError("event %s: payload is a dict, got %s" % (kind, type(payload).__name__))
        body = self._event_body(kind, _step(step), payload, epoch)
        try:
            dumps(body)  # refuse what cannot be sent now, not in the background
        except (TypeError, ValueError) as e:
            raise ValueError("event %s: payload is not JSON (finite numbers, strings, lists, dicts): %s" % (kind, e)) from None
        with self._lock:
            self._events.append(body)

    def summary(self, values=None, **kw):
        """Set summary values (numbers): run.summary(best_acc=0.93) or run.summary({"test/acc": 0.9})."""
        self._raise_pending()
        merged = dict(values or {})
        merged.update(kw)
        clean = {}
        for key, v in merged.items():
            value = _number(key, v)
            if not math.isfinite(value):
                warnings.warn("trickbench: summary %s is %s: not stored (finite values only)" % (key, value), RuntimeWarning, stacklevel=2)
                continue
            clean[_label("summary key", key)] = value
        with self._lock:
            self._summary.update(clean)

    def finish(self, status="completed", error=None):
        """Send what is buffered, then mark the run finished. Raises TrickbenchError when the server
        refused something logged since the last call, or when it stayed unreachable (the run is
        finished all the same where the server could be reached). A second call does nothing."""
        if status not in FINAL:
            raise ValueError("finish: status is one of %s, got %r" % (", ".join(FINAL), status))
        if self._finished:
            return
        self._finished = True
        self._stop.set()
        self._wake.set()
        self._flusher.join()
        self._beater.join()
        atexit.unregister(self._at_exit)
        self._flush()
        body = {"runId": self.id, "status": status}
        if error is not None:
            body["error"] = str(error)[:10000]
        finish_error = None
        try:
            self._t.call("ingest:finish", body)
        except TrickbenchError as e:
            finish_error = e
        with self._lock:
            unsent = len(self._points) + len(self._events) + len(self._summary)
            err, self._error = self._error, None
        if err is None and unsent:
            err = TrickbenchError("%d buffered values were not sent: %s" % (unsent, self._unreachable))
        err = err or finish_error
        if err is not None:
            raise err

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None:
            self.finish("completed")
        else:
            try:
                self.finish("failed", error=repr(exc))
            except TrickbenchError as e:
                warnings.warn("trickbench: %s" % e, RuntimeWarning)
        return False

    # ---- the background -----------------------------------------------------------------------

    def _event_body(self, kind, step, payload, epoch):
        e = {"kind": kind, "step": step, "time": time.time() * 1000}
        if payload is not None:
            e["payload"] = payload
        if epoch is not None:
            e["epoch"] = _epoch(epoch)
        return e

    def _record(self, e):
        with self._lock:
            if isinstance(e, Unreachable):
                self._unreachable = e
            elif self._error is None:
                self._error = e

    def _raise_pending(self):
        if self._finished:
            raise TrickbenchError("run %d is finished: nothing more can be logged to it" % self.id)
        with self._lock:
            err, self._error = self._error, None
        if err is not None:
            raise err

    def _send(self, channel, field, items, attempts=None):
        """Sends items in batches; a batch that could not be sent is returned with the rest."""
        for i in range(0, len(items), BATCH):
            try:
                self._t.call(channel, {"runId": self.id, field: items[i:i + BATCH]}, attempts)
            except Unreachable as e:
                self._record(e)
                return items[i:]
            except TrickbenchError as e:
                self._record(e)  # refused: raised at the next call; the server kept nothing of it
        return []

    def _flush(self):
        with self._send_lock:
            with self._lock:
                points, self._points = self._points, []
                events, self._events = self._events, []
                summary, self._summary = self._summary, {}
            points = self._send("ingest:metrics", "points", points)
            events = self._send("ingest:events", "events", events)
            if summary:
                try:
                    self._t.call("ingest:summary", {"runId": self.id, "values": summary})
                    summary = {}
                except Unreachable as e:
                    self._record(e)
                except TrickbenchError as e:
                    self._record(e)
                    summary = {}
            # Not sent (the server is unreachable): back in front, for the next flush to try again.
            with self._lock:
                self._points[:0] = points
                self._events[:0] = events
                for k, v in summary.items():
                    self._summary.setdefault(k, v)

    def _flush_loop(self):
        while not self._stop.is_set():
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            if self._stop.is_set():
                return  # finish() flushes the rest itself
            self._flush()

    def _heartbeat_loop(self):
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self._t.call("ingest:heartbeat", {"runId": self.id}, attempts=1)
            except Unreachable:
                pass  # the next one tries again; the server waits several beats before giving up
            except TrickbenchError as e:
                self._record(e)

    def _at_exit(self):
        # The script ended without finish(): completed, unless it died of an exception.
        exc = getattr(sys, "last_value", None)
        try:
            if exc is not None:
                self.finish("failed", error=repr(exc))
            else:
                self.finish("completed")
        except TrickbenchError as e:
            sys.stderr.write("trickbench: run %d: %s\n" % (self.id, e))


def init(experiment=None, arm=None, seed=0, params=None, name=None, baseline=None, metric=None, url=None, token=None):
    """Create a run on a Trickbench server and return it.

    experiment, arm: names; runs of one experiment and arm, by seed, are what Trickbench compares
    (the experiment and arm are made on first use). baseline: the arm the others are compared with;
    metric: the experiment's metric (e.g. "val/acc"). params: a JSON-able dict of the run's settings,
    shown and exported flattened. The server: url and token, else $TRICKBENCH_URL and
    $TRICKBENCH_TOKEN, else the server.json `serve` writes in $TRICKBENCH_HOME or ~/.trickbench."""
    base, tok = discover(url, token)
    spec = {"seed": _step(seed, "seed"), "clientKey": uuid.uuid4().hex}
    for k, v in (("experiment", experiment), ("arm", arm), ("name", name), ("baseline", baseline), ("metric", metric)):
        if v is not None:
            spec[k] = _label("init: " + k, v)
    if params is not None:
        if not isinstance(params, dict):
            raise TypeError("init: params is a dict, got %s" % type(params).__name__)
        try:
            dumps(params)
        except (TypeError, ValueError) as e:
            raise ValueError("init: params is not JSON (finite numbers, strings, lists, dicts): %s" % e) from None
        spec["params"] = params
    return Run(Transport(base, tok), spec)
