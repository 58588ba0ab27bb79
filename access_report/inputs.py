"""What the access report evaluates, taken from one synthesis: the templates of every stage and of the
pipeline, and what each deployment needs to assume in its target account (from the cloud assembly)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import yaml

from config.model import Config
from config.regions import partition_of
from toolchain import NODE_MODULES

BOOTSTRAP_TEMPLATE = NODE_MODULES / "aws-cdk" / "lib" / "api" / "bootstrap" / "bootstrap-template.yaml"


@dataclass(frozen=True)
class Deployment:
    """One stack's deployment: the target and the bootstrap roles the pipeline assumes there."""

    stack: str
    account: str
    region: str
    deploy_role: str
    publishing_roles: tuple[tuple[str, str], ...]  # (kind "file" | "image", role ARN)


@dataclass
class Inputs:
    config: Config
    sharing: dict[str, dict[str, Any]]  # environment -> template
    consumers: dict[tuple[str, str], dict[str, Any]]  # (environment, consumer) -> template
    pipeline: dict[str, Any]
    deployments: list[Deployment]
    bootstrap: dict[str, Any]
    groups: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (environment, group) -> template

    @classmethod
    def from_synthesized(cls, synthesized: Any) -> Inputs:
        config = synthesized.config
        sharing = {e.name: synthesized.template_json(synthesized.sharing(e.name)) for e in config.environments}
        consumers = {
            (e.name, c.name): synthesized.template_json(synthesized.consumer(e.name, i))
            for e in config.environments
            for i, c in enumerate(e.consumers)
        }
        deployments = []
        for environment in config.environments:
            stacks = [synthesized.sharing(environment.name)] + [
                synthesized.consumer(environment.name, i) for i in range(len(environment.consumers))
            ]
            deployments += [_deployment(synthesized, stack) for stack in stacks]
        # Each consumer group's template, as its StackSet deploys it to every account of its units.
        groups = {
            (e.name, name): json.loads(path.read_text())
            for e in config.environments
            if e.consumer_groups
            for name, path in synthesized.pipeline.deployables.groups[e.name].stack.templates.items()
        }
        return cls(
            config=config,
            sharing=sharing,
            consumers=consumers,
            groups=groups,
            pipeline=synthesized.template_json(synthesized.pipeline),
            deployments=deployments,
            bootstrap=yaml.safe_load(BOOTSTRAP_TEMPLATE.read_text()),
        )


def _deployment(synthesized: Any, stack: cdk.Stack) -> Deployment:
    stage = cdk.Stage.of(stack)
    if stage is None:
        raise ValueError(f"{stack.node.path} is not in a Stage: the report reads only the stages' stacks")
    assembly = synthesized.assembly.get_nested_assembly(stage.artifact_id)
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    manifest = json.loads((Path(assembly.directory) / f"{stack.artifact_id}.assets.json").read_text())
    roles = {
        (kind, destination["assumeRoleArn"])
        for kind, section in (("file", "files"), ("image", "dockerImages"))
        for asset in manifest.get(section, {}).values()
        # The pipeline hands the template to CloudFormation from its own artifact: only real assets are published.
        if not asset["source"].get("path", "").endswith(".template.json")
        for destination in asset["destinations"].values()
        if "assumeRoleArn" in destination
    }
    partition = partition_of(stack.region)
    return Deployment(
        stack=stack.node.path,
        account=stack.account,
        region=stack.region,
        deploy_role=artifact.assume_role_arn.replace("${AWS::Partition}", partition),
        publishing_roles=tuple(sorted((k, arn.replace("${AWS::Partition}", partition)) for k, arn in roles)),
    )
