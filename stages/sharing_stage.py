from __future__ import annotations

from typing import Any

from aws_cdk import Environment as CdkEnvironment
from aws_cdk import Stage, Tags
from constructs import Construct

from config.model import Config, Environment
from config.naming import stage_stack_name
from stacks.sharing_stack import SharingStack


class SharingStage(Stage):
    """The source account's share of one environment."""

    def __init__(self, scope: Construct, id: str, *, config: Config, environment: Environment, **kwargs: Any) -> None:
        source = environment.source
        super().__init__(scope, id, env=CdkEnvironment(account=source.account, region=source.region), **kwargs)
        self.stack = SharingStack(
            self, "Sharing", stack_name=stage_stack_name(config, id), config=config, environment=environment
        )
        # In the Stage: Aspects added to the App do not reach the stacks of a Stage.
        Tags.of(self).add("project", config.project)
        Tags.of(self).add("environment", environment.name)
