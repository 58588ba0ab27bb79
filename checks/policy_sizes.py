"""The quota checks as a validation plugin: every template of the App against the policy and template sizes of
limits.py and the names and values of service_limits.py."""

from __future__ import annotations

import json
from pathlib import Path

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
)

from checks import limits, service_limits
from config import quotas as aws


@jsii.implements(IPolicyValidationPlugin)
class PolicySizeChecks:
    """A validation plugin: every template of the app against the policy size quotas."""

    def __init__(self, *, trust_policy_quota: int = aws.IAM_TRUST_POLICY_CHARACTERS) -> None:
        self._trust_policy_quota = trust_policy_quota

    @property
    def name(self) -> str:
        return "PolicySizes"

    @property
    def rule_ids(self) -> list[str] | None:
        return None

    @property
    def version(self) -> str | None:
        return None

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        violations = []
        for path in context.template_paths:
            with open(path, encoding="utf-8") as file:
                template = json.load(file)
            found = limits.measure(template, self._trust_policy_quota)
            template_bytes = limits.template_too_large(path)
            if template_bytes is not None:
                found.append((limits.TEMPLATE_SIZE, Path(path).name.removesuffix(".template.json"), template_bytes))
            for quota, logical_id, measured in found:
                violations.append(
                    PolicyViolation(
                        rule_name=quota.rule,
                        description=f"{quota.what[:1].upper()}{quota.what[1:]} of {logical_id}: {measured:,} "
                        f"{quota.unit}; AWS "
                        f"allows {quota.limit:,}.",
                        fix=quota.fix,
                        violating_resources=[
                            PolicyViolatingResource(resource_logical_id=logical_id, template_path=path, locations=[])
                        ],
                    )
                )
            for limit, logical_id, problem in service_limits.violations(template):
                violations.append(
                    PolicyViolation(
                        rule_name=limit.rule,
                        description=f"{_sentence(limit.what)} of {logical_id}: {problem} ({limit.source}).",
                        fix=limit.fix,
                        violating_resources=[
                            PolicyViolatingResource(resource_logical_id=logical_id, template_path=path, locations=[])
                        ],
                    )
                )
        return PolicyValidationPluginReport(success=not violations, violations=violations)


def _sentence(text: str) -> str:
    """The first letter upper-cased, the rest as it is (str.capitalize would write "Iam")."""
    return text[:1].upper() + text[1:]
