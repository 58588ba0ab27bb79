"""make bench-enforcement: the rehearsal's wall time with and without IAM enforcement, and how fast requests are
decided. Runs alternate (off, on, off, on, ...) so that the machine's load weighs on both alike.

    python -m tools.bench.enforcement [RUNS] [--config PATH]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from config import DEFAULT_CONFIG, load_config


def run_once(config_path: str, enforce: bool) -> dict[str, float]:
    from tools.rehearsal.runner import EXIT_OK, Rehearsal

    with tempfile.TemporaryDirectory() as outdir:
        rehearsal = Rehearsal(
            config=load_config(config_path),
            config_path=config_path,
            outdir=Path(outdir) / "cdk.out",
            approve=True,
            destroy=False,
            out=io.StringIO(),
            enforce=enforce,
        )
        started = time.perf_counter()
        code = rehearsal.run()
        wall = time.perf_counter() - started
    if code != EXIT_OK:
        raise SystemExit(f"the rehearsal of {config_path} failed (enforce={enforce}): run make local to see why")
    enforcer = rehearsal.emulator.enforcer
    return {
        "wall": wall,
        "test": rehearsal.wall.get("test", 0.0),
        "evaluated": float(enforcer.evaluated if enforcer else 0),
        "distinct": float(enforcer.engine.asked if enforcer else 0),
        "deciding": enforcer.seconds if enforcer else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.enforcement")
    parser.add_argument("runs", nargs="?", type=int, default=3)
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    args = parser.parse_args(argv)
    print(f"{'run':>3}  {'enforced':>8}  {'wall s':>7}  {'test s':>7}  {'evaluated':>9}  {'distinct':>8}  "
          f"{'deciding s':>10}  {'requests/s':>10}")  # fmt: skip
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for number in range(1, args.runs + 1):
        for enforce in (False, True):
            figures = run_once(args.config, enforce)
            results[enforce].append(figures)
            rate = figures["evaluated"] / figures["deciding"] if figures["deciding"] else 0.0
            print(
                f"{number:>3}  {'yes' if enforce else 'no':>8}  {figures['wall']:>7.1f}  {figures['test']:>7.1f}  "
                f"{int(figures['evaluated']):>9}  {int(figures['distinct']):>8}  {figures['deciding']:>10.2f}  "
                f"{rate:>10.0f}"
            )
    off = statistics.median(f["wall"] for f in results[False])
    on = statistics.median(f["wall"] for f in results[True])
    print(f"median wall: {off:.1f} s without, {on:.1f} s with enforcement: {100 * (on - off) / off:+.1f} % "
          "(target: under +20 %)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
