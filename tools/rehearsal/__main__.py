"""python -m tools.rehearsal [--config PATH] [--approve] [--destroy] [--no-enforce] [--outdir DIR]

Exit codes: 0 passed, 1 a deploy or test step failed, 2 bad configuration, 3 stopped at an approval gate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config import DEFAULT_CONFIG, load_config_or_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.rehearsal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--outdir", default="cdk.out")
    parser.add_argument("--approve", action="store_true", help="pass every manual approval gate")
    parser.add_argument(
        "--destroy", action="store_true", help="then delete the stacks and show the shared data remains"
    )
    parser.add_argument(
        "--no-enforce",
        action="store_true",
        help="serve every request without deciding it by the policies (proves the wiring only, and says so)",
    )
    args = parser.parse_args(argv)
    config = load_config_or_report(args.config)
    if config is None:
        return 2

    from tools.rehearsal.runner import Rehearsal  # imports aws_cdk: only once the config is known to be good

    ask = _ask if sys.stdin.isatty() else None
    return Rehearsal(
        config=config,
        config_path=args.config,
        outdir=Path(args.outdir),
        approve=args.approve,
        destroy=args.destroy,
        ask=ask,
        enforce=not args.no_enforce,
    ).run()


def _ask(question: str) -> bool:
    return input(question).strip().lower() in {"y", "yes"}


if __name__ == "__main__":
    sys.exit(main())
