"""The policy documents of a synthesized template, read in one place: the quota checks, the access report, the
summary and the benchmark all ask the same question of a template."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

Template = dict[str, Any]


class PolicyKind(Enum):
    BUCKET = "bucket policy"
    ACCESS_POINT = "access point policy"
    KEY = "key policy"
    TABLE = "table resource policy"
    TRUST = "role trust policy"
    INLINE = "inline policy"  # AWS::IAM::Policy, or one of a role's Policies
    MANAGED = "managed policy"  # AWS::IAM::ManagedPolicy
    API = "API resource policy"  # AWS::ApiGateway::RestApi


@dataclass(frozen=True)
class PolicyDocument:
    kind: PolicyKind
    logical_id: str  # of the resource that holds the document
    document: dict[str, Any]
    # The logical ids of this template's roles the policy applies to (identity policies), or the role itself
    # (its trust policy and inline Policies).
    roles: tuple[str, ...] = ()
    # The resource the document protects where it is not the holder: the bucket of a bucket policy.
    protects: Any = None


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {logical_id: r for logical_id, r in template.get("Resources", {}).items() if r["Type"] == kind}


def policy_documents(template: Template) -> Iterator[PolicyDocument]:
    """Every policy document of the template, in template order."""
    for logical_id, resource in template.get("Resources", {}).items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::S3::BucketPolicy" and properties.get("PolicyDocument"):
            yield PolicyDocument(
                PolicyKind.BUCKET, logical_id, properties["PolicyDocument"], protects=properties.get("Bucket")
            )
        elif kind == "AWS::S3::AccessPoint" and properties.get("Policy"):
            yield PolicyDocument(
                PolicyKind.ACCESS_POINT, logical_id, properties["Policy"], protects=properties.get("Name")
            )
        elif kind == "AWS::ApiGateway::RestApi" and properties.get("Policy"):
            yield PolicyDocument(PolicyKind.API, logical_id, properties["Policy"], protects=properties.get("Name"))
        elif kind == "AWS::KMS::Key" and properties.get("KeyPolicy"):
            yield PolicyDocument(PolicyKind.KEY, logical_id, properties["KeyPolicy"])
        elif kind == "AWS::DynamoDB::GlobalTable":
            for replica in properties.get("Replicas", []):
                document = replica.get("ResourcePolicy", {}).get("PolicyDocument")
                if document:
                    yield PolicyDocument(PolicyKind.TABLE, logical_id, document, protects=replica.get("Region"))
        elif kind == "AWS::IAM::Role":
            if properties.get("AssumeRolePolicyDocument"):
                yield PolicyDocument(
                    PolicyKind.TRUST, logical_id, properties["AssumeRolePolicyDocument"], roles=(logical_id,)
                )
            for policy in properties.get("Policies", []):
                yield PolicyDocument(PolicyKind.INLINE, logical_id, policy["PolicyDocument"], roles=(logical_id,))
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and properties.get("PolicyDocument"):
            policy_kind = PolicyKind.INLINE if kind == "AWS::IAM::Policy" else PolicyKind.MANAGED
            yield PolicyDocument(policy_kind, logical_id, properties["PolicyDocument"], roles=role_refs(properties))


def role_refs(properties: dict[str, Any]) -> tuple[str, ...]:
    """Logical ids of the roles of this template that a policy attaches to."""
    return tuple(role["Ref"] for role in properties.get("Roles", []) if isinstance(role, dict) and "Ref" in role)


def managed_policy_arns(role: dict[str, Any]) -> list[Any]:
    return list(role.get("Properties", {}).get("ManagedPolicyArns", []))
