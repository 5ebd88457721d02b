"""Benchmark of the recruitment forecast: fit + 100,000-draw simulation for 200 sites.

Prints the times and their ratio to an anchor measured in the same process on the same
machine: the time numpy takes to draw 100,000 gamma variates. The forecast draws one gamma
vector per group of sites sharing an exposure (at most 200 here) plus one for the target, so
a ratio close to the number of distinct exposures means it costs what its draws cost.

    .venv/bin/python bench/bench_forecast.py [--sites 200] [--draws 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta

import numpy as np

from trialdesk.stats.forecast import SiteRecruitment, fit_gamma_rates, forecast_recruitment


def best_of(repeat, function):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def synthetic_trial(n_sites, as_of, rng):
    sites = []
    for i in range(n_sites):
        opened = as_of - timedelta(days=int(rng.integers(30, 400)))
        exposure = (as_of - opened).days + 1
        count = rng.poisson(rng.gamma(2.0, 1.0 / 60.0) * exposure)
        dates = [opened + timedelta(days=int(d)) for d in rng.integers(0, exposure, count)]
        sites.append(SiteRecruitment(f"S{i:03d}", opened, dates))
    return sites


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(1)
    as_of = date(2024, 6, 30)
    sites = synthetic_trial(args.sites, as_of, rng)
    enrolled = sum(len(s.enrollment_dates) for s in sites)
    counts = [len(s.enrollment_dates) for s in sites]
    exposures = [(as_of - s.activation_date).days + 1 for s in sites]

    anchor_rng = np.random.default_rng(2)
    anchor = best_of(args.repeat, lambda: anchor_rng.standard_gamma(3.0, size=args.draws))
    fit = best_of(args.repeat, lambda: fit_gamma_rates(counts, exposures))
    total = best_of(
        args.repeat,
        lambda: forecast_recruitment(sites, as_of, enrolled + 2 * args.sites, draws=args.draws, seed=3),
    )
    result = forecast_recruitment(sites, as_of, enrolled + 2 * args.sites, draws=args.draws, seed=3)

    print(
        f"forecast of {args.sites} sites ({enrolled} patients), {args.draws:,} draws, best of {args.repeat}"
    )
    print(f"  method                 {result.method}")
    print(f"  anchor: numpy {args.draws:,} gammas   {anchor * 1e3:8.2f} ms")
    print(f"  fit (MLE)              {fit * 1e3:8.2f} ms   ratio {fit / anchor:7.1f}")
    print(f"  fit + simulation       {total * 1e3:8.2f} ms   ratio {total / anchor:7.1f}")


if __name__ == "__main__":
    main()
