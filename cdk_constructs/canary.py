"""The canary: an object in each dataset's bucket (under its prefix) and an item in each dataset's table that the
project creates, written by the sharing stage, that
every consumer's self-check reads. The proof that a consumer may read (and decrypt) never depends on what users have
stored, and an empty bucket proves the key too.

Written by a CloudFormation custom resource (the CDK's AwsCustomResource: one SDK call each, on create and on
update) under a role of the project that may write those two entries and nothing else."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_constructs.findings import acknowledge
from cdk_constructs.source_data import SharedDataset
from config import actions
from config.naming import CANARY_BODY, CANARY_ITEM, Names


class Canary(Construct):
    """For every dataset: an object under the dataset's prefix of the bucket the project created for it, and an item
    in the table it created. Nothing is written into an existing bucket or table (its policies, encryption and
    notifications are its owner's, and a write there could fail the whole stage or reach users' pipelines): the
    self-check proves those otherwise."""

    def __init__(self, scope: Construct, id: str, *, names: Names, datasets: Sequence[SharedDataset]) -> None:
        super().__init__(scope, id)
        role = iam.Role(
            self,
            "Role",
            role_name=names.canary_role,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Writes the canaries of {names.project} {names.environment} for the consumers' self-check",
        )
        objects = [f"{d.names.bucket_arn}/{d.names.canary_key}" for d in datasets if d.bucket]
        tables = [d.table.table_arn for d in datasets if d.table]
        keys = [d.key.key_arn for d in datasets if d.key]
        if objects:
            role.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=objects))
        if tables:
            role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=tables))
        if keys:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=keys,
                    conditions=actions.via_services(*names.via("s3"), *names.via("dynamodb")),
                )
            )
        # Its own log group, which the function's LoggingConfig names, so CloudFormation creates the group before the
        # function and Lambda never creates one (with the CDK-managed log group, both would, and the first create of
        # the stage could fail on an existing group; aws/aws-cdk#667). The role may write there and create nothing.
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=names.canary_log_group,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        log_group.grant_write(role)
        for dataset in datasets:
            n = dataset.names
            calls = []
            if dataset.bucket:
                calls.append(
                    (
                        "Object",
                        cr.AwsSdkCall(
                            service="S3",
                            action="putObject",
                            parameters={"Bucket": n.bucket, "Key": n.canary_key, "Body": CANARY_BODY},
                            physical_resource_id=cr.PhysicalResourceId.of(f"{n.bucket}/{n.canary_key}"),
                        ),
                    )
                )
            if dataset.table:
                calls.append(
                    (
                        "Item",
                        cr.AwsSdkCall(
                            service="DynamoDB",
                            action="putItem",
                            parameters={"TableName": dataset.table.table_name, "Item": CANARY_ITEM},
                            physical_resource_id=cr.PhysicalResourceId.of(f"{n.table}/canary"),
                        ),
                    )
                )
            for id_, call in calls:
                resource = cr.AwsCustomResource(
                    self,
                    f"{actions.sid(n.name)}{id_}",
                    on_create=call,
                    on_update=call,
                    role=role,
                    function_name=names.canary_function,
                    log_group=log_group,
                    install_latest_aws_sdk=False,
                )
                resource.node.add_dependency(role)
                if dataset.bucket and id_ == "Object":
                    resource.node.add_dependency(dataset.bucket)
        acknowledge(
            self,
            {
                "AwsSolutions-L1": "The CDK chooses the custom resource's runtime for its SDK calls.",
            },
        )
