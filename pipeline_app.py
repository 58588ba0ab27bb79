#!/usr/bin/env python3
"""The CDK app: read the configuration, build the pipeline stack in the tooling account. Nothing else.

cdk synth -c config=config/example.yaml
"""

from __future__ import annotations

import sys

import aws_cdk as cdk

from config import DEFAULT_CONFIG, load_config_or_report
from pipeline.app import build_app
from pipeline.capacity import PipelineTooLarge


def main() -> int:
    app = cdk.App()
    config_path = app.node.try_get_context("config") or DEFAULT_CONFIG
    # Validated before any construct exists: a bad config writes nothing to cdk.out.
    config = load_config_or_report(config_path)
    if config is None:
        return 2
    try:
        build_app(config, config_path=config_path, app=app)
    except PipelineTooLarge as error:
        print(f"error: {config_path}: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
