"""The cells of one environment's datasets: for every consumer role and every dataset, what the config gives it
(expected: allow, at its access) and, for a dataset it is not given, the denials; and a fixed set of forbidden
probes (expected: deny). Each is decided by the source account's real policies.

A probe of what a consumer must not reach gives the principal an identity policy that allows everything (its
account controls its own policies), so only the source account's policies decide it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from access_report.cells import ALLOW_ALL, Cell, ContextValue, Document, Expected, Request
from access_report.inputs import Inputs
from access_report.policies import (
    DatasetPolicies,
    SourcePolicies,
    identity_policies,
    managed_policy,
    resolver,
    source_policies,
)
from bootstrap.policies import permissions_boundary
from cdk_constructs.documents import source_role_ends
from config import actions
from config.actions import Access
from config.model import Consumer, ConsumerGroup, Dataset, Environment, consumer_stage_id, root_of
from config.naming import DatasetNames, Names

OUTSIDER = "999999999999"  # an account in no configuration: the third account
OUTSIDER_ORGANIZATION = "o-outsider000"
OBJECT_KEY = "reports/sample.csv"
OUTSIDE_PREFIX = "elsewhere/sample.csv"  # under no dataset's prefix
INDEX = "by-date"
ITEM = "order-1"  # an item of a shared API
STACK_UUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"  # CloudFormation ends a stack's ARN with an id of its choosing


@dataclass(frozen=True)
class Principal:
    who: str
    arn: str
    account: str
    organization: str | None
    org_paths: tuple[str, ...] = ()  # its account's path in the organization (aws:PrincipalOrgPaths)


@dataclass(frozen=True)
class _Share:
    """One environment's datasets, as the cells of its requests need them."""

    environment: Environment
    names: Names
    source: SourcePolicies
    organization: str | None
    boundary: Document  # what every role of the project carries (bootstrap/policies.py)
    at: datetime  # when the requests are made: a grant that has ended by then is expected refused

    def policies(self, dataset: Dataset) -> DatasetPolicies:
        return self.source.datasets[dataset.name]

    def through(self, service: str, n: DatasetNames, caller_account: str | None) -> dict[str, ContextValue]:
        """The request context of a dataset's key used through S3 (with the bucket's S3 Bucket Key) or DynamoDB in
        the source region."""
        return {
            "kms:ViaService": self.names.service_endpoint(service),
            "kms:ResourceAliases": [n.key_alias],
            "kms:CallerAccount": caller_account,
        }

    def cell(
        self,
        principal: Principal,
        request: Request,
        expected: Expected,
        identity: Sequence[Document],
        dataset: str | None = None,
        resource_account: str | None = None,
    ) -> Cell:
        return Cell(
            environment=self.environment.name,
            who=principal.who,
            principal=principal.arn,
            principal_account=principal.account,
            request=request,
            resource_account=resource_account or self.names.source_account,
            expected=expected,
            identity_policies=tuple(identity),
            organization=principal.organization,
            org_paths=principal.org_paths,
            dataset=dataset,
            at=self.at,
            # Every role the project writes carries the boundary `make bootstrap` creates: cells with the role's real
            # policies are decided with it, so a grant the boundary would cut (an existing bucket it does not name)
            # shows. A probe of what the source account's policies alone allow has none: the principal's account
            # controls its roles and their boundaries.
            boundary=self.boundary
            if f":role/{self.names.project}-" in principal.arn and ALLOW_ALL not in identity
            else None,
        )


def environment_cells(inputs: Inputs, environment: Environment, at: datetime) -> list[Cell]:
    names = Names.of(inputs.config, environment)
    organization = inputs.config.organization_id
    boundary = permissions_boundary(inputs.config, names.partition)
    share = _Share(environment, names, source_policies(inputs, environment, names), organization, boundary, at)
    cells: list[Cell] = []
    for consumer in environment.consumers:
        template = inputs.consumers[(environment.name, consumer.name)]
        resolve = resolver(template, consumer.account, consumer.region, consumer_stage_id(environment, consumer))
        principals = [
            (
                Principal(
                    f"{consumer.name} {label}", names.role_arn(consumer.account, role), consumer.account, organization
                ),
                identity_policies(template, resolve, role),
            )
            for role, label in (
                (names.function_role, "function role"),
                (names.task_role, "task role"),
                # The workloads its extensions add (extensions/), with their real policies.
                *((names.workload_role(w), f"{w} role") for w in consumer.workloads),
            )
        ]
        # The consumer's own roles, with the policy their team attaches: the same paths as the demo workloads'.
        if consumer.roles:
            attached = [managed_policy(template, resolve, names.shared_data_policy)]
            principals += [
                (
                    Principal(
                        f"{consumer.name} own role {role}",
                        names.role_arn(consumer.account, role),
                        consumer.account,
                        organization,
                    ),
                    attached,
                )
                for role in consumer.roles
            ]
        for principal, identity in principals:
            for dataset in environment.datasets:
                access = _access_at(consumer, dataset, at)
                if access:
                    cells += _given(share, consumer, principal, identity, dataset, access)
                else:
                    cells += _not_given(share, principal, dataset)
            cells += _other_source_roles(share, consumer, principal)
        for role in consumer.roles:
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
        if consumer.name in share.source.roles:
            cells += _through_source_role(share, consumer)
            ends = source_role_ends(names, environment, consumer)
            if ends and ends <= at:
                # Every grant it reached through its source role has ended: so has the role's trust in it.
                arn = names.source_role_arn(consumer)
                cells += [
                    share.cell(principal, Request("source role", "sts:AssumeRole", arn, _trust(share, consumer)),
                               "deny", identity)
                    for principal, identity in principals
                ]  # fmt: skip
        if names.looks_up(environment, consumer):
            reader = identity_policies(template, resolve, names.consumer_locate_role)
            cells += _locating(share, consumer, reader)
    for index, group in enumerate(environment.consumer_groups):
        cells += _group_cells(share, group, index, inputs.groups[(environment.name, group.name)])
    third = names.role_arn(OUTSIDER, names.function_role)
    if organization:
        outsiders = [
            Principal("account outside the organization", third, OUTSIDER, OUTSIDER_ORGANIZATION),
            # A consumer removed from the config keeps its stack and roles (CDK Pipelines deletes no stack): an
            # account of the organization the config does not name gets nothing, whatever its roles are called.
            Principal("account of the organization not in the config, same role name", third, OUTSIDER, organization),
        ]
    else:
        outsiders = [Principal("third account, same role name", third, OUTSIDER, None)]
    cells += _outsider_probes(share, outsiders)
    return cells


# Sample accounts of a consumer group (the report cannot list an organizational unit's accounts; the rehearsal's
# emulated organization has them): one per unit, one in a unit under the first, one of the organization outside them.
GROUP_SAMPLES = 710_000_000_000


def group_samples(organization: str, group: ConsumerGroup, index: int) -> list[tuple[str, str, tuple[str, ...]]]:
    """(who, account, aws:PrincipalOrgPaths) of the accounts that sample a group in the report: the accounts of its
    units (and of a unit under the first) are its consumers."""
    base = GROUP_SAMPLES + index * 1_000
    found: list[tuple[str, str, tuple[str, ...]]] = []
    for u, unit in enumerate(group.organizational_units):
        root = root_of(unit)
        path = f"{organization}/{root}/" if unit == root else f"{organization}/{root}/{unit}/"
        found.append((f"{group.name} account in {unit}", f"{base + u:012d}", (path,)))
        if u == 0:
            child = f"ou-{root.removeprefix('r-')}-sample00"
            found.append((f"{group.name} account in {child} under {unit}", f"{base + 100:012d}", (f"{path}{child}/",)))
    return found


def group_outsider(organization: str, group: ConsumerGroup, index: int) -> tuple[str, str, tuple[str, ...]]:
    """An account of the organization in none of the group's units (nor under them)."""
    root = root_of(group.organizational_units[0])
    path = f"{organization}/{root}/ou-{root.removeprefix('r-')}-outside0/"
    who = f"third account: of the organization, outside {group.name}'s units"
    return (who, f"{GROUP_SAMPLES + index * 1_000 + 999:012d}", (path,))


def _group_cells(share: _Share, group: ConsumerGroup, index: int, template: dict[str, Any]) -> list[Cell]:
    """A consumer group's sample accounts decided as consumers, with the roles of the group's names in them and their
    side of the grants (the consumer policy each account's stack holds); an account of the organization outside the
    group's units, with the same role names, gets nothing."""
    names, organization = share.names, share.organization
    if organization is None:  # the config refuses a group without one
        return []
    roles = [names.function_role, names.task_role, *group.roles]
    cells: list[Cell] = []
    for who, account, paths in group_samples(organization, group, index):
        member = group.member(account, group.regions[0])
        # The group's template as its StackSet deploys it in that account: the demo roles' own policies, and the
        # shared-data policy its own roles' team attaches.
        resolve = resolver(template, account, group.regions[0], f"{share.environment.name}-{group.name}")
        attached = [managed_policy(template, resolve, names.shared_data_policy)]
        for role in roles:
            identity = identity_policies(template, resolve, role) if role not in group.roles else attached
            principal = Principal(f"{who}: {role}", names.role_arn(account, role), account, organization, paths)
            for dataset in share.environment.datasets:
                access = _access_at(member, dataset, share.at)
                if access:
                    cells += _given(share, member, principal, identity, dataset, access, consumer_template=False)
                else:
                    cells += _not_given(share, principal, dataset)
            cells += _other_source_roles(share, member, principal)
    who, account, paths = group_outsider(organization, group, index)
    cells += _outsider_probes(
        share,
        [Principal(f"{who}: {role}", names.role_arn(account, role), account, organization, paths) for role in roles],
    )
    if group.name in share.source.roles:
        cells += _through_source_role(share, group.member(names.source_account, group.regions[0]))
    return cells


def _access_at(consumer: Consumer, dataset: Dataset, at: datetime) -> Access | None:
    """What the consumer is given of a dataset at that instant: nothing once its grant has ended."""
    grant = consumer.grants.get(dataset.name)
    return grant.access if grant and grant.active(at) else None


def _objects(n: DatasetNames) -> str:
    return f"{n.bucket_arn}/{n.prefix}{OBJECT_KEY}"


def _point_objects(n: DatasetNames) -> str:
    return f"{n.access_point_objects_arn.removesuffix('*')}{OBJECT_KEY}"


def _item(n: DatasetNames, policies: DatasetPolicies, method: str) -> str:
    """An item of a shared API as API Gateway authorizes a call to it: the stage, the method and the item's path."""
    return n.api_arn(str(policies.api_id), method, f"items/{ITEM}")


def _list_context(n: DatasetNames) -> dict[str, ContextValue]:
    return {"s3:prefix": n.prefix} if n.prefix else {}


def _given(
    share: _Share,
    consumer: Consumer,
    principal: Principal,
    identity: Sequence[Document],
    dataset: Dataset,
    access: Access,
    *,
    consumer_template: bool = True,
) -> list[Cell]:
    """Every path the config gives the principal on the dataset (with its real identity policies: both sides must
    allow), and what it must still be denied there. consumer_template: whether the consumer's stack is in the
    synthesis (its catalog's cells need it)."""
    n, policies = share.names.dataset(dataset), share.policies(dataset)
    names = share.names

    def allow(request: Request) -> Cell:
        return share.cell(principal, request, "allow", identity, dataset.name)

    def alone(request: Request, who: str = principal.who) -> Cell:
        return share.cell(_labelled(principal, who), request, "deny", [ALLOW_ALL], dataset.name)

    cells = []
    if n.through_role:
        cells.append(
            allow(Request("source role", "sts:AssumeRole", names.source_role_arn(consumer), _trust(share, consumer)))
        )
    if n.owns_bucket:
        bucket = policies.bucket_policy
        cells.append(allow(Request("bucket", "s3:ListBucket", n.bucket_arn, bucket, _list_context(n))))
        cells += [allow(Request("objects", a, _objects(n), bucket)) for a in actions.object_actions(access)]
        cells += [
            allow(
                Request("key", a, str(policies.key_arn), policies.key_policy, share.through("s3", n, principal.account))
            )
            for a in actions.key_actions(access)
        ]
        cells += [
            alone(Request("bucket", "s3:PutBucketPolicy", n.bucket_arn, bucket)),
            share.cell(
                _labelled(principal, f"{principal.who} without TLS"),
                Request("objects", "s3:GetObject", _objects(n), bucket, {"aws:SecureTransport": "false"}),
                "deny",
                identity,
                dataset.name,
            ),
        ]
        if access == "read":
            cells += [alone(Request("objects", a, _objects(n), bucket)) for a in actions.OBJECT_WRITE]
        if n.prefix:
            # A prefix grant must not leak the rest of the bucket.
            cells += [
                alone(Request("bucket", "s3:ListBucket", n.bucket_arn, bucket), f"{principal.who} listing all of it"),
                alone(
                    Request("objects", "s3:GetObject", f"{n.bucket_arn}/{OUTSIDE_PREFIX}", bucket),
                    f"{principal.who} outside {n.prefix}",
                ),
            ]
    if n.has_api:
        api = policies.api_policy
        cells += [
            allow(Request("api", actions.INVOKE[0], _item(n, policies, m), api)) for m in actions.api_methods(access)
        ]
        if access == "read":
            # A reader's writes: refused by the API's policy, whatever the caller's own allow.
            cells += [
                alone(Request("api", actions.INVOKE[0], _item(n, policies, m), api), f"{principal.who} writing")
                for m in actions.API_WRITE_METHODS
            ]
    if n.catalog_table and principal.account == consumer.account and consumer_template:
        cells += _catalog(share, consumer, principal, identity, n)
    if n.through_access_point:
        # The project's half of a request through the access point; the other half, the bucket's delegation to the
        # account's access points, is its owner's policy (make doctor checks it); the existing key's use is a KMS
        # grant (stacks/key_grants_stack.py), which the engine does not evaluate.
        point = policies.access_point_policy
        cells.append(allow(Request("access point", "s3:ListBucket", n.access_point_arn, point, _list_context(n))))
        cells.append(allow(Request("access point", "s3:GetBucketLocation", n.access_point_arn, point)))
        cells += [
            allow(Request("access point objects", a, _point_objects(n), point)) for a in actions.object_actions(access)
        ]
        cells.append(
            share.cell(
                _labelled(principal, f"{principal.who} without TLS"),
                Request(
                    "access point objects", "s3:GetObject", _point_objects(n), point, {"aws:SecureTransport": "false"}
                ),
                "deny",
                identity,
                dataset.name,
            )
        )
        if access == "read":
            cells += [alone(Request("access point objects", a, _point_objects(n), point)) for a in actions.OBJECT_WRITE]
        if n.prefix:
            cells += [
                alone(
                    Request("access point", "s3:ListBucket", n.access_point_arn, point),
                    f"{principal.who} listing all of it",
                ),
                alone(
                    Request(
                        "access point objects", "s3:GetObject", f"{n.access_point_arn}/object/{OUTSIDE_PREFIX}", point
                    ),
                    f"{principal.who} outside {n.prefix}",
                ),
            ]
    if n.owns_table and not n.table_through_role:
        table = policies.table_policy
        cells += [allow(Request("table", a, n.table_arn, table)) for a in actions.table_actions(access)]
        cells += [
            allow(
                Request(
                    "key",
                    a,
                    str(policies.key_arn),
                    policies.key_policy,
                    share.through("dynamodb", n, principal.account),
                )
            )
            for a in actions.key_actions(access)
        ]
        unlisted = ("dynamodb:DeleteTable", "dynamodb:Scan") + (actions.TABLE_WRITE if access == "read" else ())
        cells += [alone(Request("table", a, n.table_arn, table)) for a in unlisted]
    if n.has_key:
        cells += [
            alone(
                Request(
                    "key",
                    "kms:Decrypt",
                    str(policies.key_arn),
                    policies.key_policy,
                    {"kms:CallerAccount": principal.account},
                ),
                f"{principal.who} calling KMS directly",
            ),
            alone(
                Request(
                    "key",
                    "kms:ScheduleKeyDeletion",
                    str(policies.key_arn),
                    policies.key_policy,
                    share.through("s3", n, principal.account),
                )
            ),
        ]
    return cells


CONSUMERS_OWN = frozenset(
    {"workgroup", "catalog", "results"}
)  # the paths of _catalog's requests in the consumer's account


def _catalog(
    share: _Share, consumer: Consumer, principal: Principal, identity: Sequence[Document], n: DatasetNames
) -> list[Cell]:
    """The dataset's table, queried in the consumer's own account: the bucket's location that Athena asks first (the
    source bucket's policy decides it too), the workgroup, the table and its partitions, the results; and no other
    workgroup. Decided by the role's own policies and boundary (no resource policy in the consumer account)."""
    names, dataset = share.names, n.dataset
    own = consumer.account
    table = names.catalog_arns(consumer, [n.catalog_table or ""])[-1]
    results = f"arn:{names.partition}:s3:::{names.query_results_bucket(consumer)}/query-id.csv"
    other = names.consumer_arn(consumer, "athena", "workgroup/primary")
    asked = [
        ("workgroup", "athena:StartQueryExecution", names.workgroup_arn(consumer), "allow"),
        ("workgroup", "athena:GetQueryResults", names.workgroup_arn(consumer), "allow"),
        ("catalog", "glue:GetTable", table, "allow"),
        ("results", "s3:PutObject", results, "allow"),
        ("results", "s3:GetObject", results, "allow"),
        ("workgroup", "athena:StartQueryExecution", other, "deny"),  # the account's others: not the project's
        ("catalog", "glue:DeleteTable", table, "deny"),  # the stack's to change
    ]
    if dataset.catalog and dataset.catalog.partition_keys:
        asked.append(("catalog", "glue:BatchCreatePartition", table, "allow"))
    cells = [
        share.cell(principal, Request(path, action, arn, None), expected, identity, dataset.name, own)  # type: ignore[arg-type]
        for path, action, arn, expected in asked
    ]
    if not n.through_access_point:  # through the access point, its own cells ask the location there
        bucket = share.policies(dataset).bucket_policy
        cells.append(
            share.cell(
                principal,
                Request("bucket", "s3:GetBucketLocation", n.bucket_arn, bucket),
                "allow",
                identity,
                dataset.name,
            )
        )
    return cells


def _locating(share: _Share, consumer: Consumer, reader: Sequence[Document]) -> list[Cell]:
    """Where the consumer's tables over existing buckets are: its alias reader (the consumer stack's custom resource)
    assumes its locator role in the source account, which reads the access points' configuration; another role of the
    consumer's account, and another consumer's alias reader, may not assume it."""
    names = share.names
    locator = share.source.locators[consumer.name]
    arn = names.role_arn(names.source_account, names.locate_role(consumer))
    organization = share.organization
    own = Principal(
        f"{consumer.name} alias reader",
        names.role_arn(consumer.account, names.consumer_locate_role),
        consumer.account,
        organization,
    )
    role = Principal(f"{consumer.name} locator role", arn, names.source_account, organization)
    cells = [share.cell(own, Request("locator role", "sts:AssumeRole", arn, locator.trust), "allow", reader)]
    if names.alias_datasets(share.environment, consumer):
        # GetAccessPoint names no resource in IAM: a request on "*", as the Service Authorization Reference has it.
        cells.append(
            share.cell(role, Request("access point", "s3:GetAccessPoint", "*", None), "allow", locator.policies)
        )
    if names.api_datasets(share.environment):
        # The APIs' ids, read from the sharing stack's resources; never another stack's.
        stack = f"arn:{names.partition}:cloudformation:{names.source_region}:{names.source_account}:stack"
        stacks: list[tuple[str, Expected]] = [(names.sharing_stack, "allow"), (f"{names.project}-other", "deny")]
        cells += [
            share.cell(role, Request("sharing stack", actions.LOCATE_API[0], f"{stack}/{name}/{STACK_UUID}", None),
                       expected, locator.policies)
            for name, expected in stacks
        ]  # fmt: skip
    cells += [
        # Another role of the consumer's account, whatever its own policies allow: the trust names the reader alone.
        share.cell(
            Principal(
                f"{consumer.name} account: another role",
                names.role_arn(consumer.account, "intruder"),
                consumer.account,
                organization,
            ),
            Request("locator role", "sts:AssumeRole", arn, locator.trust),
            "deny",
            [ALLOW_ALL],
        ),
    ]
    others = [c for c in share.environment.consumers if c.account != consumer.account]
    if others:
        other = Principal(
            f"{others[0].name} alias reader (another consumer's locator)",
            names.role_arn(others[0].account, names.consumer_locate_role),
            others[0].account,
            organization,
        )
        cells.append(
            share.cell(other, Request("locator role", "sts:AssumeRole", arn, locator.trust), "deny", [ALLOW_ALL])
        )
    return cells


def _not_given(share: _Share, principal: Principal, dataset: Dataset) -> list[Cell]:
    """A dataset the principal's consumer is not given: the source account's policies alone deny it everything."""
    return [
        share.cell(
            _labelled(principal, f"{principal.who} (not given {dataset.name})"),
            request,
            "deny",
            [ALLOW_ALL],
            dataset.name,
        )
        for request in _reads(share, dataset, principal.account)
    ]


def _reads(share: _Share, dataset: Dataset, caller_account: str) -> list[Request]:
    """Reading the dataset by every resource policy the stage writes on it."""
    n, policies = share.names.dataset(dataset), share.policies(dataset)
    requests = []
    if n.owns_bucket:
        requests += [
            Request("bucket", "s3:ListBucket", n.bucket_arn, policies.bucket_policy, _list_context(n)),
            Request("objects", "s3:GetObject", _objects(n), policies.bucket_policy),
            Request(
                "key", "kms:Decrypt", str(policies.key_arn), policies.key_policy, share.through("s3", n, caller_account)
            ),
        ]
    if n.through_access_point:
        point = policies.access_point_policy
        requests += [
            Request("access point", "s3:ListBucket", n.access_point_arn, point, _list_context(n)),
            Request("access point objects", "s3:GetObject", _point_objects(n), point),
        ]
    if n.has_api:
        requests.append(Request("api", actions.INVOKE[0], _item(n, policies, "GET"), policies.api_policy))
    if n.owns_table and not n.table_through_role:
        requests += [
            Request("table", "dynamodb:GetItem", n.table_arn, policies.table_policy),
            Request(
                "key",
                "kms:Decrypt",
                str(policies.key_arn),
                policies.key_policy,
                share.through("dynamodb", n, caller_account),
            ),
        ]
    return requests


def _other_source_roles(share: _Share, consumer: Consumer | ConsumerGroup, principal: Principal) -> list[Cell]:
    """Another consumer's source role is not this consumer's to assume."""
    return [
        share.cell(
            _labelled(principal, f"{principal.who} (another consumer's source role)"),
            Request("source role", "sts:AssumeRole", share.names.source_role_arn(other), _trust(share, other)),
            "deny",
            [ALLOW_ALL],
        )
        for other in share.environment.given
        if other.name != consumer.name and other.name in share.source.roles
    ]


def _trust(share: _Share, consumer: Consumer | ConsumerGroup) -> Document | None:
    role = share.source.roles.get(consumer.name)
    return role.trust if role else None


def _outsider_probes(share: _Share, outsiders: Sequence[Principal]) -> list[Cell]:
    cells = []
    for outsider in outsiders:
        for dataset in share.environment.datasets:
            cells += [
                share.cell(outsider, request, "deny", [ALLOW_ALL], dataset.name)
                for request in _reads(share, dataset, outsider.account)
            ]
        cells += [
            share.cell(
                outsider,
                Request(
                    "source role", "sts:AssumeRole", share.names.source_role_arn(consumer), _trust(share, consumer)
                ),
                "deny",
                [ALLOW_ALL],
            )
            for consumer in share.environment.given
            if consumer.name in share.source.roles
        ]
    return cells


def _through_source_role(share: _Share, consumer: Consumer) -> list[Cell]:
    """The consumer's source role in its own account: exactly what the consumer reaches through it, at its access,
    and nothing of a dataset it is not given. The resource policy of an existing bucket or table is its owner's and
    not in any template: these cells show what the project's policies allow."""
    names = share.names
    policies = share.source.roles[consumer.name].policies
    role = Principal(
        f"{consumer.name} source role", names.source_role_arn(consumer), names.source_account, share.organization
    )
    cells = []

    def cell(request: Request, expected: Expected, dataset: Dataset) -> Cell:
        return share.cell(role, request, expected, policies, dataset.name)

    for dataset in share.environment.datasets:
        n, dataset_policies = names.dataset(dataset), share.policies(dataset)
        access = _access_at(consumer, dataset, share.at)
        table = dataset_policies.table_policy
        if n.table_through_role:
            if access:
                cells += [
                    cell(Request("table", a, n.table_arn, table), "allow", dataset)
                    for a in actions.table_actions(access)
                ]
                cells.append(
                    cell(Request("table", "dynamodb:Query", f"{n.table_arn}/index/{INDEX}", table), "allow", dataset)
                )
                forbidden = ("dynamodb:DeleteTable", "dynamodb:Scan") + (
                    actions.TABLE_WRITE if access == "read" else ()
                )
                cells += [cell(Request("table", a, n.table_arn, table), "deny", dataset) for a in forbidden]
                if n.owns_table:
                    via: dict[str, ContextValue] = {
                        "kms:ViaService": names.service_endpoint("dynamodb"),
                        "kms:CallerAccount": names.source_account,
                        "kms:ResourceAliases": [n.key_alias],
                    }
                    cells.append(
                        cell(
                            Request(
                                "key", "kms:Decrypt", str(dataset_policies.key_arn), dataset_policies.key_policy, via
                            ),
                            "allow",
                            dataset,
                        )
                    )
            else:
                cells.append(cell(Request("table", "dynamodb:GetItem", n.table_arn, table), "deny", dataset))
        if n.bucket_through_role:
            if access:
                cells.append(
                    cell(Request("bucket", "s3:ListBucket", n.bucket_arn, None, _list_context(n)), "allow", dataset)
                )
                cells += [
                    cell(Request("objects", a, _objects(n), None), "allow", dataset)
                    for a in actions.object_actions(access)
                ]
                if access == "read":
                    cells += [
                        cell(Request("objects", a, _objects(n), None), "deny", dataset) for a in actions.OBJECT_WRITE
                    ]
                if n.prefix:
                    cells += [
                        cell(Request("bucket", "s3:ListBucket", n.bucket_arn, None), "deny", dataset),
                        cell(
                            Request("objects", "s3:GetObject", f"{n.bucket_arn}/{OUTSIDE_PREFIX}", None),
                            "deny",
                            dataset,
                        ),
                    ]
            else:
                cells.append(cell(Request("objects", "s3:GetObject", _objects(n), None), "deny", dataset))
    return cells


def _labelled(principal: Principal, who: str) -> Principal:
    return Principal(who, principal.arn, principal.account, principal.organization, principal.org_paths)
