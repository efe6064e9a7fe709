#!/usr/bin/env python3
"""Sums fuzz/runs.tsv per target into the running-totals table of fuzz/RESULTS.md.

Every target named by a fuzz/corpus/<target>/ directory gets a row, run or not. The table
sits between the `<!-- totals -->` and `<!-- /totals -->` markers; the rest of the file is
left alone. Run after `FUZZ_RECORD=1 fuzz/run ...` (which appends to fuzz/runs.tsv).
"""
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz")
GOAL = 10_000_000


def main():
    targets = sorted(d for d in os.listdir(os.path.join(ROOT, "corpus"))
                     if os.path.isdir(os.path.join(ROOT, "corpus", d)))
    runs = {t: [] for t in targets}
    with open(os.path.join(ROOT, "runs.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            date, commit, target, build, seconds, execs, cov, ft, status = line.rstrip("\n").split("\t")
            runs.setdefault(target, []).append((date, commit, build, int(seconds), int(execs), cov, ft, status))
    rows = ["| Target | Executions (total) | Goal reached | Runs | Seconds | Last run: build, cov / ft | Runs stopped by a finding |",
            "|---|---:|---|---:|---:|---|---|"]
    for t in sorted(runs, key=lambda t: -sum(r[4] for r in runs[t])):
        rs = runs[t]
        total = sum(r[4] for r in rs)
        last = f"{rs[-1][2]}, {rs[-1][5]} / {rs[-1][6]}" if rs else "-"
        bad = sum(1 for r in rs if r[7] != "0")
        rows.append(f"| `{t}` | {total:,} | {'yes' if total >= GOAL else f'no ({total / GOAL:.0%})'} | {len(rs)} | "
                    f"{sum(r[3] for r in rs):,} | {last} | {bad if bad else 'none'} |")
    path = os.path.join(ROOT, "RESULTS.md")
    text = open(path).read()
    head, rest = text.split("<!-- totals -->", 1)
    _, tail = rest.split("<!-- /totals -->", 1)
    open(path, "w").write(head + "<!-- totals -->\n" + "\n".join(rows) + "\n<!-- /totals -->" + tail)


if __name__ == "__main__":
    main()
