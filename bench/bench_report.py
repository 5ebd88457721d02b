"""Benchmark of the analysis report (issue 11) on large simulated studies.

    .venv/bin/python bench/bench_report.py [--sizes 1000 10000] [--no-pdf]

The study: the seeded simulated cohort (trialdesk.simulate, through the clinical functions)
repeated under fresh subject keys up to each size (bench_exports.study_of), frozen once as a
data-cut file — the path `trialdesk report --datacut FILE` reads. Then, in a fresh process per
size (so that its peak memory is the report's alone), the three steps of the report, timed:
the snapshot (the data-cut file verified, read and materialised), the analysis of every
endpoint (trialdesk.analysis.analyse), and the documents (report.html with its SVG plots, the
appendix listings past 200 subjects, report.pdf by WeasyPrint). It prints each step's seconds,
the share of the snapshot in the total, and the peak resident memory, beside the goal: under
30 s and under 1 GB at 10,000 subjects on this 2-core machine. Nothing is asserted (no timed
test). Beside the elapsed seconds it prints the CPU seconds of the process and the machine's
load average: on a machine shared with other work the elapsed time grows with the load, the
CPU time much less (the report runs on one core).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

GOAL_SECONDS, GOAL_MB = 30.0, 1024.0


def make_datacut(size: int, path: Path) -> None:
    from bench_exports import study_of

    from trialdesk.protocol import load_default_protocol
    from trialdesk.snapshot import write_datacut

    write_datacut(study_of(size, load_default_protocol()), path)


def run_one(path: Path, out: Path, pdf: bool) -> None:
    """The report of one data-cut file in this process: prints its step times and peak RSS as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.web.settings")
    os.environ.setdefault("TRIALDESK_SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
    os.environ.setdefault("TRIALDESK_AUDIT_KEY", "bench-audit-key-not-for-production-0123456789")
    os.environ.setdefault("TRIALDESK_DB", str(out / "unused.sqlite3"))
    import django

    django.setup()
    from trialdesk.analysis import analyse
    from trialdesk.protocol import load_default_protocol
    from trialdesk.reports.analysis_report import write_report
    from trialdesk.snapshot import load_datacut

    protocol = load_default_protocol()
    times, cpu = {}, {}
    start, start_cpu = time.perf_counter(), time.process_time()
    loaded = load_datacut(path)  # verified and read in one pass, as `trialdesk report --datacut` does
    snapshot, sha256 = loaded.snapshot, loaded.sha256
    times["snapshot"], cpu["snapshot"] = time.perf_counter() - start, time.process_time() - start_cpu
    start, start_cpu = time.perf_counter(), time.process_time()
    analysis = analyse(snapshot, protocol, snapshot_sha256=sha256)
    times["analysis"], cpu["analysis"] = time.perf_counter() - start, time.process_time() - start_cpu
    start, start_cpu = time.perf_counter(), time.process_time()
    gc.freeze()  # as `trialdesk report` does: what it holds is not scanned again while it writes
    try:
        written = write_report(analysis, protocol, out, pdf=pdf)
    finally:
        gc.unfreeze()
    times["documents"], cpu["documents"] = time.perf_counter() - start, time.process_time() - start_cpu
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    sizes = {p.name: p.stat().st_size for p in written}
    print(json.dumps({"times": times, "cpu": cpu, "peak_mb": peak_kb / 1024, "files": sizes}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--no-pdf", action="store_true", help="the HTML documents only")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.out, not args.no_pdf)
        return
    print(
        f"report of a simulated study ({'HTML' if args.no_pdf else 'HTML and PDF'}); goal at 10,000 "
        f"subjects: under {GOAL_SECONDS:.0f} s and {GOAL_MB:.0f} MB"
    )
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            datacut = Path(folder) / f"datacut_{size}.json"
            make_datacut(size, datacut)
            out = Path(folder) / "report"
            out.mkdir()
            command = [sys.executable, __file__, "--one", str(datacut), "--out", str(out)]
            if args.no_pdf:
                command.append("--no-pdf")
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            times, cpu = result["times"], result["cpu"]
            total = sum(times.values())
            print(
                f"  {size:>6} subjects  total {total:6.1f} s (ratio to goal {total / GOAL_SECONDS:4.2f})  "
                f"snapshot {times['snapshot']:5.1f} s ({times['snapshot'] / total:4.0%})  "
                f"analysis {times['analysis']:5.1f} s  documents {times['documents']:5.1f} s  "
                f"peak {result['peak_mb']:6.0f} MB (ratio to goal {result['peak_mb'] / GOAL_MB:4.2f})  "
                f"datacut {datacut.stat().st_size / 1e6:.0f} MB  "
                + " ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sorted(result["files"].items()))
            )
            load = os.getloadavg()
            print(
                f"  {'':>6}  CPU     {sum(cpu.values()):6.1f} s (ratio to goal {sum(cpu.values()) / GOAL_SECONDS:4.2f})  "
                f"snapshot {cpu['snapshot']:5.1f} s ({cpu['snapshot'] / sum(cpu.values()):4.0%})  "
                f"analysis {cpu['analysis']:5.1f} s  documents {cpu['documents']:5.1f} s  "
                f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
            )


if __name__ == "__main__":
    main()
