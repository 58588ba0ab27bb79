from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs import actions
from cdk_constructs.canary import Canary
from cdk_constructs.source_data import AccessLogs, SharedDataset, SourceRole
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
        # role without it (config/bootstrap_policies.py).
        iam.PermissionsBoundary.of(self).apply(
            iam.ManagedPolicy.from_managed_policy_name(self, "PermissionsBoundary", permissions_boundary_name(config))
        )
        datasets = {}
        access_logs = None
        for dataset in environment.datasets:
            if access_logs is None and names.dataset(dataset).owns_bucket:
                access_logs = AccessLogs(self, "AccessLogs").bucket
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
        Canary(self, "Canary", names=names, datasets=list(datasets.values()))
        for consumer in environment.consumers:
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
                )
