"""`trialdesk stats …`: the statistical analyses, one subcommand each.

``forecast`` is the recruitment forecast (Poisson–gamma model of Anisimov &
Fedorov 2007, see ``trialdesk.stats.forecast``); ``binomial``, ``simon`` and
``km`` join the same sub-subparsers later.
"""

from __future__ import annotations

import argparse
import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path

from trialdesk.cli.errors import UserError
from trialdesk.stats.forecast import (
    DEFAULT_DRAWS,
    ForecastError,
    RecruitmentForecast,
    SiteRecruitment,
    forecast_recruitment,
    sites_from_rows,
)

CSV_COLUMNS = ("site", "activation_date", "enrollment_date")
DEFAULT_SEED = 0
USAGE_ERROR = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    stats = subparsers.add_parser(
        "stats",
        help="statistical analyses (recruitment forecast)",
        description="Statistical analyses of the trial's data.",
    )
    analyses = stats.add_subparsers(dest="analysis", metavar="ANALYSIS")
    stats.set_defaults(handler=lambda args: _print_help(stats))

    forecast = analyses.add_parser(
        "forecast",
        help="when will recruitment reach its target (Poisson-gamma model)",
        description=(
            "Forecast the date the trial reaches its recruitment target with the Poisson-gamma model "
            "of Anisimov & Fedorov (2007): site rates from a gamma distribution fitted by maximum "
            "likelihood, updated with each site's own recruitment."
        ),
        epilog=(
            "FILE.csv has the columns site,activation_date,enrollment_date (dates YYYY-MM-DD), one row "
            "per enrolled patient; a site without patient appears once with an empty enrollment_date. "
            "Exit status: 0 forecast printed, 1 bad data, 2 bad usage."
        ),
    )
    forecast.add_argument("file", metavar="FILE.csv", help="recruitment so far, one row per patient")
    forecast.add_argument("--target", required=True, metavar="N", help="number of patients to recruit")
    forecast.add_argument("--as-of", metavar="DATE", help="date of the data (default: today, UTC)")
    forecast.add_argument("--planned-end", metavar="DATE", help="planned end of recruitment")
    forecast.add_argument(
        "--seed", metavar="N", default=str(DEFAULT_SEED), help=f"simulation seed (default {DEFAULT_SEED})"
    )
    forecast.add_argument(
        "--draws", metavar="N", default=str(DEFAULT_DRAWS), help=f"simulation draws (default {DEFAULT_DRAWS})"
    )
    forecast.add_argument("--json", action="store_true", help="print the forecast as JSON")
    forecast.set_defaults(handler=run_forecast)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return USAGE_ERROR


def _option_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"{option} {value!r} is not a date (expected YYYY-MM-DD)", USAGE_ERROR) from None


def _option_int(value: str, option: str, minimum: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or number < minimum:
        kind = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}"
        raise UserError(f"{option} must be {kind}, not {value!r}", USAGE_ERROR)
    return number


def read_recruitment_csv(path: Path, as_of: date) -> list[SiteRecruitment]:
    """Sites from the CSV file; every problem becomes a one-line ``UserError``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames
            if not header:
                raise UserError(f"{path}: the file is empty (expected the columns {','.join(CSV_COLUMNS)})")
            missing = [c for c in CSV_COLUMNS if c not in {h.strip() for h in header}]
            if missing:
                raise UserError(
                    f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                    f"(expected {','.join(CSV_COLUMNS)})"
                )
            rows, lines = [], []
            for row in reader:
                rows.append({(k or "").strip(): v for k, v in row.items()})
                lines.append(reader.line_num)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a CSV file") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise UserError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise UserError(f"{path}: no site in the file")
    try:
        return sites_from_rows(rows, as_of=as_of, line_numbers=lines)
    except ForecastError as exc:
        raise UserError(f"{path}, {exc}") from None


def run_forecast(args: argparse.Namespace) -> int:
    target = _option_int(args.target, "--target", 1)
    seed = _option_int(args.seed, "--seed", 0)
    draws = _option_int(args.draws, "--draws", 1000)
    as_of = _option_date(args.as_of, "--as-of") or datetime.now(UTC).date()
    planned_end = _option_date(args.planned_end, "--planned-end")
    sites = read_recruitment_csv(Path(args.file), as_of)
    try:
        result = forecast_recruitment(sites, as_of, target, planned_end, seed=seed, draws=draws)
    except ForecastError as exc:
        raise UserError(f"{args.file}: {exc}") from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(render_forecast(result, args.file))
    return 0


def _probability(p: float, draws: int | None) -> str:
    if p == 0.0:
        return f"0 % (none of {draws:,} draws)" if draws else "0 %"
    if p < 0.001:
        return "< 0.1 %"
    if p > 0.999 and p < 1.0:
        return "> 99.9 %"
    return f"{100 * p:.1f} %"


def render_forecast(f: RecruitmentForecast, source: str) -> str:
    """A few lines for a person."""
    lines = [
        f"Recruitment forecast for {source} as of {f.as_of.isoformat()}",
        f"  enrolled      {f.enrolled} of {f.target} at {f.n_sites} site{'s' if f.n_sites != 1 else ''}"
        + (f", {f.remaining} to go" if f.remaining else ""),
        f"  site rates    mean {f.mean_rate_per_site_per_month:.3g} patients per site per month; "
        + (
            f"no variation between sites (alpha capped at {f.alpha:g})"
            if f.alpha_capped
            else f"Gamma(alpha={f.alpha:.4g}, beta={f.beta:.4g} days)"
        ),
    ]
    if f.method == "target_reached":
        lines.append(f"  target        already reached on {f.median_date.isoformat()}")
    else:
        lines += [
            f"  target date   median {f.median_date.isoformat()}",
            f"                80 % interval {f.interval_80[0].isoformat()} to {f.interval_80[1].isoformat()}",
            f"                95 % interval {f.interval_95[0].isoformat()} to {f.interval_95[1].isoformat()}",
        ]
    if f.planned_end is not None and f.probability_by_planned_end is not None:
        lines.append(
            f"  probability   {_probability(f.probability_by_planned_end, f.draws)} of reaching "
            f"{f.target} by the planned end {f.planned_end.isoformat()}"
        )
    if f.method == "simulation":
        lines.append(f"  method        simulation, {f.draws:,} draws, seed {f.seed}")
    elif f.method == "closed_form":
        lines.append("  method        closed form (beta-prime law of the time to target)")
    lines.append("  model         Poisson-gamma, Anisimov & Fedorov (2007), Stat Med 26:4958-4975")
    lines += [f"  note          {note}" for note in f.notes]
    return "\n".join(lines)
