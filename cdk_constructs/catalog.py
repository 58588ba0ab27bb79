"""A consumer's tables to query with SQL, in its own account: the Glue database of the environment, a table over each
dataset it is given that describes one (catalog: in the config), and an Athena workgroup whose results go to a bucket
of its own under a key of its own.

Nothing here is written in the source account: no Glue catalog resource policy there (an account has one, and others
may own it). Athena reads the objects with the caller's own credentials, which the dataset's bucket policy admits.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnElement, Duration, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_constructs.buckets import hardened
from cdk_constructs.findings import acknowledge
from cdk_constructs.keys import RETAINED, project_key
from cdk_constructs.sdk_calls import sdk_call_role
from config import actions
from config.model import Consumer, DatasetCatalog
from config.naming import DatasetNames, Names, api_logical_id

# How Glue and Athena read each format: the input and output formats and the SerDe (Athena's documented ones).
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
FORMATS = {
    "parquet": (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        {},
    ),
    # LazySimpleSerDe: fields separated by commas, not quoted (OpenCSVSerDe reads quotes, but every column as a string).
    "csv": (TEXT_INPUT, TEXT_OUTPUT, "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", {"field.delim": ","}),
    "json": (TEXT_INPUT, TEXT_OUTPUT, "org.openx.data.jsonserde.JsonSerDe", {}),
}
# What one query may scan before Athena cancels it: a bound on what a mistaken query costs ($5 per TB scanned).
BYTES_SCANNED_CUTOFF = 1024**4  # 1 TiB
# Query results are kept for a month: Athena's console and the analysts read them again for a while, never for long.
RESULTS_DAYS = 30


def table_input(n: DatasetNames, catalog: DatasetCatalog, alias: str | None = None) -> glue.CfnTable.TableInputProperty:
    """The dataset's table as Glue stores it: an external table over the dataset's objects (of an existing bucket:
    through its access point's alias)."""
    input_format, output_format, serde, serde_parameters = FORMATS[catalog.format]
    parameters = {"classification": catalog.format, "EXTERNAL": "TRUE"}
    if catalog.format == "csv" and catalog.header is not False:
        parameters["skip.header.line.count"] = "1"
    return glue.CfnTable.TableInputProperty(
        name=n.catalog_table,
        description=(
            f"Dataset {n.name} shared by {n.names.project} {n.names.environment} (source {n.names.source_account})"
        ),
        table_type="EXTERNAL_TABLE",
        parameters=parameters,
        partition_keys=[glue.CfnTable.ColumnProperty(name=k, type=t) for k, t in catalog.partition_keys.items()],
        storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
            columns=[glue.CfnTable.ColumnProperty(name=k, type=t) for k, t in catalog.columns.items()],
            location=n.catalog_location(alias),
            input_format=input_format,
            output_format=output_format,
            serde_info=glue.CfnTable.SerdeInfoProperty(
                serialization_library=serde, parameters=serde_parameters or None
            ),
        ),
    )


class QueryCatalog(Construct):
    """The consumer's Glue database and tables of its datasets, and the Athena workgroup to query them in."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        consumer: Consumer,
        datasets: list[DatasetNames],
        lookups: SourceLookups | None,
    ) -> None:
        super().__init__(scope, id)
        # The consumer's roles use it through S3, by their identity policies (the key's default statement).
        execution_role = names.bootstrap.role("cfn-exec", consumer.account, consumer.region)
        self.key = project_key(
            self,
            "ResultsKey",
            alias=names.query_results_key_alias,
            description=f"Athena query results of {names.project} {names.environment} in {consumer.name}'s account",
            execution_role_arn=names.role_arn(consumer.account, execution_role),
        )
        self.results = s3.Bucket(
            self,
            "Results",
            bucket_name=names.query_results_bucket(consumer),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            removal_policy=RETAINED,
            **hardened(),
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="QueryResults",
                    expiration=Duration.days(RESULTS_DAYS),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        acknowledge(
            self.results,
            {
                "AwsSolutions-S1": (
                    "Athena's results of the consumer's own queries: Athena's query history and CloudTrail record who "
                    "ran which query; the shared data's own buckets log every access."
                )
            },
        )
        self.workgroup = athena.CfnWorkGroup(
            self,
            "Workgroup",
            name=names.query_workgroup,
            description=f"Queries of the tables {names.project} {names.environment} shares with {consumer.name}",
            state="ENABLED",
            recursive_delete_option=False,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                # Every query's results go to the bucket under the key, whatever a client asks.
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=BYTES_SCANNED_CUTOFF,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{names.query_results_bucket(consumer)}/",
                    expected_bucket_owner=consumer.account,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.key.key_arn
                    ),
                ),
            ),
        )
        self.workgroup.node.add_dependency(self.results)
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=consumer.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=names.catalog_database,
                description=f"Datasets {names.project} {names.environment} shares (source {names.source_account})",
            ),
        )
        aliases = AccessPointAliases(self, "Aliases", lookups=lookups, datasets=datasets).aliases if lookups else {}
        self.tables = []
        for n in datasets:
            catalog = n.dataset.catalog
            if catalog is None:
                continue
            table = glue.CfnTable(
                self,
                f"Table{actions.sid(n.name)}",
                catalog_id=consumer.account,
                database_name=names.catalog_database,
                table_input=table_input(n, catalog, aliases.get(n.name)),
            )
            table.node.add_dependency(self.database)
            self.tables.append(table)


# The logical ids the lookups' role and log group had when only the tables' aliases were looked up (under
# Catalog/Aliases): kept, as CloudFormation cannot replace a named role or log group by one of the same name.
LOOKUP_LOGICAL_IDS = {"role": "CatalogAliasesRoleB378C81D", "logs": "CatalogAliasesLogsD04F9260"}


class SourceLookups(Construct):
    """What the consumer stack reads in the source account at deploy, where the consumer account cannot: the aliases
    of the access points of its tables over existing buckets, and the ids API Gateway gave the environment's APIs.

    S3 makes an access point's alias, and API Gateway an API's id, when the source stage creates them; the consumer
    account has no right to ask either. So the stack's custom resources ask as the consumer's role of the source stack
    (SourceLocator), which may read access points' configuration and the sharing stack's resources only."""

    def __init__(
        self, scope: Construct, id: str, *, names: Names, consumer: Consumer, apis: list[DatasetNames]
    ) -> None:
        super().__init__(scope, id)
        self.names = names
        self.function_name = names.consumer_locate_role
        self.source_role = names.role_arn(names.source_account, names.locate_role(consumer))
        self.role, self.log_group = sdk_call_role(
            self, self.function_name, f"Reads where {names.project} {names.environment}'s datasets are in the source"
        )
        for what, construct in (("role", self.role), ("logs", self.log_group)):
            cast(CfnElement, construct.node.default_child).override_logical_id(LOOKUP_LOGICAL_IDS[what])
        self.role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[self.source_role]))
        # Each API's id, and how cdk-nag names it in a finding of a policy that holds it.
        self.api_ids: dict[str, str] = {}
        self.api_findings: dict[str, str] = {}
        field = "StackResourceDetail.PhysicalResourceId"
        for n in apis:
            resource = self.call(
                self,
                f"{actions.sid(n.name)}ApiId",
                service="CloudFormation",
                action="describeStackResource",
                parameters={"StackName": names.sharing_stack, "LogicalResourceId": api_logical_id(n.name)},
                field=field,
            )
            self.api_ids[n.name] = resource.get_response_field(field)
            logical_id = Stack.of(self).resolve(
                Stack.of(self).get_logical_id(cast(CfnElement, resource.node.find_child("Resource").node.default_child))
            )
            self.api_findings[n.name] = f"<{logical_id}.{field}>"

    def read(
        self, scope: Construct, id: str, *, service: str, action: str, parameters: dict[str, str], field: str
    ) -> str:
        """One field of an SDK call's answer in the source account and region, as the source locator."""
        return self.call(
            scope, id, service=service, action=action, parameters=parameters, field=field
        ).get_response_field(field)

    def call(
        self, scope: Construct, id: str, *, service: str, action: str, parameters: dict[str, str], field: str
    ) -> cr.AwsCustomResource:
        """One field of an SDK call's answer in the source account and region, as the source locator, read at
        create and again whenever the call's parameters change."""
        call = cr.AwsSdkCall(
            service=service,
            action=action,
            parameters=parameters,
            region=self.names.source_region,  # the resource's: S3 Control and CloudFormation answer for their region
            assumed_role_arn=self.source_role,
            physical_resource_id=cr.PhysicalResourceId.from_response(field),
            output_paths=[field],  # a custom resource answers in at most 4 KB
        )
        # The CDK runs every AwsCustomResource of a stack in one function, whose role and name are the first's
        # (aws/aws-cdk#13601): the consumer stack has none but these, all with this role.
        resource = cr.AwsCustomResource(
            scope,
            id,
            on_create=call,
            on_update=call,
            role=self.role,
            function_name=self.function_name,
            log_group=self.log_group,
            install_latest_aws_sdk=False,
        )
        resource.node.add_dependency(self.role)
        return resource


class AccessPointAliases(Construct):
    """The aliases of the access points of the consumer's tables over existing buckets (a table's location names the
    alias: Athena and Glue take no access point ARN), read from the source account (SourceLookups)."""

    def __init__(self, scope: Construct, id: str, *, lookups: SourceLookups, datasets: list[DatasetNames]) -> None:
        super().__init__(scope, id)
        names = lookups.names
        self.aliases = {
            # On a change of its properties (the access point's name): the alias is the new access point's.
            n.name: lookups.read(
                self,
                f"{actions.sid(n.name)}Alias",
                service="S3Control",
                action="getAccessPoint",
                parameters={"AccountId": names.source_account, "Name": n.access_point},
                field="Alias",
            )
            for n in datasets
            if n.dataset.catalog and n.through_access_point
        }
