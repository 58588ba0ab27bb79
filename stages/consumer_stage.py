from __future__ import annotations

from typing import Any

from aws_cdk import Environment as CdkEnvironment
from aws_cdk import Stage, Tags
from constructs import Construct

from config.model import Config, Consumer, Environment
from config.naming import Names, key_grants_stack_name, stage_stack_name
from stacks.consumer_stack import ConsumerStack
from stacks.key_grants_stack import KeyGrantsStack


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
        proof_step_role_arn: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, env=CdkEnvironment(account=consumer.account, region=consumer.region), **kwargs)
        self.consumer = consumer
        self.stack = ConsumerStack(
            self,
            "Consumer",
            stack_name=stage_stack_name(config, id),
            config=config,
            environment=environment,
            consumer=consumer,
            proof_step_role_arn=proof_step_role_arn,
        )
        # Grants of the existing keys of its access-point datasets to its roles: in the source account, after the
        # consumer stack (KMS refuses a grant to a role that does not exist yet).
        self.key_grants: KeyGrantsStack | None = None
        if Names.of(config, environment).key_grant_datasets(environment, consumer):
            source = environment.source
            self.key_grants = KeyGrantsStack(
                self,
                "KeyGrants",
                stack_name=key_grants_stack_name(config, id),
                env=CdkEnvironment(account=source.account, region=source.region),
                config=config,
                environment=environment,
                consumer=consumer,
            )
            self.key_grants.add_stack_dependency(self.stack)
        # The consumer stacks of one environment and region, given the same datasets at the same access and the same
        # workloads, are built by the same code from inputs that differ only in the consumer's account and name.
        given = ", ".join(
            f"{name} {grant.access}" + (f" until {grant.until:%Y-%m-%dT%H:%M:%SZ}" if grant.until else "")
            for name, grant in sorted(consumer.grants.items())
        )
        self.family = f"consumers of {environment.name} in {consumer.region} given {given}"
        if consumer.workloads:
            self.family += f" with {', '.join(consumer.workloads)}"
        # In the Stage: Aspects added to the App do not reach the stacks of a Stage.
        Tags.of(self).add("project", config.project)
        Tags.of(self).add("environment", environment.name)
