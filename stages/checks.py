"""What every stage gets: cdk-nag's AWS Solutions checks, the policy size checks, the CDK's CloudFormation
template validation (once per family of stacks built alike, see template_validation.py) and the project's tags.

Tags are added inside each Stage because Aspects added to the App do not reach the stacks of a Stage. The
validation plugins are registered once, on the App: a plugin registered in a Stage is given only that Stage's
templates (cdk-nag walks the whole construct tree whatever it is given, but the policy size checks read
templates), and a plugin registered in every Stage would check every template again.
"""

from __future__ import annotations

import weakref

from aws_cdk import Stack, Stage, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from stages.policy_sizes import PolicySizeChecks
from stages.template_validation import template_validation

_checked_apps: weakref.WeakSet = weakref.WeakSet()


def apply_checks(
    stage: Stage,
    *,
    project: str,
    environment: str,
    trust_policy_quota: int,
    family: tuple[str, Stack] | None = None,
) -> None:
    """`family`: a name shared by the stacks that this stack's code builds alike, and this stack."""
    app = stage.node.root
    validation = template_validation(app)
    if validation is not None and family is not None:
        name, stack = family
        validation.add_to_family(app, stack.node.path, name)
    if app not in _checked_apps:
        Validations.of(app).add_plugins(
            AwsSolutionsChecks(stage), PolicySizeChecks(trust_policy_quota=trust_policy_quota)
        )
        _checked_apps.add(app)
    Tags.of(stage).add("project", project)
    Tags.of(stage).add("environment", environment)
