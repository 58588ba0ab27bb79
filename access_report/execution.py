"""The cells of the bootstrap execution policy of each target account: what CloudFormation may do there on the
pipeline's behalf (config/bootstrap_policies.py). Whoever can change the pipeline acts with it, so the cells prove
it can build the stacks but cannot make itself an administrator: no role without the boundary or outside the
project, no AWS managed policy, no change to the boundary or the bootstrap roles, no users."""

from __future__ import annotations

from access_report.cells import Cell, ContextValue, Expected, Request
from access_report.inputs import Inputs
from config.bootstrap_policies import execution_policies
from config.model import partition_of
from config.naming import bootstrap_role, permissions_boundary_name

PATH = "execution policy"


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
        probes: list[tuple[str, str, str, dict[str, ContextValue], Expected]] = [
            ("creates a role of the project with the boundary", "iam:CreateRole", ours, bounded, "allow"),
            ("creates a role of the project without it", "iam:CreateRole", ours, {}, "deny"),
            ("creates a role outside the project", "iam:CreateRole", f"{iam}:role/admin", bounded, "deny"),
            ("attaches AdministratorAccess", "iam:AttachRolePolicy", ours, {"iam:PolicyARN": admin}, "deny"),
            ("removes a role's boundary", "iam:DeleteRolePermissionsBoundary", ours, {}, "deny"),
            ("changes the boundary", "iam:CreatePolicyVersion", boundary, {}, "deny"),
            (
                "rewrites a bootstrap role's trust",
                "iam:UpdateAssumeRolePolicy",
                f"{iam}:role/{bootstrap_role('deploy', account, region)}",
                {},
                "deny",
            ),
            ("creates a user", "iam:CreateUser", f"{iam}:user/someone", {}, "deny"),
            (
                "creates a table",
                "dynamodb:CreateTable",
                f"arn:{partition}:dynamodb:{region}:{account}:table/{config.project}-t",
                {},
                "allow",
            ),
        ]
        principal = f"{iam}:role/{bootstrap_role('cfn-exec', account, region)}"
        for who, action, resource, context, expected in probes:
            cells.append(
                Cell(
                    environment=PATH,
                    who=f"CloudFormation in {account} {who}",
                    principal=principal,
                    principal_account=account,
                    request=Request(PATH, action, resource, None, context),
                    resource_account=account,
                    expected=expected,
                    identity_policies=documents,
                )
            )
    return cells
