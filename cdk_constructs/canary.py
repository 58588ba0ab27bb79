"""The canary: an object in the shared bucket and an item in the shared table, written by the sharing stage, that
every consumer's self-check reads. The proof that a consumer may read (and decrypt) never depends on what users have
stored, and an empty bucket proves the key too.

Written by a CloudFormation custom resource (the CDK's AwsCustomResource: one SDK call each, on create and on
update) under a role of the project that may write those two entries and nothing else."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_constructs import actions
from cdk_constructs.findings import acknowledge
from config.naming import CANARY_BODY, CANARY_ITEM, CANARY_KEY, Names


class Canary(Construct):
    def __init__(
        self, scope: Construct, id: str, *, names: Names, bucket: s3.IBucket, table: dynamodb.ITableV2, key: kms.IKey
    ) -> None:
        super().__init__(scope, id)
        role = iam.Role(
            self,
            "Role",
            role_name=names.canary_role,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Writes the canary of {names.project} {names.environment} for the consumers' self-check",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects(CANARY_KEY)])
        )
        role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[table.table_arn]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
                conditions=actions.via_services(*names.via("s3"), *names.via("dynamodb")),
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], resources=["*"]
            )
        )
        put_object = cr.AwsSdkCall(
            service="S3",
            action="putObject",
            parameters={"Bucket": bucket.bucket_name, "Key": CANARY_KEY, "Body": CANARY_BODY},
            physical_resource_id=cr.PhysicalResourceId.of(f"{names.bucket}/{CANARY_KEY}"),
        )
        put_item = cr.AwsSdkCall(
            service="DynamoDB",
            action="putItem",
            parameters={"TableName": table.table_name, "Item": CANARY_ITEM},
            physical_resource_id=cr.PhysicalResourceId.of(f"{names.table}/canary"),
        )
        for id_, call in (("Object", put_object), ("Item", put_item)):
            resource = cr.AwsCustomResource(
                self, id_, on_create=call, on_update=call, role=role, install_latest_aws_sdk=False
            )
            resource.node.add_dependency(role)
        acknowledge(
            self,
            {
                "AwsSolutions-IAM5[Resource::*]": (
                    "The custom resource's function writes its own logs; its log group is named by Lambda at run time."
                ),
                "AwsSolutions-L1": "The CDK chooses the custom resource's runtime for its SDK calls.",
            },
        )
