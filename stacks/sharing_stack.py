from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs.canary import Canary
from cdk_constructs.grantees import Grantees
from cdk_constructs.source_data import (
    DataKey,
    SharedBucket,
    SharedTable,
    TableAccessRole,
)
from config.model import Config, Environment
from config.naming import Names, permissions_boundary_name


class SharingStack(Stack):
    """The source account: the data, its key, and the grants to the environment's consumers."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        environment: Environment,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        names = Names.of(config, environment)
        # Every role of the stack carries the boundary `make bootstrap` creates: the execution policy admits no
        # role without it (config/bootstrap_policies.py).
        iam.PermissionsBoundary.of(self).apply(
            iam.ManagedPolicy.from_managed_policy_name(self, "PermissionsBoundary", permissions_boundary_name(config))
        )
        share = environment.share
        grantees = Grantees.consumer_roles(names, environment.consumers, organization_id=config.organization_id)

        key = DataKey(self, "DataKey", names=names, grantees=grantees, share=share).key
        bucket = SharedBucket(
            self,
            "SharedBucket",
            names=names,
            grantees=grantees,
            key=key,
            access_level=share.bucket,
        )
        table = SharedTable(self, "SharedTable", names=names, grantees=grantees, key=key, share=share).table
        Canary(self, "Canary", names=names, bucket=bucket.bucket, table=table, key=key)

        CfnOutput(self, "BucketName", value=bucket.bucket.bucket_name)
        CfnOutput(self, "TableName", value=table.table_name)
        CfnOutput(self, "KeyArn", value=key.key_arn)
        if share.table_access == "role":
            role = TableAccessRole(
                self,
                "TableAccess",
                names=names,
                grantees=grantees,
                table=table,
                key=key,
                access_level=share.table,
            ).role
            CfnOutput(self, "SourceRoleArn", value=role.role_arn)
