"""Finding the server and calling its channels (POST /api/invoke/<channel>) with retries."""

import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.request

# Tests shorten these.
TIMEOUT_S = 10.0
ATTEMPTS = 8  # 0.5 + 1 + 2 + 4 + 8 + 16 + 30 s of waiting in between: about a minute
BACKOFF_S = 0.5
BACKOFF_MAX_S = 30.0


class TrickbenchError(Exception):
    """The server refused a call (a 4xx: bad input, unknown run, a run already finished, a wrong
    token), or could not be found or reached. The message is the server's where it gave one."""


class Unreachable(TrickbenchError):
    """Connection errors, timeouts and 5xx answers, still failing after every retry."""


def _alive(pid):
    if not isinstance(pid, int) or pid <= 0 or os.name != "posix":
        return True  # cannot tell: let the connection decide
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def discover(url=None, token=None):
    """(url, token): the arguments, else $TRICKBENCH_URL and $TRICKBENCH_TOKEN, else server.json
    (written by `serve`) in $TRICKBENCH_HOME or ~/.trickbench."""
    url = url or os.environ.get("TRICKBENCH_URL") or None
    token = token or os.environ.get("TRICKBENCH_TOKEN") or None
    if url and token:
        return url.rstrip("/"), token
    home = os.environ.get("TRICKBENCH_HOME") or os.path.join(os.path.expanduser("~"), ".trickbench")
    file = os.path.join(home, "server.json")
    info = None
    if os.path.isfile(file):
        try:
            with open(file, encoding="utf-8") as f:
                info = json.load(f)
        except (OSError, ValueError) as e:
            raise TrickbenchError("cannot read %s: %s" % (file, e)) from None
        if not isinstance(info, dict) or not isinstance(info.get("url"), str) or not isinstance(info.get("token"), str):
            raise TrickbenchError("%s is not a server file: expected {url, token, pid}" % file)
        if not _alive(info.get("pid")):
            raise TrickbenchError(
                "%s names a serve (pid %s) that is no longer running: start `trickbench serve` again" % (file, info.get("pid"))
            )
    if info and (not url or url.rstrip("/") == info["url"].rstrip("/")):
        return (url or info["url"]).rstrip("/"), token or info["token"]
    missing = "a token" if url else "a server"
    raise TrickbenchError(
        "no Trickbench server found (%s is missing): pass url= and token= to trickbench.init, "
        "set TRICKBENCH_URL and TRICKBENCH_TOKEN, or start `trickbench serve` (it writes server.json "
        "in its data dir; looked for %s)" % (missing, file)
    )


def jsonable(v):
    """json.dumps' default: numpy/torch scalars (.item()) and arrays (.tolist())."""
    if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", 0) == 0:
        return v.item()
    if hasattr(v, "tolist") and callable(v.tolist):
        return v.tolist()
    raise TypeError("%s is not JSON-serializable" % type(v).__name__)


def dumps(body):
    # allow_nan=False: Python would write NaN/Infinity, which is not JSON.
    return json.dumps(body, allow_nan=False, default=jsonable, separators=(",", ":")).encode("utf-8")


class Transport:
    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.token = token

    def _once(self, channel, data):
        """The value, or raises TrickbenchError (refused) or Unreachable (worth retrying)."""
        req = urllib.request.Request(
            "%s/api/invoke/%s" % (self.url, channel),
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": "Bearer " + self.token},
        )
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as res:
                status, text = res.status, res.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError, TimeoutError) as e:
            reason = getattr(e, "reason", e)
            raise Unreachable("cannot reach the Trickbench server at %s (%s): %s" % (self.url, channel, reason)) from None
        message = None
        try:
            answer = json.loads(text.decode("utf-8"))
        except ValueError:
            answer = None
            message = text.decode("utf-8", "replace").strip()[:500]
        if isinstance(answer, dict) and answer.get("ok") is True and status < 300:
            return answer.get("value")
        if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
            message = str(answer["error"].get("message"))
        if status >= 500:
            raise Unreachable("the Trickbench server at %s failed (%s, HTTP %d): %s" % (self.url, channel, status, message))
        if status == 401:
            raise TrickbenchError("the Trickbench server at %s refused the token (401): %s" % (self.url, message))
        raise TrickbenchError("%s refused (HTTP %d): %s" % (channel, status, message))

    def call(self, channel, body, attempts=None):
        """Calls the channel, retrying connection errors, timeouts and 5xx with exponential backoff
        (the ingest channels are idempotent, so a repeat after a lost answer does no harm)."""
        data = dumps(body)
        attempts = ATTEMPTS if attempts is None else attempts
        wait = BACKOFF_S
        for attempt in range(attempts):
            try:
                return self._once(channel, data)
            except Unreachable:
                if attempt == attempts - 1:
                    raise
            time.sleep(wait)
            wait = min(wait * 2, BACKOFF_MAX_S)
        raise AssertionError("unreachable")

