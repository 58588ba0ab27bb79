"""make bootstrap: the `cdk bootstrap` command for every account of the config, run when asked (--yes).

The execution policy is a deliberate choice. By default it is a managed policy this project provides in each
target account, limited to the services the sharing and consumer stacks create; AdministratorAccess only
with --admin, and with a warning: anyone who can act in the tooling account's pipeline effectively gets the
execution policy in every target account. Accounts already bootstrapped at the required version with the
right trust are skipped; a bootstrap stack is never deleted or recreated (its asset bucket name would change).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from bootstrap.policies import execution_policies, permissions_boundary
from config.model import Config
from config.naming import Bootstrap, permissions_boundary_name
from config.regions import partition_of
from tools.operator.accounts import OperatedAccount, SessionFactory, operated_accounts
from tools.operator.doctor import API_LOGS_ROLE, AccountStatus, bootstrap_args, diagnose
from tools.operator.failures import Rerun, explain

# By the ending of the policy's name.
DESCRIPTIONS = {
    "-permissions-boundary": "The most any role of the data-sharing stacks may do",
    "": "What CloudFormation may do for the data-sharing stacks, and only on the project's resources (cdk bootstrap "
    "execution policy)",
}
CLI_SECONDS = 900
# What AWS's managed policy AmazonAPIGatewayPushToCloudWatchLogs allows, as the role's own policy (the same in every
# partition, and what API Gateway needs for the logs of any API of the account, which this role serves).
API_LOGS_POLICY_NAME = "push-to-cloudwatch-logs"
API_LOGS_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams",
                "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents",
            ],
            "Resource": "*",
        }
    ],
}  # fmt: skip
ADMIN_WARNING = (
    "warning: --admin: the CloudFormation execution role of every target account gets AdministratorAccess, "
    "and anyone who can change the tooling account's pipeline can use it"
)


@dataclass(frozen=True)
class Step:
    target: OperatedAccount
    args: list[str]
    skip: str | None  # why nothing needs doing, or None
    policies: dict[str, dict[str, Any]]  # name -> document of the policies to create (or update) first
    policies_only: bool = False  # bootstrapped: only the project's policies change
    api_logging: bool = False  # a source account sharing an API: API Gateway's logging role set where none is

    @property
    def policy_arns(self) -> list[str]:
        partition = partition_of(self.target.region)
        return [f"arn:{partition}:iam::{self.target.account}:policy/{name}" for name in self.policies]

    @property
    def execution_policy_arns(self) -> list[str]:
        """All of the project's policies but the boundary, in order: CloudFormation's execution role gets them all."""
        return [arn for arn in self.policy_arns if not arn.endswith("-permissions-boundary")]


def steps(config: Config, sessions: SessionFactory | None, *, admin: bool, rerun: Rerun | None = None) -> list[Step]:
    statuses: dict[tuple[str, str], AccountStatus] = {}
    if sessions is not None:
        statuses = {(f.target.account, f.target.region): f for f in diagnose(config, sessions, rerun)}
    steps = []
    for target in operated_accounts(config):
        partition = partition_of(target.region)
        policies: dict[str, dict[str, Any]] = {}
        if not target.is_tooling:
            # The boundary also with --admin: the stacks' roles carry it whatever the execution policy.
            policies = {} if admin else execution_policies(config, target.account, target.region, partition)
            policies[permissions_boundary_name(config)] = permissions_boundary(config, partition)
        step = Step(target, [], None, policies)
        execution = (
            f"arn:{partition}:iam::aws:policy/AdministratorAccess" if admin else ",".join(step.execution_policy_arns)
        )
        args = bootstrap_args(target, config.tooling.account, execution, Bootstrap.of(config))
        status = statuses.get((target.account, target.region))
        skip = f"already bootstrapped: {status.detail}" if status and status.ok else None
        api = any(
            (e.source.account, e.source.region) == (target.account, target.region) and any(d.api for d in e.datasets)
            for e in config.environments
        )
        only = bool(status and status.policies_only)
        steps.append(Step(target, args, skip, policies, policies_only=only, api_logging=api))
    return steps


def fleet_lines(config: Config) -> list[str]:
    """What consumer groups need instead of bootstrapping their accounts, which StackSets deploys to with its own roles:
    once, from the organization's management account (make doctor checks both)."""
    groups = [g for e in config.environments for g in e.consumer_groups]
    if not groups:
        return []
    return [
        f"# consumer groups ({', '.join(g.name for g in groups)}): their accounts are not bootstrapped (StackSets "
        "deploys to them with its own roles); once, from the organization's management account:",
        "#   aws cloudformation activate-organizations-access",
        f"#   aws organizations register-delegated-administrator --account-id {config.tooling.account} "
        "--service-principal member.org.stacksets.cloudformation.amazonaws.com",
    ]


# Accounts bootstrapped at once: each `cdk bootstrap` mostly waits on CloudFormation, and a config of many consumer
# accounts would otherwise take one stack creation after another.
PARALLEL = 4


def run(
    config: Config, steps: list[Step], sessions: SessionFactory, *, cli: Path, out: TextIO, rerun: Rerun | None = None
) -> int:
    """Bootstrap what each step needs, PARALLEL accounts at a time; one line per account, in the steps' order."""
    rerun = rerun or Rerun("bootstrap", args=("--yes",))
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        lines = pool.map(lambda step: _bootstrap(step, sessions, cli, rerun), steps)
        results = []
        for ok, line in lines:  # printed as they come, in order
            print(line, file=out, flush=True)
            results.append(ok)
    return 0 if all(results) else 1


def _bootstrap(step: Step, sessions: SessionFactory, cli: Path, rerun: Rerun) -> tuple[bool, str]:
    if step.skip:
        return True, f"skip  {step.target.label()}: {step.skip}"
    try:
        frozen = _prepare(step, sessions)
    except (ClientError, BotoCoreError) as error:
        problem, fix = explain(error, step.target.account, step.target.region, rerun)
        return False, f"FAIL  {step.target.label()}: {problem} -> {fix}"
    if step.policies_only:
        names = ", ".join(step.policies)
        return True, f"done  {step.target.label()}: the project's policies now match this config ({names})"
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
    try:
        with tempfile.TemporaryDirectory() as empty:  # no cdk.json there: bootstrap synthesizes nothing
            result = subprocess.run(
                [str(cli), *step.args[1:], "--no-notices"],
                cwd=empty,
                env=environment,
                capture_output=True,
                text=True,
                timeout=CLI_SECONDS,
                check=False,
            )
        code, last = result.returncode, (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no output"]
    except subprocess.TimeoutExpired:
        stack = step.args[step.args.index("--toolkit-stack-name") + 1]
        code, last = 1, [f"the CDK CLI did not finish in {CLI_SECONDS} s; see the events of the stack {stack}"]
    except OSError as error:  # the CLI is not installed
        code, last = 1, [f"cannot run the CDK CLI ({error}): run make install"]
    if code == 0:
        return True, f"done  {step.target.label()}: {' '.join(step.args)}"
    return False, f"FAIL  {step.target.label()}: {' '.join(step.args)}: {last[0]}"


def _prepare(step: Step, sessions: SessionFactory) -> Any:
    """The project's policies in the account, and the credentials the CDK CLI will act with there."""
    session = sessions(step.target.account, step.target.region)
    for name, document in step.policies.items():
        _ensure_policy(session, name, document)
    if step.api_logging:
        ensure_api_logging(session, step.target)
    credentials = session.get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    return credentials.get_frozen_credentials()


def _ensure_policy(session: Any, name: str, document: dict[str, Any]) -> None:
    """The policy as the project writes it: created, or given a new default version where it differs (IAM keeps five
    versions: the oldest other one goes first)."""
    iam = session.client("iam")
    account = session.client("sts").get_caller_identity()["Account"]
    arn = f"arn:{partition_of(session.region_name)}:iam::{account}:policy/{name}"
    text = json.dumps(document, separators=(",", ":"))
    try:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
    except iam.exceptions.NoSuchEntityException:
        description = next(d for ending, d in DESCRIPTIONS.items() if name.endswith(ending))
        iam.create_policy(PolicyName=name, PolicyDocument=text, Description=description)
        return
    current = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
    if isinstance(current, str):
        current = json.loads(urllib.parse.unquote(current))
    if current == document:
        return
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= 5:
        oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=text, SetAsDefault=True)


# IAM is eventually consistent: API Gateway refuses a role created a moment before ("The role ARN does not have
# required permissions...") until it has propagated, which tools wait up to two minutes for; and it takes one
# UpdateAccount per account every 20 seconds (API Gateway quotas: fixed).
API_LOGS_SETTLE_SECONDS = 120
UPDATE_ACCOUNT_INTERVAL_SECONDS = 20
_NOT_YET = ("does not have required permissions", "could not successfully write to CloudWatch Logs")


def ensure_api_logging(
    session: Any, target: OperatedAccount, *, sleep: Callable[[float], None] = time.sleep
) -> str | None:
    """API Gateway's logging role of the account and region, which a stage with access logging needs: set to the role
    apigateway-cloudwatch-logs (created where it does not exist, its policy what AWS's managed policy for it allows)
    only where the account has none; one already set, whoever's, is never replaced (every API of the account logs with
    it). The role's ARN, or None where one was set already."""
    apigateway = session.client("apigateway")
    if apigateway.get_account().get("cloudwatchRoleArn"):
        return None
    iam = session.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    # Made by an earlier run, or by the step of another region of the account, where it exists.
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(
            RoleName=API_LOGS_ROLE,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description="API Gateway writes the account's APIs' logs with it (its account settings)",
        )
    # Written every time: a run that stopped after the role was created leaves a role without its policy.
    iam.put_role_policy(
        RoleName=API_LOGS_ROLE, PolicyName=API_LOGS_POLICY_NAME, PolicyDocument=json.dumps(API_LOGS_POLICY)
    )
    arn = str(iam.get_role(RoleName=API_LOGS_ROLE)["Role"]["Arn"])
    waited = 0.0
    while True:
        try:
            apigateway.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}])
            return arn
        except ClientError as error:
            code, message = error.response["Error"].get("Code", ""), str(error.response["Error"].get("Message", ""))
            settling = code == "BadRequestException" and any(text in message for text in _NOT_YET)
            if not (settling or code == "TooManyRequestsException") or waited >= API_LOGS_SETTLE_SECONDS:
                raise
        sleep(UPDATE_ACCOUNT_INTERVAL_SECONDS)
        waited += UPDATE_ACCOUNT_INTERVAL_SECONDS
