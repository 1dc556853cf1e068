#!/usr/bin/env python3
"""Load generator for OpenAI-compatible servers (llamacl serve, llama.cpp's llama-server).

C concurrent clients each send streamed /v1/completions requests, one after another: a prompt
of ~100 token ids (distinct per request, so no prompt cache helps) and 128 generated tokens
(greedy, end-of-text ignored). Per level it reports aggregate generated tokens/s, time to first
token (p50/p95) and time per output token. Bounded: a fixed number of requests per level, a
timeout per request, loopback addresses only.

    python3 loadgen.py --url http://127.0.0.1:8080 --concurrency 1,4,16,64 --out results.json

Cleanup check (llamacl serve): with --disconnect-fraction F a request hangs up after a random
1-8 streamed chunks with probability F; --warmup first runs the level once undisturbed (so
allocations that stay are made), then /metrics (llamacl_kv_cells_in_use) and, with
--server-pid, the server's VmRSS are read before the level and again once the server is idle
after it; --check exits 1 unless no KV cells are in use afterwards and the RSS is back within
--rss-tolerance of its level before.

    python3 loadgen.py --url http://127.0.0.1:8080 --concurrency 16 --requests 4 \
        --disconnect-fraction 0.5 --warmup --server-pid PID --check
"""
import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def one_request(host, port, prompt, max_tokens, timeout, hang_up_after=None):
    """Streams one completion; returns (ttft, token arrival times, tokens counted, error).
    With `hang_up_after` k, closes the connection after k text chunks (a client that gives up):
    the error is then "disconnected"."""
    body = json.dumps({
        "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True,
        "stream_options": {"include_usage": True}, "ignore_eos": True,
    })
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    start = time.perf_counter()
    arrivals, usage_tokens = [], None
    try:
        conn.request("POST", "/v1/completions", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            return None, [], 0, f"HTTP {resp.status}: {resp.read()[:200]!r}"
        for raw in resp:
            line = raw.decode().strip()
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            if chunk.get("usage"):
                usage_tokens = chunk["usage"]["completion_tokens"]
            for choice in chunk.get("choices", []):
                if choice.get("text"):
                    arrivals.append(time.perf_counter() - start)
            if hang_up_after is not None and len(arrivals) >= hang_up_after:
                return (arrivals[0] if arrivals else None), arrivals, len(arrivals), "disconnected"
    except Exception as e:  # noqa: BLE001 - reported per request
        return None, arrivals, 0, repr(e)
    finally:
        conn.close()
    tokens = usage_tokens if usage_tokens is not None else len(arrivals)
    return (arrivals[0] if arrivals else None), arrivals, tokens, None


def parse_metrics(text):
    """Prometheus text as {name or name{labels}: value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def server_metrics(url):
    """The server's /metrics ({} when it does not answer)."""
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
            return parse_metrics(r.read().decode())
    except OSError:
        return {}


def rss_bytes(pid):
    """Resident memory of process `pid` (VmRSS in /proc/PID/status, Linux)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def wait_idle(url, seconds):
    """/metrics once no request runs or waits and no KV cell is in use (or after `seconds`)."""
    deadline = time.time() + seconds
    while True:
        m = server_metrics(url)
        busy = [m.get(k, 0) for k in ("llamacl_requests_running", "llamacl_requests_waiting", "llamacl_kv_cells_in_use")]
        if not m or not any(busy) or time.time() > deadline:
            return m
        time.sleep(0.2)


def run_level(url, concurrency, requests_per_client, prompt_tokens, max_tokens, vocab, timeout, seed, disconnect_fraction=0.0):
    u = urllib.parse.urlparse(url)
    assert u.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
    rng = random.Random(seed * 1000 + concurrency)
    count = concurrency * requests_per_client
    prompts = [[rng.randrange(100, vocab) for _ in range(prompt_tokens)] for _ in range(count)]
    # Drawn up front from the seed, so a run's disconnects are the same whatever the timing.
    hang_ups = [rng.randint(1, 8) if rng.random() < disconnect_fraction else None for _ in range(count)]
    results, lock = [], threading.Lock()

    def client(k):
        for r in range(requests_per_client):
            i = k * requests_per_client + r
            out = one_request(u.hostname, u.port, prompts[i], max_tokens, timeout, hang_ups[i])
            with lock:
                results.append(out)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    # The machine may be shared: the 1-minute load average before and after says how much.
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ok = [r for r in results if r[3] is None and r[0] is not None]
    disconnected = [r for r in results if r[3] == "disconnected"]
    ttft = [r[0] for r in ok]
    # Time per output token: the stream's decode time after the first token, per token.
    tpot = [(r[1][-1] - r[1][0]) / (r[2] - 1) for r in ok if r[2] > 1 and len(r[1]) > 1]
    tokens = sum(r[2] for r in ok)
    return {
        "concurrency": concurrency, "requests": len(results), "errors": len(results) - len(ok) - len(disconnected),
        "disconnected": len(disconnected),
        "error_examples": [r[3] for r in results if r[3] and r[3] != "disconnected"][:3],
        "prompt_tokens": prompt_tokens, "max_tokens": max_tokens, "generated_tokens": tokens,
        "wall_seconds": round(wall, 3), "tokens_per_second": round(tokens / wall, 3),
        "ttft_p50_s": round(percentile(ttft, 50), 4) if ttft else None,
        "ttft_p95_s": round(percentile(ttft, 95), 4) if ttft else None,
        "tpot_mean_ms": round(1000 * statistics.mean(tpot), 2) if tpot else None,
        "tpot_p50_ms": round(1000 * percentile(tpot, 50), 2) if tpot else None,
        "loadavg_1m_before": round(load_before, 2), "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--label", default="server")
    ap.add_argument("--concurrency", default="1,4,16,64")
    ap.add_argument("--prompt-tokens", type=int, default=100)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--vocab", type=int, default=32000, help="prompt ids are drawn from [100, vocab)")
    ap.add_argument("--requests", type=int, default=0, help="requests per client (default: 3 at C=1, 2 at C=4, else 1)")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--disconnect-fraction", type=float, default=0.0, help="share of requests that hang up mid-stream")
    ap.add_argument("--warmup", action="store_true", help="run each level once undisturbed first (not reported)")
    ap.add_argument("--server-pid", type=int, help="read this server process's RSS before and after each level")
    ap.add_argument("--idle-timeout", type=float, default=60, help="seconds to wait for the server to be idle after a level")
    ap.add_argument("--check", action="store_true", help="exit 1 unless KV cells in use are 0 and the RSS is back after every level")
    ap.add_argument("--rss-tolerance", type=float, default=0.10, help="RSS growth allowed by --check (fraction, plus 16 MiB)")
    ap.add_argument("--out")
    args = ap.parse_args()
    if not 0 <= args.disconnect_fraction <= 1:
        ap.error("--disconnect-fraction must be between 0 and 1")
    levels, failures = [], []
    for c in [int(x) for x in args.concurrency.split(",")]:
        n = args.requests or (3 if c == 1 else 2 if c == 4 else 1)
        if args.warmup:
            run_level(args.url, c, n, args.prompt_tokens, args.max_tokens, args.vocab, args.timeout, args.seed + 1)
        before = wait_idle(args.url, args.idle_timeout)
        rss_before = rss_bytes(args.server_pid) if args.server_pid else None
        row = run_level(args.url, c, n, args.prompt_tokens, args.max_tokens, args.vocab, args.timeout, args.seed, args.disconnect_fraction)
        after = wait_idle(args.url, args.idle_timeout)
        row.update(label=args.label, disconnect_fraction=args.disconnect_fraction,
                   kv_cells_in_use_before=before.get("llamacl_kv_cells_in_use"), kv_cells_in_use_after=after.get("llamacl_kv_cells_in_use"),
                   rss_before_bytes=rss_before, rss_after_bytes=rss_bytes(args.server_pid) if args.server_pid else None)
        print(json.dumps(row), flush=True)
        levels.append(row)
        failures += check(row, args.rss_tolerance) if args.check else []
    if args.out:
        with open(args.out, "w") as f:
            json.dump(levels, f, indent=1)
    for f in failures:
        print("check failed: " + f, file=sys.stderr)
    sys.exit(1 if failures else 0)


def check(row, tolerance):
    """What is wrong with a level's cleanup: KV cells still in use, RSS above its level before."""
    failures = []
    c = row["concurrency"]
    if row["kv_cells_in_use_after"] is None:
        failures.append(f"C={c}: the server's /metrics has no llamacl_kv_cells_in_use")
    elif row["kv_cells_in_use_after"] != 0:
        failures.append(f"C={c}: {row['kv_cells_in_use_after']:.0f} KV cells still in use after the run")
    before, after = row["rss_before_bytes"], row["rss_after_bytes"]
    if before is not None and after > before * (1 + tolerance) + 16 * 2**20:
        failures.append(f"C={c}: RSS {before / 2**20:.1f} MiB before, {after / 2**20:.1f} MiB after")
    return failures


if __name__ == "__main__":
    main()
