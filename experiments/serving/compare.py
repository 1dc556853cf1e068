#!/usr/bin/env python3
"""Runs loadgen.py against llamacl serve and, when given, llama.cpp's llama-server: the same model
file, the same thread count, one server at a time on 127.0.0.1. For each concurrency C the two
servers take turns: each is started with C slots and C × (prompt + generated + 28) KV cells,
warmed up with one short request, measured at C, and stopped, so neither runs beside the other
and a slow drift of the machine's load falls on both. Writes one JSON per server (every level's
fields), summary.csv, summary.md (the side-by-side table, also printed) and run.json (versions,
machine, settings). side-by-side.sh is the one-command wrapper.

    python3 compare.py --model /tmp/tinyllama-q4_0.gguf --llamacl .build/release/llamacl \\
        [--llama-server /path/to/llama-server] --threads 2 --concurrency 1,4,16,64 --out results
"""
import argparse
import csv
import hashlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import loadgen  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url, proc, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server not healthy in time")


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (out.stdout + out.stderr).strip().splitlines()[-1] if (out.stdout + out.stderr).strip() else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def run_server(label, cmd, port, concurrency, args):
    """Starts one server, warms it up, measures one level, stops it; returns the level's row."""
    url = f"http://127.0.0.1:{port}"
    log = open(os.path.join(args.out, f"{label}-c{concurrency}.log"), "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(url, proc)
        loadgen.run_level(url, 1, 1, 16, 8, args.vocab, 300, 99)  # warm-up, not reported
        n = args.requests or (3 if concurrency == 1 else 2 if concurrency == 4 else 1)
        row = loadgen.run_level(url, concurrency, n, args.prompt_tokens, args.max_tokens, args.vocab, args.timeout, args.seed)
        row["label"] = label
        print(json.dumps(row), flush=True)
        return row
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def servers(args):
    """The servers to run, in the order they take turns."""
    wanted = ["llamacl"] + (["llama-server"] if args.llama_server else [])
    return [label for label in wanted if args.only in (None, label)]


def server_command(label, args, port, c):
    """A server's command line for C slots; every slot holds one prompt and its generation
    (llama-server splits its context evenly among its slots)."""
    cells = c * (args.prompt_tokens + args.max_tokens + 28)
    if label == "llamacl":
        return [args.llamacl, "serve", "-m", args.model, "--host", "127.0.0.1", "--port", str(port),
                "--threads", str(args.threads), "--parallel", str(c), "--cache-cells", str(cells), "--max-queue", str(4 * c)]
    return [args.llama_server, "-m", args.model, "-np", str(c), "-t", str(args.threads),
            "--port", str(port), "--host", "127.0.0.1", "-c", str(cells)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--llamacl", required=True)
    ap.add_argument("--llama-server")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--concurrency", default="1,4,16,64")
    ap.add_argument("--prompt-tokens", type=int, default=100)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--requests", type=int, default=0, help="requests per client (default: 3 at C=1, 2 at C=4, else 1)")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=["llamacl", "llama-server"])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    args.concurrency = [int(x) for x in args.concurrency.split(",")]
    os.makedirs(args.out, exist_ok=True)
    sha = hashlib.sha256()
    with open(args.model, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    run = {
        "model": os.path.basename(args.model), "model_sha256": sha.hexdigest(), "threads": args.threads,
        "parallel": "C (one slot per client)", "kv_cells": f"C × {args.prompt_tokens + args.max_tokens + 28}",
        "concurrency": args.concurrency, "prompt_tokens": args.prompt_tokens, "max_tokens": args.max_tokens,
        "sampling": "greedy (temperature 0), ignore_eos", "requests_per_client": args.requests or "3 at C=1, 2 at C=4, else 1",
        "order": "per C: llamacl, then llama-server; each started, warmed up, measured, stopped",
        "llamacl_version": version([args.llamacl, "--version"]),
        "llama_server_version": version([args.llama_server, "--version"]) if args.llama_server else None,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": cpu_name()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with open(os.path.join(args.out, "run.json"), "w") as f:
        json.dump(run, f, indent=1)
    rows = {}
    for c in args.concurrency:
        for label in servers(args):
            port = free_port()
            rows.setdefault(label, []).append(run_server(label, server_command(label, args, port, c), port, c, args))
            # Written after every level, so a long run that is stopped keeps what it measured.
            with open(os.path.join(args.out, f"{label}.json"), "w") as f:
                json.dump(rows[label], f, indent=1)
    write_summary(args.out)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def write_summary(out):
    rows = []
    for label in ["llamacl", "llama-server"]:
        path = os.path.join(out, f"{label}.json")
        if os.path.exists(path):
            rows += json.load(open(path))
    keys = ["label", "concurrency", "requests", "errors", "generated_tokens", "wall_seconds", "tokens_per_second",
            "ttft_p50_s", "ttft_p95_s", "tpot_mean_ms", "tpot_p50_ms"]
    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    by = {(r["label"], r["concurrency"]): r for r in rows}
    table = ["| C | llamacl tok/s | llama-server tok/s | llamacl TTFT p50 / p95 (s) | llama-server TTFT p50 / p95 (s) | llamacl TPOT (ms) | llama-server TPOT (ms) |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for c in sorted({r["concurrency"] for r in rows}):
        a, b = by.get(("llamacl", c), {}), by.get(("llama-server", c), {})
        def f(r, k, fmt="{:.1f}"):
            return fmt.format(r[k]) if r.get(k) is not None else "–"
        table.append(f"| {c} | {f(a, 'tokens_per_second')} | {f(b, 'tokens_per_second')} | {f(a, 'ttft_p50_s', '{:.2f}')} / {f(a, 'ttft_p95_s', '{:.2f}')} | "
              f"{f(b, 'ttft_p50_s', '{:.2f}')} / {f(b, 'ttft_p95_s', '{:.2f}')} | {f(a, 'tpot_mean_ms')} | {f(b, 'tpot_mean_ms')} |")
    errors = [f"{r['label']} C={r['concurrency']}: {r['errors']} of {r['requests']} requests failed ({r['error_examples'][:1]})" for r in rows if r["errors"]]
    text = "\n".join(table) + "\n" + "".join(f"\n- {e}" for e in errors) + ("\n" if errors else "")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
