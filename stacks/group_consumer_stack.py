"""The consumer stack of a consumer group: what its StackSet deploys in every account of the group's organizational
units, now or to come. The same constructs as a listed consumer's stack (stacks/consumer_stack.py), for an account it
learns only when deployed (AWS::AccountId), with what a StackSet needs:

- no CDK bootstrap: the group's accounts are not bootstrapped (no version check, no asset: BootstraplessSynthesizer
  refuses one), and StackSets deploys with its own execution role there, not the project's execution policy, so no
  permissions boundary either;
- the function's code inside the template (cdk_constructs/inline_code.py), the task's image from consumer_image;
- its proof role trusts the group's test step role in the tooling account.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, BootstraplessSynthesizer, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs.consumer import SharedDataAccess
from cdk_constructs.documents import runtime_environment
from cdk_constructs.inline_code import inline_package
from config.model import Config, ConsumerGroup, Environment
from config.naming import Names, daily_proof_role_arn, group_proof_role_arn
from stacks.consumer_stack import consumer_workloads
from toolchain import RUNTIME_DIR

PACKAGE = "consumer_app"
PACKAGE_HANDLER = "consumer_app.handler.handler"


class GroupConsumerStack(Stack):
    """One account of a consumer group (any of them: the template is the same for all)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        environment: Environment,
        group: ConsumerGroup,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, synthesizer=BootstraplessSynthesizer(), **kwargs)
        names = Names.of(config, environment)
        # The account and region the StackSet deploys to, as the template learns them.
        member = group.member(Aws.ACCOUNT_ID, Aws.REGION)
        runtime = runtime_environment(names, environment, member)
        data_access = SharedDataAccess(
            self,
            "SharedDataAccess",
            names=names,
            environment=environment,
            consumer=member,
            api_ids={},  # the config gives a group no environment with an API (yet)
            api_findings={},
        ).policy
        consumer_workloads(
            self,
            config=config,
            names=names,
            environment=environment,
            consumer=member,
            data_access=data_access,
            runtime=runtime,
            # The group's test step, and the environment's daily proof, which proves the group again.
            provers=[
                group_proof_role_arn(config, environment, group),
                *filter(None, [daily_proof_role_arn(config, environment)]),
            ],
            inline=inline_package(
                RUNTIME_DIR,
                PACKAGE,
                PACKAGE_HANDLER,
                description=f"The self-check of {names.project} {names.environment}'s consumer group {group.name}",
            ),
        )
        # The log groups go with the stack: a named log group kept after a failed first create, or after the account
        # left the group's units, would stop every later create of the stack there ("already exists"). They hold the
        # self-checks' logs, no data.
        for node in self.node.find_all():
            if isinstance(node, logs.CfnLogGroup):
                node.apply_removal_policy(RemovalPolicy.DESTROY)
