#!/usr/bin/env python3
"""Checks that two best-of-N run directories hold the same results.

Usage: compare-best-of-n.py RUN_A RUN_B

summary.json must match everywhere except timing, machine and invocation fields (seconds,
tokens_per_second, device, threads, host, the provenance block with the command line,
batch_invariance, ...); floats are compared to 1e-9
relative. samples.jsonl must hold the same (problem, sample) pairs, each once, with identical
tokens, text, answer and correct. Exits 0 when equal, 1 with the differences otherwise.
"""
import json
import math
import sys

IGNORED = {
    "environment",  # older run.json: the invocation's command line, host, start time, threads
    "provenance",  # the invocation that wrote the file: command line, host, time, threads, files read
    "batch_invariance",  # measured per invocation: a merged run sums its shards' checks
    "command", "seconds", "tokens_per_second", "device", "threads", "host", "hostname", "wall",
    "wall_seconds", "wall_time", "elapsed", "time", "date", "started", "finished",
    "start_time", "end_time", "timestamp",
}
SAMPLE_KEYS = ("tokens", "text", "answer", "correct")


def diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in IGNORED:
                continue
            if k not in a or k not in b:
                out.append(f"{path}{k}: only in {'B' if k not in a else 'A'}")
                continue
            diff(a[k], b[k], f"{path}{k}.", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: list lengths {len(a)} != {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}].", out)
    elif isinstance(a, bool) or isinstance(b, bool) or not (
            isinstance(a, (int, float)) and isinstance(b, (int, float))):
        if a != b:
            out.append(f"{path.rstrip('.')}: {a!r} != {b!r}")
    elif not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        out.append(f"{path.rstrip('.')}: {a!r} != {b!r}")


def samples(run, out):
    table = {}
    with open(f"{run}/samples.jsonl") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            s = json.loads(line)
            key = (s["problem"], s["sample"])
            if key in table:
                out.append(f"{run}/samples.jsonl:{n}: duplicate problem {key[0]} sample {key[1]}")
            table[key] = s
    return table


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = sys.argv[1], sys.argv[2]
    out = []
    with open(f"{a}/summary.json") as f:
        sa = json.load(f)
    with open(f"{b}/summary.json") as f:
        sb = json.load(f)
    diff(sa, sb, "summary.", out)
    ta, tb = samples(a, out), samples(b, out)
    for key in sorted(set(ta) - set(tb)):
        out.append(f"samples: problem {key[0]} sample {key[1]} only in A")
    for key in sorted(set(tb) - set(ta)):
        out.append(f"samples: problem {key[0]} sample {key[1]} only in B")
    for key in sorted(set(ta) & set(tb)):
        for k in SAMPLE_KEYS:
            if ta[key].get(k) != tb[key].get(k):
                out.append(f"samples: problem {key[0]} sample {key[1]} {k}: "
                           f"{ta[key].get(k)!r} != {tb[key].get(k)!r}")
    if out:
        print(f"{a} and {b} differ ({len(out)} differences):")
        for line in out[:40]:
            print("  " + line)
        return 1
    print(f"same results: {len(ta)} samples, summary.json equal apart from timing fields")
    return 0


if __name__ == "__main__":
    sys.exit(main())
