"""The tooling account's stack of an environment's consumer groups: one CloudFormation StackSet per group, which
deploys the group's consumer stack (stacks/group_consumer_stack.py) to every account of its organizational units, in
its regions, and to each account that joins them later (auto-deployment), and deletes it from an account that leaves.

The tooling account is a delegated administrator of StackSets for the organization (make doctor checks it): the stack
sets it makes live in the management account, and it makes them with CallAs DELEGATED_ADMIN and service-managed
permissions (StackSets' own roles in the group's accounts). CodePipeline's StackSet actions run only in the management
account, hence a stack with the StackSet resource, deployed like every other stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_cloudformation as cloudformation
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from config import actions
from config import quotas as aws
from config.loader import ConfigError
from config.model import Config, ConsumerGroup, Environment
from config.naming import group_stack_set


class GroupTemplateTooLarge(ConfigError):
    """A group's consumer template larger than a StackSet takes: one line, as every config the app cannot build."""


class GroupsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        environment: Environment,
        templates: dict[str, Path],
        **kwargs: Any,
    ) -> None:
        """templates: each group's consumer template (by group name), synthesized."""
        super().__init__(scope, id, **kwargs)
        self.templates = templates
        self.stack_sets: dict[str, cloudformation.CfnStackSet] = {}
        for group in environment.consumer_groups:
            self.stack_sets[group.name] = self._stack_set(config, environment, group, templates[group.name])

    def _stack_set(
        self, config: Config, environment: Environment, group: ConsumerGroup, template: Path
    ) -> cloudformation.CfnStackSet:
        size = template.stat().st_size
        if size > aws.CLOUDFORMATION_STACK_SET_TEMPLATE_BYTES:
            raise GroupTemplateTooLarge(
                f"the consumer template of group {group.name} is {size:,} bytes, a StackSet takes at most "
                f"{aws.CLOUDFORMATION_STACK_SET_TEMPLATE_BYTES:,}"
            )
        # Published by the pipeline's asset step to the tooling account's bootstrap bucket, which CloudFormation reads
        # as this stack's execution role when it creates or updates the stack set.
        asset = s3_assets.Asset(self, f"{actions.sid(group.name)}Template", path=str(template))
        rollout = group.rollout
        return cloudformation.CfnStackSet(
            self,
            f"{actions.sid(group.name)}StackSet",
            stack_set_name=group_stack_set(config, environment, group),
            description=(
                f"{config.project} {environment.name} consumer group {group.name}: its consumer stack in every account "
                f"of {', '.join(group.organizational_units)}"
            ),
            permission_model="SERVICE_MANAGED",
            call_as="DELEGATED_ADMIN",
            # An account that joins a unit gets its stack, one that leaves loses it (and with it the roles the grants
            # admit: the grants' paths refuse it anyway).
            auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False
            ),
            # Operations on the stack set queue instead of failing while another runs (an account joining mid-update).
            managed_execution={"Active": True},
            capabilities=["CAPABILITY_NAMED_IAM"],
            operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                max_concurrent_percentage=rollout.max_concurrent_percentage,
                failure_tolerance_percentage=rollout.failure_tolerance_percentage,
                concurrency_mode="SOFT_FAILURE_TOLERANCE",
                region_concurrency_type="PARALLEL",
            ),
            stack_instances_group=[
                cloudformation.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=list(group.organizational_units)
                    ),
                    regions=list(group.regions),
                )
            ],
            template_url=asset.http_url,
            tags=[
                {"key": "project", "value": config.project},
                {"key": "environment", "value": environment.name},
            ],
        )
