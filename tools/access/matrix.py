"""The access matrix: every intended access path of a config (expected: allow) and a fixed set of forbidden
probes (expected: deny), each one IAM request with the policies that decide it.

Consumer accounts control their own identity policies, so the probes a source account cares about give the
consumer-side principal an identity policy that allows everything: then only the source account's own
policies (bucket, key, trust, table) stand between that principal and the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdk_constructs import access
from config.model import Environment
from config.naming import Names
from tools.access.inputs import Deployment, Inputs
from tools.access.intrinsics import Resolver, Unresolvable

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# AWS-managed policies the templates attach, as AWS publishes them (their content is not in any template).
AWS_MANAGED = {
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
OUTSIDER = "999999999999"  # an account in no configuration: the third account
OUTSIDER_ORGANIZATION = "o-outsider000"
OBJECT_KEY = "reports/sample.csv"
INDEX = "by-date"


@dataclass(frozen=True)
class Cell:
    environment: str
    path: str  # bucket, objects, key, source role, table, bootstrap
    who: str
    principal: str
    action: str
    resource: str
    resource_account: str
    expected: str  # "allow" | "deny"
    simulation: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.environment} | {self.who} | {self.action} | {self.resource}"


class MatrixError(Exception):
    pass


def build(inputs: Inputs) -> list[Cell]:
    cells: list[Cell] = []
    for environment in inputs.config.environments:
        cells += _environment(inputs, environment)
    cells += _bootstrap(inputs)
    return cells


# Shared data


@dataclass
class _Source:
    names: Names
    bucket_policy: dict[str, Any]
    key_policy: dict[str, Any]
    key_arn: str
    table_policy: dict[str, Any] | None
    role_trust: dict[str, Any] | None
    role_policies: list[dict[str, Any]]


def _environment(inputs: Inputs, environment: Environment) -> list[Cell]:
    names = Names.of(inputs.config, environment)
    source = _source(inputs, environment, names)
    share = environment.share
    organization = inputs.config.organization_id
    cells: list[Cell] = []
    add = cells.append

    def context(principal: str, account: str, **extra: Any) -> dict[str, Any]:
        variables = {"aws:PrincipalArn": principal, "aws:PrincipalAccount": account, "aws:SecureTransport": "true"}
        if organization:
            variables["aws:PrincipalOrgID"] = organization
        variables.update({k: v for k, v in extra.items() if v is not None})
        return variables

    def cell(path, who, principal, account, action, resource, expected, identity, resource_policy, **extra):
        add(
            Cell(
                environment=environment.name,
                path=path,
                who=who,
                principal=principal,
                action=action,
                resource=resource,
                resource_account=names.source_account,
                expected=expected,
                simulation=_simulation(
                    principal,
                    action,
                    resource,
                    names.source_account,
                    identity,
                    resource_policy,
                    context(principal, account, **extra),
                ),
            )
        )

    bucket, objects = names.bucket_arn, f"{names.bucket_arn}/{OBJECT_KEY}"
    through_s3 = {
        "kms:ViaService": f"s3.{names.source_region}.amazonaws.com",
        "kms:ResourceAliases": [names.key_alias],
        "kms:CallerAccount": None,
    }
    through_dynamodb = {**through_s3, "kms:ViaService": f"dynamodb.{names.source_region}.amazonaws.com"}

    for consumer in environment.consumers:
        template = inputs.consumers[(environment.name, consumer.name)]
        resolver = _resolver(template, consumer.account, consumer.region, f"{environment.name}-{consumer.name}")
        for role_name, label in ((names.function_role, "function role"), (names.task_role, "task role")):
            role = names.role_arn(consumer.account, role_name)
            who = f"{consumer.name} {label}"
            identity = _identity_policies(template, resolver, role_name)
            kms_s3 = {**through_s3, "kms:CallerAccount": consumer.account}
            kms_dynamodb = {**through_dynamodb, "kms:CallerAccount": consumer.account}
            # Intended paths, with the role's real identity policies: both sides must allow.
            intended = [("bucket", "s3:ListBucket", bucket, source.bucket_policy, {})]
            intended += [("objects", a, objects, source.bucket_policy, {}) for a in access.object_actions(share.bucket)]
            intended += [
                ("key", a, source.key_arn, source.key_policy, kms_s3) for a in access.key_actions(share.bucket)
            ]
            if share.table_access == "role":
                intended.append(("source role", "sts:AssumeRole", names.source_role_arn, source.role_trust, {}))
            else:
                intended += [
                    ("table", a, names.table_arn, source.table_policy, {}) for a in access.table_actions(share.table)
                ]
                intended += [
                    ("key", a, source.key_arn, source.key_policy, kms_dynamodb) for a in access.key_actions(share.table)
                ]
            for path, action, resource, policy, extra in intended:
                cell(path, who, role, consumer.account, action, resource, "allow", identity, policy, **extra)
            # What the source account's policies alone allow this role (its account may grant it anything),
            # and what its real policies allow without TLS.
            forbidden = [
                ("objects", who, "s3:DeleteObject", objects, [ALLOW_ALL], source.bucket_policy, {}),
                ("bucket", who, "s3:PutBucketPolicy", bucket, [ALLOW_ALL], source.bucket_policy, {}),
                (
                    "objects",
                    f"{who} without TLS",
                    "s3:GetObject",
                    objects,
                    identity,
                    source.bucket_policy,
                    {"aws:SecureTransport": "false"},
                ),
                (
                    "key",
                    f"{who} calling KMS directly",
                    "kms:Decrypt",
                    source.key_arn,
                    [ALLOW_ALL],
                    source.key_policy,
                    {"kms:CallerAccount": consumer.account},
                ),
                ("key", who, "kms:ScheduleKeyDeletion", source.key_arn, [ALLOW_ALL], source.key_policy, kms_s3),
            ]
            if share.bucket == "read":
                forbidden.append(("objects", who, "s3:PutObject", objects, [ALLOW_ALL], source.bucket_policy, {}))
            if share.table_access == "resource-policy":
                unlisted = ("dynamodb:DeleteTable", "dynamodb:Scan") + (
                    access.TABLE_WRITE if share.table == "read" else ()
                )
                forbidden += [
                    ("table", who, a, names.table_arn, [ALLOW_ALL], source.table_policy, {}) for a in unlisted
                ]
            for path, label, action, resource, identities, policy, extra in forbidden:
                cell(path, label, role, consumer.account, action, resource, "deny", identities, policy, **extra)
        # Principals in or around the consumer account that must get nothing, whatever their own policies.
        outsiders = [
            (
                f"{consumer.name} account: another role",
                names.role_arn(consumer.account, "intruder"),
                consumer.account,
                {},
            ),
            (
                f"{consumer.name} account: root",
                f"arn:{names.partition}:iam::{consumer.account}:root",
                consumer.account,
                {},
            ),
        ]
        cells += _probes(names, source, share, outsiders, context, environment.name, through_s3)

    third = names.role_arn(OUTSIDER, names.function_role)
    if organization:
        outsiders = [
            ("account outside the organization", third, OUTSIDER, {"aws:PrincipalOrgID": OUTSIDER_ORGANIZATION})
        ]
    else:
        outsiders = [("third account, same role name", third, OUTSIDER, {})]
    cells += _probes(names, source, share, outsiders, context, environment.name, through_s3)

    if share.table_access == "role":
        cells += _through_source_role(names, source, share, environment, context)
    return cells


def _probes(names, source, share, outsiders, context, environment, through_s3) -> list[Cell]:
    cells = []
    bucket, objects = names.bucket_arn, f"{names.bucket_arn}/{OBJECT_KEY}"
    for who, principal, account, extra in outsiders:
        requests = [
            ("bucket", "s3:ListBucket", bucket, source.bucket_policy, {}),
            ("objects", "s3:GetObject", objects, source.bucket_policy, {}),
            ("key", "kms:Decrypt", source.key_arn, source.key_policy, {**through_s3, "kms:CallerAccount": account}),
        ]
        if share.table_access == "role":
            requests.append(("source role", "sts:AssumeRole", names.source_role_arn, source.role_trust, {}))
        else:
            requests.append(("table", "dynamodb:GetItem", names.table_arn, source.table_policy, {}))
        for path, action, resource, resource_policy, more in requests:
            variables = context(principal, account, **{**more, **extra})
            cells.append(
                Cell(
                    environment,
                    path,
                    who,
                    principal,
                    action,
                    resource,
                    names.source_account,
                    "deny",
                    _simulation(
                        principal, action, resource, names.source_account, [ALLOW_ALL], resource_policy, variables
                    ),
                )
            )
    return cells


def _through_source_role(names, source, share, environment, context) -> list[Cell]:
    """The source role in its own account: only the listed table actions, nothing else."""
    role = names.source_role_arn
    cells = []
    index = f"{names.table_arn}/index/{INDEX}"
    expected = [(action, names.table_arn, "allow") for action in access.table_actions(share.table)]
    expected.append(("dynamodb:Query", index, "allow"))
    forbidden = ("dynamodb:DeleteTable", "dynamodb:Scan", "dynamodb:DeleteItem") + (
        access.TABLE_WRITE if share.table == "read" else ()
    )
    expected += [(action, names.table_arn, "deny") for action in forbidden]
    for action, resource, outcome in expected:
        cells.append(
            Cell(
                environment.name,
                "table",
                "source role",
                role,
                action,
                resource,
                names.source_account,
                outcome,
                _simulation(
                    role,
                    action,
                    resource,
                    names.source_account,
                    source.role_policies,
                    source.table_policy,
                    context(role, names.source_account),
                ),
            )
        )
    via = {"kms:ViaService": f"dynamodb.{names.source_region}.amazonaws.com", "kms:CallerAccount": names.source_account}
    cells.append(
        Cell(
            environment.name,
            "key",
            "source role",
            role,
            "kms:Decrypt",
            source.key_arn,
            names.source_account,
            "allow",
            _simulation(
                role,
                "kms:Decrypt",
                source.key_arn,
                names.source_account,
                source.role_policies,
                source.key_policy,
                context(role, names.source_account, **via),
            ),
        )
    )
    return cells


def _source(inputs: Inputs, environment: Environment, names: Names) -> _Source:
    template = inputs.sharing[environment.name]
    resolver = _resolver(template, names.source_account, names.source_region, f"{environment.name}-sharing")
    resources = template["Resources"]

    def one(kind: str, test) -> tuple[str, dict[str, Any]]:
        found = [(k, r) for k, r in resources.items() if r["Type"] == kind and test(k, r)]
        if len(found) != 1:
            raise MatrixError(f"{environment.name}-sharing: expected one {kind} ({len(found)} found)")
        return found[0]

    bucket_id, _ = one("AWS::S3::Bucket", lambda k, r: r["Properties"].get("BucketName") == names.bucket)
    _, bucket_policy = one("AWS::S3::BucketPolicy", lambda k, r: r["Properties"]["Bucket"] == {"Ref": bucket_id})
    _, alias = one("AWS::KMS::Alias", lambda k, r: r["Properties"]["AliasName"] == names.key_alias)
    target = alias["Properties"]["TargetKeyId"]
    key_id = target["Ref"] if "Ref" in target else target["Fn::GetAtt"][0]
    _, table = one("AWS::DynamoDB::GlobalTable", lambda k, r: r["Properties"].get("TableName") == names.table)
    replica = next(r for r in table["Properties"]["Replicas"] if r["Region"] == names.source_region)
    table_policy = replica.get("ResourcePolicy", {}).get("PolicyDocument")
    role_trust, role_policies = None, []
    if environment.share.table_access == "role":
        _, role = one("AWS::IAM::Role", lambda k, r: r["Properties"].get("RoleName") == names.source_role)
        role_trust = resolver.resolve(role["Properties"]["AssumeRolePolicyDocument"], "source role trust")
        role_policies = _identity_policies(template, resolver, names.source_role)
    return _Source(
        names=names,
        bucket_policy=resolver.resolve(bucket_policy["Properties"]["PolicyDocument"], "bucket policy"),
        key_policy=resolver.resolve(resources[key_id]["Properties"]["KeyPolicy"], "key policy"),
        key_arn=resolver.resolve({"Fn::GetAtt": [key_id, "Arn"]}, "key"),
        table_policy=resolver.resolve(table_policy, "table policy") if table_policy else None,
        role_trust=role_trust,
        role_policies=role_policies,
    )


# Bootstrap trust


def _bootstrap(inputs: Inputs) -> list[Cell]:
    config = inputs.config
    tooling = config.tooling.account
    pipeline = _resolver(inputs.pipeline, tooling, config.tooling.region, "pipeline")
    identities = _assume_role_grants(inputs.pipeline, pipeline)
    cells = []
    for deployment in inputs.deployments:
        trust = _bootstrap_trust(inputs, deployment, tooling)
        targets = [("deploy", deployment.deploy_role), *deployment.publishing_roles]
        for kind, role_arn in targets:
            callers = [role for role, resources in identities.items() if role_arn in resources]
            if not callers:
                raise MatrixError(f"no pipeline role may assume {role_arn}, which {deployment.stack} needs")
            for caller in callers:
                principal = f"arn:aws:iam::{tooling}:role/{caller}"
                cells.append(
                    _assume(
                        deployment,
                        f"pipeline role {caller}",
                        principal,
                        tooling,
                        role_arn,
                        _identity_policies(inputs.pipeline, pipeline, caller),
                        trust[kind],
                        "allow",
                    )
                )
            cells.append(
                _assume(
                    deployment,
                    "untrusted tooling account",
                    f"arn:aws:iam::{OUTSIDER}:role/pipeline",
                    OUTSIDER,
                    role_arn,
                    [ALLOW_ALL],
                    trust[kind],
                    "deny",
                )
            )
    return cells


def _assume(deployment: Deployment, who, principal, account, role_arn, identity, trust, expected) -> Cell:
    variables = {"aws:PrincipalArn": principal, "aws:PrincipalAccount": account, "aws:SecureTransport": "true"}
    return Cell(
        "bootstrap",
        "bootstrap",
        who,
        principal,
        "sts:AssumeRole",
        role_arn,
        deployment.account,
        expected,
        _simulation(principal, "sts:AssumeRole", role_arn, deployment.account, identity, trust, variables),
    )


def _bootstrap_trust(inputs: Inputs, deployment: Deployment, tooling: str) -> dict[str, dict[str, Any]]:
    """The trust policies of the bootstrap roles as `cdk bootstrap --trust TOOLING` renders them."""
    resolver = Resolver(
        inputs.bootstrap,
        deployment.account,
        deployment.region,
        parameters={"TrustedAccounts": [tooling], "TrustedAccountsForLookup": [], "Qualifier": "hnb659fds"},
        where=f"bootstrap template ({deployment.account} {deployment.region})",
    )
    roles = {"deploy": "DeploymentActionRole", "file": "FilePublishingRole", "image": "ImagePublishingRole"}
    return {
        kind: resolver.resolve(
            inputs.bootstrap["Resources"][logical]["Properties"]["AssumeRolePolicyDocument"], logical
        )
        for kind, logical in roles.items()
    }


def _assume_role_grants(template: dict[str, Any], resolver: Resolver) -> dict[str, set[str]]:
    """For every role of the template: the role ARNs its identity policies allow it to assume."""
    grants: dict[str, set[str]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        name = resolver.resolve({"Ref": logical_id}, logical_id)
        for document in _identity_policies(template, resolver, name):
            for statement in document["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if statement["Effect"] == "Allow" and "sts:AssumeRole" in actions:
                    targets = (
                        statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                    )
                    grants.setdefault(name, set()).update(targets)
    return grants


# Policies


def _resolver(template: dict[str, Any], account: str, region: str, where: str) -> Resolver:
    return Resolver(template, account, region, where=where)


def _identity_policies(template: dict[str, Any], resolver: Resolver, role_name: str) -> list[dict[str, Any]]:
    """Every identity policy of the role with that physical name: inline, attached and customer managed."""
    resources = template["Resources"]
    role_ids = [
        k
        for k, r in resources.items()
        if r["Type"] == "AWS::IAM::Role" and resolver.resolve({"Ref": k}, k) == role_name
    ]
    if len(role_ids) != 1:
        raise MatrixError(f"{resolver.where}: no single role named {role_name}")
    (role_id,) = role_ids
    role = resources[role_id]["Properties"]
    documents = [p["PolicyDocument"] for p in role.get("Policies", [])]
    for logical_id, resource in resources.items():
        attached = {"Ref": role_id} in resource.get("Properties", {}).get("Roles", [])
        if resource["Type"] == "AWS::IAM::Policy" and attached:
            documents.append(resource["Properties"]["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and (
            attached or {"Ref": logical_id} in role.get("ManagedPolicyArns", [])
        ):
            documents.append(resource["Properties"]["PolicyDocument"])
    for arn in role.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and arn.get("Ref") in resources:
            continue
        name = str(resolver.resolve(arn, f"managed policies of {role_name}")).split(":policy/")[-1]
        if name not in AWS_MANAGED:
            raise Unresolvable(f"{resolver.where}: role {role_name} has a managed policy not in the template: {name}")
        documents.append(AWS_MANAGED[name])
    return [resolver.resolve(document, f"policies of {role_name}") for document in documents]


def _simulation(principal, action, resource, account, identity, resource_policy, variables) -> dict[str, Any]:
    simulation = {
        "request": {
            "principal": principal,
            "action": action,
            "resource": {"resource": resource, "accountId": account},
            "contextVariables": variables,
        },
        "identityPolicies": [{"name": f"identity-{i}", "policy": p} for i, p in enumerate(identity)],
        "serviceControlPolicies": [],
        "resourceControlPolicies": [],
    }
    if resource_policy:
        simulation["resourcePolicy"] = resource_policy
    return simulation
