"""make bench-access: time the access report for 1 and 50 consumers of one environment, listed by account
(synth and evaluation, separately)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from config.loader import parse_config
from tools.bench.configs import config_with


def main(sizes: list[int]) -> int:
    from access_report.engine import evaluate
    from access_report.inputs import Inputs
    from access_report.matrix import build
    from pipeline.app import synthesize

    print(f"{'consumers':>9}  {'cells':>6}  {'synth s':>8}  {'report s':>8}  {'total s':>8}  differ")
    for size in sizes:
        config = parse_config(config_with(size, environments=1, organization=False))
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as outdir:
            inputs = Inputs.from_synthesized(synthesize(config, Path(outdir)))
        synthesized = time.perf_counter()
        verdicts = evaluate(build(inputs))
        finished = time.perf_counter()
        differing = sum(not o.as_expected for o in verdicts)
        print(
            f"{size:>9}  {len(verdicts):>6}  {synthesized - started:>8.1f}  {finished - synthesized:>8.1f}  "
            f"{finished - started:>8.1f}  {differing}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main([int(n) for n in sys.argv[1:]] or [1, 50]))
