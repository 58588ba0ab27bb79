"""The one way the app is built: `pipeline_app.py` (what `cdk synth` runs), the operator tools and the tests all
call `build_app`, so every App gets the same checks, registered once."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import cx_api
from aws_cdk.assertions import Template

from checks.register import register_checks
from config import DEFAULT_CONFIG, ConfigError
from config.model import Config, Environment, consumer_stage_id, groups_stage_id, sharing_stage_id
from config.naming import (
    QUALIFIER_CONTEXT,
    Bootstrap,
    pipeline_replication_stack_id,
    pipeline_stack_id,
    proof_step_role_arn,
)
from pipeline import capacity
from pipeline.pipeline_stack import Deployables, PipelineStack
from pipeline.preflight import preflight
from pipeline.replication import ReplicationStack, replication_regions
from stages.consumer_stage import ConsumerStage
from stages.groups_stage import GroupsStage
from stages.sharing_stage import SharingStage
from toolchain import ROOT


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
        return self.pipeline.deployables.sharing[environment].stack

    def consumer_stages(self, environment: str) -> list[ConsumerStage]:
        return [stage for wave in self.pipeline.deployables.waves[environment] for stage in wave]

    def consumer(self, environment: str, index: int = 0) -> cdk.Stack:
        return self.consumer_stages(environment)[index].stack


def build_app(
    config: Config,
    *,
    config_path: str,
    app: cdk.App | None = None,
    outdir: Path | None = None,
    consumers_per_wave: int = capacity.CONSUMERS_PER_WAVE,
    access_changes: Mapping[str, Sequence[str]] | None = None,
) -> BuiltApp:
    """The one composition root: the App, its checks, every Stage and stack the pipeline deploys, and the pipeline
    stack that places them. `app`: the CDK CLI's (pipeline_app.py); by default a new App with cdk.json's context,
    written to `outdir`. Runs preflight first: raises ConfigError (one line) for a config the checks of
    pipeline/preflight.py refuse, and after construction for what only the built pipeline tells (capacity.py)."""
    preflight(config, consumers_per_wave)
    if app is None:
        app = cdk.App(context=cdk_json_context(), outdir=str(outdir) if outdir else None)
    # Every stack's synthesizer uses the project's own bootstrap (config.naming.Bootstrap), set before any is built.
    app.node.set_context(QUALIFIER_CONTEXT, Bootstrap.of(config).qualifier)
    checks = register_checks(app, trust_policy_quota=config.trust_policy_quota)
    # The Stages are built in the App, beside the pipeline stack: validation plugins registered in a Stage (cdk-nag)
    # do not run for a Stage nested in a Stack.
    deployables = Deployables(
        replication={
            region: ReplicationStack(app, pipeline_replication_stack_id(config, region), config=config, region=region)
            for region in replication_regions(config)
        },
        sharing={
            e.name: SharingStage(app, sharing_stage_id(e), config=config, environment=e) for e in config.environments
        },
        waves={e.name: _waves(app, config, e, consumers_per_wave) for e in config.environments},
        groups={
            e.name: GroupsStage(app, groups_stage_id(e), config=config, environment=e, context=cdk_json_context())
            for e in config.environments
            if e.consumer_groups
        },
    )
    for waves in deployables.waves.values():
        for stage in (stage for wave in waves for stage in wave):
            checks.add_to_family(stage.stack, stage.family)
    pipeline = PipelineStack(
        app,
        pipeline_stack_id(config),
        config=config,
        config_path=config_path,
        deployables=deployables,
        access_changes=access_changes,
    )
    capacity.after_construction(pipeline, pipeline.pipeline, config)
    built = BuiltApp(config=config, app=app, pipeline=pipeline)
    stacks: dict[str, cdk.Stack] = {
        f"the sharing stack of {e.name}": built.sharing(e.name) for e in config.environments
    }
    stacks |= {
        f"the consumer stack of {e.name}-{stage.consumer.name}": stage.stack
        for e in config.environments
        for stage in built.consumer_stages(e.name)
    }
    capacity.stage_resources(stacks)
    return built


def _waves(app: cdk.App, config: Config, environment: Environment, per_wave: int) -> list[list[ConsumerStage]]:
    """The environment's consumer stages, per_wave to a wave, each knowing its wave's test step role (which its
    proof role trusts)."""
    consumers = environment.consumers
    chunks = [consumers[i : i + per_wave] for i in range(0, len(consumers), per_wave)]
    return [
        [
            ConsumerStage(
                app,
                consumer_stage_id(environment, consumer),
                config=config,
                environment=environment,
                consumer=consumer,
                proof_step_role_arn=proof_step_role_arn(config, environment, number),
            )
            for consumer in chunk
        ]
        for number, chunk in enumerate(chunks, start=1)
    ]


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


def synthesize(
    config: Config,
    outdir: Path,
    *,
    config_path: str = DEFAULT_CONFIG,
    access_changes: Mapping[str, Sequence[str]] | None = None,
) -> Synthesized:
    built = build_app(config, config_path=config_path, outdir=outdir, access_changes=access_changes)
    return Synthesized(config=built.config, app=built.app, pipeline=built.pipeline, assembly=built.app.synth())


def synthesize_or_report(config: Config, outdir: Path, *, config_path: str) -> Synthesized | None:
    """synthesize(), except that a config one pipeline cannot hold is reported in one line, as pipeline_app.py
    reports it, and gives None (exit 2)."""
    try:
        return synthesize(config, outdir, config_path=config_path)
    except ConfigError as error:
        print(f"error: {config_path}: {error}", file=sys.stderr)
        return None
