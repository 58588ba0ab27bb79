"""The two policies `make bootstrap` creates in each target account: what CloudFormation may do there on the
pipeline's behalf (the execution policy of `cdk bootstrap --cloudformation-execution-policies`), and the permissions
boundary every role it creates must carry.

Anyone who can change the pipeline in the tooling account acts with the execution policy in every target account,
so it is not administrator: CloudFormation may call what the handlers of the stacks' resource types are documented
to call (the resource schemas' handler permissions, read from cfn-lint's copy of them), may create and change only
roles and policies under the project's prefix, only roles that carry the boundary, and never the boundary itself,
this policy, the bootstrap roles, AWS managed policies, users, access keys or the organization. The boundary caps what
any such role can do at what the workloads need, so a role the pipeline writes can never be an administrator.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from config.model import Config
from config.naming import execution_policy_names, permissions_boundary_name

# What the sharing and consumer stacks create (a test checks this against their synthesized templates).
STACK_RESOURCE_TYPES = (
    "AWS::DynamoDB::GlobalTable",
    "AWS::ECS::Cluster",
    "AWS::ECS::TaskDefinition",
    "AWS::KMS::Alias",
    "AWS::KMS::Key",
    "AWS::Lambda::Function",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
)
# Custom resources, and what CloudFormation calls for them: it invokes their function.
CUSTOM_RESOURCE_TYPES = {"Custom::AWS": ("lambda:InvokeFunction",)}
# IAM resources are granted apart, by the project's prefix.
IAM_RESOURCE_TYPES = ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
# Entries of the schemas' handler permissions that are not IAM actions.
NOT_ACTIONS = frozenset({"s3:REST.PUT.OBJECT"})
# Handler permissions the stacks never need and that reach beyond their resources: AWS::ECS::Cluster's update handler
# lists ECS's account settings, which change every cluster and task of the account (the stacks set none).
ACCOUNT_WIDE = frozenset({"ecs:PutAccountSetting", "ecs:PutAccountSettingDefault"})
# The service-linked roles the handlers may create: DynamoDB's global tables (replication, autoscaling) and ECS's
# cluster (AWSServiceRoleForECS, which Fargate tasks in awsvpc mode need for their network interfaces).
SERVICE_LINKED = (
    "replication.dynamodb.amazonaws.com",
    "dynamodb.application-autoscaling.amazonaws.com",
    "ecs.amazonaws.com",
)


@cache
def handler_permissions(resource_type: str, region: str) -> frozenset[str]:
    """The actions CloudFormation's handlers of a resource type are documented to need (create, update, delete,
    read), from the resource schema cfn-lint ships for that region."""
    import cfnlint  # type: ignore[import-untyped]  # the schemas it ships; a dependency of the tools, not the app

    schemas = Path(cfnlint.__file__).parent / "data" / "schemas"
    index = json.loads((schemas / "providers" / f"{region}.json").read_text())
    if resource_type not in index:
        raise KeyError(f"no schema of {resource_type} in {region}")
    schema = json.loads((schemas / "resources" / f"{index[resource_type]}.json").read_text())
    actions = {
        permission for handler in schema.get("handlers", {}).values() for permission in handler.get("permissions", [])
    }
    return frozenset(actions - NOT_ACTIONS)


def _arn(partition: str, account: str, resource: str) -> str:
    return f"arn:{partition}:iam::{account}:{resource}"


def execution_policies(config: Config, account: str, region: str, partition: str) -> dict[str, dict[str, Any]]:
    """name -> document of the execution policies of a target account: two, as the handlers' actions alone come near
    IAM's 6,144 characters for a managed policy (`cdk bootstrap --cloudformation-execution-policies` takes both)."""
    project = config.project
    boundary = _arn(partition, account, f"policy/{permissions_boundary_name(config)}")
    names = execution_policy_names(config)
    own = [_arn(partition, account, f"policy/{name}") for name in names]
    services = sorted(
        {
            a
            for t in STACK_RESOURCE_TYPES
            for a in handler_permissions(t, region)
            if not a.startswith("iam:") and a not in ACCOUNT_WIDE
        }
        | {a for custom in CUSTOM_RESOURCE_TYPES.values() for a in custom}
    )
    iam = {a for t in (*STACK_RESOURCE_TYPES, *IAM_RESOURCE_TYPES) for a in handler_permissions(t, region)}
    iam = {a for a in iam if a.startswith("iam:") and "User" not in a and "Group" not in a}
    roles = sorted(a for a in iam | {"iam:PassRole", "iam:GetRole"} if a != "iam:CreateServiceLinkedRole")
    prefixed = [_arn(partition, account, f"role/{project}-*"), _arn(partition, account, f"policy/{project}-*")]
    denied_changes = ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion"]
    denied_changes.append("iam:SetDefaultPolicyVersion")
    people = ["iam:*User*", "iam:*Group*", "iam:*AccessKey*", "iam:*LoginProfile*", "organizations:*", "account:*"]
    iam_policy = [
        {"Sid": "RolesAndPoliciesOfTheProject", "Effect": "Allow", "Action": roles, "Resource": prefixed},
        {
            "Sid": "ServiceLinkedRolesOfTheTable",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": _arn(partition, account, "role/aws-service-role/*"),
            "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED)}},
        },
        {
            "Sid": "OnlyRolesWithTheBoundary",
            "Effect": "Deny",
            "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": boundary}},
        },
        {"Sid": "KeepTheBoundary", "Effect": "Deny", "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"},
        {"Sid": "NotTheseOrTheBoundary", "Effect": "Deny", "Action": denied_changes, "Resource": [boundary, *own]},
        {
            "Sid": "NoAwsManagedPolicies",
            "Effect": "Deny",
            "Action": "iam:AttachRolePolicy",
            "Resource": "*",
            "Condition": {"ArnLike": {"iam:PolicyARN": f"arn:{partition}:iam::aws:policy/*"}},
        },
        {
            "Sid": "NeverTheBootstrapRoles",
            "Effect": "Deny",
            "Action": "iam:*",
            "Resource": _arn(partition, account, "role/cdk-*"),
        },
        {
            "Sid": "BootstrapVersion",
            "Effect": "Allow",
            "Action": "ssm:GetParameters",
            "Resource": f"arn:{partition}:ssm:*:{account}:parameter/cdk-bootstrap/*",
        },
        {"Sid": "NeverPeopleOrTheOrganization", "Effect": "Deny", "Action": people, "Resource": "*"},
    ]
    handlers = [{"Sid": "WhatTheStacksHandlersCall", "Effect": "Allow", "Action": services, "Resource": "*"}]
    return {
        names[0]: {"Version": "2012-10-17", "Statement": iam_policy},
        names[1]: {"Version": "2012-10-17", "Statement": handlers},
    }


def permissions_boundary(config: Config, partition: str) -> dict[str, Any]:
    """The most any role of the stacks may do: what the workloads do, on the project's own resources only (its
    buckets, tables, keys by their aliases, functions and roles, in any account of the config), so a role the
    pipeline writes, whatever its trust and policies, stays inside the project."""
    project = config.project
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_existing_data(config, partition),
            {
                "Sid": "TheProjectsData",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
                "Resource": [f"arn:{partition}:s3:::{project}-*"],
            },
            {
                "Sid": "TheProjectsTables",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem",
                    "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                ],
                "Resource": [f"arn:{partition}:dynamodb:*:*:table/{project}-*"],
            },
            {
                # Keys only through S3 and DynamoDB, never directly: what a role may then decrypt is what it may read
                # of the buckets and tables above. Not by the keys' aliases: KMS takes up to five minutes to
                # authorize by a new alias, and the canary is written seconds after its dataset's key is created.
                "Sid": "TheProjectsKeysThroughTheirServices",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": f"arn:{partition}:kms:*:*:key/*",
                "Condition": {"StringLike": {"kms:ViaService": ["s3.*", "dynamodb.*"]}},
            },
            {
                "Sid": "TheProjectsRolesAndFunctions",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "lambda:InvokeFunction"],
                "Resource": [
                    f"arn:{partition}:iam::*:role/{project}-*",
                    f"arn:{partition}:lambda:*:*:function:{project}-*",
                ],
            },
            {
                "Sid": "TheProjectsTasks",
                "Effect": "Allow",
                "Action": ["ecs:RunTask", "ecs:DescribeTasks", "ecs:StopTask"],
                "Resource": [
                    f"arn:{partition}:ecs:*:*:task-definition/{project}-*",
                    f"arn:{partition}:ecs:*:*:task/{project}-*/*",
                ],
            },
            {
                "Sid": "PassTheProjectsRolesToTasks",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": f"arn:{partition}:iam::*:role/{project}-*",
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
            {
                "Sid": "FindWhereTasksRun",
                "Effect": "Allow",
                "Action": ["ecs:DescribeTaskDefinition", "ec2:DescribeVpcs", "ec2:DescribeSubnets"],
                "Resource": "*",
            },
            {
                "Sid": "ImagesAndLogs",
                "Effect": "Allow",
                "Action": [
                    "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                    "logs:GetLogEvents",
                ],
                "Resource": "*",
            },
        ],
    }  # fmt: skip


def _existing_data(config: Config, partition: str) -> list[dict[str, Any]]:
    """The buckets, prefixes and tables of the source accounts that datasets name as `existing`: the source roles
    reach them (writes only under the prefixes some consumer is given read-write). Their keys need nothing here: the
    statement on keys through S3 and DynamoDB covers them. (A change of them changes the boundary: `make doctor` says
    to re-run `make bootstrap`.)"""
    buckets: set[str] = set()
    reads: set[str] = set()
    writes: set[str] = set()
    tables: set[str] = set()
    for environment in config.environments:
        source = environment.source
        for dataset in environment.datasets:
            bucket, table = dataset.bucket, dataset.table
            written = any(access == "read-write" for _, access in environment.granted(dataset))
            if bucket and bucket.existing:
                objects = f"arn:{partition}:s3:::{bucket.existing}/{bucket.prefix or ''}*"
                buckets.add(f"arn:{partition}:s3:::{bucket.existing}")
                reads.add(objects)
                if written:
                    writes.add(objects)
            if table and table.existing:
                arn = f"arn:{partition}:dynamodb:{source.region}:{source.account}:table/{table.existing}"
                tables |= {arn, f"{arn}/index/*"}
    statements: list[dict[str, Any]] = []
    if buckets:
        statements += [
            {"Sid": "ExistingBuckets", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": sorted(buckets)},
            {"Sid": "ExistingObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": sorted(reads)},
        ]
    if writes:
        statements.append(
            {
                "Sid": "ExistingObjectsWritten",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": sorted(writes),
            }
        )
    if tables:
        statements.append(
            {
                "Sid": "ExistingTables",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem",
                    "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                ],
                "Resource": sorted(tables),
            }
        )  # fmt: skip
    return statements


def boundary_actions(config: Config) -> list[str]:
    """Every action the boundary allows somewhere."""
    statements = permissions_boundary(config, "aws")["Statement"]
    return [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
