#!/usr/bin/env python3
"""The CDK app: read the configuration, build the pipeline stack in the tooling account. Nothing else.

cdk synth -c config=config/example.yaml
"""

from __future__ import annotations

import sys

import aws_cdk as cdk

from config import ConfigError, load_config
from stacks.pipeline_stack import PipelineStack

DEFAULT_CONFIG = "config/example.yaml"


def main() -> int:
    app = cdk.App()
    config_path = app.node.try_get_context("config") or DEFAULT_CONFIG
    try:
        # Validated before any construct exists: a bad config writes nothing to cdk.out.
        config = load_config(config_path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    PipelineStack(app, f"{config.project}-pipeline", config=config, config_path=config_path)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
