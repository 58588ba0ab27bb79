"""Reading the policies that decide a request out of the synthesized templates, every intrinsic resolved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from access_report.cells import Document
from access_report.inputs import Inputs
from access_report.intrinsics import Resolver, Unresolvable
from checks.templates import PolicyKind, Template, policy_documents, resources
from config.model import Environment, partition_of, sharing_stage_id
from config.naming import Names

# AWS-managed policies the templates attach, as AWS publishes them (their content is not in any template).
AWS_MANAGED: dict[str, Document] = {
    "service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    },
}


class PolicyError(Exception):
    """A template lacks what the report needs to read, or has it more than once."""


def resolver(template: Template, account: str, region: str, where: str) -> Resolver:
    return Resolver(template, account, region, partition=partition_of(region), where=where)


def identity_policies(template: Template, resolve: Resolver, role_name: str) -> list[Document]:
    """Every identity policy of the role with that physical name: inline, attached and customer managed."""
    role_ids = [k for k in resources(template, "AWS::IAM::Role") if resolve.resolve({"Ref": k}, k) == role_name]
    if len(role_ids) != 1:
        raise PolicyError(f"{resolve.where}: no single role named {role_name}")
    (role_id,) = role_ids
    role = template["Resources"][role_id]["Properties"]
    managed_here = [arn["Ref"] for arn in role.get("ManagedPolicyArns", []) if isinstance(arn, dict) and "Ref" in arn]
    documents = [
        policy.document
        for policy in policy_documents(template)
        if (policy.kind in (PolicyKind.INLINE, PolicyKind.MANAGED) and role_id in policy.roles)
        or (policy.kind is PolicyKind.MANAGED and policy.logical_id in managed_here)
    ]
    for arn in role.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and arn.get("Ref") in template["Resources"]:
            continue
        name = str(resolve.resolve(arn, f"managed policies of {role_name}")).split(":policy/")[-1]
        if name not in AWS_MANAGED:
            raise Unresolvable(f"{resolve.where}: role {role_name} has a managed policy not in the template: {name}")
        documents.append(AWS_MANAGED[name])
    return [resolve.resolve(document, f"policies of {role_name}") for document in documents]


def managed_policy(template: Template, resolve: Resolver, name: str) -> Document:
    """The document of the customer managed policy of that name: what a consumer's own role gets once its team has
    attached it (the role itself is not in any template)."""
    found = [
        policy.document
        for policy in policy_documents(template)
        if policy.kind is PolicyKind.MANAGED
        and resolve.resolve(template["Resources"][policy.logical_id]["Properties"].get("ManagedPolicyName"), name)
        == name
    ]
    if len(found) != 1:
        raise PolicyError(f"{resolve.where}: no single managed policy named {name}")
    document: Document = resolve.resolve(found[0], f"policy {name}")
    return document


def assume_role_grants(template: Template, resolve: Resolver) -> dict[str, set[str]]:
    """For every role of the template: the role ARNs its identity policies allow it to assume."""
    grants: dict[str, set[str]] = {}
    for logical_id in resources(template, "AWS::IAM::Role"):
        name = resolve.resolve({"Ref": logical_id}, logical_id)
        for document in identity_policies(template, resolve, name):
            for statement in document["Statement"]:
                if statement["Effect"] == "Allow" and "sts:AssumeRole" in _as_list(statement["Action"]):
                    grants.setdefault(name, set()).update(_as_list(statement["Resource"]))
    return grants


@dataclass(frozen=True)
class SourcePolicies:
    """The source account's policies of one environment, resolved."""

    bucket_policy: Document
    key_policy: Document
    key_arn: str
    table_policy: Document | None
    role_trust: Document | None
    role_policies: tuple[Document, ...]


def source_policies(inputs: Inputs, environment: Environment, names: Names) -> SourcePolicies:
    template = inputs.sharing[environment.name]
    resolve = resolver(template, names.source_account, names.source_region, sharing_stage_id(environment))
    found = template["Resources"]

    def one(kind: str, matches: Any) -> tuple[str, dict[str, Any]]:
        hits = [(k, r) for k, r in resources(template, kind).items() if matches(r["Properties"])]
        if len(hits) != 1:
            raise PolicyError(f"{environment.name}-sharing: expected one {kind} ({len(hits)} found)")
        return hits[0]

    bucket_id, _ = one("AWS::S3::Bucket", lambda p: p.get("BucketName") == names.bucket)
    _, bucket_policy = one("AWS::S3::BucketPolicy", lambda p: p["Bucket"] == {"Ref": bucket_id})
    _, alias = one("AWS::KMS::Alias", lambda p: p["AliasName"] == names.key_alias)
    target = alias["Properties"]["TargetKeyId"]
    key_id = target["Ref"] if "Ref" in target else target["Fn::GetAtt"][0]
    _, table = one("AWS::DynamoDB::GlobalTable", lambda p: p.get("TableName") == names.table)
    replica = next(r for r in table["Properties"]["Replicas"] if r["Region"] == names.source_region)
    table_policy = replica.get("ResourcePolicy", {}).get("PolicyDocument")
    role_trust, role_policies = None, []
    if environment.share.table_access == "role":
        _, role = one("AWS::IAM::Role", lambda p: p.get("RoleName") == names.source_role)
        role_trust = resolve.resolve(role["Properties"]["AssumeRolePolicyDocument"], "source role trust")
        role_policies = identity_policies(template, resolve, names.source_role)
    return SourcePolicies(
        bucket_policy=resolve.resolve(bucket_policy["Properties"]["PolicyDocument"], "bucket policy"),
        key_policy=resolve.resolve(found[key_id]["Properties"]["KeyPolicy"], "key policy"),
        key_arn=resolve.resolve({"Fn::GetAtt": [key_id, "Arn"]}, "key"),
        table_policy=resolve.resolve(table_policy, "table policy") if table_policy else None,
        role_trust=role_trust,
        role_policies=tuple(role_policies),
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
