"""Reading the policies that decide a request out of the synthesized templates, every intrinsic resolved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from access_report.cells import Document
from access_report.inputs import Inputs
from access_report.intrinsics import Resolver, Unresolvable
from checks.templates import PolicyKind, Template, policy_documents, resources
from config.model import Environment, sharing_stage_id
from config.naming import Names
from config.regions import partition_of

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
class DatasetPolicies:
    """One dataset's resource policies in the source account, resolved: None where the stage writes none (a part the
    dataset lacks, a bucket or table it does not own, a table shared by role)."""

    bucket_policy: Document | None
    key_policy: Document | None
    key_arn: str | None
    table_policy: Document | None
    access_point_policy: Document | None = None  # an existing bucket's dataset reached through an access point
    api_policy: Document | None = None  # a shared API's resource policy, its short form expanded
    api_id: str | None = None  # the API's id (a stand-in, as the consumer stacks' lookups of it resolve)


@dataclass(frozen=True)
class SourceRolePolicies:
    """One consumer's role in the source account, resolved."""

    trust: Document
    policies: tuple[Document, ...]


@dataclass(frozen=True)
class SourcePolicies:
    """The source account's policies of one environment, resolved."""

    datasets: dict[str, DatasetPolicies]
    roles: dict[str, SourceRolePolicies]  # by consumer name, for consumers that have one
    locators: dict[str, SourceRolePolicies]  # by consumer name: the roles that tell its tables' access point aliases


def source_policies(inputs: Inputs, environment: Environment, names: Names) -> SourcePolicies:
    template = inputs.sharing[environment.name]
    resolve = resolver(template, names.source_account, names.source_region, sharing_stage_id(environment))
    found = template["Resources"]

    def one(kind: str, matches: Any, what: str) -> tuple[str, dict[str, Any]]:
        hits = [(k, r) for k, r in resources(template, kind).items() if matches(r["Properties"])]
        if len(hits) != 1:
            raise PolicyError(f"{environment.name}-sharing: expected one {kind} of {what} ({len(hits)} found)")
        return hits[0]

    datasets = {}
    for dataset in environment.datasets:
        n = names.dataset(dataset)
        bucket_policy = key_policy = key_arn = table_policy = None
        if n.has_key:
            _, alias = one("AWS::KMS::Alias", lambda p, n=n: p["AliasName"] == n.key_alias, n.key_alias)
            target = alias["Properties"]["TargetKeyId"]
            key_id = target["Ref"] if "Ref" in target else target["Fn::GetAtt"][0]
            key_policy = resolve.resolve(found[key_id]["Properties"]["KeyPolicy"], f"key policy of {dataset.name}")
            key_arn = resolve.resolve({"Fn::GetAtt": [key_id, "Arn"]}, "key")
        if n.owns_bucket:
            bucket_id, _ = one("AWS::S3::Bucket", lambda p, n=n: p.get("BucketName") == n.bucket, str(n.bucket))
            _, policy = one("AWS::S3::BucketPolicy", lambda p, b=bucket_id: p["Bucket"] == {"Ref": b}, str(n.bucket))
            bucket_policy = resolve.resolve(policy["Properties"]["PolicyDocument"], f"bucket policy of {dataset.name}")
        if n.owns_table:
            _, table = one("AWS::DynamoDB::GlobalTable", lambda p, n=n: p.get("TableName") == n.table, str(n.table))
            replica = next(r for r in table["Properties"]["Replicas"] if r["Region"] == names.source_region)
            document = replica.get("ResourcePolicy", {}).get("PolicyDocument")
            table_policy = resolve.resolve(document, f"table policy of {dataset.name}") if document else None
        access_point_policy = None
        if n.through_access_point:
            _, point = one("AWS::S3::AccessPoint", lambda p, n=n: p.get("Name") == n.access_point, n.access_point)
            access_point_policy = resolve.resolve(
                point["Properties"]["Policy"], f"access point policy of {dataset.name}"
            )
        api_policy = api_id = None
        if n.has_api:
            api_logical, api = one("AWS::ApiGateway::RestApi", lambda p, n=n: p.get("Name") == n.api, n.api)
            api_id = str(resolve.resolve({"Ref": api_logical}, "API id"))
            api_policy = expand_api_policy(
                resolve.resolve(api["Properties"]["Policy"], f"API policy of {dataset.name}"), n.api_arn(api_id, "", "")
            )
        datasets[dataset.name] = DatasetPolicies(
            bucket_policy, key_policy, key_arn, table_policy, access_point_policy, api_policy, api_id
        )

    def roles_named(name_of: Any) -> dict[str, SourceRolePolicies]:
        """The consumers' roles of one kind in the source account (for the consumers that have one), by consumer."""
        found = {}
        for consumer in environment.given:
            name = name_of(consumer)
            hits = [
                r for r in resources(template, "AWS::IAM::Role").values() if r["Properties"].get("RoleName") == name
            ]
            if hits:
                trust = resolve.resolve(hits[0]["Properties"]["AssumeRolePolicyDocument"], f"trust of {name}")
                found[consumer.name] = SourceRolePolicies(trust, tuple(identity_policies(template, resolve, name)))
        return found

    roles, locators = roles_named(names.source_role), roles_named(names.locate_role)
    return SourcePolicies(datasets=datasets, roles=roles, locators=locators)


def expand_api_policy(policy: Document, api_arn: str) -> Document:
    """An API's resource policy as API Gateway stores it: its short form execute-api:/STAGE/METHOD/PATH expanded to the
    API's ARN (the engine, like IAM, knows only ARNs). api_arn: the API's ARN up to its id and a /, then the rest."""
    prefix = api_arn.split("/", 1)[0] + "/"

    def expand(resource: str) -> str:
        return prefix + resource.removeprefix("execute-api:/") if resource.startswith("execute-api:/") else resource

    statements = []
    for statement in policy["Statement"]:
        resources = statement.get("Resource", [])
        expanded = [expand(r) for r in resources] if isinstance(resources, list) else expand(resources)
        statements.append({**statement, "Resource": expanded})
    return {**policy, "Statement": statements}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
