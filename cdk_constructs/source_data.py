"""The source account's shared data, one dataset at a time: its customer-managed key, the bucket and the table the
key encrypts, and the grants to the consumers given the dataset; and, per consumer that needs one, the role in
the source account it assumes to reach what no resource policy grants (tables shared by role, existing buckets
and tables).

A resource the project does not own (a dataset's `existing` bucket or table) is never changed: nothing here writes
its policy. Only the source roles' identity policies name it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs.buckets import hardened
from cdk_constructs.documents import source_role_ends, source_role_policy
from cdk_constructs.findings import acknowledge
from cdk_constructs.grantees import Grantees
from cdk_constructs.keys import RETAINED, project_key
from cdk_constructs.shared_api import SharedApi
from config import actions
from config.actions import Level
from config.model import SELF_CHECK_PREFIX, Consumer, ConsumerGroup, Dataset, Environment
from config.naming import DatasetNames, Names

NEVER = datetime.min.replace(tzinfo=UTC)  # sorts a grant that never ends first


def access_levels(environment: Environment, dataset: Dataset) -> list[tuple[Level, datetime | None, list[Consumer]]]:
    """A dataset's grants by level: everyone given it reads; those given read-write also write. Consumers whose grants
    end at different times are apart (never ending first, then by their end), so that each statement ends when its
    consumers' grants do."""
    granted = environment.granted(dataset)
    found: list[tuple[Level, datetime | None, list[Consumer]]] = []
    for level in ("read", "write"):
        who = [consumer for consumer, access in granted if level == "read" or access == "read-write"]
        ends = sorted({consumer.ends(dataset.name) for consumer in who}, key=lambda e: e or NEVER)
        for end in ends:
            found.append((level, end, [consumer for consumer in who if consumer.ends(dataset.name) == end]))
    return found


def group_levels(environment: Environment, dataset: Dataset) -> list[tuple[Level, ConsumerGroup]]:
    """A dataset's grants to consumer groups by level, each group apart (its statements name its own units)."""
    found: list[tuple[Level, ConsumerGroup]] = []
    for level in ("read", "write"):
        for group, access in environment.groups_granted(dataset):
            if level == "read" or access == "read-write":
                found.append((level, group))
    return found


def level_actions(level: Level, read: Sequence[str], write: Sequence[str]) -> list[str]:
    return list(read if level == "read" else write)


class AccessLogs(Construct):
    """One bucket per environment for the server access logs of its datasets' buckets."""

    def __init__(self, scope: Construct, id: str, *, names: Names) -> None:
        super().__init__(scope, id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=names.access_logs_bucket,
            # Server access logs can only be delivered to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            removal_policy=RETAINED,
            **hardened(),
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        acknowledge(self.bucket, {"AwsSolutions-S1": "This is the access-log bucket; logging it to itself would loop."})


class SharedDataset(Construct):
    """One dataset: what the sharing stage creates for it (key, bucket, table) and the grants on them."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        dataset: Dataset,
        environment: Environment,
        organization_id: str | None,
        access_logs: s3.IBucket,
    ) -> None:
        super().__init__(scope, id)
        self.names = names.dataset(dataset)
        n = self.names
        # In organization mode a level that every consumer of the environment has may name the demo roles by pattern
        # (with the accounts of each group of it pinned); one only some have must name each of their roles (the
        # organization admits every account of it). Decided per level, before its consumers are grouped by the end of
        # their grants, so that one end does not turn every group into role ARNs (a policy several times larger).
        groups = access_levels(environment, dataset)
        everyone = {
            level: sum(len(who) for lv, _, who in groups if lv == level) == len(environment.consumers)
            for level in ("read", "write")
        }
        self.levels = [
            (
                level,
                Grantees.consumer_roles(
                    names,
                    who,
                    organization_id=organization_id,
                    whole_environment=everyone[level],
                    ends=ends,
                ),
            )
            for level, ends, who in groups
        ]
        if organization_id:  # (the config refuses groups without it)
            self.levels += [
                (level, Grantees.group(names, group, organization_id=organization_id, ends=group.ends(dataset.name)))
                for level, group in group_levels(environment, dataset)
            ]
        self.key: kms.IKey | None = None
        self.bucket: s3.IBucket | None = None
        self.table: dynamodb.ITableV2 | None = None
        self.access_point = self._access_point(n) if n.through_access_point else None
        self.api: SharedApi | None = None
        if not n.has_key:
            return
        key = project_key(
            self,
            "Key",
            alias=n.key_alias,
            description=f"Dataset {dataset.name} shared by {names.project} {names.environment}",
            execution_role_arn=names.execution_role_arn,
        )
        self.key = key
        if n.owns_bucket:
            self.bucket = self._bucket(n, access_logs)
        if n.owns_table:
            self.table = self._table(n, dataset)
        if dataset.api is not None:
            self.api = SharedApi(self, "Api", names=n, settings=dataset.api, levels=self.levels, key=key)

    def _grant_key(self, service: str, names: Names) -> None:
        if self.key is None:
            raise ValueError(f"dataset {self.node.id}: a grant through {service} of a dataset without a key")
        for level, grantees in self.levels:
            self.key.add_to_resource_policy(
                grantees.statement(
                    sid=actions.sid("consumers", level, "through", service),
                    actions=level_actions(level, actions.KEY_DECRYPT, actions.KEY_ENCRYPT),
                    resources=["*"],  # in a key policy, "*" is this key
                    extra_conditions=actions.via_services(*names.via(service)),
                )
            )

    def _access_point(self, n: DatasetNames) -> s3.CfnAccessPoint:
        """The existing bucket's dataset as the consumers' own roles reach it: an access point of the project's whose
        policy admits exactly them, at their access, under the dataset's prefix only. The bucket's policy is its
        owner's: it delegates access control to the account's access points once (docs/data-lake.md); a request
        through the access point must be allowed by both."""
        # TLS only, as on the project's own buckets (the existing bucket's policy is its owner's).
        statements = [
            iam.PolicyStatement(
                sid="TlsOnly",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:*"],
                resources=[n.access_point_arn, f"{n.access_point_arn}/object/*"],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            )
        ]
        for level, grantees in self.levels:
            if level == "read":
                statements.append(
                    grantees.statement(
                        sid="ConsumersList",
                        actions=actions.BUCKET_LIST,
                        resources=[n.access_point_arn],
                        extra_conditions=actions.prefix_condition(n.prefix),
                    )
                )
            # Readers also ask the bucket's location (Athena, Glue, EMR): in the reads' statement, on the access point
            # itself, as each statement repeats every consumer account (a statement of its own would make the policy
            # a third larger, past 20 KB at the 205 consumers a pipeline holds; measured).
            read = level == "read"
            statements.append(
                grantees.statement(
                    sid=actions.sid("consumers", level, "objects"),
                    actions=[
                        *level_actions(level, actions.OBJECT_READ, actions.OBJECT_WRITE),
                        *(actions.BUCKET_LOCATION if read else ()),
                    ],
                    resources=[n.access_point_objects_arn, *([n.access_point_arn] if read else [])],
                )
            )
        return s3.CfnAccessPoint(
            self,
            "AccessPoint",
            bucket=n.bucket or "",
            bucket_account_id=n.names.source_account,
            name=n.access_point,
            policy=iam.PolicyDocument(statements=statements),
            public_access_block_configuration=s3.CfnAccessPoint.PublicAccessBlockConfigurationProperty(
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
            ),
        )

    def _bucket(self, n: DatasetNames, access_logs: s3.IBucket) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=n.bucket,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            removal_policy=RETAINED,
            **hardened(),
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{n.bucket}/",
            # Each read-write self-check writes and deletes an object of its own there: on a versioned bucket that
            # leaves a noncurrent version and a delete marker per run, which expire here.
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="SelfCheckLeftovers",
                    prefix=f"{n.prefix}{SELF_CHECK_PREFIX}",
                    noncurrent_version_expiration=Duration.days(1),
                    expired_object_delete_marker=True,
                )
            ],
        )
        for level, grantees in self.levels:
            if level == "read":
                bucket.add_to_resource_policy(
                    grantees.statement(
                        sid="ConsumersList",
                        actions=actions.BUCKET_LIST,
                        resources=[n.bucket_arn],
                        extra_conditions=actions.prefix_condition(n.prefix),
                    )
                )
            # Readers also ask the bucket's location (Athena, Glue, EMR), in the reads' statement as on an access point.
            read = level == "read"
            bucket.add_to_resource_policy(
                grantees.statement(
                    sid=actions.sid("consumers", level, "objects"),
                    actions=[
                        *level_actions(level, actions.OBJECT_READ, actions.OBJECT_WRITE),
                        *(actions.BUCKET_LOCATION if read else ()),
                    ],
                    resources=[n.objects_arn, *([n.bucket_arn] if read else [])],
                )
            )
        self._grant_key("s3", n.names)
        return bucket

    def _table(self, n: DatasetNames, dataset: Dataset) -> dynamodb.TableV2:
        resource_policy = None
        if dataset.table is None or self.key is None:
            raise ValueError(f"dataset {dataset.name}: a table of its own needs its table settings and its key")
        if dataset.table.access == "resource-policy":
            resource_policy = iam.PolicyDocument(
                statements=[
                    grantees.statement(
                        sid=actions.sid("consumers", level, "table"),
                        actions=level_actions(level, actions.TABLE_READ, actions.TABLE_WRITE),
                        # A table's resource policy applies to that table (and its indexes) only.
                        resources=["*"],
                    )
                    for level, grantees in self.levels
                ]
            )
            self._grant_key("dynamodb", n.names)
        return dynamodb.TableV2(
            self,
            "Table",
            table_name=n.table,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(self.key),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RETAINED,
            resource_policy=resource_policy,
        )


class SourceRole(Construct):
    """The identity-based path of one consumer: a role in the source account that only that consumer's roles may
    assume, allowed exactly the datasets the consumer reaches through it (tables shared by role, existing buckets
    and tables), at the consumer's access to each (cdk_constructs/documents.py)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        environment: Environment,
        consumer: Consumer | ConsumerGroup,
        datasets: Sequence[SharedDataset],
        organization_id: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        ends = source_role_ends(names, environment, consumer)
        if isinstance(consumer, ConsumerGroup):
            # The group's roles in its units' accounts, by their names: one trust statement for every account.
            trust = Grantees.group(names, consumer, organization_id=_required(organization_id), ends=ends).trust()
            kind = "consumer group"
        else:
            trust = Grantees.one_consumer(names, consumer, ends=ends).trust()
            kind = "consumer"
        self.role = iam.Role(
            self,
            "Role",
            role_name=names.source_role(consumer),
            assumed_by=trust,
            description=f"Assumed by {names.project} {names.environment} {kind} {consumer.name} to reach its datasets",
            max_session_duration=Duration.hours(1),
        )
        keys = {shared.names.name: shared.key.key_arn for shared in datasets if shared.key}
        document = source_role_policy(names, environment, consumer, keys)
        for statement in document["Statement"]:
            self.role.add_to_policy(iam.PolicyStatement.from_json(statement))
        findings: dict[str, str] = {}
        for shared in datasets:
            n = shared.names
            if n.table_through_role:
                findings[f"Resource::{n.table_arn}/index/*"] = (
                    f"Queries on the indexes of dataset {n.name}'s table; the table is fixed."
                )
            if n.bucket_through_role:
                findings[f"Resource::{n.objects_arn}"] = (
                    f"Objects of dataset {n.name}: under its prefix of its bucket; the keys are data."
                )
        acknowledge(self.role, {f"AwsSolutions-IAM5[{finding}]": reason for finding, reason in findings.items()})


class SourceLocator(Construct):
    """What one consumer's stack must read in the source account, where the consumer account cannot: the aliases of
    the access points of its tables over existing buckets (cdk_constructs/catalog.py, AccessPointAliases), and the
    ids API Gateway gave the APIs it is given (SourceLookups.api_id). A role that the consumer stack's custom resource
    alone may assume, allowed to read access points' configuration and this stack's APIs' ids, nothing else."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        consumer: Consumer | ConsumerGroup,
        aliases: bool,
        apis: bool,
        organization_id: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        if isinstance(consumer, ConsumerGroup):
            # The alias reader of every account of the group's units, by its name.
            pattern = names.role_arn("*", names.consumer_locate_role)
            trust = Grantees.group(names, consumer, organization_id=_required(organization_id), roles=[pattern]).trust()
        else:
            reader = names.role_arn(consumer.account, names.consumer_locate_role)
            trust = iam.PrincipalWithConditions(
                iam.AccountPrincipal(consumer.account), {"ArnEquals": {"aws:PrincipalArn": [reader]}}
            )
        self.role = iam.Role(
            self,
            "Role",
            role_name=names.locate_role(consumer),
            assumed_by=trust,
            description=f"Tells {names.project} {names.environment} consumer {consumer.name} where its datasets are",
            max_session_duration=Duration.hours(1),
        )
        findings = {}
        if aliases:
            # GetAccessPoint names no resource in IAM (the Service Authorization Reference lists none): any access point
            # of the account and region. It answers with an access point's configuration (name, bucket, alias, network
            # origin), never its policy or data.
            self.role.add_to_policy(iam.PolicyStatement(actions=list(actions.LOCATE_ACCESS_POINT), resources=["*"]))
            findings["AwsSolutions-IAM5[Resource::*]"] = (
                "s3:GetAccessPoint takes no resource in IAM: the configuration of the account's access points "
                "(names, buckets, aliases), never their policies or data; only the consumer's alias reader may "
                "assume the role."
            )
        if apis:
            # The APIs' ids, as this stack's resources (their logical ids are fixed): of this stack only, whose
            # resources' physical ids are names and ids, no data.
            stack_arn = (
                f"arn:{names.partition}:cloudformation:{names.source_region}:{names.source_account}:"
                f"stack/{names.sharing_stack}/*"
            )
            self.role.add_to_policy(iam.PolicyStatement(actions=list(actions.LOCATE_API), resources=[stack_arn]))
            findings[f"AwsSolutions-IAM5[Resource::{stack_arn}]"] = (
                "The sharing stack by its name: CloudFormation ends a stack's ARN with an id of its own choosing."
            )
        if findings:
            acknowledge(self.role, findings)


def _required(organization_id: str | None) -> str:
    if organization_id is None:  # the config refuses a group without one (config/model.py)
        raise ValueError("a consumer group's grants need the organization's id")
    return organization_id
