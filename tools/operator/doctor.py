"""make doctor: is every account of the config ready for the pipeline? One line per account, with what to
run to fix it."""

from __future__ import annotations

import fnmatch
import json
import re
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from bootstrap.policies import execution_policies, permissions_boundary
from config import actions
from config.actions import access_point_delegation
from config.model import CodeCommitRepository, Config, Consumer, Environment, consumer_stage_id, sharing_stage_id
from config.naming import (
    Bootstrap,
    Names,
    access_records_bucket,
    daily_proof_role,
    ecr_repository_arn,
    key_grants_stack_name,
    permissions_boundary_name,
    pipeline_stack_id,
    stage_stack_name,
)
from config.regions import partition_of
from pipeline_steps import daily_proof
from pipeline_steps.prove_consumers import ProofError, ProofTarget, default_subnets
from tools.operator.accounts import OperatedAccount, SessionFactory, operated_accounts
from tools.operator.failures import Rerun, explain

# The oldest bootstrap stack the synthesized stacks accept (their manifests' requiresBootstrapStackVersion),
# and the one the pinned CDK CLI creates.
REQUIRED_VERSION = 8
CURRENT_VERSION = 33


@dataclass(frozen=True)
class AccountStatus:
    target: OperatedAccount
    ok: bool
    detail: str
    fix: str = ""
    # Bootstrapped, but a policy of the project's is not this config's: writing its new version is all it needs.
    policies_only: bool = False

    def line(self) -> str:
        text = f"{'OK  ' if self.ok else 'FAIL'}  {self.target.label()}: {self.detail}"
        return re.sub(r"\s*\n\s*", " ", text + (f" -> {self.fix}" if self.fix else ""))  # one line, whatever AWS said


def lines(statuses: list[AccountStatus]) -> list[str]:
    """One line per account; a failure several accounts share (no credentials, say) once, with its fix, where the
    first of them comes, then its accounts one per line."""
    shared: dict[tuple[str, str], list[AccountStatus]] = {}
    for status in statuses:
        if not status.ok:
            shared.setdefault((status.detail, status.fix), []).append(status)
    out: list[str] = []
    for status in statuses:
        alike = shared.get((status.detail, status.fix), [])
        if status.ok or len(alike) < 2:
            out.append(status.line())
        elif alike[0] is status:
            head = AccountStatus(status.target, False, status.detail, status.fix).line()
            out.append(f"FAIL  {len(alike)} accounts: " + head.split(": ", 1)[1])
            out += [f"      {f.target.label()}" for f in alike]
    return out


def diagnose(config: Config, sessions: SessionFactory, rerun: Rerun | None = None) -> list[AccountStatus]:
    rerun = rerun or Rerun("doctor")
    return [_diagnose(config, target, sessions, rerun) for target in operated_accounts(config)]


def daily_proof_lines(config: Config, sessions: SessionFactory) -> list[str]:
    """The last scheduled proof of each environment, as its run recorded it in the tooling account's access records
    (pipeline_steps/daily_proof.py): passed or failed, when, and the failing consumers' lines."""
    if config.proof_schedule is None:
        return []
    try:
        s3 = sessions(config.tooling.account, config.tooling.region).client("s3")
    except (ClientError, BotoCoreError) as error:
        return [f"daily proof: the tooling account cannot be reached ({error})"]
    lines = []
    for environment in config.environments:
        key = daily_proof.result_key(environment.name)
        try:
            result = json.loads(s3.get_object(Bucket=access_records_bucket(config), Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            lines.append(f"{environment.name}: no daily proof yet (the schedule runs {config.proof_schedule}, UTC)")
            continue
        except s3.exceptions.NoSuchBucket:
            lines.append(f"{environment.name}: no daily proof yet (the pipeline stack is not deployed)")
            continue
        except (ClientError, BotoCoreError, ValueError) as error:
            lines.append(f"{environment.name}: the daily proof's result cannot be read: {error}")
            continue
        stale = _stale(config.proof_schedule, str(result.get("at", "")))
        if stale:
            # A run that never reached its script (its build failed to start or install) records nothing.
            lines.append(
                f"{environment.name}: the daily proof last ran at {result.get('at')}, {stale}: see its project's "
                f"builds ({daily_proof_role(config, environment)}) in the tooling account"
            )
        elif result.get("ok"):
            lines.append(f"{environment.name}: daily proof passed at {result.get('at')}")
        else:
            failing = "; ".join(result.get("failing", [])) or "see its log"
            lines.append(f"{environment.name}: daily proof FAILED at {result.get('at')}: {failing}")
    return lines


STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


def fleet_lines(config: Config, sessions: SessionFactory) -> list[tuple[bool, str]]:
    """What consumer groups need of the organization, asked from the tooling account: that it is in the config's
    organization, a delegated administrator of StackSets, with StackSets' trusted access on; and that each group's
    units exist (which only the management account, or a delegated administrator of Organizations, may ask)."""
    units = sorted({u for e in config.environments for g in e.consumer_groups for u in g.organizational_units})
    if not units:
        return []
    tooling = config.tooling
    try:
        session = sessions(tooling.account, tooling.region)
        organizations = session.client("organizations")
        found = organizations.describe_organization()["Organization"]["Id"]
    except (ClientError, BotoCoreError) as error:
        return [(False, f"fleet: the tooling account {tooling.account} is in no organization it can describe: {error}")]
    if found != config.organization_id:
        return [(False, f"fleet: the tooling account is in organization {found}, the config names "
                        f"{config.organization_id}: correct organization_id")]  # fmt: skip
    register = (
        f"from the management account: aws organizations register-delegated-administrator --account-id "
        f"{tooling.account} --service-principal {STACKSETS_PRINCIPAL}"
    )
    found_lines = [(True, f"fleet: the tooling account is in organization {found}")]
    try:
        status = session.client("cloudformation").describe_organizations_access(CallAs="DELEGATED_ADMIN")["Status"]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        if "delegated administrator" in message.lower():
            return [*found_lines, (False, f"fleet: the tooling account is not a delegated administrator of StackSets: "
                                          f"{register}")]  # fmt: skip
        return [*found_lines, (False, f"fleet: StackSets' trusted access cannot be read: {message}")]
    except BotoCoreError as error:
        return [*found_lines, (False, f"fleet: StackSets' trusted access cannot be read: {error}")]
    found_lines.append((True, "fleet: the tooling account is a delegated administrator of StackSets"))
    if status != "ENABLED":
        found_lines.append(
            (
                False,
                f"fleet: StackSets' trusted access with Organizations is {status}: from the management account, "
                "aws cloudformation activate-organizations-access",
            )
        )
    else:
        found_lines.append((True, "fleet: StackSets' trusted access with Organizations is enabled"))
    for unit in units:
        if unit.startswith("r-"):
            continue
        try:
            organizations.describe_organizational_unit(OrganizationalUnitId=unit)
            found_lines.append((True, f"fleet: organizational unit {unit} exists"))
        except organizations.exceptions.OrganizationalUnitNotFoundException:
            found_lines.append((False, f"fleet: organizational unit {unit} does not exist in {found}"))
        except (ClientError, BotoCoreError) as error:
            found_lines.append((True, f"fleet: organizational unit {unit} not checked (the tooling account may not "
                                      f"describe units: {error}); check it from the management account"))  # fmt: skip
    return found_lines


def _stale(schedule: str, at: str) -> str:
    """Whether a result is older than two of the schedule's periods, where its period is plain (a rate, or a cron that
    runs every day), and so says how old; "" otherwise."""
    rate = re.fullmatch(r"rate\((\d+) (hour|day)s?\)", schedule)
    every_day = re.fullmatch(r"cron\(\S+ \S+ [*?] \* [*?] \*\)", schedule)
    period = timedelta(**{f"{rate[2]}s": int(rate[1])}) if rate else timedelta(days=1) if every_day else None
    try:
        ran = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return ""
    age = datetime.now(UTC) - ran
    return f"{age.total_seconds() / 3600:.0f} hours ago" if period and age > 2 * period else ""


def _diagnose(config: Config, target: OperatedAccount, sessions: SessionFactory, rerun: Rerun) -> AccountStatus:
    tooling = config.tooling.account
    cdk = Bootstrap.of(config)
    bootstrap = _bootstrap_command(target, tooling, rerun, cdk)
    try:
        session = sessions(target.account, target.region)
        identity = session.client("sts").get_caller_identity()["Account"]
        if identity != target.account:
            return AccountStatus(
                target,
                False,
                f"the credentials act in {identity}, not in this account",
                f"give each account its own: {rerun.ways_to_give_credentials()}",
            )
        version = _bootstrap_version(session, cdk)
        if version is None:
            return AccountStatus(target, False, "not bootstrapped", bootstrap)
        if version < REQUIRED_VERSION:
            old = f"bootstrap version {version} is older than {REQUIRED_VERSION}"
            return AccountStatus(target, False, old, bootstrap)
        details = [f"bootstrap version {version}"]
        if not target.is_tooling:
            for role in ("deploy", "file-publishing"):
                name = cdk.role(role, target.account, target.region)
                trusted = _trusted_accounts(session, name)
                if tooling not in trusted:
                    who = ", ".join(sorted(trusted - {target.account})) or "no other account"
                    wrong = f"{name} trusts {who}, not the tooling account {tooling}"
                    return AccountStatus(target, False, wrong, bootstrap)
            details.append(f"deploy and file-publishing roles trust {tooling}")
            failed = _policies_status(config, target, session, cdk, rerun)
            if failed:
                return failed
            details.append("permissions boundary current")
        elif "tooling" in target.roles:
            source = _source_status(config, session)
            if source:
                return AccountStatus(target, False, source[0], source[1])
            details.append("source repository reachable")
        # Each further check: (detail, fix), a failure where it names a fix, else a detail of the OK line (or "").
        for check in TARGET_CHECKS if not target.is_tooling else ():
            detail, fix = check(config, target, session)
            if fix:
                return AccountStatus(target, False, detail, fix)
            details += [detail] if detail else []
        if not target.is_tooling:
            detail, fix = _table_aliases_status(config, target, session, sessions)
            if fix:
                return AccountStatus(target, False, detail, fix)
            details += [detail] if detail else []
        detail, fix = _image_status(config, target, session)
        if fix:
            return AccountStatus(target, False, detail, fix)
        return AccountStatus(target, True, ", ".join([*details, *([detail] if detail else [])]))
    except (ClientError, BotoCoreError) as error:
        return AccountStatus(target, False, *explain(error, target.account, target.region, rerun))


def _policies_status(
    config: Config, target: OperatedAccount, session: Any, cdk: Bootstrap, rerun: Rerun
) -> AccountStatus | None:
    """A failure where the project's boundary and execution policies are missing, not attached to CloudFormation's
    execution role, or not this config's; None where they are right."""
    boundary = permissions_boundary_name(config)
    current = _policy_document(session, target, boundary)
    if current is None:
        return AccountStatus(
            target,
            False,
            f"the permissions boundary {boundary} is missing (every role of the stacks carries it)",
            f"{rerun.make('--yes', command='bootstrap')} (it creates the project's policies, and skips what is "
            "bootstrapped)",
        )
    partition = partition_of(target.region)
    execution = execution_policies(config, target.account, target.region, partition)
    wanted = [f"arn:{partition}:iam::{target.account}:policy/{name}" for name in execution]
    problem = execution_role_problem(_execution_policies_attached(session, target, cdk), sorted(wanted))
    if problem:
        return AccountStatus(
            target, False, problem, f"{rerun.make('--yes', command='bootstrap')} (bootstraps with them)"
        )
    expected = {boundary: permissions_boundary(config, partition)} | execution
    stale = [
        name
        for name, document in expected.items()
        if (current if name == boundary else _policy_document(session, target, name)) != document
    ]
    if stale:
        return AccountStatus(
            target,
            False,
            f"the project's policies {', '.join(stale)} are not this config's (the existing buckets, tables "
            "or keys its datasets share changed, or the resource types the stacks create did): deploys or the "
            "source roles would be refused",
            f"{rerun.make('--yes', command='bootstrap')} (it writes their new versions)",
            policies_only=True,
        )
    return None


def _consumers_in(config: Config, target: OperatedAccount) -> list[tuple[str, Environment, Consumer]]:
    """(where in the config, its environment, consumer) of each consumer deployed to this account and region."""
    return [
        (f"environments[{environment.name}].consumers[{consumer.name}]", environment, consumer)
        for environment in config.environments
        for consumer in environment.consumers
        if (consumer.account, consumer.region) == (target.account, target.region)
    ]


def _task_network_status(config: Config, target: OperatedAccount, session: Any) -> tuple[str, str]:
    """(detail, fix) of where the pipeline's test step will run each consumer task of this account; fix is empty
    when every one has a place: the default VPC's default subnets, or configured subnets and security groups that
    exist, in one VPC (as RunTask requires), and security groups (the VPC's default one where none is named) that
    let the task out to pull its image and reach AWS."""
    ec2 = session.client("ec2")
    places = []
    for where, _, consumer in _consumers_in(config, target):
        network = consumer.task_network
        subnets: tuple[str, ...]
        groups: tuple[str, ...]
        named: list[dict[str, Any]]
        try:
            if network is None:
                subnets, groups = default_subnets(ec2, ProofTarget(consumer.name, target.account, target.region)), ()
            else:
                subnets, groups = network.subnets, network.security_groups
            found = ec2.describe_subnets(SubnetIds=list(subnets))["Subnets"]
            named = ec2.describe_security_groups(GroupIds=list(groups))["SecurityGroups"] if groups else []
        except ProofError as error:
            return f"consumer {consumer.name}: {error.problem}", error.fix.replace("consumers[]", where)
        except ClientError as error:
            if not error.response.get("Error", {}).get("Code", "").endswith(".NotFound"):
                raise  # access denied, throttled, expired: explained as any other failure of the account
            message = error.response.get("Error", {}).get("Message", str(error))
            return f"consumer {consumer.name}: {message}", f"correct {where}.task_network"
        vpcs = sorted({item["VpcId"] for item in [*found, *named]})
        if len(vpcs) > 1:
            return (
                f"consumer {consumer.name}: the subnets and security groups of its task_network are in {len(vpcs)} "
                f"VPCs ({', '.join(vpcs)})",
                f"name subnets and security groups of one VPC in {where}.task_network",
            )
        if not named:  # ECS uses the VPC's default security group
            named = ec2.describe_security_groups(
                Filters=[{"Name": "vpc-id", "Values": vpcs}, {"Name": "group-name", "Values": ["default"]}]
            )["SecurityGroups"]
        ids = ", ".join(group["GroupId"] for group in named)
        if not any(group.get("IpPermissionsEgress") for group in named):
            return (
                f"consumer {consumer.name}: the security groups of its task ({ids}) allow no outbound traffic, so the "
                "task could not pull its image or reach AWS",
                f"allow outbound HTTPS in {ids}, or name security groups that do in {where}.task_network",
            )
        default = " default VPC" if network is None else ""
        subnets_found = f"{len(found)} subnet{'' if len(found) == 1 else 's'}"
        places.append(f"{consumer.name}'s task in{default} {vpcs[0]} ({subnets_found}, {ids})")
    return ", ".join(places), ""


def _own_roles_status(config: Config, target: OperatedAccount, session: Any) -> tuple[str, str]:
    """(detail, fix) of the consumers' own roles in this account: each must exist with the very ARN the grants name
    (its path and the case of its name included: a grant compares the ARN as written)."""
    iam = session.client("iam")
    details = []
    for where, environment, consumer in _consumers_in(config, target):
        names = Names.of(config, environment)
        for index, role in enumerate(consumer.roles):
            expected = names.role_arn(target.account, role)
            try:
                actual = iam.get_role(RoleName=role.rsplit("/", 1)[-1])["Role"]["Arn"]
            except iam.exceptions.NoSuchEntityException:
                return (
                    f"consumer {consumer.name}: its role {role} does not exist",
                    f"create it, or remove it from {where}.roles[{index}]",
                )
            if actual != expected:
                listed = actual.split(":role/", 1)[-1]
                return (
                    f"consumer {consumer.name}: its role is {actual}, the grants name {expected}",
                    f"list it as {listed} in {where}.roles[{index}]",
                )
        if consumer.roles:
            details.append(f"{consumer.name}'s own roles {', '.join(consumer.roles)} exist as listed")
    return ", ".join(details), ""


# Every stack status but the deleted one.
LIVE_STACKS = [
    "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED",
    "ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED", "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE",
    "REVIEW_IN_PROGRESS", "IMPORT_IN_PROGRESS", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_IN_PROGRESS",
    "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE",
]  # fmt: skip


def _expected_stacks(config: Config, target: OperatedAccount) -> dict[str, list[str]]:
    """The stacks the pipeline deploys to this account and region, each with the names of the roles it creates."""
    expected: dict[str, list[str]] = {}
    for environment in config.environments:
        names = Names.of(config, environment)
        source = environment.source
        if (source.account, source.region) == (target.account, target.region):
            through_role = [
                c for c in environment.consumers
                if any(names.dataset(environment.dataset(d)).through_role for d in c.grants)
            ]  # fmt: skip
            roles = [names.canary_role, *(names.source_role(c) for c in through_role)]
            roles += [names.locate_role(c) for c in environment.consumers if names.looks_up(environment, c)]
            roles += [names.dataset(d).api_function for d in environment.datasets if d.api]
            expected[stage_stack_name(config, sharing_stage_id(environment))] = roles
            for consumer in environment.consumers:
                if names.key_grant_datasets(environment, consumer):
                    stage = consumer_stage_id(environment, consumer)
                    expected[key_grants_stack_name(config, stage)] = [names.key_grants(consumer)]
        for consumer in environment.consumers:
            if (consumer.account, consumer.region) == (target.account, target.region):
                roles = [*names.consumer_role_names, names.task_execution_role, names.proof_role]
                roles += [names.workload_role(w) for w in consumer.workloads]
                roles += [names.consumer_locate_role] if names.looks_up(environment, consumer) else []
                expected[stage_stack_name(config, consumer_stage_id(environment, consumer))] = roles
    return expected


def _stacks_status(config: Config, target: OperatedAccount, session: Any) -> tuple[str, str]:
    """(detail, fix): the project's stacks here that the config no longer has, and roles the stacks will create that
    exist already. CDK Pipelines never deletes the stacks of a stage removed from the pipeline (a consumer removed,
    renamed or moved to another region, aws/aws-cdk#10759): such a stack keeps its roles (whose names are the same in
    every region), which a renamed or moved consumer's new stack would fail to create."""
    cloudformation = session.client("cloudformation")
    expected = _expected_stacks(config, target)
    live = [
        summary["StackName"]
        for page in cloudformation.get_paginator("list_stacks").paginate(StackStatusFilter=LIVE_STACKS)
        for summary in page["StackSummaries"]
    ]
    pipeline = pipeline_stack_id(config)
    environments = [e.name for e in config.environments]
    orphans = sorted(
        name
        for name in live
        if name not in expected
        and not name.startswith(pipeline)
        and (
            name.startswith(f"{config.project}-")
            # the names of before 0.2: ENV-sharing-Sharing, ENV-CONSUMER-Consumer (until 1.0: docs/upgrading.md)
            or any(name.startswith(f"{e}-") and name.endswith(("-Sharing", "-Consumer")) for e in environments)
        )
    )
    if orphans:
        where = f"--region {target.region}"
        return (
            f"stacks of the project the config no longer has: {', '.join(orphans)} (a consumer removed, renamed or "
            "moved, or the names of an earlier version; their roles keep the names a new stack needs)",
            "delete each, in this account, once you no longer need it (its buckets, tables, keys and log groups are "
            f"retained): {'; '.join(f'aws cloudformation delete-stack --stack-name {o} {where}' for o in orphans)}",
        )
    iam = session.client("iam")
    for stack, roles in expected.items():
        owned: set[str] = set()
        if stack in live:
            owned = {
                resource["PhysicalResourceId"]
                for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
                for resource in page["StackResourceSummaries"]
                if resource["ResourceType"] == "AWS::IAM::Role"
            }
        for role in roles:
            if role in owned:
                continue
            try:
                iam.get_role(RoleName=role)
            except iam.exceptions.NoSuchEntityException:
                continue
            return (
                f"the role {role} exists but is not the stack {stack}'s: its deploy would fail to create it (IAM "
                "role names are one per account, in every region)",
                "delete the stack that made it (that of the consumer or environment before a rename, or in the "
                "region it was moved from), or the role if it was made by hand, then push",
            )
    return "", ""


def _unbounded_roles_status(config: Config, target: OperatedAccount, session: Any) -> tuple[str, str]:
    """(detail, fix): roles named as the project's that do not carry its boundary."""
    boundary = f"arn:{partition_of(target.region)}:iam::{target.account}:policy/{permissions_boundary_name(config)}"
    unbounded = _unbounded_roles(config, session, boundary)
    if not unbounded:
        return "", ""
    return (
        f"roles named as the project's do not carry its permissions boundary: {', '.join(unbounded)} (the execution "
        "policy may pass a role of the project's name to a function or task, and no boundary would then hold what it "
        "does)",
        "delete each, or rename it out of the project's prefix (or give it the boundary, if it is yours to bound): "
        f"aws iam delete-role --role-name {unbounded[0]} ...",
    )


def _unbounded_roles(config: Config, session: Any, boundary: str) -> list[str]:
    """The roles of the account named PROJECT-* whose permissions boundary is not the project's (ListRoles does not
    say a role's boundary: GetRole of each of the project's names)."""
    iam = session.client("iam")
    names = [
        role["RoleName"]
        for page in iam.get_paginator("list_roles").paginate()
        for role in page["Roles"]
        if role["RoleName"].startswith(f"{config.project}-")
    ]
    return [
        name
        for name in sorted(names)
        if iam.get_role(RoleName=name)["Role"].get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") != boundary
    ]


PULLS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")


def _image_status(config: Config, target: OperatedAccount, session: Any) -> tuple[str, str]:
    """(detail, fix) of the consumer image's private ECR repository, checked in the account and region that hold it:
    its policy must let every consumer account of another account pull (the tasks' execution roles do the rest)."""
    repository = ecr_repository_arn(config.consumer_image)
    if repository is None:
        return "", ""
    _, _, _, region, account, resource = repository.split(":", 5)
    if (account, region) != (target.account, target.region):
        return "", ""
    name = resource.split("/", 1)[1]
    ecr = session.client("ecr")
    try:
        text = ecr.get_repository_policy(repositoryName=name)["policyText"]
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        text = '{"Statement": []}'
    except ecr.exceptions.RepositoryNotFoundException:
        return f"the consumer image's repository {name} does not exist", "push the image, or correct consumer_image"
    consumers = sorted({c.account for e in config.environments for c in e.consumers} - {account})
    refused = image_pull_refused(json.loads(text), consumers, config.organization_id)
    if refused:
        principals = ", ".join(f"arn:{partition_of(region)}:iam::{a}:root" for a in refused)
        return (
            f"the consumer image's repository {name} does not let {', '.join(refused)} pull it",
            f"add to its repository policy a statement allowing {', '.join(PULLS)} to {principals}",
        )
    return f"consumer image pullable from {name}", ""


def image_pull_refused(policy: dict[str, Any], accounts: list[str], organization_id: str | None) -> list[str]:
    """The accounts a repository policy does not let pull (Allow statements only; a Deny there is its owner's)."""

    def listed(value: Any) -> list[str]:
        return [value] if isinstance(value, str) else list(value or [])

    admitted: set[str] = set()
    for statement in policy.get("Statement", []):
        actions = listed(statement.get("Action"))
        if statement.get("Effect") != "Allow" or not all(
            any(fnmatch.fnmatchcase(pull, pattern) for pattern in actions) for pull in PULLS
        ):
            continue
        principal = statement.get("Principal")
        aws = listed(principal.get("AWS") if isinstance(principal, dict) else principal)
        organization = json.dumps(statement.get("Condition", {}))
        if (
            "*" in aws
            and organization_id
            and f'"{organization_id}"' in organization
            and "PrincipalOrgID" in organization
        ):
            admitted |= set(accounts)
        admitted |= {a for a in accounts for p in aws if p == a or (p.startswith("arn:") and f":{a}:" in p)}
    return [a for a in accounts if a not in admitted]


def _existing_data_status(config: Config, target: OperatedAccount, session: Any) -> tuple[str, str]:
    """(detail, fix) of the existing buckets and tables the datasets of this source account name: each must be there,
    in the source region, and a customer-managed key its data is encrypted with must be the dataset's kms_key (the
    source roles may use that key only). Their own policies are their owner's: not read here."""
    s3, dynamodb, kms = session.client("s3"), session.client("dynamodb"), session.client("kms")
    checked = []
    for environment in config.environments:
        if (environment.source.account, environment.source.region) != (target.account, target.region):
            continue
        for dataset in environment.datasets:
            where = f"environments[{environment.name}].datasets[{dataset.name}]"
            bucket, table = dataset.bucket, dataset.table
            # The self-check writes into an existing dataset given read-write, unless the config asks for reads only.
            proves_writes = dataset.proof == "full" and any(
                a == "read-write" for _, a in environment.everyone_granted(dataset)
            )
            read_only = f"set proof: read-only in {where} (the test step then proves the reads only)"
            if bucket and bucket.existing:
                found = _bucket_region(s3, bucket.existing, target.account)
                if found[1]:
                    return f"{where}.bucket.existing: {bucket.existing} {found[0]}", found[1]
                region = found[0]
                if region != target.region:
                    return (
                        f"{where}.bucket.existing: {bucket.existing} is in {region}, the source is {target.region}",
                        "share a bucket of the source region (its clients and grants are that region's)",
                    )
                key = _bucket_key(s3, bucket.existing)
                problem = _key_problem(
                    kms,
                    key,
                    bucket.kms_key,
                    f"{where}.bucket",
                    bucket.existing,
                    across_accounts=bucket.through_access_point,
                )
                if problem:
                    return problem
                access_point = Names.of(config, environment).dataset(dataset).access_point_arn
                if bucket.through_access_point and not delegates_to_access_points(
                    _bucket_policy(s3, bucket.existing), bucket.existing, access_point
                ):
                    statement = access_point_delegation(
                        bucket.existing, target.account, target.region, config.project, partition_of(target.region)
                    )
                    return (
                        f"{where}.bucket.existing: the policy of {bucket.existing} does not delegate access control to "
                        "this account's access points: every request through the project's access point is refused",
                        f"add this statement to the policy of {bucket.existing} (docs/data-lake.md): "
                        f"{json.dumps(statement, separators=(',', ':'))}",
                    )
                if bucket.through_access_point:
                    foreign = _foreign_access_points(config, target, session, bucket.existing)
                    if foreign:
                        return foreign
                if proves_writes and _object_lock(s3, bucket.existing):
                    return (
                        f"{where}.bucket.existing: {bucket.existing} has Object Lock: every object the test step's "
                        "self-check writes there would be kept, undeletable, for the bucket's retention",
                        read_only,
                    )
                checked.append(f"bucket {bucket.existing}")
            if table and table.existing:
                try:
                    description = dynamodb.describe_table(TableName=table.existing)["Table"]
                except dynamodb.exceptions.ResourceNotFoundException:
                    return (
                        f"{where}.table.existing: {table.existing} is not a table of this account and region",
                        "name a table of the source account and region in the config",
                    )
                key = description.get("SSEDescription", {}).get("KMSMasterKeyArn")
                problem = _key_problem(kms, key, table.kms_key, f"{where}.table", table.existing)
                if problem:
                    return problem
                if proves_writes and description.get("StreamSpecification", {}).get("StreamEnabled"):
                    return (
                        f"{where}.table.existing: {table.existing} has a stream: every item the test step's self-check "
                        "writes and deletes there would reach the code that reads it",
                        read_only,
                    )
                checked.append(f"table {table.existing}")
    return (f"existing {', '.join(checked)} found, keys as configured" if checked else ""), ""


def _foreign_access_points(
    config: Config, target: OperatedAccount, session: Any, bucket: str
) -> tuple[str, str] | None:
    """(detail, fix) where the bucket's policy delegates to an access point of the bucket named like the project's
    (PROJECT-...) that no dataset of the config makes: another project whose name begins with this one's, say. The
    project's delegation statement admits every access point so named, and such an access point's own policy would
    decide requests to the bucket. Access points of other names are the bucket owner's and not read."""
    own = {
        Names.of(config, environment).dataset(dataset).access_point
        for environment in config.environments
        if (environment.source.account, environment.source.region) == (target.account, target.region)
        for dataset in environment.datasets
        if dataset.bucket and dataset.bucket.existing == bucket and dataset.bucket.through_access_point
    }
    s3control = session.client("s3control")
    listed: list[dict[str, Any]] = []
    more: dict[str, str] = {}
    while True:  # botocore has no paginator for it
        page = s3control.list_access_points(AccountId=target.account, Bucket=bucket, **more)
        listed += page.get("AccessPointList", [])
        if not page.get("NextToken"):
            break
        more = {"NextToken": page["NextToken"]}
    policy = _bucket_policy(session.client("s3"), bucket)
    partition, region = partition_of(target.region), target.region

    def arn(name: str) -> str:  # as AWS answers it (moto's listing names us-east-1 whatever the region)
        return f"arn:{partition}:s3:{region}:{target.account}:accesspoint/{name}"

    foreign = sorted(
        arn(point["Name"])
        for point in listed
        if point["Name"].startswith(f"{config.project}-")
        and point["Name"] not in own
        and delegates_to_access_points(policy, bucket, arn(point["Name"]))
    )
    if not foreign:
        return None
    arns = sorted(arn(name) for name in own)
    statement = access_point_delegation(bucket, target.account, region, config.project, partition, arns)
    return (
        f"the policy of {bucket} delegates to {', '.join(foreign)}, which no dataset of this config makes: its own "
        "policy decides requests to the bucket (another project whose name begins with this one's?)",
        f"name the project's access points exactly in the policy of {bucket}: "
        f"{json.dumps(statement, separators=(',', ':'))}, or delete that access point",
    )


def _table_aliases_status(
    config: Config, target: OperatedAccount, session: Any, sessions: SessionFactory
) -> tuple[str, str]:
    """(detail, fix) of the consumer's tables over existing buckets, once deployed: each table's location must name
    its access point's current alias. S3 gives an access point deleted and created again under its name a new alias,
    and the consumer stack reads it again only when the access point's name changes: a table on the old alias answers
    no query. The alias is read in the source account (GetAccessPoint), the table in this one."""
    glue = session.client("glue")
    checked = 0
    for environment in config.environments:
        names = Names.of(config, environment)
        for consumer in environment.consumers:
            if (consumer.account, consumer.region) != (target.account, target.region):
                continue
            tables = names.alias_datasets(environment, consumer)
            if not tables:
                continue
            source = sessions(environment.source.account, environment.source.region).client("s3control")
            for n in tables:
                try:
                    table = glue.get_table(DatabaseName=names.catalog_database, Name=n.catalog_table)["Table"]
                except glue.exceptions.EntityNotFoundException:
                    continue  # not deployed yet
                location = table.get("StorageDescriptor", {}).get("Location", "")
                try:
                    alias = source.get_access_point(AccountId=environment.source.account, Name=n.access_point)["Alias"]
                except ClientError as error:
                    return (
                        f"the access point {n.access_point} of {environment.source.account} could not be read "
                        f"({error.response['Error'].get('Code')}): the table "
                        f"{names.catalog_database}.{n.catalog_table} cannot be checked",
                        f"run make doctor with credentials of {environment.source.account} too; if the access point "
                        "is gone, release the pipeline (its sharing stage makes it)",
                    )
                checked += 1
                if location != n.catalog_location(alias):
                    where = f"environments[{environment.name}].consumers[{consumer.name}].grants"
                    return (
                        f"the table {names.catalog_database}.{n.catalog_table} reads {location}, but the access point "
                        f"{n.access_point} is now {n.catalog_location(alias)}: it was created again (a new alias), and "
                        "the table answers no query",
                        f"take {n.name} out of {where} and release the pipeline, then give it back and release again: "
                        "the table is made again on the new alias (the stack reads the alias only when it makes it)",
                    )
    return (f"tables on their access points' current aliases: {checked}" if checked else ""), ""


def _key_grants_status(config: Config, target: OperatedAccount, session: Any) -> tuple[str, str]:
    """(detail, fix) of the KMS grants of the existing keys in this source account, once their key-grants stack is
    deployed: each consumer role must hold its grant. A grant is found by its name, which carries the grantee's
    digest. KMS ties a grant to the role it was made for, not to its name: once that role is deleted, ListGrants shows
    its unique id (AROA...) instead of its ARN, and a role created again under the name has no grant, which no deploy
    makes again (nothing of the stack changed)."""
    kms, cloudformation = session.client("kms"), session.client("cloudformation")
    checked = 0
    for environment in config.environments:
        if (environment.source.account, environment.source.region) != (target.account, target.region):
            continue
        names = Names.of(config, environment)
        for consumer in environment.consumers:
            grants = names.key_grant_datasets(environment, consumer)
            stack = key_grants_stack_name(config, consumer_stage_id(environment, consumer))
            if not grants or not _deployed(cloudformation, stack):
                continue
            recreate = (
                f"delete the stack {stack} in this account (aws cloudformation delete-stack --stack-name {stack} "
                f"--region {target.region}), then release the pipeline: it grants the key again"
            )
            for n, access in grants:
                key = n.dataset.bucket.kms_key if n.dataset.bucket else ""
                held = {
                    str(grant.get("Name")): str(grant.get("GranteePrincipal"))
                    for page in kms.get_paginator("list_grants").paginate(KeyId=key)
                    for grant in page["Grants"]
                }
                for role in names.consumer_role_arns(consumer):
                    name = names.grant_name(n.name, consumer, role, actions.grant_operations(access))
                    checked += 1
                    grantee = held.get(name)
                    if grantee is None:
                        return (
                            f"the KMS grant {name} of {key} to {role} is missing: {role} cannot decrypt dataset "
                            f"{n.name}",
                            recreate,
                        )
                    if grantee != role:
                        return (
                            f"the KMS grant {name} of {key} names {grantee}, not {role}: the role was deleted, or "
                            f"created again, since the grant was made, and {role} cannot decrypt dataset {n.name}",
                            f"if {role} exists and was not created in the last few minutes, {recreate}; if it was, "
                            "run make doctor again in a few minutes",
                        )
    return (f"{checked} KMS grants of existing keys held" if checked else ""), ""


# What API Gateway needs to write a stage's access log: a role of the account's settings (one per account and region,
# shared by every API there), trusted by API Gateway, with AWS's managed policy for it.
API_LOGS_ROLE = "apigateway-cloudwatch-logs"


def _api_logging_status(config: Config, target: OperatedAccount, session: Any) -> tuple[str, str]:
    """(detail, fix) of a source account that shares an API: API Gateway refuses a stage with access logging
    ("CloudWatch Logs role ARN must be set in account settings to enable logging") unless the account's settings in
    that region name a role it writes logs with. The stacks do not set it: it is the account's, and another team's
    APIs may already log with a role of theirs."""
    shares = [
        e for e in config.environments
        if (e.source.account, e.source.region) == (target.account, target.region) and any(d.api for d in e.datasets)
    ]  # fmt: skip
    if not shares:
        return "", ""
    role = session.client("apigateway").get_account().get("cloudwatchRoleArn")
    if role:
        return f"API Gateway logs with {role}", ""
    return (
        f"API Gateway has no CloudWatch Logs role in {target.region}: the stage of {shares[0].name}'s API cannot log "
        "its calls, and its deploy fails",
        f"make bootstrap sets one (the role {API_LOGS_ROLE}) where the account has none (docs/shared-api.md)",
    )


def _deployed(cloudformation: Any, stack: str) -> bool:
    try:
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except ClientError as error:
        if "does not exist" in str(error):
            return False
        raise
    return str(status) in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")


def _bucket_policy(s3: Any, bucket: str) -> dict[str, Any] | None:
    try:
        return cast(dict[str, Any], json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]))
    except ClientError as error:
        if error.response["Error"].get("Code") == "NoSuchBucketPolicy":
            return None
        raise


def delegates_to_access_points(policy: dict[str, Any] | None, bucket: str, access_point_arn: str) -> bool:
    """Whether a bucket policy allows, to any principal, what the consumers do through the access point (the bucket's
    location, list, read, write and delete objects) on the bucket and its objects, for requests through it: the
    statement of config.actions.access_point_delegation, the S3 user guide's (every access point of the account), or
    one at least as wide for that access point. Other conditions of the statement, and the policy's Deny statements,
    are not read."""
    needed = [*actions.BUCKET_LOCATION, *actions.BUCKET_LIST, *actions.OBJECT_READ, *actions.OBJECT_WRITE]
    account, partition = access_point_arn.split(":")[4], access_point_arn.split(":")[1]
    arn = f"arn:{partition}:s3:::{bucket}"
    for statement in (policy or {}).get("Statement", []):
        principal = statement.get("Principal")
        if statement.get("Effect") != "Allow" or principal not in ("*", {"AWS": "*"}, {"AWS": ["*"]}):
            continue
        through = _access_point_conditions(statement.get("Condition", {}))
        if not through or not all(
            any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)
            for value, patterns in ((account, through.get("account")), (access_point_arn, through.get("arn")))
            if patterns is not None
        ):
            continue
        granted = _as_list(statement.get("Action", []))
        resources = _as_list(statement.get("Resource", []))
        covers = all(any(fnmatch.fnmatchcase(a.lower(), g.lower()) for g in granted) for a in needed) and all(
            any(fnmatch.fnmatchcase(concrete, r) for r in resources) for concrete in (arn, f"{arn}/a/key")
        )
        if covers:
            return True
    return False


def _access_point_conditions(condition: dict[str, Any]) -> dict[str, list[str]]:
    """The access point account and ARN patterns a statement's condition requires ("account", "arn"): exact values
    under StringEquals and ArnEquals, patterns under StringLike and ArnLike."""
    found: dict[str, list[str]] = {}
    for operator, keys in condition.items():
        if operator not in ("StringEquals", "StringLike", "ArnEquals", "ArnLike"):
            continue
        for key, values in keys.items():
            what = {"s3:dataaccesspointaccount": "account", "s3:dataaccesspointarn": "arn"}.get(key.lower())
            if what:
                patterns = _as_list(values)
                found[what] = patterns if operator.endswith("Like") else [p.replace("*", "[*]") for p in patterns]
    return found


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _object_lock(s3: Any, bucket: str) -> bool:
    try:
        configuration = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ObjectLockConfigurationNotFoundError":
            return False
        raise
    return bool(configuration.get("ObjectLockEnabled") == "Enabled")


def _bucket_region(s3: Any, bucket: str, account: str) -> tuple[str, str]:
    """(region, "") of a bucket of this account, or (problem, fix). HeadBucket with the expected owner: a bucket of
    another account, or one whose policy refuses the operator, answers 403; one that does not exist, 404."""
    try:
        head = s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(error.response["Error"].get("Code"))
        if status == 404 or code in {"404", "NoSuchBucket", "NotFound"}:
            return "does not exist", "name a bucket of the source account in the config"
        if status == 403 or code in {"403", "AccessDenied", "Forbidden"}:
            return (
                f"is not a bucket of {account}, or its policy refuses this operator",
                "name a bucket of the source account, or let its policy admit the account's administrators",
            )
        raise
    headers = head.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return str(head.get("BucketRegion") or headers.get("x-amz-bucket-region") or "us-east-1"), ""


def _bucket_key(s3: Any, bucket: str) -> str | None:
    """The KMS key a bucket encrypts new objects with by default, where it names one (SSE-KMS)."""
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as error:
        if error.response["Error"].get("Code") == "ServerSideEncryptionConfigurationNotFoundError":
            return None
        raise
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm", "").startswith("aws:kms") and default.get("KMSMasterKeyID"):
            return str(default["KMSMasterKeyID"])
    return None


def _key_problem(
    kms: Any, key: str | None, configured: str | None, where: str, name: str, *, across_accounts: bool = False
) -> tuple[str, str] | None:
    """(problem, fix) of a dataset's kms_key for the key its existing resource uses: a customer-managed key must be
    named. An AWS managed one (aws/s3) admits the account's own roles through the service, so the source roles need
    nothing; but no other account's principal, and its policy cannot be changed nor granted (S3 User Guide, SSE-KMS
    for cross-account operations): consumers reading with their own roles (across_accounts) cannot decrypt it."""
    if key is None:
        return None
    try:
        metadata = kms.describe_key(KeyId=key)["KeyMetadata"]
    except ClientError as error:
        if error.response["Error"].get("Code") != "AccessDeniedException":
            raise
        # Only a key policy that does not let the account's IAM policies grant the key refuses an administrator.
        return (
            f"{where}: the key policy of {key}, which {name} is encrypted with, does not let this account's IAM "
            "policies use it: the source roles could not either",
            f"add to its key policy the statement that lets the account's IAM policies grant it (principal "
            f"arn:aws:iam::{key.split(':')[4] if key.startswith('arn:') else 'ACCOUNT'}:root), or share another",
        )
    if metadata.get("KeyManager") == "AWS" and across_accounts:
        return (
            f"{where}: {name} is encrypted with the AWS managed key {metadata['Arn']}, which no other account's role "
            "can decrypt (its policy cannot be changed or granted): the consumers could not read it through the "
            "access point",
            f"encrypt {name} with a customer-managed key and set {where}.kms_key, or set {where}.access: role (the "
            "consumers then read through their source roles, in this account)",
        )
    if metadata.get("KeyManager") != "CUSTOMER" or configured == metadata["Arn"]:
        return None
    return (
        f"{where}.kms_key: {name} is encrypted with the customer-managed key {metadata['Arn']} (kms_key is "
        f"{configured or 'not set'}): the source roles could not decrypt it",
        f"set {where}.kms_key: {metadata['Arn']} in the config",
    )


def _policy_document(session: Any, target: OperatedAccount, name: str) -> dict[str, Any] | None:
    """The default version of the project's managed policy of that name, or None where it does not exist."""
    iam = session.client("iam")
    arn = f"arn:{partition_of(target.region)}:iam::{target.account}:policy/{name}"
    try:
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    except iam.exceptions.NoSuchEntityException:
        return None
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    if isinstance(document, str):  # URL-encoded JSON, as IAM's API documents it
        document = json.loads(urllib.parse.unquote(document))
    return cast(dict[str, Any], document)


def execution_role_problem(attached: list[str], wanted: list[str]) -> str | None:
    """What is wrong with the policies of CloudFormation's execution role, or None where they are the project's."""
    if attached == wanted:
        return None
    if any(arn.endswith(":iam::aws:policy/AdministratorAccess") for arn in attached):
        return (
            "CloudFormation's execution role in this account has AdministratorAccess: whoever can change the "
            "tooling account's pipeline administers this account"
        )
    names = ", ".join(arn.rsplit("/", 1)[-1] for arn in wanted)
    return f"CloudFormation's execution role has {', '.join(attached) or 'no policy'}, not the project's {names}"


def _execution_policies_attached(session: Any, target: OperatedAccount, cdk: Bootstrap) -> list[str]:
    """What the account's CloudFormation execution role holds, read from the role itself (a policy attached by hand,
    or put inline, counts as much as those `cdk bootstrap` attached): the managed policies' ARNs, then its inline
    policies as inline:NAME."""
    iam = session.client("iam")
    role = cdk.role("cfn-exec", target.account, target.region)
    attached = [
        policy["PolicyArn"]
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role)
        for policy in page["AttachedPolicies"]
    ]
    inline = [f"inline:{name}" for page in iam.get_paginator("list_role_policies").paginate(RoleName=role)
              for name in page["PolicyNames"]]  # fmt: skip
    return sorted(attached) + inline


def _bootstrap_version(session: Any, cdk: Bootstrap) -> int | None:
    try:
        session.client("cloudformation").describe_stacks(StackName=cdk.stack)
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    ssm = session.client("ssm")
    try:
        value = ssm.get_parameter(Name=cdk.version_parameter)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:  # a bootstrap stack older than the version parameter
        return 0
    return int(value)


def _trusted_accounts(session: Any, role_name: str) -> set[str]:
    iam = session.client("iam")
    try:
        document = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    except iam.exceptions.NoSuchEntityException:
        return set()
    if isinstance(document, str):
        document = json.loads(document)
    accounts: set[str] = set()
    for statement in document.get("Statement", []):
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in actions:
            continue
        principals = statement.get("Principal", {}).get("AWS", [])
        for principal in principals if isinstance(principals, list) else [principals]:
            accounts.add(principal.split(":")[4] if principal.startswith("arn:") else principal)
    return accounts


def _source_status(config: Config, session: Any) -> tuple[str, str] | None:
    repository = config.repository
    if isinstance(repository, CodeCommitRepository):
        codecommit = session.client("codecommit")
        try:
            codecommit.get_repository(repositoryName=repository.codecommit_repository)
        except codecommit.exceptions.RepositoryDoesNotExistException:
            return (
                f"CodeCommit repository {repository.codecommit_repository} not found",
                f"aws codecommit create-repository --repository-name {repository.codecommit_repository}",
            )
        return None
    service = repository.connection_arn.split(":")[2]
    status = session.client(service).get_connection(ConnectionArn=repository.connection_arn)["Connection"][
        "ConnectionStatus"
    ]
    if status != "AVAILABLE":
        return (
            f"connection {repository.connection_arn} is {status}",
            "complete the connection's handshake in the console (Developer Tools > Connections)",
        )
    return None


def _bootstrap_command(target: OperatedAccount, tooling: str, rerun: Rerun, cdk: Bootstrap) -> str:
    runs = " ".join(bootstrap_args(target, tooling, "<execution policy>", cdk))
    return f"{rerun.make(command='bootstrap')} (it runs: {runs})"


def bootstrap_args(target: OperatedAccount, tooling: str, execution_policy: str, cdk: Bootstrap) -> list[str]:
    """The project's own bootstrap (its qualifier and stack; see config.naming.Bootstrap)."""
    args = ["cdk", "bootstrap", f"aws://{target.account}/{target.region}", *cdk.cli_args()]
    if not target.is_tooling:
        args += ["--trust", tooling, "--cloudformation-execution-policies", execution_policy]
    return args


# What doctor checks in a source or consumer account once its bootstrap and policies are right, in order.
TARGET_CHECKS = (
    _api_logging_status,
    _task_network_status,
    _own_roles_status,
    _existing_data_status,
    _key_grants_status,
    _stacks_status,
    _unbounded_roles_status,
)
