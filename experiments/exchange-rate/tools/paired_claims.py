#!/usr/bin/env python3
"""The README's A-vs-B claims about selection, recomputed independently of llamacl from the
sample tallies and verifier scores, with paired seed x problem bootstrap intervals.

For every cell at T = 1 and k = n = 1,024 (all samples of a problem):
  - one sample (pass@1 = c/n), the simplest alternative to any selector;
  - majority vote over all n samples (exact at k = n: the plurality integer, ties split);
  - the verifier's pick among all n (exact: the highest-scored distinct answer);
and the paired differences verifier - one sample, verifier - majority, majority - one sample.
Every model of a cell answers the same problems, so a replicate draws the cell's seeds with
replacement and the problems with replacement (one draw shared by the three rules).

It also checks the recomputed means against results/report.json (llamacl's numbers).

    python3 tools/paired_claims.py [--samples $EXCHANGE_DATA/samples] [--replicates 2000]

Writes results/paired-claims.json, naming this checkout's source revision (and whether the
tree was dirty) beside the revision report.json was made by. Needs numpy.
"""
import argparse
import collections
import glob
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def canonical(answer):
    """The integer an answer text stands for ("+007" and "7" vote together)."""
    text = answer.replace(",", "").replace("\u2212", "-").strip()
    sign = "-" if text.startswith("-") else ""
    digits = text.lstrip("+-").lstrip("0") or "0"
    return ("" if digits == "0" else sign) + digits


def rules(tally, scores):
    """(one sample, majority over all n, verifier's pick over all n) for one problem."""
    n = tally["n"]
    answers = tally["answers"]
    correct = sum(a["count"] for a in answers if a["correct"])
    one = correct / n
    if correct == 0:
        return one, 0.0, 0.0
    votes = collections.Counter()
    right = None
    for a in answers:
        if a.get("answer") is None:
            continue
        key = canonical(a["answer"])
        votes[key] += a["count"]
        if a["correct"]:
            right = key
    top = max(votes.values())
    tied = [k for k, v in votes.items() if v == top]
    majority = 1 / len(tied) if right in tied else 0.0
    # The verifier's pick over all n samples: the highest score, the tally's order on ties;
    # answers without an integer have no score and come last.
    scored = [(s, -i) for i, s in enumerate(scores) if s is not None]
    best = -max(scored)[1]
    verifier = 1.0 if answers[best]["correct"] else 0.0
    return one, majority, verifier


def load(samples, runs):
    cells = collections.defaultdict(dict)  # cell -> seed -> array [problems, 3]
    for path in sorted(glob.glob(os.path.join(runs, "*.json"))):
        name = os.path.basename(path)[:-5]
        cell, seed = name.rsplit("-s", 1)
        directory = os.path.join(samples, name)
        tallies = sorted((json.loads(l) for l in open(os.path.join(directory, "answers-T1.jsonl"))), key=lambda t: t["problem"])
        scores = {s["problem"]: s["scores"] for s in map(json.loads, open(os.path.join(directory, "verifier-T1.jsonl")))}
        cells[cell][int(seed)] = (np.array([rules(t, scores[t["problem"]]) for t in tallies]), [t["problem"] for t in tallies])
    return cells


def revision():
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip() != ""
    return head or "unknown", dirty


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", default=os.path.join(os.environ.get("EXCHANGE_DATA", "/work/exchange-data"), "samples"))
    parser.add_argument("--runs", default=os.path.join(ROOT, "runs", "train"))
    parser.add_argument("--report", default=os.path.join(ROOT, "results", "report.json"))
    parser.add_argument("--replicates", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", default=os.path.join(ROOT, "results", "paired-claims.json"))
    args = parser.parse_args()

    cells = load(args.samples, args.runs)
    report = json.load(open(args.report))
    panels = {(p["temperature"], p["rule"]): {c["cell"]: c["accuracy"] for c in p["curves"]} for p in report["panels"]}
    problem_sets = {tuple(ids) for seeds in cells.values() for _, ids in seeds.values()}
    if len(problem_sets) != 1:
        sys.exit("the models do not share one problem set")
    problems = len(next(iter(problem_sets)))

    rng = np.random.default_rng(args.seed)
    names = ["one_sample", "majority_all", "verifier_all"]
    contrasts = {"verifier - one sample": (2, 0), "verifier - majority": (2, 1), "majority - one sample": (1, 0)}
    out = {"cells": {}, "replicates": args.replicates, "problems": problems, "temperature": 1.0, "k": 1024,
           "bootstrap": "seeds of the cell and problems, both with replacement, one draw for all rules",
           "source_revision": None, "source_tree_dirty": None,
           "report_source_revision": report["provenance"]["source_revision"]}
    out["source_revision"], out["source_tree_dirty"] = revision()
    worst_check = 0.0
    for cell in sorted(cells):
        seeds = [cells[cell][s][0] for s in sorted(cells[cell])]
        stack = np.stack(seeds)  # seeds x problems x rules
        means = stack.mean(axis=(0, 1))
        # Against llamacl's report: one sample = oracle k=1; majority and verifier at k=1024.
        worst_check = max(worst_check, abs(means[0] - panels[(1.0, "oracle")][cell][0]),
                          abs(means[1] - panels[(1.0, "majority_vote")][cell][-1]),
                          abs(means[2] - panels[(1.0, "verifier")][cell][-1]))
        draws = np.empty((args.replicates, 3))
        for b in range(args.replicates):
            pick = rng.integers(0, len(seeds), len(seeds))
            weights = np.bincount(rng.integers(0, problems, problems), minlength=problems)
            draws[b] = np.einsum("spr,p->r", stack[pick], weights) / (len(seeds) * problems)
        row = {name: round(float(m), 4) for name, m in zip(names, means)}
        for label, (a, b_) in contrasts.items():
            diff = draws[:, a] - draws[:, b_]
            row[label] = {"estimate": round(float(means[a] - means[b_]), 4),
                          "interval": [round(float(q), 4) for q in np.percentile(diff, [2.5, 97.5])]}
        out["cells"][cell] = row
    out["largest_difference_from_report"] = worst_check
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2, sort_keys=True)
    print(f"{problems} problems, {args.replicates} replicates; largest difference from report.json: {worst_check:.2e}")
    for cell, row in out["cells"].items():
        parts = [f"{k} {v['estimate']:+.3f} [{v['interval'][0]:+.3f}, {v['interval'][1]:+.3f}]" for k, v in row.items() if isinstance(v, dict)]
        print(f"{cell:16s} one {row['one_sample']:.3f} maj {row['majority_all']:.3f} ver {row['verifier_all']:.3f} | " + "; ".join(parts))


if __name__ == "__main__":
    main()
