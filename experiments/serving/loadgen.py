#!/usr/bin/env python3
"""Load generator for OpenAI-compatible servers (llamacl serve, llama.cpp's llama-server).

C concurrent clients each send streamed /v1/completions requests, one after another: a prompt
of ~100 token ids (distinct per request, so no prompt cache helps) and 128 generated tokens
(greedy, end-of-text ignored). Per level it reports aggregate generated tokens/s, time to first
token (p50/p95) and time per output token. Bounded: a fixed number of requests per level, a
timeout per request, loopback addresses only.

    python3 loadgen.py --url http://127.0.0.1:8080 --concurrency 1,4,16,64 --out results.json
"""
import argparse
import http.client
import json
import os
import random
import statistics
import threading
import time
import urllib.parse


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def one_request(host, port, prompt, max_tokens, timeout):
    """Streams one completion; returns (ttft, token arrival times, tokens counted, error)."""
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
    except Exception as e:  # noqa: BLE001 - reported per request
        return None, arrivals, 0, repr(e)
    finally:
        conn.close()
    tokens = usage_tokens if usage_tokens is not None else len(arrivals)
    return (arrivals[0] if arrivals else None), arrivals, tokens, None


def run_level(url, concurrency, requests_per_client, prompt_tokens, max_tokens, vocab, timeout, seed):
    u = urllib.parse.urlparse(url)
    assert u.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
    rng = random.Random(seed * 1000 + concurrency)
    prompts = [[rng.randrange(100, vocab) for _ in range(prompt_tokens)] for _ in range(concurrency * requests_per_client)]
    results, lock = [], threading.Lock()

    def client(k):
        for r in range(requests_per_client):
            out = one_request(u.hostname, u.port, prompts[k * requests_per_client + r], max_tokens, timeout)
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
    ttft = [r[0] for r in ok]
    # Time per output token: the stream's decode time after the first token, per token.
    tpot = [(r[1][-1] - r[1][0]) / (r[2] - 1) for r in ok if r[2] > 1 and len(r[1]) > 1]
    tokens = sum(r[2] for r in ok)
    return {
        "concurrency": concurrency, "requests": len(results), "errors": len(results) - len(ok),
        "error_examples": [r[3] for r in results if r[3]][:3],
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
    ap.add_argument("--out")
    args = ap.parse_args()
    levels = []
    for c in [int(x) for x in args.concurrency.split(",")]:
        n = args.requests or (3 if c == 1 else 2 if c == 4 else 1)
        row = run_level(args.url, c, n, args.prompt_tokens, args.max_tokens, args.vocab, args.timeout, args.seed)
        row["label"] = args.label
        print(json.dumps(row), flush=True)
        levels.append(row)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(levels, f, indent=1)


if __name__ == "__main__":
    main()
