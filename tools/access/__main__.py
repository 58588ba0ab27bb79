"""python -m tools.access [--config PATH] [--output reports/access-report.md]

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

from config import load_config_or_report

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.access", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config/example.yaml")
    parser.add_argument("--output", default="reports/access-report.md")
    args = parser.parse_args(argv)
    config = load_config_or_report(args.config)
    if config is None:
        return 2

    from tools.access.inputs import Inputs
    from tools.assembly import synthesize_or_report

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as outdir:
        synthesized = synthesize_or_report(config, Path(outdir), config_path=args.config)
        if synthesized is None:
            return 2
        inputs = Inputs.from_synthesized(synthesized)
    print(f"synthesized {args.config} in {time.perf_counter() - started:.1f} s")
    return run(inputs, args.config, Path(args.output))


def run(inputs, config_path: str, output: Path) -> int:
    from tools.access.evaluate import EngineError, evaluate
    from tools.access.intrinsics import Unresolvable
    from tools.access.matrix import MatrixError, build
    from tools.access.report import render

    started = time.perf_counter()
    try:
        outcomes = evaluate(build(inputs))
    except (Unresolvable, MatrixError, EngineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(config_path, outcomes, engine_version=_engine_version()))
    finished = time.perf_counter()
    differing = [o for o in outcomes if not o.as_expected]
    for outcome in differing:
        print(f"DIFFERS: {outcome.cell.name}: expected {outcome.cell.expected}, got {outcome.result}", file=sys.stderr)
    seconds = finished - started
    print(f"{len(outcomes)} access cells evaluated ({len(differing)} differ) in {seconds:.1f} s; report: {output}")
    return 1 if differing else 0


def _engine_version() -> str:
    package = ROOT / "node_modules" / "@cloud-copilot" / "iam-simulate" / "package.json"
    return json.loads(package.read_text())["version"]


if __name__ == "__main__":
    sys.exit(main())
