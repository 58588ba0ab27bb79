"""The one way the app is built: `pipeline_app.py` (what `cdk synth` runs), the operator tools and the tests all
call `build_app`, so every App gets the same checks, registered once."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import cx_api
from aws_cdk.assertions import Template

from checks.register import register_checks
from config import DEFAULT_CONFIG, ConfigError
from config.model import Config
from config.naming import QUALIFIER_CONTEXT, Bootstrap, pipeline_stack_id
from config.toolchain import ROOT
from pipeline.pipeline_stack import PipelineStack
from pipeline.preflight import preflight


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context (feature flags), as the CDK CLI passes it to the app."""
    # The CDK CLI also tells the app not to record a JavaScript stack trace for every construct (unless
    # --debug); without it, synthesis in this process takes about 40 % longer than `cdk synth`.
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, "aws:cdk:disable-stack-trace": True}


@dataclass
class BuiltApp:
    config: Config
    app: cdk.App
    pipeline: PipelineStack

    def sharing(self, environment: str) -> cdk.Stack:
        return self.pipeline.sharing_stages[environment].stack

    def consumer(self, environment: str, index: int = 0) -> cdk.Stack:
        return self.pipeline.consumer_stages[environment][index].stack


def build_app(config: Config, *, config_path: str, app: cdk.App | None = None, outdir: Path | None = None) -> BuiltApp:
    """The App with its checks and the pipeline stack. `app`: the CDK CLI's (pipeline_app.py); by default a new
    App with cdk.json's context, written to `outdir`. Runs preflight first: raises ConfigError (one line) for a
    config the checks of pipeline/preflight.py refuse, and the construction itself for what only it can tell."""
    preflight(config)
    if app is None:
        app = cdk.App(context=cdk_json_context(), outdir=str(outdir) if outdir else None)
    # Every stack's synthesizer uses the project's own bootstrap (config.naming.Bootstrap), set before any is built.
    app.node.set_context(QUALIFIER_CONTEXT, Bootstrap.of(config).qualifier)
    checks = register_checks(app, trust_policy_quota=config.trust_policy_quota)
    pipeline = PipelineStack(app, pipeline_stack_id(config), config=config, config_path=config_path)
    for stages in pipeline.consumer_stages.values():
        for stage in stages:
            checks.add_to_family(stage.stack, stage.family)
    return BuiltApp(config=config, app=app, pipeline=pipeline)


@dataclass
class Synthesized(BuiltApp):
    assembly: cx_api.CloudAssembly

    def template(self, stack: cdk.Stack) -> Template:
        return Template.from_json(self.template_json(stack))

    def template_json(self, stack: cdk.Stack) -> dict[str, Any]:
        stage = cdk.Stage.of(stack)
        assembly = self.assembly
        if stage is not None and stage is not self.app:
            assembly = assembly.get_nested_assembly(stage.artifact_id)
        template: dict[str, Any] = assembly.get_stack_artifact(stack.artifact_id).template
        return template


def synthesize(config: Config, outdir: Path, *, config_path: str = DEFAULT_CONFIG) -> Synthesized:
    built = build_app(config, config_path=config_path, outdir=outdir)
    return Synthesized(config=built.config, app=built.app, pipeline=built.pipeline, assembly=built.app.synth())


def synthesize_or_report(config: Config, outdir: Path, *, config_path: str) -> Synthesized | None:
    """synthesize(), except that a config one pipeline cannot hold is reported in one line, as pipeline_app.py
    reports it, and gives None (exit 2)."""
    try:
        return synthesize(config, outdir, config_path=config_path)
    except ConfigError as error:
        print(f"error: {config_path}: {error}", file=sys.stderr)
        return None
