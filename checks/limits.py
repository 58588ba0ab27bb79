"""Policy sizes, template sizes and managed policies per role against their AWS quotas, checked at synth so
that a config that outgrows a quota fails before anything deploys, with the fix named.

Sizes are measured on the synthesized templates as compact JSON, each intrinsic function counted as at least
as long as what CloudFormation replaces it by, so the measure errs on the safe side: a pseudo parameter as its
longest value (AWS::Partition as 16 characters, though the longest partition today, aws-us-gov, has 10), an
Fn::Join as the join of its parts, and anything else (a Ref or GetAtt of a resource) as 128 characters, more
than any ARN these stacks produce. Counting Fn::Join by its parts matters: CDK Pipelines names each target
account's role as `arn:` + AWS::Partition + the rest: about 95 characters counted so, 128 counted flat,
which made one pipeline hold 150 consumer accounts instead of 205.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from checks.templates import PolicyKind, managed_policy_arns, policy_documents
from config import quotas as aws

INTRINSIC_WEIGHT = 128
PSEUDO_PARAMETER_LENGTHS = {
    "AWS::AccountId": 12,
    "AWS::Partition": 16,
    "AWS::Region": 20,
    "AWS::URLSuffix": 20,
}
GROW_FIX = (
    "set organization_id to grant by organization (its grants do not grow with the consumers), list fewer of the "
    "consumers' own roles (each is named in every grant, by organization too), or split the consumers across "
    "environments"
)


# Each config shares its own copy of an environment's data: its consumers cannot be spread over configs.
SPLIT_FIX = "split the environments across several configs, one pipeline each"
UNSPLIT = "one environment's consumers cannot be split, as each config shares its own copy of the data"
# CloudFormation's quota for a template read from S3, as CodePipeline's deploy actions read theirs.
TEMPLATE_BYTES = aws.CLOUDFORMATION_TEMPLATE_BYTES
# IAM's default quota (it can be raised to 20); the CDK moves statements that do not fit a role's inline policy
# into "overflow" managed policies, one per 6,144 characters.
MANAGED_POLICIES_PER_ROLE = aws.IAM_MANAGED_POLICIES_PER_ROLE


@dataclass(frozen=True)
class Quota:
    rule: str
    what: str
    limit: int
    fix: str
    unit: str = "characters"


TEMPLATE_SIZE = Quota(
    "TemplateSize",
    "template",
    TEMPLATE_BYTES,
    f"{SPLIT_FIX} (each consumer adds a deploy action and its grants to the pipeline's template; {UNSPLIT})",
    unit="bytes",
)


PIPELINE_FIX = (
    f"{SPLIT_FIX} (CDK Pipelines grants each consumer account's deployment role on the pipeline's artifact "
    f"bucket, its key and its roles; {UNSPLIT})"
)


def quotas(trust_policy_quota: int, *, pipeline: bool = False) -> dict[str, Quota]:
    """`pipeline`: the quotas of the pipeline's own template, where the grants grow with the consumer accounts
    whatever the config says."""
    raise_trust = (
        ""
        if trust_policy_quota >= aws.IAM_TRUST_POLICY_CHARACTERS_RAISED
        else "; or have the quota raised to 4,096 and set trust_policy_quota: 4096"
    )
    grow_fix = PIPELINE_FIX if pipeline else GROW_FIX
    return {
        "AWS::S3::BucketPolicy": Quota("BucketPolicySize", "bucket policy", aws.S3_BUCKET_POLICY_CHARACTERS, grow_fix),
        "AWS::S3::AccessPoint": Quota(
            "AccessPointPolicySize", "access point policy", aws.S3_ACCESS_POINT_POLICY_CHARACTERS, grow_fix
        ),
        "AWS::KMS::Key": Quota("KeyPolicySize", "key policy", aws.KMS_KEY_POLICY_CHARACTERS, grow_fix),
        "AWS::ApiGateway::RestApi": Quota(
            "ApiPolicySize",
            "API resource policy",
            aws.APIGATEWAY_RESOURCE_POLICY_CHARACTERS,
            grow_fix + "; or have API Gateway's quota on a resource policy's length raised and give fewer consumers "
            "the API in one environment",
        ),
        "AWS::DynamoDB::GlobalTable": Quota(
            "TablePolicySize", "table resource policy", aws.DYNAMODB_RESOURCE_POLICY_CHARACTERS, grow_fix
        ),
        "trust": Quota("TrustPolicySize", "role trust policy", trust_policy_quota, grow_fix + raise_trust),
        "inline": Quota(
            "InlinePoliciesSize",
            "inline policies of a role",
            aws.IAM_ROLE_INLINE_POLICIES_CHARACTERS,
            "fewer consumers per wave (each wave's test step role lists its consumers' proof roles)",
        ),
        "AWS::IAM::ManagedPolicy": Quota(
            "ManagedPolicySize", "managed policy", aws.IAM_MANAGED_POLICY_CHARACTERS, grow_fix
        ),
        "attached": Quota(
            "ManagedPoliciesPerRole",
            "managed policies",
            MANAGED_POLICIES_PER_ROLE,
            f"{SPLIT_FIX} (the CDK adds a managed policy to a pipeline role for every 6,144 characters of its "
            f"grants, which grow with the consumer accounts; {UNSPLIT})",
            unit="policies",
        ),
    }


# An API's ARN as long as any before its path: API Gateway stores its resource policy with each short form
# execute-api:/STAGE/... expanded to arn:PARTITION:execute-api:REGION:ACCOUNT:ID/STAGE/..., and counts that.
LONGEST_API_ARN = "arn:aws-us-gov:execute-api:ap-southeast-5:123456789012:a0b1c2d3e4/"


def expanded_api_policy(document: Any) -> Any:
    """An API's resource policy as API Gateway stores (and measures) it, the API's ARN as long as any."""
    return json.loads(json.dumps(document).replace('"execute-api:/', f'"{LONGEST_API_ARN}'))


def size(document: Any) -> int:
    return len(json.dumps(_weigh(document), separators=(",", ":")))


def _weigh(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
            return "x" * _intrinsic_length(value)
        return {k: _weigh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_weigh(v) for v in value]
    return value


def _intrinsic_length(value: dict[str, Any]) -> int:
    """At least the length of the string CloudFormation puts in the intrinsic's place, without quotes."""
    ((function, argument),) = value.items()
    if function == "Ref" and argument in PSEUDO_PARAMETER_LENGTHS:
        return PSEUDO_PARAMETER_LENGTHS[argument]
    if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], list):
        separator, parts = argument
        if isinstance(separator, str):
            lengths = [len(p) if isinstance(p, str) else _part_length(p) for p in parts]
            return sum(lengths) + len(separator) * max(len(parts) - 1, 0)
    return INTRINSIC_WEIGHT - 2  # the quotes make up the rest


def _part_length(part: Any) -> int:
    if isinstance(part, dict) and len(part) == 1 and next(iter(part)).startswith(("Fn::", "Ref")):
        return _intrinsic_length(part)
    return INTRINSIC_WEIGHT - 2


def measure(template: dict[str, Any], trust_policy_quota: int) -> list[tuple[Quota, str, int]]:
    """(quota, logical id, size) of every policy over its quota."""
    resources = template.get("Resources", {})
    pipeline = any(r.get("Type") == "AWS::CodePipeline::Pipeline" for r in resources.values())
    limits = quotas(trust_policy_quota, pipeline=pipeline)
    per_document = {
        PolicyKind.BUCKET: limits["AWS::S3::BucketPolicy"],
        PolicyKind.ACCESS_POINT: limits["AWS::S3::AccessPoint"],
        PolicyKind.KEY: limits["AWS::KMS::Key"],
        PolicyKind.API: limits["AWS::ApiGateway::RestApi"],
        PolicyKind.TABLE: limits["AWS::DynamoDB::GlobalTable"],
        PolicyKind.TRUST: limits["trust"],
        PolicyKind.MANAGED: limits["AWS::IAM::ManagedPolicy"],
    }
    found: list[tuple[Quota, str, int]] = []
    inline: dict[str, int] = {}
    attached = {
        logical_id: len(managed_policy_arns(r)) for logical_id, r in resources.items() if r["Type"] == "AWS::IAM::Role"
    }
    for policy in policy_documents(template):
        measured = size(expanded_api_policy(policy.document) if policy.kind is PolicyKind.API else policy.document)
        quota = per_document.get(policy.kind)
        if quota is not None and measured > quota.limit:
            found.append((quota, policy.logical_id, measured))
        for role in policy.roles:
            # IAM counts a role's inline policies by their documents (names aside), whitespace removed.
            if policy.kind is PolicyKind.INLINE:
                inline[role] = inline.get(role, 0) + measured
            elif policy.kind is PolicyKind.MANAGED:
                attached[role] = attached.get(role, 0) + 1
    found += [(limits["inline"], role, total) for role, total in inline.items() if total > limits["inline"].limit]
    found += [(limits["attached"], role, n) for role, n in attached.items() if n > limits["attached"].limit]
    return found


def template_too_large(path: str) -> int | None:
    """The template's size in bytes as written (and uploaded), where it is over CloudFormation's quota."""
    measured = os.path.getsize(path)
    return measured if measured > TEMPLATE_SIZE.limit else None
