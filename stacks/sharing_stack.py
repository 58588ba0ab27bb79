from __future__ import annotations

from typing import Any, cast

from aws_cdk import CfnElement, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs.canary import Canary
from cdk_constructs.source_data import AccessLogs, SharedDataset, SourceLocator, SourceRole
from config import actions
from config.model import Config, Environment
from config.naming import Names, permissions_boundary_name


class SharingStack(Stack):
    """The source account: the datasets, their keys, and the grants to the consumers given each."""

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
        # role without it (bootstrap/policies.py).
        iam.PermissionsBoundary.of(self).apply(
            iam.ManagedPolicy.from_managed_policy_name(self, "PermissionsBoundary", permissions_boundary_name(config))
        )
        datasets = {}
        access_logs = None
        for dataset in environment.datasets:
            if access_logs is None and names.dataset(dataset).owns_bucket:
                access_logs = AccessLogs(self, "AccessLogs", names=names).bucket
            datasets[dataset.name] = SharedDataset(
                self,
                f"Dataset{actions.sid(dataset.name)}",
                names=names,
                dataset=dataset,
                environment=environment,
                organization_id=config.organization_id,
                access_logs=access_logs,  # type: ignore[arg-type]  # only a bucket the dataset owns logs there
            )
            shared = datasets[dataset.name]
            if shared.bucket:
                CfnOutput(self, f"{actions.sid(dataset.name)}Bucket", value=shared.bucket.bucket_name)
            if shared.table:
                CfnOutput(self, f"{actions.sid(dataset.name)}Table", value=shared.table.table_name)
            if shared.access_point:
                # What Athena's and Glue's table locations name (s3://ALIAS/prefix/): S3 makes it at creation.
                CfnOutput(self, f"{actions.sid(dataset.name)}AccessPointAlias", value=shared.access_point.attr_alias)
            if shared.api:
                CfnOutput(self, f"{actions.sid(dataset.name)}ApiUrl", value=shared.api.api.url)
        canary = Canary(self, "Canary", names=names, datasets=list(datasets.values()))
        for shared in datasets.values():
            if shared.names.pre_datasets_layout:
                _keep_the_pre_datasets_logical_ids(shared, access_logs, canary)
        for consumer in environment.given:
            through_role = [
                datasets[dataset.name]
                for dataset, _ in environment.datasets_of(consumer)
                if names.dataset(dataset).through_role
            ]
            if through_role:
                # No output per role: CloudFormation allows 200 outputs in a stack, and its name is computed.
                SourceRole(
                    self,
                    f"Source{actions.sid(consumer.name)}",
                    names=names,
                    environment=environment,
                    consumer=consumer,
                    datasets=through_role,
                    organization_id=config.organization_id,
                )
            aliases, apis = bool(names.alias_datasets(environment, consumer)), bool(names.api_datasets(environment))
            if aliases or apis:
                SourceLocator(
                    self,
                    f"Locator{actions.sid(consumer.name)}",
                    names=names,
                    consumer=consumer,
                    aliases=aliases,
                    apis=apis,
                    organization_id=config.organization_id,
                )


# The logical ids the one share had before datasets (its constructs' paths then, the pre-datasets layout): an
# environment of that layout keeps them, so an update of such a deployment changes its bucket, key, alias and table
# in place. A new logical id would create them again under names that exist (CloudFormation cannot), and a bucket
# policy's new id would delete the bucket's policy after writing the new one. Kept until 1.0 (docs/upgrading.md).
PRE_DATASETS_LOGICAL_IDS = {
    "key": "DataKey2A0DE9E6",
    "alias": "DataKeyAliasBD63605D",
    "bucket": "SharedBucket2958CF43",
    "bucket policy": "SharedBucketPolicyD3A8B7DA",
    "access logs": "SharedBucketAccessLogsEA0F7CBB",
    "access logs policy": "SharedBucketAccessLogsPolicy6756F9F9",
    "table": "SharedTable1C65D7E1",
    "canary object": "CanaryObject00548A76",
    "canary item": "CanaryItem069F6189",
}


def _keep_the_pre_datasets_logical_ids(shared: SharedDataset, access_logs: Any, canary: Construct) -> None:
    ids = PRE_DATASETS_LOGICAL_IDS
    if not (shared.key and shared.bucket and shared.table and shared.bucket.policy and access_logs.policy):
        raise RuntimeError(f"dataset {shared.names.name} lacks a resource of the pre-datasets layout")
    found = {
        "key": shared.key,
        "alias": shared.key.node.find_child("Alias"),
        "bucket": shared.bucket,
        "bucket policy": shared.bucket.policy,
        "access logs": access_logs,
        "access logs policy": access_logs.policy,
        "table": shared.table,
        "canary object": canary.node.find_child(f"{actions.sid(shared.names.name)}Object").node.find_child("Resource"),
        "canary item": canary.node.find_child(f"{actions.sid(shared.names.name)}Item").node.find_child("Resource"),
    }
    for what, construct in found.items():
        cast(CfnElement, construct.node.default_child).override_logical_id(ids[what])
