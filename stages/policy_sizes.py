"""Policy sizes against their AWS quotas, checked at synth so that a config that outgrows a quota fails
before anything deploys, with the fix named.

Sizes are measured on the synthesized templates as compact JSON. An intrinsic function (a Ref or GetAtt
that CloudFormation replaces by an ARN) is counted as 128 characters, more than any ARN these stacks produce,
so the measure errs on the safe side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
)

INTRINSIC_WEIGHT = 128
GROW_FIX = (
    "set organization_id to grant by organization (its grants do not grow with the consumers), or split the "
    "consumers across environments"
)


@dataclass(frozen=True)
class Quota:
    rule: str
    what: str
    limit: int
    fix: str


def quotas(trust_policy_quota: int) -> dict[str, Quota]:
    raise_trust = (
        "" if trust_policy_quota >= 4096 else "; or have the quota raised to 4,096 and set trust_policy_quota: 4096"
    )
    return {
        "AWS::S3::BucketPolicy": Quota("BucketPolicySize", "bucket policy", 20 * 1024, GROW_FIX),
        "AWS::KMS::Key": Quota("KeyPolicySize", "key policy", 32 * 1024, GROW_FIX),
        "AWS::DynamoDB::GlobalTable": Quota("TablePolicySize", "table resource policy", 20 * 1024, GROW_FIX),
        "trust": Quota("TrustPolicySize", "role trust policy", trust_policy_quota, GROW_FIX + raise_trust),
        "inline": Quota(
            "InlinePoliciesSize",
            "inline policies of a role",
            10 * 1024,
            "fewer consumers per wave (each wave's test step role lists its consumers' check roles)",
        ),
        "AWS::IAM::ManagedPolicy": Quota("ManagedPolicySize", "managed policy", 6 * 1024, GROW_FIX),
    }


def size(document: Any) -> int:
    return len(json.dumps(_weigh(document), separators=(",", ":")))


def _weigh(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
            return "x" * (INTRINSIC_WEIGHT - 2)  # the quotes make up the rest
        return {k: _weigh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_weigh(v) for v in value]
    return value


def measure(template: dict[str, Any], trust_policy_quota: int) -> list[tuple[Quota, str, int]]:
    """(quota, logical id, size) of every policy over its quota."""
    limits = quotas(trust_policy_quota)
    resources = template.get("Resources", {})
    found: list[tuple[Quota, str, int]] = []
    inline: dict[str, int] = {}
    for logical_id, resource in resources.items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        documents: list[tuple[Quota, Any]] = []
        if kind == "AWS::S3::BucketPolicy" or kind == "AWS::IAM::ManagedPolicy":
            documents.append((limits[kind], properties.get("PolicyDocument")))
        elif kind == "AWS::KMS::Key":
            documents.append((limits[kind], properties.get("KeyPolicy")))
        elif kind == "AWS::DynamoDB::GlobalTable":
            documents += [
                (limits[kind], r.get("ResourcePolicy", {}).get("PolicyDocument"))
                for r in properties.get("Replicas", [])
            ]
        elif kind == "AWS::IAM::Role":
            documents.append((limits["trust"], properties.get("AssumeRolePolicyDocument")))
            inline[logical_id] = inline.get(logical_id, 0) + sum(size(p) for p in properties.get("Policies", []))
        elif kind == "AWS::IAM::Policy":
            for role in properties.get("Roles", []):
                if isinstance(role, dict) and "Ref" in role:
                    inline[role["Ref"]] = inline.get(role["Ref"], 0) + size(properties.get("PolicyDocument"))
        for quota, document in documents:
            if document and size(document) > quota.limit:
                found.append((quota, logical_id, size(document)))
    found += [(limits["inline"], role, total) for role, total in inline.items() if total > limits["inline"].limit]
    return found


@jsii.implements(IPolicyValidationPlugin)
class PolicySizeChecks:
    """A validation plugin: every template of the app against the policy size quotas."""

    def __init__(self, *, trust_policy_quota: int = 2048) -> None:
        self._trust_policy_quota = trust_policy_quota

    @property
    def name(self) -> str:
        return "PolicySizes"

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        violations = []
        for path in context.template_paths:
            with open(path, encoding="utf-8") as file:
                template = json.load(file)
            for quota, logical_id, measured in measure(template, self._trust_policy_quota):
                violations.append(
                    PolicyViolation(
                        rule_name=quota.rule,
                        description=f"The {quota.what} of {logical_id} is {measured:,} characters; AWS allows "
                        f"{quota.limit:,}.",
                        fix=quota.fix,
                        violating_resources=[
                            PolicyViolatingResource(resource_logical_id=logical_id, template_path=path, locations=[])
                        ],
                    )
                )
        return PolicyValidationPluginReport(success=not violations, violations=violations)
