"""What every stage gets: cdk-nag's AWS Solutions checks, the policy size checks and the project's tags.

Added inside each Stage because Aspects added to the App do not reach the stacks of a Stage. A validation
plugin registered in a Stage, however, checks every template of the app: it is registered once per app (by
the first stage), or every stage would check every template again and synth time would grow with the square
of the number of stages.
"""

from __future__ import annotations

import weakref

from aws_cdk import Stage, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from stages.policy_sizes import PolicySizeChecks

_checked_apps: weakref.WeakSet = weakref.WeakSet()


def apply_checks(stage: Stage, *, project: str, environment: str, trust_policy_quota: int) -> None:
    app = stage.node.root
    if app not in _checked_apps:
        Validations.of(stage).add_plugins(
            AwsSolutionsChecks(stage), PolicySizeChecks(trust_policy_quota=trust_policy_quota)
        )
        _checked_apps.add(app)
    Tags.of(stage).add("project", project)
    Tags.of(stage).add("environment", environment)
