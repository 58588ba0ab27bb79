"""python -m access_report [--config PATH] [--output reports/access-report.md] [--at INSTANT]

Synthesizes the config, evaluates every access path offline and writes the Markdown report. With --at (a date,
2031-04-01, meaning its first instant, UTC; or a time with its zone), every request is made at that instant: a grant
that has ended by then is expected refused, and is. Exit codes: 0 every cell as expected, 1 a cell differs (each is
named) or a policy cannot be evaluated, 2 bad config or --at.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from config import DEFAULT_CONFIG, load_config_or_report
from config.actions import aws_time

if TYPE_CHECKING:  # imported where used: the CDK loads only once the config is known to be good
    from access_report.inputs import Inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m access_report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--output", default="reports/access-report.md")
    parser.add_argument("--at", help="the instant the requests are made at (default: now)")
    args = parser.parse_args(argv)
    try:
        at = instant(args.at) if args.at else datetime.now(UTC).replace(microsecond=0)
    except ValueError as error:
        print(f"error: --at: {error}", file=sys.stderr)
        return 2
    config = load_config_or_report(args.config)
    if config is None:
        return 2

    from access_report.inputs import Inputs
    from pipeline.app import synthesize_or_report

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as outdir:
        synthesized = synthesize_or_report(config, Path(outdir), config_path=args.config)
        if synthesized is None:
            return 2
        inputs = Inputs.from_synthesized(synthesized)
    print(f"synthesized {args.config} in {time.perf_counter() - started:.1f} s")
    return run(inputs, args.config, Path(args.output), at)


def instant(text: str) -> datetime:
    """--at: a date (its first instant, UTC) or a time with its zone."""
    try:
        if "T" not in text:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        found = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (2031-04-01) or a time with its zone (2031-03-31T17:00:00Z)"
        ) from None
    if found.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add one (Z for UTC, or +02:00)")
    return found.astimezone(UTC)


def run(inputs: Inputs, config_path: str, output: Path, at: datetime | None = None) -> int:
    from access_report.engine import EngineError, evaluate
    from access_report.intrinsics import Unresolvable
    from access_report.matrix import build
    from access_report.policies import PolicyError
    from access_report.report import render

    started = time.perf_counter()
    try:
        at = at or datetime.now(UTC).replace(microsecond=0)
        verdicts = evaluate(build(inputs, at))
    except (Unresolvable, PolicyError, EngineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(config_path, verdicts, engine_version=_engine_version(), at=at))
    finished = time.perf_counter()
    differing = [o for o in verdicts if not o.as_expected]
    for verdict in differing:
        print(f"DIFFERS: {verdict.cell.name}: expected {verdict.cell.expected}, got {verdict.result}", file=sys.stderr)
    seconds = finished - started
    ended = [f"{c.name}'s {d.name}" for e in inputs.config.environments for c, d, ends in e.expiring() if ends <= at]
    print(
        f"{len(verdicts)} access cells evaluated at {aws_time(at)} ({len(differing)} differ) in {seconds:.1f} s; "
        f"report: {output}" + (f"; grants ended by then, refused: {', '.join(ended)}" if ended else "")
    )
    return 1 if differing else 0


def _engine_version() -> str:
    from access_report.engine import ENGINE_PACKAGE

    version: str = json.loads((ENGINE_PACKAGE / "package.json").read_text())["version"]
    return version


if __name__ == "__main__":
    sys.exit(main())
