"""The source account's shared data: a customer-managed key, the bucket and the table it encrypts, and
(in the identity-based mode) the role that consumers assume to reach the table."""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnElement, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs import actions
from cdk_constructs.buckets import hardened
from cdk_constructs.findings import acknowledge
from cdk_constructs.grantees import Grantees
from config.model import Share
from config.naming import Names

# The shared data outlives its stack and any update that would replace it, but not a failed first create: its
# rollback deletes what it made, so a retry does not fail on names "already exist". The table's deletion
# protection still refuses that delete (DynamoDB refuses DeleteTable while it is on): a first create that fails
# after the table exists ends in ROLLBACK_FAILED on the table alone; README, "When a first deploy fails".
RETAINED = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE


class DataKey(Construct):
    """The customer-managed key of the bucket and the table. Consumers may use it only through S3 (and
    DynamoDB, where they reach the table directly): never call KMS with it themselves."""

    def __init__(self, scope: Construct, id: str, *, names: Names, grantees: Grantees, share: Share) -> None:
        super().__init__(scope, id)
        self.key = kms.Key(
            self,
            "Key",
            alias=names.key_alias,
            description=f"Data shared by {names.project} {names.environment}",
            enable_key_rotation=True,
            removal_policy=RETAINED,
        )
        self.key.add_to_resource_policy(
            grantees.statement(
                sid="ConsumersUseKeyThroughS3",
                actions=actions.key_actions(share.bucket),
                resources=["*"],  # in a key policy, "*" is this key
                extra_conditions=actions.via_services(*names.via("s3")),
            )
        )
        if share.table_access == "resource-policy":
            self.key.add_to_resource_policy(
                grantees.statement(
                    sid="ConsumersUseKeyThroughDynamoDB",
                    actions=actions.key_actions(share.table),
                    resources=["*"],
                    extra_conditions=actions.via_services(*names.via("dynamodb")),
                )
            )


class SharedBucket(Construct):
    def __init__(
        self, scope: Construct, id: str, *, names: Names, grantees: Grantees, key: kms.IKey, access_level: str
    ) -> None:
        super().__init__(scope, id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # Server access logs can only be delivered to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            removal_policy=RETAINED,
            **hardened(),
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        acknowledge(
            self.access_logs, {"AwsSolutions-S1": "This is the access-log bucket; logging it to itself would loop."}
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=names.bucket,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            removal_policy=RETAINED,
            **hardened(),
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{names.bucket}/",
        )
        self.bucket.add_to_resource_policy(
            grantees.statement(
                sid="ConsumersListBucket", actions=actions.BUCKET_LIST, resources=[self.bucket.bucket_arn]
            )
        )
        self.bucket.add_to_resource_policy(
            grantees.statement(
                sid="ConsumersUseObjects",
                actions=actions.object_actions(access_level),
                resources=[self.bucket.arn_for_objects("*")],
            )
        )


class SharedTable(Construct):
    def __init__(
        self, scope: Construct, id: str, *, names: Names, grantees: Grantees, key: kms.IKey, share: Share
    ) -> None:
        super().__init__(scope, id)
        resource_policy = None
        if share.table_access == "resource-policy":
            resource_policy = iam.PolicyDocument(
                statements=[
                    grantees.statement(
                        sid="ConsumersUseTable",
                        actions=actions.table_actions(share.table),
                        # A table's resource policy applies to that table (and its indexes) only.
                        resources=["*"],
                    )
                ]
            )
        self.table = dynamodb.TableV2(
            self,
            "Table",
            table_name=names.table,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(key),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RETAINED,
            resource_policy=resource_policy,
        )


class TableAccessRole(Construct):
    """The identity-based path: a role in the source account that the consumer roles assume."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        grantees: Grantees,
        table: dynamodb.ITableV2,
        key: kms.IKey,
        access_level: str,
    ) -> None:
        super().__init__(scope, id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=names.source_role,
            assumed_by=grantees.trust(),
            description=f"Assumed by {names.project} {names.environment} consumers to reach the shared table",
            max_session_duration=Duration.hours(1),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid=actions.SOURCE_ROLE_TABLE_SID,
                actions=list(actions.table_actions(access_level)),
                resources=[table.table_arn, f"{table.table_arn}/index/*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="UseTableKeyThroughDynamoDB",
                actions=list(actions.key_actions(access_level)),
                resources=[key.key_arn],
                conditions=actions.via_services(*names.via("dynamodb")),
            )
        )
        acknowledge(
            self.role,
            {
                f"AwsSolutions-IAM5[Resource::<{_arn_token(table)}>/index/*]": (
                    "Queries on the table's indexes: the index names are part of the table, the table is fixed."
                )
            },
        )


def _arn_token(table: dynamodb.ITableV2) -> str:
    return table.stack.get_logical_id(cast(CfnElement, table.node.default_child)) + ".Arn"
