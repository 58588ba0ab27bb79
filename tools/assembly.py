"""Synthesize the app in this process and look up its templates: used by the operator tools and the tests.
The App gets cdk.json's context (feature flags) exactly as the CDK CLI passes it."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from config.model import Config
from stacks.pipeline_stack import PipelineStack, PipelineTooLarge

ROOT = Path(__file__).resolve().parent.parent


def cdk_json_context() -> dict[str, Any]:
    # The CDK CLI also tells the app not to record a JavaScript stack trace for every construct (unless
    # --debug); without it, synthesis in this process takes about 40 % longer than `cdk synth`.
    return {**json.loads((ROOT / "cdk.json").read_text())["context"], "aws:cdk:disable-stack-trace": True}


@dataclass
class Synthesized:
    config: Config
    app: cdk.App
    pipeline: PipelineStack
    assembly: Any

    def template(self, stack: cdk.Stack) -> Template:
        return Template.from_json(self.template_json(stack))

    def template_json(self, stack: cdk.Stack) -> dict[str, Any]:
        stage = cdk.Stage.of(stack)
        assembly = self.assembly
        if stage is not self.app:
            assembly = assembly.get_nested_assembly(stage.artifact_id)
        return assembly.get_stack_artifact(stack.artifact_id).template

    def sharing(self, environment: str) -> cdk.Stack:
        return self.pipeline.sharing_stages[environment].stack

    def consumer(self, environment: str, index: int = 0) -> cdk.Stack:
        return self.pipeline.consumer_stages[environment][index].stack


def synthesize(config: Config, outdir: Path, *, config_path: str = "config/example.yaml") -> Synthesized:
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    pipeline = PipelineStack(app, f"{config.project}-pipeline", config=config, config_path=config_path)
    return Synthesized(config=config, app=app, pipeline=pipeline, assembly=app.synth())


def synthesize_or_report(config: Config, outdir: Path, *, config_path: str) -> Synthesized | None:
    """synthesize(), except that a config one pipeline cannot hold is reported in one line, as pipeline_app.py
    reports it, and gives None (exit 2)."""
    try:
        return synthesize(config, outdir, config_path=config_path)
    except PipelineTooLarge as error:
        print(f"error: {config_path}: {error}", file=sys.stderr)
        return None
