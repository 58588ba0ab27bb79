"""The cells of the bootstrap execution policy of each target account: what CloudFormation may do there on the
pipeline's behalf (bootstrap/policies.py). Whoever can change the pipeline acts with it, so the cells prove
it can build the stacks but cannot make itself an administrator: no role without the boundary or outside the
project, no AWS managed policy, no change to the boundary or the bootstrap roles, no users."""

from __future__ import annotations

from access_report.cells import ALLOW_ALL, Cell, ContextValue, Document, Expected, Request
from access_report.inputs import Inputs
from bootstrap.policies import execution_policies, existing_resources, permissions_boundary
from config.model import Config
from config.naming import Bootstrap, permissions_boundary_name
from config.regions import partition_of

PATH = "execution policy"
Probe = tuple[str, str, str, dict[str, ContextValue], Expected]  # who, action, resource, context, expected


def execution_cells(inputs: Inputs) -> list[Cell]:
    config = inputs.config
    cells = []
    for account, region in sorted({(d.account, d.region) for d in inputs.deployments}):
        partition = partition_of(region)
        documents = tuple(execution_policies(config, account, region, partition).values())
        iam = f"arn:{partition}:iam::{account}"
        boundary = f"{iam}:policy/{permissions_boundary_name(config)}"
        ours, admin = f"{iam}:role/{config.project}-new", f"arn:{partition}:iam::aws:policy/AdministratorAccess"
        bounded: dict[str, ContextValue] = {"iam:PermissionsBoundary": boundary}
        probes: list[Probe] = [
            ("creates a role of the project with the boundary", "iam:CreateRole", ours, bounded, "allow"),
            ("creates a role of the project without it", "iam:CreateRole", ours, {}, "deny"),
            ("creates a role outside the project", "iam:CreateRole", f"{iam}:role/admin", bounded, "deny"),
            ("attaches AdministratorAccess", "iam:AttachRolePolicy", ours, {"iam:PolicyARN": admin}, "deny"),
            ("removes a role's boundary", "iam:DeleteRolePermissionsBoundary", ours, {}, "deny"),
            # A role of the project's name that does not carry the boundary (made by hand, or before the project):
            # never extended, trusted anew or deleted; the project's own roles are.
            (
                "puts a policy on a role of the project's name without the boundary",
                "iam:PutRolePolicy",
                ours,
                {},
                "deny",
            ),
            ("attaches a policy to it", "iam:AttachRolePolicy", ours, {}, "deny"),
            ("rewrites its trust", "iam:UpdateAssumeRolePolicy", ours, {}, "deny"),
            ("puts a policy on a role of the project", "iam:PutRolePolicy", ours, bounded, "allow"),
            ("rewrites a role of the project's trust", "iam:UpdateAssumeRolePolicy", ours, bounded, "allow"),
            ("changes the boundary", "iam:CreatePolicyVersion", boundary, {}, "deny"),
            (
                "rewrites a policy of the project's name made by hand",
                "iam:CreatePolicyVersion",
                f"{iam}:policy/{config.project}-legacy",
                {},
                "deny",
            ),
            (
                "makes a policy of the name make bootstrap gives its next execution policy",
                "iam:CreatePolicy",
                f"{iam}:policy/{config.project}-cdk-execution-9",
                {},
                "deny",
            ),
            (
                "rewrites a bootstrap role's trust",
                "iam:UpdateAssumeRolePolicy",
                f"{iam}:role/{Bootstrap.of(config).role('deploy', account, region)}",
                {},
                "deny",
            ),
            ("creates a user", "iam:CreateUser", f"{iam}:user/someone", {}, "deny"),
            # What AWS::ECS::Cluster's update handler lists but the stacks never need: every cluster's defaults.
            ("changes the account's ECS settings", "ecs:PutAccountSettingDefault", "*", {}, "deny"),
            (
                "creates a table",
                "dynamodb:CreateTable",
                f"arn:{partition}:dynamodb:{region}:{account}:table/{config.project}-t",
                {},
                "allow",
            ),
            # The fences: the handlers' actions on the project's resources only.
            ("rewrites another bucket's policy", "s3:PutBucketPolicy", f"arn:{partition}:s3:::payroll", {}, "deny"),
            (
                "overwrites the CDK's assets",
                "s3:PutObject",
                f"arn:{partition}:s3:::{Bootstrap.of(config).assets_bucket(account, region)}/asset.zip",
                {},
                "deny",
            ),
            (
                "rewrites another table's policy",
                "dynamodb:PutResourcePolicy",
                f"arn:{partition}:dynamodb:{region}:{account}:table/payroll",
                {},
                "deny",
            ),
            (
                "changes another function's code",
                "lambda:UpdateFunctionCode",
                f"arn:{partition}:lambda:{region}:{account}:function:payroll",
                {},
                "deny",
            ),
            (
                "deletes another log group",
                "logs:DeleteLogGroup",
                f"arn:{partition}:logs:{region}:{account}:log-group:audit",
                {},
                "deny",
            ),
            *(
                (f"rewrites the policy of the existing {arn}", "s3:PutBucketPolicy", arn, {}, "deny")
                for arn in existing_buckets(config, account, partition)
            ),
        ]
        cells += _bounded_role(config, account, region, partition)
        principal = f"{iam}:role/{Bootstrap.of(config).role('cfn-exec', account, region)}"
        cells += _cells(f"CloudFormation in {account}", principal, account, probes, documents)
    return cells


def _cells(
    subject: str,
    principal: str,
    account: str,
    probes: list[Probe],
    identity: tuple[Document, ...],
    boundary: Document | None = None,
    *,
    resource_account: str | None = None,
    open_resource: bool = False,
) -> list[Cell]:
    """A cell per probe. `resource_account`: where the resources are (the principal's own by default);
    `open_resource`: each resource's own policy admits anyone, so that only the principal's side decides."""
    return [
        Cell(
            environment=PATH,
            who=f"{subject} {who}",
            principal=principal,
            principal_account=account,
            request=Request(
                PATH,
                action,
                resource,
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": action, "Resource": resource}
                    ],
                }
                if open_resource
                else None,
                context,
            ),
            resource_account=resource_account or account,
            expected=expected,
            identity_policies=identity,
            boundary=boundary,
        )
        for who, action, resource, context, expected in probes
    ]


def _bounded_role(config: Config, account: str, region: str, partition: str) -> list[Cell]:
    """A role the pipeline could write, with every permission its own policies could give (allow everything),
    under the boundary: it reaches the project's resources and nothing else of the account."""
    iam = f"arn:{partition}:iam::{account}"
    probes: list[Probe] = [
        ("reads the project's data", "s3:GetObject", f"arn:{partition}:s3:::{config.project}-x/k", {}, "allow"),
        ("reads another bucket of the account", "s3:GetObject", f"arn:{partition}:s3:::payroll/k", {}, "deny"),
        (
            "assumes a bootstrap role",
            "sts:AssumeRole",
            f"{iam}:role/{Bootstrap.of(config).role('deploy', account, region)}",
            {},
            "deny",
        ),
        ("creates a user", "iam:CreateUser", f"{iam}:user/someone", {}, "deny"),
        (
            "runs the project's task",
            "ecs:RunTask",
            f"arn:{partition}:ecs:{region}:{account}:task-definition/{config.project}-e-consumer:3",
            {},
            "allow",
        ),
        (
            "runs another task",
            "ecs:RunTask",
            f"arn:{partition}:ecs:{region}:{account}:task-definition/payroll:1",
            {},
            "deny",
        ),
        (
            "passes a role outside the project to a task",
            "iam:PassRole",
            f"{iam}:role/admin",
            {"iam:PassedToService": "ecs-tasks.amazonaws.com"},
            "deny",
        ),
        (
            "calls KMS directly with a key",
            "kms:Decrypt",
            f"arn:{partition}:kms:{region}:{account}:key/other",
            {"kms:ResourceAliases": ["alias/payroll"]},
            "deny",
        ),
    ]
    principal = f"{iam}:role/{config.project}-written-by-the-pipeline"
    boundary = permissions_boundary(config, partition)
    subject = f"a role of the project in {account}"
    return [
        *_cells(subject, principal, account, probes, (ALLOW_ALL,), boundary),
        *_outside_the_config(subject, principal, account, config.project, partition, boundary),
    ]


OUTSIDE = "999999999999"  # an account the config does not name


def _outside_the_config(
    subject: str, principal: str, account: str, project: str, partition: str, boundary: Document
) -> list[Cell]:
    """Resources named as the project's in an account the config does not name, whose own policies admit anyone:
    only the boundary's accounts stand between a role of the project and them (bucket names are global, so anyone
    can make a PROJECT-x bucket)."""
    probes: list[Probe] = [
        (
            "writes to a bucket of the project's name in an account outside the config",
            "s3:PutObject",
            f"arn:{partition}:s3:::{project}-elsewhere/k",
            {},
            "deny",
        ),
        (
            "assumes a role of the project's name in an account outside the config",
            "sts:AssumeRole",
            f"arn:{partition}:iam::{OUTSIDE}:role/{project}-elsewhere",
            {},
            "deny",
        ),
    ]
    return _cells(
        subject, principal, account, probes, (ALLOW_ALL,), boundary, resource_account=OUTSIDE, open_resource=True
    )


def existing_buckets(config: Config, account: str, partition: str) -> list[str]:
    return [arn for arn in existing_resources(config, account, partition) if arn.startswith(f"arn:{partition}:s3:::")
            and "/" not in arn]  # fmt: skip
