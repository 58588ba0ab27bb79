"""Registers the synth-time checks on an App, once."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Stack, Validations
from cdk_nag import AwsSolutionsChecks

from checks.policy_sizes import PolicySizeChecks
from checks.template_validation import FamilyTemplateValidation, template_validation


@dataclass(frozen=True)
class Checks:
    """The checks of one App."""

    app: App
    template_validation: FamilyTemplateValidation | None

    def add_to_family(self, stack: Stack, family: str) -> None:
        """Stacks of one family are built by the same code from inputs that differ only in an account and a
        name: the CloudFormation template validation runs on one of them."""
        if self.template_validation is not None:
            self.template_validation.add_to_family(self.app, stack.node.path, family)


def register_checks(app: App, *, trust_policy_quota: int) -> Checks:
    validation = template_validation(app)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), PolicySizeChecks(trust_policy_quota=trust_policy_quota))
    return Checks(app=app, template_validation=validation)
