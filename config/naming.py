"""The one place physical names and ARNs are made.

The consumer accounts must know the bucket, the key alias and the source role before the source account
has deployed anything, and the source account must name the consumers' roles in its policies before those
roles exist. Both sides therefore compute the names from the configuration with these functions; nothing
crosses accounts as a CloudFormation reference.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from config.actions import Access
from config.model import (
    DEFAULT_DATASET,
    SELF_CHECK_PREFIX,
    Config,
    Consumer,
    ConsumerGroup,
    Dataset,
    Environment,
    dataset_bucket,
)
from config.regions import dns_suffix, partition_of, service_endpoint, via_service_values

# The stage of every shared API: its URL's path and its ARNs' first segment after the API's id.
API_STAGE = "live"
# The CDK's context key of the bootstrap qualifier the stacks' synthesizers use.
QUALIFIER_CONTEXT = "@aws-cdk/core:bootstrapQualifier"


@dataclass(frozen=True)
class Bootstrap:
    """The project's own CDK bootstrap in each account: its own qualifier and stack, never the account's default
    (CDKToolkit, qualifier hnb659fds), which other CDK apps and teams use. `cdk bootstrap --trust` replaces the trusted
    accounts and execution policies of the stack it updates, so bootstrapping the default would take it from them (and
    merging would give every trusted pipeline every team's execution policies)."""

    qualifier: str

    @classmethod
    def of(cls, config: Config) -> Bootstrap:
        # At most 10 letters and digits (the CDK's rule). A project name has at most 12 characters: where its letters
        # and digits are more than 10, 6 of them and 4 of its hash keep two projects apart.
        plain = re.sub(r"[^a-z0-9]", "", config.project.lower())
        if len(plain) > 10:
            plain = plain[:6] + hashlib.sha256(config.project.encode()).hexdigest()[:4]
        return cls(qualifier=plain)

    @property
    def stack(self) -> str:
        """`cdk bootstrap --toolkit-stack-name`."""
        return f"CDKToolkit-{self.qualifier}"

    @property
    def version_parameter(self) -> str:
        return f"/cdk-bootstrap/{self.qualifier}/version"

    def role(self, kind: str, account: str, region: str) -> str:
        return bootstrap_role(kind, account, region, qualifier=self.qualifier)

    def assets_bucket(self, account: str, region: str) -> str:
        return f"cdk-{self.qualifier}-assets-{account}-{region}"

    def cli_args(self) -> list[str]:
        return ["--qualifier", self.qualifier, "--toolkit-stack-name", self.stack]


# The canary the sharing stage writes and every consumer's self-check reads: under the self-check's own prefix.
CANARY_KEY = f"{SELF_CHECK_PREFIX}canary"
CANARY_BODY = "the canary of the data-sharing self-check\n"
CANARY_ITEM = {"pk": {"S": SELF_CHECK_PREFIX.rstrip("/")}, "sk": {"S": "canary"}}


def pipeline_stack_id(config: Config) -> str:
    """The pipeline stack's id and CloudFormation name in the tooling account."""
    return f"{config.project}-pipeline"


def pipeline_replication_stack_id(config: Config, region: str) -> str:
    """The tooling account's stack that holds the pipeline's artifacts in another region."""
    return f"{pipeline_stack_id(config)}-replication-{region}"


def pipeline_replication_alias(config: Config) -> str:
    """The alias of the key of the pipeline's replication bucket, one per region."""
    return f"alias/{config.project}/pipeline-replication"


def pipeline_events_rule(config: Config) -> str:
    """The CodeStar Notifications rule of the pipeline's failures and approvals (unique in the account)."""
    return f"{pipeline_name(config)}-events"


def stage_stack_name(config: Config, stage_id: str) -> str:
    """The CloudFormation name of a stage's one stack: under the project's prefix, so that two projects (or two
    configs) with an environment of the same name never deploy one stack, and doctor can tell the project's stacks
    the config no longer has."""
    return f"{config.project}-{stage_id}"


def grantee_digest(grantee: str) -> str:
    """8 hex digits of a grantee's ARN: in its grant's name and its resource's logical id."""
    return hashlib.sha256(grantee.encode()).hexdigest()[:8]


def key_grants_stack_name(config: Config, stage_id: str) -> str:
    """The CloudFormation name of a consumer stage's second stack, in the source account: the KMS grants of the
    existing keys of its access-point datasets (stacks/key_grants_stack.py)."""
    return f"{stage_stack_name(config, stage_id)}-key-grants"


def pipeline_name(config: Config) -> str:
    return f"{config.project}-data-sharing"


# The records bucket's folder of each environment's access changes, as its next approval shows them.
ACCESS_CHANGES_PREFIX = "access-changes/"


def access_records_bucket(config: Config) -> str:
    """The tooling account's bucket of what each environment last deployed (deployed/ENV.yaml, written by its last test
    step once it passes), of the access changes its next approval shows (access-changes/ENV.txt, by the synth step)
    and of its daily proof's last result (proof-results/ENV.json)."""
    return f"{config.project}-access-records-{config.tooling.account}-{config.tooling.region}"


def execution_policy_names(config: Config, count: int) -> list[str]:
    """The managed policies `make bootstrap` creates in each target account for CloudFormation to act with, as many as
    their statements need (bootstrap/policies.py): PROJECT-cdk-execution, PROJECT-cdk-execution-2, ..."""
    first = f"{config.project}-cdk-execution"
    return [first, *(f"{first}-{index}" for index in range(2, count + 1))]


def permissions_boundary_name(config: Config) -> str:
    """The managed policy `make bootstrap` creates in each target account, which every role of the stacks carries."""
    return f"{config.project}-permissions-boundary"


# A private ECR image: ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPOSITORY[:TAG|@DIGEST].
ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)")


def ecr_repository_arn(image: str | None) -> str | None:
    """The ECR repository of a private image reference (its account must let the consumer accounts pull), or None
    for a public image or none (the CDK's own asset repository)."""
    match = ECR_IMAGE.match(image or "")
    if not match:
        return None
    account, region, repository = match.groups()
    return f"arn:{partition_of(region)}:ecr:{region}:{account}:repository/{repository}"


def bootstrap_role(kind: str, account: str, region: str, *, qualifier: str) -> str:
    """A bootstrap role's name: kind is deploy, file-publishing, image-publishing, lookup or cfn-exec."""
    return f"cdk-{qualifier}-{kind}-role-{account}-{region}"


@dataclass(frozen=True)
class Names:
    """Names of one environment's shared resources and roles."""

    project: str
    environment: str
    source_account: str
    source_region: str
    partition: str
    bootstrap: Bootstrap

    @classmethod
    def of(cls, config: Config, environment: Environment) -> Names:
        return cls(
            project=config.project,
            environment=environment.name,
            source_account=environment.source.account,
            source_region=environment.source.region,
            partition=environment.source.partition,
            bootstrap=Bootstrap.of(config),
        )

    @property
    def _prefix(self) -> str:
        return f"{self.project}-{self.environment}"

    @property
    def sharing_stack(self) -> str:
        """The sharing stage's stack (stage_stack_name of sharing_stage_id), which a consumer stack reads its APIs'
        ids from."""
        return f"{self._prefix}-sharing"

    # Source account
    def dataset(self, dataset: Dataset) -> DatasetNames:
        return DatasetNames(self, dataset)

    @property
    def access_logs_bucket(self) -> str:
        """The environment's bucket of its datasets' server access logs: named under the project's prefix, as every
        bucket the stacks create, because the execution policy lets CloudFormation touch no other bucket."""
        return f"{self._prefix}-logs-{self.source_account}-{self.source_region}"

    @property
    def access_logs_prefix(self) -> str:
        return f"{self._prefix}-"

    def service_endpoint(self, service: str) -> str:
        """A service in the source region, as its endpoint is named (s3.eu-west-1.amazonaws.com,
        s3.cn-north-1.amazonaws.com.cn)."""
        return service_endpoint(service, self.source_region)

    def via(self, service: str) -> list[str]:
        """The kms:ViaService values of a service in the source region."""
        return via_service_values(service, self.source_region)

    @property
    def key_arn_pattern(self) -> str:
        """Any key of the source account and region: a consumer cannot know a dataset key's id in advance,
        so its grants name this and narrow it with kms:ResourceAliases."""
        return f"arn:{self.partition}:kms:{self.source_region}:{self.source_account}:key/*"

    @property
    def dataset_buckets_pattern(self) -> str:
        """The buckets the environment's datasets have of their own (dataset_bucket), whatever the dataset: for
        s3:GetBucketLocation, which tells a bucket's region only and which each bucket's own policy decides too."""
        return f"arn:{self.partition}:s3:::{self._prefix}-*-{self.source_account}-{self.source_region}"

    @property
    def table_arn_prefix(self) -> str:
        """A table's ARN in the source account and region, but for its name."""
        return f"arn:{self.partition}:dynamodb:{self.source_region}:{self.source_account}:table/"

    def key_grants(self, consumer: Consumer) -> str:
        """The role, function and log group in the source account that give one consumer's roles the use of the
        existing keys of the datasets it reaches through access points, by KMS grants (stacks/key_grants_stack.py)."""
        return f"{self._prefix}-grants-{consumer.name}"

    def key_grant_datasets(self, environment: Environment, consumer: Consumer) -> list[tuple[DatasetNames, Access]]:
        """The consumer's datasets whose existing bucket it reaches through an access point and whose objects an
        existing customer-managed key encrypts: the key's policy is not the project's, so KMS grants give the use."""
        found = []
        for dataset, access in environment.datasets_of(consumer):
            n = self.dataset(dataset)
            if n.through_access_point and dataset.bucket and dataset.bucket.kms_key:
                found.append((n, access))
        return found

    def alias_datasets(self, environment: Environment, consumer: Consumer | ConsumerGroup) -> list[DatasetNames]:
        """The consumer's tables over existing buckets: their location is the access point's alias, which S3 makes when
        it creates the access point and which the consumer stack reads from the source account (locate_role)."""
        return [n for n, _ in self.catalog_datasets(environment, consumer) if n.through_access_point]

    def api_datasets(self, environment: Environment) -> list[DatasetNames]:
        """The environment's APIs: each consumer stack reads their ids from the sharing stack (locate_role), to call
        those it is given and to prove it is refused the others."""
        return [self.dataset(d) for d in environment.datasets if d.api is not None]

    def looks_up(self, environment: Environment, consumer: Consumer | ConsumerGroup) -> bool:
        """Whether the consumer stack reads anything in the source account at deploy (its SourceLookups)."""
        return bool(self.alias_datasets(environment, consumer) or self.api_datasets(environment))

    def locate_role(self, consumer: Consumer | ConsumerGroup) -> str:
        """The role in the source account that reads the aliases of one consumer's access points (GetAccessPoint)."""
        return f"{self._prefix}-locate-{consumer.name}"

    @property
    def consumer_locate_role(self) -> str:
        """The role, function and log group in a consumer account that read its tables' access point aliases."""
        return f"{self._prefix}-locate"

    def grant_name(self, dataset: str, consumer: Consumer, grantee: str, operations: list[str]) -> str:
        """A KMS grant's name: what it is for, when the key's owner lists the key's grants, and unique per grantee
        and operations. KMS answers a CreateGrant of an existing grant's name and parameters with that grant: two grants
        of one name would be one."""
        return f"{self._prefix}-{dataset}-{consumer.name}-{grantee_digest(grantee)}-{'-'.join(operations)}"

    def source_role(self, consumer: Consumer | ConsumerGroup) -> str:
        """The consumer's role in the source account: what it reaches there through a role (tables shared by
        role, existing buckets and tables) and nothing else; only its own roles may assume it."""
        return f"{self._prefix}-source-{consumer.name}"

    def source_role_arn(self, consumer: Consumer | ConsumerGroup) -> str:
        return self.role_arn(self.source_account, self.source_role(consumer))

    # Consumer accounts: the same role names in every consumer account of the environment, so that an
    # organization-wide grant can name them with one pattern.
    def workload_role(self, workload: str) -> str:
        """The role of a consumer workload: the demo function and task, and those extensions add."""
        return f"{self._prefix}-consumer-{workload}"

    @property
    def function_role(self) -> str:
        return self.workload_role("function")

    @property
    def task_role(self) -> str:
        return self.workload_role("task")

    @property
    def canary_role(self) -> str:
        return f"{self._prefix}-canary-writer"

    @property
    def canary_function(self) -> str:
        """The custom resources' function that writes the canaries: named, so that the execution policy can keep
        CloudFormation to the project's functions (a generated name would start with the stack's)."""
        return f"{self._prefix}-canary-writer"

    @property
    def canary_log_group(self) -> str:
        """Its log group, created before the function (Lambda would otherwise create one while CloudFormation
        creates it too, and the function would need logs:CreateLogGroup)."""
        return f"{self._prefix}-canary-writer"

    @property
    def task_execution_role(self) -> str:
        return f"{self._prefix}-consumer-task-exec"

    @property
    def shared_data_policy(self) -> str:
        """The managed policy of what a consumer's roles may do with the shared data."""
        return f"{self._prefix}-shared-data"

    @property
    def consumer_function(self) -> str:
        """The consumer's Lambda function, the same name in every consumer account: the pipeline's test step
        invokes it by this name."""
        return f"{self._prefix}-consumer"

    def consumer_log_group(self, workload: str) -> str:
        """The log group of the demo function or task: named under the project's prefix, as the execution policy
        requires of every log group the stacks create."""
        return f"{self._prefix}-consumer-{workload}"

    @property
    def consumer_cluster(self) -> str:
        """The consumer's ECS cluster, where the pipeline's test step runs the consumer task."""
        return f"{self._prefix}-consumer"

    @property
    def consumer_task_family(self) -> str:
        """The consumer task definition's family: the test step runs its latest revision by this name."""
        return f"{self._prefix}-consumer"

    @property
    def proof_role(self) -> str:
        return f"{self._prefix}-pipeline-proof"

    # The catalog in a consumer account: the tables of the datasets it is given that describe one, and where its
    # roles query them.
    @property
    def catalog_database(self) -> str:
        """The Glue database of the environment's tables in each consumer account: under the project's prefix, as
        every resource the stacks create (the execution policy lets CloudFormation create no other, and a consumer's
        own database of a dataset's name is never taken over), with _ for - as Athena queries it unquoted."""
        return f"{self._prefix}".replace("-", "_")

    @property
    def query_workgroup(self) -> str:
        """The Athena workgroup the consumer's roles query the tables in (its results bucket and key enforced)."""
        return f"{self._prefix}-queries"

    def query_results_bucket(self, consumer: Consumer) -> str:
        """The workgroup's results bucket in the consumer's account and region: at most 59 characters (a project of
        12, an environment of 10, a region of 14)."""
        return f"{self._prefix}-queries-{consumer.account}-{consumer.region}"

    @property
    def query_results_key_alias(self) -> str:
        return f"alias/{self.project}/{self.environment}/query-results"

    def consumer_arn(self, consumer: Consumer, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{consumer.region}:{consumer.account}:{resource}"

    def workgroup_arn(self, consumer: Consumer) -> str:
        return self.consumer_arn(consumer, "athena", f"workgroup/{self.query_workgroup}")

    def catalog_arns(self, consumer: Consumer, tables: list[str]) -> list[str]:
        """The consumer account's catalog, the environment's database there and the given tables of it: Glue
        authorizes a request on each of them that leads to the one it names."""
        glue = [self.consumer_arn(consumer, "glue", "catalog")]
        glue.append(self.consumer_arn(consumer, "glue", f"database/{self.catalog_database}"))
        return glue + [self.consumer_arn(consumer, "glue", f"table/{self.catalog_database}/{t}") for t in tables]

    def consumer_key_pattern(self, consumer: Consumer) -> str:
        """Any key of the consumer's account and region: the results key's id is unknown before its stack deploys."""
        return self.consumer_arn(consumer, "kms", "key/*")

    def catalog_datasets(
        self, environment: Environment, consumer: Consumer | ConsumerGroup
    ) -> list[tuple[DatasetNames, Access]]:
        """The consumer's datasets that describe a table: it gets each in its own account's catalog."""
        return [(self.dataset(d), access) for d, access in environment.datasets_of(consumer) if d.catalog]

    @property
    def consumer_role_names(self) -> tuple[str, str]:
        return (self.function_role, self.task_role)

    def consumer_role_arn_patterns(self) -> list[str]:
        """The consumer roles in any account: grants pair them with the accounts (or the organization)."""
        return [self.role_arn("*", name) for name in self.consumer_role_names]

    def consumer_role_arns(self, consumer: Consumer) -> list[str]:
        """Every role of one consumer that its grants admit: the demo workloads', its extensions', its own."""
        return [self.role_arn(consumer.account, role) for role in self.consumer_role_names] + self.own_role_arns(
            consumer
        )

    def own_role_arns(self, consumer: Consumer) -> list[str]:
        """The roles of the consumer a grant names exactly, with its account: those its extensions add, and its
        own."""
        named = [self.workload_role(w) for w in consumer.workloads] + list(consumer.roles)
        return [self.role_arn(consumer.account, name) for name in named]

    def proof_role_arn(self, consumer: Consumer) -> str:
        return self.role_arn(consumer.account, self.proof_role)

    @property
    def execution_role_arn(self) -> str:
        """CloudFormation's execution role of the source account (`cdk bootstrap`), which the datasets' keys name."""
        role = self.bootstrap.role("cfn-exec", self.source_account, self.source_region)
        return self.role_arn(self.source_account, role)

    def role_arn(self, account: str, name: str) -> str:
        return role_arn(self.partition, account, name)


def proof_step_role(config: Config, environment: Environment, wave: int) -> str:
    """The tooling-account role of one test step (wave 1, 2, ...); the proof roles of that wave's consumers
    trust only it."""
    return f"{config.project}-{environment.name}-proof-step-{wave}"


def proof_step_role_arn(config: Config, environment: Environment, wave: int) -> str:
    return role_arn(config.tooling.partition, config.tooling.account, proof_step_role(config, environment, wave))


def group_proof_role(config: Config, environment: Environment, group: ConsumerGroup) -> str:
    """The tooling-account role of a consumer group's test step; the proof roles in the group's accounts trust only it
    (and the environment's daily proof)."""
    return f"{config.project}-{environment.name}-proof-{group.name}"


def group_proof_role_arn(config: Config, environment: Environment, group: ConsumerGroup) -> str:
    return role_arn(config.tooling.partition, config.tooling.account, group_proof_role(config, environment, group))


def group_stack_set(config: Config, environment: Environment, group: ConsumerGroup) -> str:
    """A consumer group's StackSet, and the name of its stack in each of the group's accounts (StackSets names those
    StackSet-NAME-ID): letters, digits and hyphens, as StackSet names are."""
    return f"{config.project}-{environment.name}-{group.name}"


def daily_proof_role(config: Config, environment: Environment) -> str:
    """The tooling-account role of an environment's scheduled proof (pipeline/daily_proof.py); its consumers' proof
    roles trust it beside their wave's test step role."""
    return f"{config.project}-{environment.name}-daily-proof"


def daily_proof_role_arn(config: Config, environment: Environment) -> str | None:
    """Its ARN, or None where the config schedules no proof."""
    if config.proof_schedule is None:
        return None
    return role_arn(config.tooling.partition, config.tooling.account, daily_proof_role(config, environment))


def role_arn(partition: str, account: str, name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{name}"


def api_logical_id(dataset: str) -> str:
    """The logical id of a dataset's REST API in the sharing stack: what a consumer stack asks CloudFormation for, to
    learn the API's id (API Gateway chooses it; nothing else names it)."""
    return f"Api{''.join(part.capitalize() for part in dataset.split('-'))}"


def api_id_output(dataset: str) -> str:
    """The consumer stack's output of a dataset's API's id (what its own roles' template takes as a parameter)."""
    return f"{api_logical_id(dataset)}Id"


def pre_datasets_layout(dataset: Dataset) -> bool:  # until 1.0: docs/upgrading.md
    """The default dataset `data` with a new bucket of its own (no prefix) and a new table: what a deployment made
    before datasets shared as "the share". Wherever it is (alone, or among datasets added later), it keeps that
    share's table and key alias names and its resources' logical ids, so such a deployment updates in place
    (CloudFormation cannot replace a named bucket, table or alias: a new logical id would try to create it again)."""
    bucket, table = dataset.bucket, dataset.table
    return (
        dataset.name == DEFAULT_DATASET
        and bucket is not None
        and not bucket.existing
        and not bucket.prefix
        and table is not None
        and not table.existing
    )


@dataclass(frozen=True)
class DatasetNames:
    """Names and ARNs of one dataset in the source account: of the bucket and table the sharing stage creates for
    it, or of the existing ones it names."""

    names: Names
    dataset: Dataset

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def pre_datasets_layout(self) -> bool:
        return pre_datasets_layout(self.dataset)

    @property
    def bucket(self) -> str | None:
        bucket = self.dataset.bucket
        if bucket is None:
            return None
        # Bucket names are global: the account and region make it unique without a random suffix.
        n = self.names
        return bucket.existing or dataset_bucket(n.project, n.environment, self.name, n.source_account, n.source_region)

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.names.partition}:s3:::{self.bucket}"

    @property
    def prefix(self) -> str:
        """The dataset's part of the bucket: "" for all of it."""
        return (self.dataset.bucket.prefix if self.dataset.bucket else None) or ""

    @property
    def objects_arn(self) -> str:
        return f"{self.bucket_arn}/{self.prefix}*"

    @property
    def canary_key(self) -> str:
        return f"{self.prefix}{CANARY_KEY}"

    @property
    def owns_bucket(self) -> bool:
        return self.dataset.bucket is not None and self.dataset.bucket.existing is None

    @property
    def owns_table(self) -> bool:
        return self.dataset.table is not None and self.dataset.table.existing is None

    @property
    def has_key(self) -> bool:
        """Whether the sharing stage makes a key for the dataset: for the bucket and table it creates, or its API's
        table and logs."""
        return self.owns_bucket or self.owns_table or self.has_api

    @property
    def has_api(self) -> bool:
        return self.dataset.api is not None

    @property
    def api(self) -> str:
        """The REST API's name (API Gateway gives it an id of its own, which the consumer stacks read: SourceLocator),
        and the name of its function, the function's role and log group, and its table."""
        return f"{self.names._prefix}-{self.name}"

    @property
    def api_function(self) -> str:
        return f"{self.api}-api"

    @property
    def api_access_logs(self) -> str:
        return f"{self.api}-api-access"

    def api_arn(self, api_id: str, method: str = "*", path: str = "*") -> str:
        """What execute-api:Invoke names: the API's stage, method and resource path (path without its leading /)."""
        n = self.names
        return (
            f"arn:{n.partition}:execute-api:{n.source_region}:{n.source_account}:{api_id}/{API_STAGE}/{method}/{path}"
        )

    def api_url(self, api_id: str) -> str:
        """The stage's URL, as API Gateway serves a regional API."""
        n = self.names
        return f"https://{api_id}.execute-api.{n.source_region}.{dns_suffix(n.partition)}/{API_STAGE}"

    @property
    def table(self) -> str | None:
        table = self.dataset.table
        if table is None:
            return None
        if table.existing:
            return table.existing
        return f"{self.names._prefix}-{'shared' if self.pre_datasets_layout else self.name}"

    @property
    def table_arn(self) -> str:
        return f"{self.names.table_arn_prefix}{self.table}"

    @property
    def key_alias(self) -> str:
        name = "shared-data" if self.pre_datasets_layout else self.name
        return f"alias/{self.names.project}/{self.names.environment}/{name}"

    @property
    def bucket_through_role(self) -> bool:
        """An existing bucket is reached through the source role (its policy is not the project's to write), unless
        it is reached through an access point."""
        bucket = self.dataset.bucket
        return bucket is not None and bucket.existing is not None and not bucket.through_access_point

    @property
    def through_access_point(self) -> bool:
        """An existing bucket the consumers' own roles reach directly, through the project's access point."""
        return self.dataset.bucket is not None and self.dataset.bucket.through_access_point

    @property
    def access_point(self) -> str:
        """The access point's name: unique in the source account and region, at most 44 of S3's 50 characters."""
        return f"{self.names.project}-{self.names.environment}-{self.name}"

    @property
    def access_point_arn(self) -> str:
        """What the consumers name as the bucket (boto3 takes it in place of a bucket name); Athena and Glue take the
        access point's alias instead, which S3 makes when it creates it (the sharing stack's output)."""
        n = self.names
        return f"arn:{n.partition}:s3:{n.source_region}:{n.source_account}:accesspoint/{self.access_point}"

    @property
    def access_point_objects_arn(self) -> str:
        return f"{self.access_point_arn}/object/{self.prefix}*"

    @property
    def catalog_table(self) -> str | None:
        """The dataset's table in the consumers' catalogs: its catalog's `table`, or its name with _ for -."""
        catalog = self.dataset.catalog
        if catalog is None:
            return None
        return catalog.table or self.name.replace("-", "_")

    def catalog_location(self, alias: str | None = None) -> str:
        """Where the table's objects are, as Athena and Glue name it: the bucket (a new one) or, for an existing bucket,
        its access point's alias, which Athena and Glue take as a bucket name; and the prefix."""
        return f"s3://{alias or self.bucket}/{self.prefix}"

    @property
    def table_through_role(self) -> bool:
        return self.dataset.table is not None and self.dataset.table.access == "role"

    @property
    def through_role(self) -> bool:
        return self.bucket_through_role or self.table_through_role
