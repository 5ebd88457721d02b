"""Benchmark of the statistics the report calls: Simon's design search and Kaplan–Meier with
the log-rank test on a large simulated study.

    .venv/bin/python bench/bench_stats.py [--subjects 10000] [--groups 3] [--nmax 100] [--repeat 3]

Prints the best-of-N wall time of each; nothing is asserted (no timed test).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from trialdesk.stats.binomial import proportion
from trialdesk.stats.paired import wilcoxon_signed_rank
from trialdesk.stats.simon import simon_designs
from trialdesk.stats.survival import survival_by_group


def best_of(repeat, function):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=3)
    parser.add_argument("--nmax", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(2012)
    times = np.round(rng.exponential(300, args.subjects))
    events = (rng.random(args.subjects) < 0.7).astype(int)
    groups = [f"arm {g}" for g in rng.integers(0, args.groups, args.subjects)]
    before = rng.poisson(4, args.subjects)
    after = rng.poisson(3, args.subjects)
    print(
        f"Kaplan-Meier + log-rank, {args.subjects:,} subjects in {args.groups} groups: "
        f"{best_of(args.repeat, lambda: survival_by_group(times, events, groups)):.3f} s"
    )
    print(
        f"Simon optimal and minimax, nmax {args.nmax}: "
        f"{best_of(args.repeat, lambda: simon_designs(0.2, 0.4, 0.05, 0.2, nmax=args.nmax)):.3f} s"
    )
    print(f"Clopper-Pearson interval: {best_of(args.repeat, lambda: proportion(2, 15)) * 1000:.2f} ms")
    print(
        f"Wilcoxon signed-rank, {args.subjects:,} pairs: "
        f"{best_of(args.repeat, lambda: wilcoxon_signed_rank(before, after)):.3f} s"
    )


if __name__ == "__main__":
    main()
