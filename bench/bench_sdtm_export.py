"""Benchmark of the SDTM export (trialdesk.exchange.sdtm) on large simulated studies.

    .venv/bin/python bench/bench_sdtm_export.py [--sizes 1000 10000] [--format json|xpt|both]

The study: the seeded simulated cohort's subjects (trialdesk.simulate, through the clinical
functions) repeated under fresh subject keys up to each size, streamed one subject at a time
(the source holds the 24 simulated subjects, never the study), as bench/bench_exports.py
builds it. For each size it prints the MB written (every Dataset-JSON and XPT file and
define.json), MB/s (of the wall clock, and per second of the process's CPU time, which a
machine shared with other work does not distort) and the peak resident memory of a process that runs only that export
(the interpreter, pandas and the protocol included), and the peak's ratio between the
largest and the smallest size: flat memory reads about 1. Goal (issue 13): under 300 MB at
both sizes. Nothing is asserted (no timed test).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trialdesk.exchange.sdtm import write_sdtm
from trialdesk.exchange.sdtm.export import FORMAT_CHOICES
from trialdesk.protocol import load_default_protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_exports import study_of  # noqa: E402 (the same simulated study as the other export benchmarks)


def run_one(size: int, formats: str, folder: Path) -> None:
    """One export in this process: prints its size, rows, time and the process's peak RSS as JSON."""
    protocol = load_default_protocol()
    study = study_of(size, protocol)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = write_sdtm(study, protocol, folder, formats=FORMAT_CHOICES[formats])
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    written = sum(p.stat().st_size for p in folder.iterdir())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(
        json.dumps(
            {"bytes": written, "rows": result.rows, "seconds": elapsed, "cpu": cpu, "peak_mb": peak_kb / 1024}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--format", choices=tuple(FORMAT_CHOICES), default="both")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.format, args.folder)
        return
    peaks: list[float] = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            answer = subprocess.run(
                [sys.executable, __file__, "--one", str(size), "--format", args.format, "--folder", folder],
                check=True,
                capture_output=True,
                text=True,
            )
        result = json.loads(answer.stdout.strip().splitlines()[-1])
        mb = result["bytes"] / 1e6
        peaks.append(result["peak_mb"])
        print(
            f"sdtm ({args.format}) {size:>6} subjects: {result['rows']:>9} rows, {mb:8.1f} MB in "
            f"{result['seconds']:6.1f} s = {mb / result['seconds']:6.1f} MB/s ({mb / result['cpu']:5.1f} MB per CPU "
            f"second), peak RSS {result['peak_mb']:6.1f} MB",
            flush=True,
        )
    if len(peaks) > 1:
        print(
            f"sdtm: peak at {args.sizes[-1]} / peak at {args.sizes[0]} subjects = {peaks[-1] / peaks[0]:.2f}"
        )


if __name__ == "__main__":
    main()
