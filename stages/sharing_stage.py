from __future__ import annotations

from typing import Any

from aws_cdk import Environment as CdkEnvironment
from aws_cdk import Stage
from constructs import Construct

from config.model import Config, Environment
from stacks.sharing_stack import SharingStack
from stages.checks import apply_checks


class SharingStage(Stage):
    """The source account's share of one environment."""

    def __init__(self, scope: Construct, id: str, *, config: Config, environment: Environment, **kwargs: Any) -> None:
        source = environment.source
        super().__init__(scope, id, env=CdkEnvironment(account=source.account, region=source.region), **kwargs)
        self.stack = SharingStack(self, "Sharing", config=config, environment=environment)
        apply_checks(
            self,
            project=config.project,
            environment=environment.name,
            trust_policy_quota=config.trust_policy_quota,
        )
