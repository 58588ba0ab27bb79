"""What every stage gets: cdk-nag's AWS Solutions checks and the project's tags.

Added inside each Stage because validation plugins and Aspects added to the App do not reach the stacks
of a Stage.
"""

from __future__ import annotations

from aws_cdk import Stage, Tags, Validations
from cdk_nag import AwsSolutionsChecks


def apply_checks(stage: Stage, *, project: str, environment: str) -> None:
    Validations.of(stage).add_plugins(AwsSolutionsChecks(stage))
    Tags.of(stage).add("project", project)
    Tags.of(stage).add("environment", environment)
