from __future__ import annotations

from typing import Any

from aws_cdk import Environment as CdkEnvironment
from aws_cdk import Stage
from constructs import Construct

from config.model import Config, Consumer, Environment
from stacks.consumer_stack import ConsumerStack
from stages.checks import apply_checks


class ConsumerStage(Stage):
    """One consumer account of one environment."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        environment: Environment,
        consumer: Consumer,
        check_step_role_arn: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, env=CdkEnvironment(account=consumer.account, region=consumer.region), **kwargs)
        self.consumer = consumer
        self.stack = ConsumerStack(
            self,
            "Consumer",
            config=config,
            environment=environment,
            consumer=consumer,
            check_step_role_arn=check_step_role_arn,
        )
        apply_checks(
            self,
            project=config.project,
            environment=environment.name,
            trust_policy_quota=config.trust_policy_quota,
            # Consumer stacks of one environment and region differ only in the consumer's account and name.
            family=(f"consumers of {environment.name} in {consumer.region}", self.stack),
        )
