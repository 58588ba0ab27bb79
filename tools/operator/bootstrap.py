"""make bootstrap: the `cdk bootstrap` command for every account of the config, run when asked (--yes).

The execution policy is a deliberate choice. By default it is a managed policy this project provides in each
target account, limited to the services the sharing and consumer stacks create; AdministratorAccess only
with --admin, and with a warning: anyone who can act in the tooling account's pipeline effectively gets the
execution policy in every target account. Accounts already bootstrapped at the required version with the
right trust are skipped; a bootstrap stack is never deleted or recreated (its asset bucket name would change).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from config.model import Config
from config.naming import execution_policy_name
from tools.operator.accounts import OperatedAccount, SessionFactory, operated_accounts
from tools.operator.doctor import Finding, bootstrap_args, diagnose

ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"
ADMIN_WARNING = (
    "warning: --admin: the CloudFormation execution role of every target account gets AdministratorAccess, "
    "and anyone who can change the tooling account's pipeline can use it"
)


def execution_policy_document(account: str, partition: str = "aws") -> dict:
    """What CloudFormation may do in a target account on the pipeline's behalf: the services of the sharing and
    consumer stacks, IAM only for roles and policies, and never users, access keys or the organization."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ServicesOfTheStacks",
                "Effect": "Allow",
                "Action": ["s3:*", "kms:*", "dynamodb:*", "lambda:*", "ecs:*", "logs:*"],
                "Resource": "*",
            },
            {
                "Sid": "RolesAndPoliciesOfTheStacks",
                "Effect": "Allow",
                "Action": "iam:*",
                "Resource": [f"arn:{partition}:iam::{account}:role/*", f"arn:{partition}:iam::{account}:policy/*"],
            },
            {
                "Sid": "BootstrapVersion",
                "Effect": "Allow",
                "Action": "ssm:GetParameters",
                "Resource": f"arn:{partition}:ssm:*:{account}:parameter/cdk-bootstrap/*",
            },
            {
                "Sid": "NeverPeopleOrTheOrganization",
                "Effect": "Deny",
                "Action": ["iam:*User*", "iam:*AccessKey*", "iam:*LoginProfile*", "organizations:*", "account:*"],
                "Resource": "*",
            },
        ],
    }


@dataclass(frozen=True)
class Step:
    target: OperatedAccount
    args: list[str]
    skip: str | None  # why nothing needs doing, or None
    policy_arn: str | None  # the execution policy to create first, if any


def steps(config: Config, sessions: SessionFactory | None, *, admin: bool) -> list[Step]:
    findings: dict[tuple[str, str], Finding] = {}
    if sessions is not None:
        findings = {(f.target.account, f.target.region): f for f in diagnose(config, sessions)}
    steps = []
    for target in operated_accounts(config):
        policy_arn = (
            None
            if target.is_tooling or admin
            else (f"arn:aws:iam::{target.account}:policy/{execution_policy_name(config)}")
        )
        args = bootstrap_args(target, config.tooling.account, ADMINISTRATOR if admin else (policy_arn or ""))
        finding = findings.get((target.account, target.region))
        skip = f"already bootstrapped: {finding.detail}" if finding and finding.ok else None
        steps.append(Step(target, args, skip, policy_arn))
    return steps


def run(config: Config, steps: list[Step], sessions: SessionFactory, *, cli: Path, out) -> int:
    failed = 0
    for step in steps:
        if step.skip:
            print(f"skip  {step.target.label()}: {step.skip}", file=out)
            continue
        session = sessions(step.target.account, step.target.region)
        if step.policy_arn:
            _ensure_policy(session, config, step)
        frozen = session.get_credentials().get_frozen_credentials()
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_ENDPOINT_URL"},
            "AWS_ACCESS_KEY_ID": frozen.access_key,
            "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
            "AWS_REGION": step.target.region,
            "CDK_DISABLE_VERSION_CHECK": "1",
            "CI": "true",
        }
        if frozen.token:
            environment["AWS_SESSION_TOKEN"] = frozen.token
        with tempfile.TemporaryDirectory() as empty:  # no cdk.json there: bootstrap synthesizes nothing
            result = subprocess.run(
                [str(cli), *step.args[1:], "--no-notices"],
                cwd=empty,
                env=environment,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
        if result.returncode == 0:
            print(f"done  {step.target.label()}: {' '.join(step.args)}", file=out)
        else:
            failed += 1
            last = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no output"]
            print(f"FAIL  {step.target.label()}: {' '.join(step.args)}: {last[0]}", file=out)
    return 1 if failed else 0


def _ensure_policy(session, config: Config, step: Step) -> None:
    iam = session.client("iam")
    try:
        iam.get_policy(PolicyArn=step.policy_arn)
    except iam.exceptions.NoSuchEntityException:
        iam.create_policy(
            PolicyName=execution_policy_name(config),
            PolicyDocument=json.dumps(execution_policy_document(step.target.account)),
            Description="What CloudFormation may create for the data-sharing pipeline (cdk bootstrap execution policy)",
        )
