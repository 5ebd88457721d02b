"""Benchmark of the ODM 1.3.2 and tidy CSV exports (trialdesk.exchange) on large simulated studies.

    .venv/bin/python bench/bench_exports.py [--sizes 1000 10000] [--out DIR]

The study: the seeded simulated cohort's subjects (trialdesk.simulate, through the clinical
functions) repeated under fresh subject keys up to each size, streamed one subject at a time
(the source holds the 24 simulated subjects, never the study). For each export and size it
prints the MB written, MB/s and the peak resident memory of a process that runs only that
export (the interpreter and the protocol included), and the peak's ratio between the
largest and the smallest size: flat memory reads about 1. Goal (issue 12): under 300 MB at both sizes. Nothing is asserted
(no timed test).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from trialdesk.exchange.odm import write_odm
from trialdesk.exchange.tidy import write_tidy_csv
from trialdesk.protocol import load_default_protocol
from trialdesk.simulate import simulate_cohort
from trialdesk.snapshot.from_simulation import snapshot_from_simulation


def study_of(size: int, protocol):
    seed = snapshot_from_simulation(simulate_cohort(protocol, seed=2012), protocol, protocol_sha256="0" * 64)
    model = tuple(seed.subjects())

    def subjects():
        for index in range(size):
            subject = model[index % len(model)]
            number = f"{subject.site}-{index + 1:05d}"
            yield replace(
                subject, screening_number=f"S{number}", subject_code=number if subject.subject_code else None
            )

    return replace(seed, subject_source=subjects)


def run_one(kind: str, size: int, folder: Path) -> None:
    """One export in this process: prints its size, time and the process's peak RSS as JSON."""
    protocol = load_default_protocol()
    study = study_of(size, protocol)
    start = time.perf_counter()
    if kind == "odm":
        target = folder / f"study_{size}.xml"
        with target.open("wb") as handle:
            write_odm(study, protocol, handle)
        written = target.stat().st_size
    else:
        target = folder / f"csv_{size}"
        target.mkdir()
        write_tidy_csv(study, protocol, target)
        written = sum(p.stat().st_size for p in target.iterdir())
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"bytes": written, "seconds": elapsed, "peak_mb": peak_kb / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--one", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one[0], int(args.one[1]), args.folder)
        return
    peaks: dict[str, list[float]] = {"odm": [], "csv": []}
    for size in args.sizes:
        for kind in ("odm", "csv"):
            with tempfile.TemporaryDirectory() as folder:
                answer = subprocess.run(
                    [sys.executable, __file__, "--one", kind, str(size), "--folder", folder],
                    check=True,
                    capture_output=True,
                    text=True,
                )
            result = json.loads(answer.stdout.strip().splitlines()[-1])
            mb = result["bytes"] / 1e6
            peaks[kind].append(result["peak_mb"])
            print(
                f"{kind}  {size:>6} subjects: {mb:8.1f} MB in {result['seconds']:6.1f} s = "
                f"{mb / result['seconds']:6.1f} MB/s, peak RSS {result['peak_mb']:6.1f} MB",
                flush=True,
            )
    for kind, values in peaks.items():
        if len(values) > 1:
            print(
                f"{kind}: peak at {args.sizes[-1]} / peak at {args.sizes[0]} subjects = {values[-1] / values[0]:.2f}"
            )


if __name__ == "__main__":
    main()
