"""python -m tools.validate CONFIG: what the app checks before the CDK loads (the config, and what the config
alone tells of the pipeline's size), so that `make synth` says a bad config in one line before the CDK CLI starts.

Exit codes: 0 good, 2 bad config."""

from __future__ import annotations

import sys

from config import DEFAULT_CONFIG, load_config_or_report
from pipeline import capacity


def main(argv: list[str]) -> int:
    path = argv[0] if argv else DEFAULT_CONFIG
    config = load_config_or_report(path)
    if config is None:
        return 2
    try:
        capacity.before_construction(config, capacity.CONSUMERS_PER_WAVE)
    except capacity.PipelineTooLarge as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
