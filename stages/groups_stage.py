from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import Environment as CdkEnvironment
from aws_cdk import Stage, Tags
from constructs import Construct

from checks.register import register_checks
from config.model import Config, ConsumerGroup, Environment
from config.naming import group_stack_set, stage_stack_name
from stacks.group_consumer_stack import GroupConsumerStack
from stacks.groups_stack import GroupsStack


class GroupsStage(Stage):
    """The tooling account's StackSets of one environment's consumer groups."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        environment: Environment,
        context: dict[str, Any],
        **kwargs: Any,
    ) -> None:
        """context: the App's (cdk.json's feature flags), for the groups' consumer templates."""
        tooling = config.tooling
        super().__init__(scope, id, env=CdkEnvironment(account=tooling.account, region=tooling.region), **kwargs)
        templates = {
            group.name: group_template(config, environment, group, context) for group in environment.consumer_groups
        }
        self.stack = GroupsStack(
            self,
            "Groups",
            stack_name=stage_stack_name(config, id),
            config=config,
            environment=environment,
            templates=templates,
        )
        Tags.of(self).add("project", config.project)
        Tags.of(self).add("environment", environment.name)


def group_template(config: Config, environment: Environment, group: ConsumerGroup, context: dict[str, Any]) -> Path:
    """The group's consumer template, synthesized now in an App of its own (with the same checks as every stack: cdk-nag
    and the policy sizes), for the groups' stack to publish as an asset: a StackSet takes a template, not a stack."""
    outdir = Path(tempfile.mkdtemp(prefix=f"{group_stack_set(config, environment, group)}-"))
    app = cdk.App(context=context, outdir=str(outdir))
    register_checks(app, trust_policy_quota=config.trust_policy_quota)
    stack = GroupConsumerStack(app, "Group", config=config, environment=environment, group=group)
    Tags.of(stack).add("project", config.project)
    Tags.of(stack).add("environment", environment.name)
    assembly = app.synth()
    return Path(assembly.directory) / assembly.get_stack_artifact(stack.artifact_id).template_file
