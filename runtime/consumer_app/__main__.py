"""ECS task entry point: `python -m consumer_app [self-check]` prints the result and exits non-zero on failure.

The result is one line of JSON: the awslogs driver makes each line a log event, and the pipeline's test step reads
that event back (pipeline_steps/prove_consumers.py)."""

from __future__ import annotations

import json
import sys

from consumer_app.handler import handler


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "self-check"
    if action != "self-check":
        print(f"usage: python -m consumer_app [self-check] (got {action!r})", file=sys.stderr)
        return 2
    result = handler({"action": action})
    print(json.dumps(result, default=str), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
