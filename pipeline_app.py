#!/usr/bin/env python3
"""The CDK app: read the configuration, build the pipeline stack in the tooling account. Nothing else.

cdk synth -c config=config/example.yaml
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from config import DEFAULT_CONFIG, ConfigError, load_config_or_report

# How the CDK CLI hands the app its context (cdk.json's and -c): a JSON variable, and a file for what does not
# fit in the environment.
CONTEXT_VARIABLE = "CDK_CONTEXT_JSON"
CONTEXT_OVERFLOW_VARIABLE = "CONTEXT_OVERFLOW_LOCATION_ENV"


def cli_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads(os.environ.get(CONTEXT_VARIABLE) or "{}")
    overflow = os.environ.get(CONTEXT_OVERFLOW_VARIABLE)
    if overflow:
        with open(overflow, encoding="utf-8") as file:
            context.update(json.load(file))
    return context


def main() -> int:
    context = cli_context()
    config_path = context.get("config") or DEFAULT_CONFIG
    # Read and validated before the CDK and its Node.js process load: a bad config is reported at once and
    # writes nothing to cdk.out.
    config = load_config_or_report(config_path)
    if config is None:
        return 2
    import aws_cdk as cdk

    from pipeline import approval
    from pipeline.app import build_app

    # The synth step's access changes since what each environment deployed, for the approvals (Makefile).
    changes = approval.read_changes(context[approval.CONTEXT]) if context.get(approval.CONTEXT) else None
    try:
        app = cdk.App()
        build_app(config, config_path=config_path, app=app, access_changes=changes)  # preflight first
    except ConfigError as error:
        print(f"error: {config_path}: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
