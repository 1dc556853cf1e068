"""Starting and stopping `llamacl serve` for the tests and the load generator (loopback only)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The load generator's /metrics parser and RSS reader, so the tests read the server as it does.
sys.path.insert(0, os.path.join(ROOT, "experiments", "serving"))
import loadgen  # noqa: E402


def binary():
    """The llamacl binary: $LLAMACL_BIN, else the debug build (what `swift build --build-tests` makes)."""
    path = os.environ.get("LLAMACL_BIN") or os.path.join(ROOT, ".build", "debug", "llamacl")
    if not os.path.exists(path):
        raise RuntimeError(f"{path} does not exist: run `swift build --build-tests` first (or set LLAMACL_BIN)")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_model(tmpdir):
    """The fixture model when $LLAMACL_FIXTURES has it, else a small synthetic one made now."""
    fixtures = os.environ.get("LLAMACL_FIXTURES") or os.path.join(ROOT, "..", "shared", "fixtures")
    path = os.path.join(fixtures, "models", "tiny-spm-q8_0.gguf")
    if os.path.exists(path):
        return path
    path = os.path.join(tmpdir, "serve-test.gguf")
    subprocess.run([binary(), "synth", "--dim", "64", "--layers", "2", "--heads", "4", "--vocab", "700", "--type", "Q8_0", "-o", path],
                   check=True, capture_output=True, timeout=120)
    return path


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


class Server:
    """`llamacl serve` on 127.0.0.1 and a free port; stopped by its pid."""

    def __init__(self, model, *args, binary_path=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.devnull, "w")
        cmd = [binary_path or binary(), "serve", "-m", model, "--host", "127.0.0.1", "--port", str(self.port), *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llamacl serve exited with {self.proc.returncode}: {self.proc.stderr.read()}")
            try:
                if json.loads(get(self.base + "/health", timeout=1)).get("status") == "ok":
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("llamacl serve did not answer /health within 60 s")
            time.sleep(0.1)

    def metrics(self):
        """/metrics as {name{labels}: value}."""
        return loadgen.parse_metrics(get(self.base + "/metrics"))

    def rss_bytes(self):
        return loadgen.rss_bytes(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()
