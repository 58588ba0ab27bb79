"""python -m access_report [--config PATH] [--output reports/access-report.md]

Synthesizes the config, evaluates every access path offline and writes the Markdown report. Exit codes:
0 every cell as expected, 1 a cell differs (each is named) or a policy cannot be evaluated, 2 bad config.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from config import DEFAULT_CONFIG, load_config_or_report

if TYPE_CHECKING:  # imported where used: the CDK loads only once the config is known to be good
    from access_report.inputs import Inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m access_report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--output", default="reports/access-report.md")
    args = parser.parse_args(argv)
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
    return run(inputs, args.config, Path(args.output))


def run(inputs: Inputs, config_path: str, output: Path) -> int:
    from access_report.engine import EngineError, evaluate
    from access_report.intrinsics import Unresolvable
    from access_report.matrix import build
    from access_report.policies import PolicyError
    from access_report.report import render

    started = time.perf_counter()
    try:
        verdicts = evaluate(build(inputs))
    except (Unresolvable, PolicyError, EngineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(config_path, verdicts, engine_version=_engine_version()))
    finished = time.perf_counter()
    differing = [o for o in verdicts if not o.as_expected]
    for verdict in differing:
        print(f"DIFFERS: {verdict.cell.name}: expected {verdict.cell.expected}, got {verdict.result}", file=sys.stderr)
    seconds = finished - started
    print(f"{len(verdicts)} access cells evaluated ({len(differing)} differ) in {seconds:.1f} s; report: {output}")
    return 1 if differing else 0


def _engine_version() -> str:
    from access_report.engine import ENGINE_PACKAGE

    version: str = json.loads((ENGINE_PACKAGE / "package.json").read_text())["version"]
    return version


if __name__ == "__main__":
    sys.exit(main())
