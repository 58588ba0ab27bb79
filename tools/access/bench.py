"""make bench-access: time the access report for 1 and 50 consumers (synth and evaluation, separately)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from config.loader import parse_config


def config_with(consumers: int) -> str:
    lines = [
        "project: bench",
        'tooling: {account: "111111111111", region: eu-west-1}',
        "repository: {codecommit_repository: data-sharing}",
        "consumer_image: public.ecr.aws/example/consumer:1.0",
        "environments:",
        "  - name: prod",
        '    source: {account: "222222222222", region: eu-west-1}',
        "    consumers:",
    ]
    lines += [
        f'      - {{name: c{i}, account: "{300000000000 + i:012d}", region: eu-west-1}}' for i in range(consumers)
    ]
    return "\n".join(lines) + "\n"


def main(sizes: list[int]) -> int:
    from tools.access.evaluate import evaluate
    from tools.access.inputs import Inputs
    from tools.access.matrix import build
    from tools.assembly import synthesize

    print(f"{'consumers':>9}  {'cells':>6}  {'synth s':>8}  {'report s':>8}  {'total s':>8}  differ")
    for size in sizes:
        config = parse_config(config_with(size))
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as outdir:
            inputs = Inputs.from_synthesized(synthesize(config, Path(outdir)))
        synthesized = time.perf_counter()
        outcomes = evaluate(build(inputs))
        finished = time.perf_counter()
        differing = sum(not o.as_expected for o in outcomes)
        print(
            f"{size:>9}  {len(outcomes):>6}  {synthesized - started:>8.1f}  {finished - synthesized:>8.1f}  "
            f"{finished - started:>8.1f}  {differing}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main([int(n) for n in sys.argv[1:]] or [1, 50]))
