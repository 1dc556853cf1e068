"""Prints the numbers experiments/humaneval/README.md quotes, from the committed runs.

    python3 experiments/humaneval/tools/report.py [RUN_DIR...]
"""
import collections, glob, json, os, sys

dirs = sys.argv[1:] or sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "runs", "*")))
for d in dirs:
    path = os.path.join(d, "samples.jsonl")
    if not os.path.exists(path):
        continue
    samples = [json.loads(l) for l in open(path) if l.strip()]
    summary = json.load(open(os.path.join(d, "summary.json"))) if os.path.exists(os.path.join(d, "summary.json")) else None
    problems = sorted({s["problem"] for s in samples})
    passed = sum(s["correct"] for s in samples)
    kinds = collections.Counter(s.get("failure") or "passed" for s in samples)
    gen = sum(len(s["tokens"]) for s in samples)
    prompt = sum({s["problem"]: s["prompt_tokens"] for s in samples}.values())
    seconds = sum(s["seconds"] for s in samples)
    print(f"## {os.path.basename(os.path.normpath(d))}")
    print(f"problems {len(problems)}, samples {len(samples)}, passed {passed} ({100 * passed / len(samples):.1f}% of samples)")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    print(f"tokens: {prompt} prompt + {gen} generated ({gen / len(samples):.0f} per sample); "
          f"{seconds:.0f} s wall, {gen / max(seconds, 1e-9):.1f} generated tokens/s")
    if summary:
        c = summary["compute"]
        print(f"FLOPs {c.get('flops', 0):.3g}")
        ks = sorted(summary["pass_at_k"], key=int)
        def est(e):
            return f"{100 * e['mean']:.1f} [{100 * e['lower']:.1f}, {100 * e['upper']:.1f}]"
        print("| k | " + " | ".join(ks) + " |")
        print("|---|" + "---|" * len(ks))
        print("| pass@k | " + " | ".join(est(summary["pass_at_k"][k]) for k in ks) + " |")
        for rule, row in sorted(summary["accuracy"].items()):
            print(f"| {rule} | " + " | ".join(est(row[k]) if k in row else "-" for k in ks) + " |")
    print()
