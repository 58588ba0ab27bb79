"""The cells of one environment's shared data: every intended path of each consumer role (expected: allow) and a
fixed set of forbidden probes (expected: deny), each decided by the source account's real policies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from access_report.cells import ALLOW_ALL, Cell, ContextValue, Document, Expected, Request
from access_report.inputs import Inputs
from access_report.policies import SourcePolicies, identity_policies, managed_policy, resolver, source_policies
from cdk_constructs import actions
from config.model import Environment, consumer_stage_id
from config.naming import Names

OUTSIDER = "999999999999"  # an account in no configuration: the third account
OUTSIDER_ORGANIZATION = "o-outsider000"
OBJECT_KEY = "reports/sample.csv"
INDEX = "by-date"


@dataclass(frozen=True)
class Principal:
    who: str
    arn: str
    account: str
    organization: str | None


@dataclass(frozen=True)
class _Share:
    """One environment's share, as the cells of its requests need it."""

    environment: Environment
    names: Names
    source: SourcePolicies
    organization: str | None

    @property
    def bucket(self) -> str:
        return self.names.bucket_arn

    @property
    def objects(self) -> str:
        return f"{self.names.bucket_arn}/{OBJECT_KEY}"

    def through(self, service: str, caller_account: str | None) -> dict[str, ContextValue]:
        """The request context of a key used through S3 or DynamoDB in the source region."""
        return {
            "kms:ViaService": self.names.service_endpoint(service),
            "kms:ResourceAliases": [self.names.key_alias],
            "kms:CallerAccount": caller_account,
        }

    def cell(self, principal: Principal, request: Request, expected: Expected, identity: Sequence[Document]) -> Cell:
        return Cell(
            environment=self.environment.name,
            who=principal.who,
            principal=principal.arn,
            principal_account=principal.account,
            request=request,
            resource_account=self.names.source_account,
            expected=expected,
            identity_policies=tuple(identity),
            organization=principal.organization,
        )


def environment_cells(inputs: Inputs, environment: Environment) -> list[Cell]:
    names = Names.of(inputs.config, environment)
    organization = inputs.config.organization_id
    share = _Share(environment, names, source_policies(inputs, environment, names), organization)
    cells: list[Cell] = []
    for consumer in environment.consumers:
        template = inputs.consumers[(environment.name, consumer.name)]
        resolve = resolver(template, consumer.account, consumer.region, consumer_stage_id(environment, consumer))
        for role_name, label in ((names.function_role, "function role"), (names.task_role, "task role")):
            principal = Principal(
                f"{consumer.name} {label}", names.role_arn(consumer.account, role_name), consumer.account, organization
            )
            identity = identity_policies(template, resolve, role_name)
            cells += [share.cell(principal, request, "allow", identity) for request in _intended(share, principal)]
            cells += _forbidden(share, principal, identity)
        # The consumer's own roles, with the policy their team attaches: the same paths as the demo workloads'.
        if consumer.roles:
            attached = [managed_policy(template, resolve, names.shared_data_policy)]
            for role in consumer.roles:
                principal = Principal(
                    f"{consumer.name} own role {role}",
                    names.role_arn(consumer.account, role),
                    consumer.account,
                    organization,
                )
                cells += [share.cell(principal, request, "allow", attached) for request in _intended(share, principal)]
                cells += _forbidden(share, principal, attached)
                # The same role name in another account, inside the organization where grants go by organization:
                # the grant names the consumer's account, so that role gets nothing.
                namesake = Principal(
                    f"{role} of another account" + (" of the organization" if organization else ""),
                    names.role_arn(OUTSIDER, role),
                    OUTSIDER,
                    organization,
                )
                cells += _outsider_probes(share, [namesake])
        # Principals in or around the consumer account that must get nothing, whatever their own policies.
        outsiders = [
            Principal(
                f"{consumer.name} account: another role",
                names.role_arn(consumer.account, "intruder"),
                consumer.account,
                organization,
            ),
            Principal(
                f"{consumer.name} account: root",
                f"arn:{names.partition}:iam::{consumer.account}:root",
                consumer.account,
                organization,
            ),
        ]
        cells += _outsider_probes(share, outsiders)
    third = names.role_arn(OUTSIDER, names.function_role)
    if organization:
        outsider = Principal("account outside the organization", third, OUTSIDER, OUTSIDER_ORGANIZATION)
    else:
        outsider = Principal("third account, same role name", third, OUTSIDER, None)
    cells += _outsider_probes(share, [outsider])
    if environment.share.table_access == "role":
        cells += _through_source_role(share)
    return cells


def _intended(share: _Share, principal: Principal) -> list[Request]:
    """Every path the config gives a consumer role; with the role's real identity policies both sides must allow."""
    names, source, given = share.names, share.source, share.environment.share
    s3, dynamodb = share.through("s3", principal.account), share.through("dynamodb", principal.account)
    requests = [Request("bucket", "s3:ListBucket", share.bucket, source.bucket_policy)]
    requests += [
        Request("objects", a, share.objects, source.bucket_policy) for a in actions.object_actions(given.bucket)
    ]
    requests += [Request("key", a, source.key_arn, source.key_policy, s3) for a in actions.key_actions(given.bucket)]
    if given.table_access == "role":
        requests.append(Request("source role", "sts:AssumeRole", names.source_role_arn, source.role_trust))
    else:
        requests += [
            Request("table", a, names.table_arn, source.table_policy) for a in actions.table_actions(given.table)
        ]
        requests += [
            Request("key", a, source.key_arn, source.key_policy, dynamodb) for a in actions.key_actions(given.table)
        ]
    return requests


def _forbidden(share: _Share, principal: Principal, identity: Sequence[Document]) -> list[Cell]:
    """What the source account's policies alone allow a consumer role (its account may grant it anything), and
    what its real policies allow without TLS."""
    names, source, given = share.names, share.source, share.environment.share

    def alone(request: Request, who: str = principal.who) -> Cell:
        return share.cell(_labelled(principal, who), request, "deny", [ALLOW_ALL])

    cells = [
        alone(Request("objects", "s3:DeleteObject", share.objects, source.bucket_policy)),
        alone(Request("bucket", "s3:PutBucketPolicy", share.bucket, source.bucket_policy)),
        share.cell(
            _labelled(principal, f"{principal.who} without TLS"),
            Request("objects", "s3:GetObject", share.objects, source.bucket_policy, {"aws:SecureTransport": "false"}),
            "deny",
            identity,
        ),
        alone(
            Request("key", "kms:Decrypt", source.key_arn, source.key_policy, {"kms:CallerAccount": principal.account}),
            f"{principal.who} calling KMS directly",
        ),
        alone(
            Request(
                "key",
                "kms:ScheduleKeyDeletion",
                source.key_arn,
                source.key_policy,
                share.through("s3", principal.account),
            )
        ),
    ]
    if given.bucket == "read":
        cells.append(alone(Request("objects", "s3:PutObject", share.objects, source.bucket_policy)))
    if given.table_access == "resource-policy":
        unlisted = ("dynamodb:DeleteTable", "dynamodb:Scan") + (actions.TABLE_WRITE if given.table == "read" else ())
        cells += [alone(Request("table", a, names.table_arn, source.table_policy)) for a in unlisted]
    return cells


def _outsider_probes(share: _Share, outsiders: Sequence[Principal]) -> list[Cell]:
    names, source = share.names, share.source
    cells = []
    for outsider in outsiders:
        requests = [
            Request("bucket", "s3:ListBucket", share.bucket, source.bucket_policy),
            Request("objects", "s3:GetObject", share.objects, source.bucket_policy),
            Request("key", "kms:Decrypt", source.key_arn, source.key_policy, share.through("s3", outsider.account)),
        ]
        if share.environment.share.table_access == "role":
            requests.append(Request("source role", "sts:AssumeRole", names.source_role_arn, source.role_trust))
        else:
            requests.append(Request("table", "dynamodb:GetItem", names.table_arn, source.table_policy))
        cells += [share.cell(outsider, request, "deny", [ALLOW_ALL]) for request in requests]
    return cells


def _through_source_role(share: _Share) -> list[Cell]:
    """The source role in its own account: only the listed table actions, nothing else."""
    names, source, given = share.names, share.source, share.environment.share
    role = Principal("source role", names.source_role_arn, names.source_account, share.organization)
    expected: list[tuple[str, str, Expected]] = [
        (a, names.table_arn, "allow") for a in actions.table_actions(given.table)
    ]
    expected.append(("dynamodb:Query", f"{names.table_arn}/index/{INDEX}", "allow"))
    forbidden = ("dynamodb:DeleteTable", "dynamodb:Scan", "dynamodb:DeleteItem") + (
        actions.TABLE_WRITE if given.table == "read" else ()
    )
    expected += [(action, names.table_arn, "deny") for action in forbidden]
    cells = [
        share.cell(role, Request("table", action, resource, source.table_policy), outcome, source.role_policies)
        for action, resource, outcome in expected
    ]
    via = {"kms:ViaService": names.service_endpoint("dynamodb"), "kms:CallerAccount": names.source_account}
    cells.append(
        share.cell(
            role, Request("key", "kms:Decrypt", source.key_arn, source.key_policy, via), "allow", source.role_policies
        )
    )
    return cells


def _labelled(principal: Principal, who: str) -> Principal:
    return Principal(who, principal.arn, principal.account, principal.organization)
