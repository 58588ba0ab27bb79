"""The typed shape of the configuration file.

Every object is frozen and rejects unknown keys, so a typo in the YAML is an error rather than a silently
ignored setting. Checks that need more than one field (a consumer that is its own source, an account used
twice in one environment) live on the object that holds both fields.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictStr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config import quotas as aws
from config.actions import Access, aws_time
from config.regions import known_regions, partition_of

# Regions where CloudFormation has no AWS::CodeStarNotifications::NotificationRule (the CDK's template validation
# rejects it there, and cfn-lint's region schemas agree; a test checks this list against the latter): a pipeline
# in one of them cannot e-mail its failures and approvals.
WITHOUT_PIPELINE_NOTIFICATIONS = frozenset(
    {
        "af-south-1", "ap-east-2", "ap-northeast-3", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "cn-north-1", "cn-northwest-1",
        "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "mx-central-1",
        "us-gov-east-1", "us-gov-west-1",
    }
)  # fmt: skip
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$")
ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
# An organizational unit (ou-ROOT-SUFFIX: its root's id without r-) or, for the whole organization, the root (r-ROOT),
# as AWS Organizations names them.
ORGANIZATIONAL_UNIT = re.compile(r"^ou-(?P<root>[0-9a-z]{4,32})-[a-z0-9]{8,32}$|^r-(?P<rootid>[0-9a-z]{4,32})$")
CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:"
    r"connection/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
OWNER_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
CODECOMMIT_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,255}$")
IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A role's name (1-64 ASCII characters IAM allows), after its path where it has one (service-role/, ...): the grants
# name the role's ARN, which includes the path.
ROLE_NAME = re.compile(r"^(?:[A-Za-z0-9_+=,.@-]+/){0,8}[A-Za-z0-9_+=,.@-]{1,64}$")
SUBNET_ID = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")


def _account_id(value: str) -> str:
    if not ACCOUNT_ID.fullmatch(value):
        raise ValueError("is not a 12-digit AWS account id")
    return value


def _region(value: str) -> str:
    if value not in known_regions():
        raise ValueError("is not an AWS region name")
    return value


def _name(max_length: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > max_length or not NAME.fullmatch(value):
            raise ValueError(f"must be 1-{max_length} lower-case letters, digits or hyphens, starting with a letter")
        return value

    return check


def _pattern(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"is not {what}")
        return value

    return check


AccountId = Annotated[StrictStr, AfterValidator(_account_id)]
Region = Annotated[StrictStr, AfterValidator(_region)]
# Every bucket name starts with "<project>-"; S3 refuses names with these prefixes, and KMS aliases under alias/aws/.
RESERVED_BUCKET_PREFIXES = aws.S3_RESERVED_BUCKET_PREFIXES


def _project(value: str) -> str:
    if any(f"{value}-".startswith(prefix) for prefix in RESERVED_BUCKET_PREFIXES):
        raise ValueError(
            f"would start every bucket name with a prefix S3 reserves ({', '.join(RESERVED_BUCKET_PREFIXES)})"
        )
    if value == "aws":
        raise ValueError("would name the project's KMS aliases alias/aws/..., which AWS reserves for its own keys")
    if f"{value}-".startswith("cdk-"):
        raise ValueError(
            "would name the project's roles and buckets cdk-..., which the bootstrap execution policy keeps from "
            "CloudFormation (they are the CDK bootstrap's own)"
        )
    return value


ProjectName = Annotated[StrictStr, AfterValidator(_name(12)), AfterValidator(_project)]
EnvironmentName = Annotated[StrictStr, AfterValidator(_name(10))]
ConsumerName = Annotated[StrictStr, AfterValidator(_name(20))]
Branch = Annotated[StrictStr, AfterValidator(_pattern(BRANCH, "a git branch name"))]


class _Frozen(BaseModel):
    # A string right after a field is its description (the configuration reference, docs/configuration-reference.md).
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class AccountRegion(_Frozen):
    account: AccountId
    """The 12-digit AWS account id, quoted in YAML."""
    region: Region
    """An AWS region name, e.g. eu-west-1."""

    @property
    def partition(self) -> str:
        return partition_of(self.region)


class ConnectionRepository(_Frozen):
    """A GitHub, GitLab or Bitbucket repository reached through a CodeConnections connection."""

    connection_arn: Annotated[StrictStr, AfterValidator(_pattern(CONNECTION_ARN, "a CodeConnections connection ARN"))]
    """A CodeConnections connection to GitHub, GitLab or Bitbucket; AVAILABLE (its handshake done in the console)
    before make doctor passes."""
    repository: Annotated[StrictStr, AfterValidator(_pattern(OWNER_REPO, "an owner/repository name"))]
    """owner/name of the repository."""
    branch: Branch = "main"
    """The branch whose pushes the pipeline deploys."""


class CodeCommitRepository(_Frozen):
    codecommit_repository: Annotated[
        StrictStr, AfterValidator(_pattern(CODECOMMIT_REPO, "a CodeCommit repository name"))
    ]
    """A CodeCommit repository of the tooling account, instead of a connection."""
    branch: Branch = "main"
    """The branch whose pushes the pipeline deploys."""


# Tags of the union above; they appear in error locations, and the loader leaves them out.
REPOSITORY_TAGS = frozenset({"connection", "codecommit"})


def _repository_kind(value: object) -> str:
    if isinstance(value, dict) and "codecommit_repository" in value:
        return "codecommit"
    if isinstance(value, CodeCommitRepository):
        return "codecommit"
    return "connection"


S3_PREFIX = re.compile(r"^(?:[A-Za-z0-9!_.'()-]+/)+$")
# Where the self-check writes and reads its own entries: never a dataset's prefix.
SELF_CHECK_PREFIX = "__consumer-self-check__/"


def dataset_bucket(project: str, environment: str, dataset: str, account: str, region: str) -> str:
    """The name of a dataset's own bucket. Bucket names are global: the account and region make it unique without a
    random suffix (config/naming.py names everything else from it; the model checks its length)."""
    return f"{project}-{environment}-{dataset}-{account}-{region}"


EXISTING_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
EXISTING_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
KEY_ARN = re.compile(
    r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/mrk-[0-9a-f]{32}$"
)


def _prefix(value: str) -> str:
    """A prefix the grants can name exactly: segments of S3's safe characters, each ending in '/', so that 'sales/'
    never also matches 'sales-archive/...'; no IAM wildcard (* ?) or policy variable ($), and within S3's 1,024-byte
    keys with room for the self-check's entries."""
    if len(value.encode()) > 900:
        raise ValueError("is longer than 900 bytes (S3 keys are at most 1,024, and the self-check's go under it)")
    if not S3_PREFIX.fullmatch(value) and S3_PREFIX.fullmatch(value + "/"):
        raise ValueError(f"does not end in '/' (a prefix 'sales' would also cover 'sales-archive/'): write {value}/")
    if not S3_PREFIX.fullmatch(value):
        raise ValueError(
            "is not an S3 prefix the grants can name: segments of letters, digits and !_.'()- each ending in '/', "
            "e.g. 'sales/' or 'raw/events/'"
        )
    if any(segment in {".", ".."} for segment in value.split("/")):
        raise ValueError("has a '.' or '..' segment")
    if value.startswith(SELF_CHECK_PREFIX):
        raise ValueError(f"is under {SELF_CHECK_PREFIX}, where the consumers' self-check writes")
    return value


S3Prefix = Annotated[StrictStr, AfterValidator(_prefix)]
KeyArn = Annotated[StrictStr, AfterValidator(_pattern(KEY_ARN, "a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)"))]


class DatasetBucket(_Frozen):
    """A dataset's objects: a bucket the sharing stage creates for it (the default), or one that already exists in
    the source account (`existing`), in the source region. With `prefix`, only the objects under it."""

    # An existing bucket is never changed: no policy is written on it; consumers reach it through the source role
    # the sharing stage creates for each of them (identity-based).
    existing: Annotated[StrictStr, AfterValidator(_pattern(EXISTING_BUCKET, "an S3 bucket name"))] | None = None
    """A bucket already in the source account and region: never changed by the stacks, reached through the source
    roles. Without it, a new bucket of the dataset's own."""
    prefix: S3Prefix | None = None
    """Only the objects under this prefix: segments ending in /, e.g. raw/events/."""
    # The customer-managed key an existing bucket's objects are encrypted with, if any (SSE-KMS): the source role
    # may use it through S3. Not for a new bucket, which has a key of its own.
    kms_key: KeyArn | None = None
    """The customer-managed key of an existing bucket's objects, if they use one."""
    # How consumers reach an existing bucket: "role" (assume their role in the source account; for application code),
    # or "access-point" (an S3 access point of the project's, whose policy admits the consumers' own roles directly:
    # for Athena, Glue, EMR and Redshift Spectrum, which cannot assume a second role). The bucket's policy is never
    # written: its owner delegates access control to the account's access points once (docs/data-lake.md).
    access: Literal["role", "access-point"] | None = None
    """How consumers reach an existing bucket: role (the default; through their role in the source account) or
    access-point (directly, with their own roles' credentials, through an access point of the project's; the bucket's
    owner delegates to access points once, docs/data-lake.md). A new bucket's own policy admits them."""

    @model_validator(mode="after")
    def _key_only_when_existing(self) -> DatasetBucket:
        if self.kms_key and not self.existing:
            raise ValueError("kms_key: is for an existing bucket; a new bucket has a key of the dataset's own")
        if self.access and not self.existing:
            raise ValueError(
                "access: is for an existing bucket; a new bucket's own policy admits the consumers given it"
            )
        return self

    @property
    def through_access_point(self) -> bool:
        return self.access == "access-point"


class DatasetTable(_Frozen):
    """A dataset's table: one the sharing stage creates (the default) or one that already exists (`existing`)."""

    existing: Annotated[StrictStr, AfterValidator(_pattern(EXISTING_TABLE, "a DynamoDB table name"))] | None = None
    """A table already in the source account and region: never changed, reached through the source roles. Without it,
    a new table."""
    # "role": consumers assume a role in the source account (identity-based); the only way to an existing table.
    # "resource-policy": the new table's own resource policy admits the consumers' roles directly.
    access: Literal["role", "resource-policy"] = "role"
    """role: consumers assume their role in the source account; resource-policy: the table's own policy admits them
    (a new table only)."""
    kms_key: KeyArn | None = None
    """The customer-managed key of an existing table, if it uses one."""

    @model_validator(mode="after")
    def _existing_tables_through_the_role(self) -> DatasetTable:
        if self.existing and self.access == "resource-policy":
            raise ValueError(
                "access: 'resource-policy' would write the policy of a table the project does not own: an existing "
                "table is shared through the source role (access: role)"
            )
        if self.kms_key and not self.existing:
            raise ValueError("kms_key: is for an existing table; a new table has a key of the dataset's own")
        return self


# A name Athena can query unquoted: lower-case letters, digits and underscores (Athena's rule for databases, tables
# and columns; Glue would also take upper case, which Athena lower-cases, and hyphens, which SQL must quote).
GLUE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")
# Hive's types as Glue stores them and Athena reads them: the primitives, decimal(p,s), char(n), varchar(n), and the
# complex types (array<...>, map<...,...>, struct<name:type,...>), checked for balanced brackets only.
PRIMITIVE_TYPE = re.compile(
    r"^(?:boolean|tinyint|smallint|int|integer|bigint|float|double|string|binary|date|timestamp"
    r"|decimal(?:\([0-9]{1,2}(?:,[0-9]{1,2})?\))?|char\([0-9]{1,3}\)|varchar\([0-9]{1,5}\))$"
)
COMPLEX_TYPE = re.compile(r"^(?:array|map|struct)<[a-z0-9_:,<>() ]+>$")


def _column_type(value: str) -> str:
    if PRIMITIVE_TYPE.fullmatch(value):
        return value
    if COMPLEX_TYPE.fullmatch(value) and len(value) <= 2048:
        depth = 0
        for character in value:
            depth += {"<": 1, ">": -1}.get(character, 0)
            if depth < 0:
                break
        if depth == 0:
            return value
    raise ValueError(
        "is not a column type Athena reads: boolean, tinyint, smallint, int, bigint, float, double, decimal(p,s), "
        "char(n), varchar(n), string, binary, date, timestamp, or array<...>, map<...>, struct<...> (lower case)"
    )


GlueName = Annotated[StrictStr, AfterValidator(_pattern(GLUE_NAME, "a name Athena queries (a-z, 0-9, _)"))]
ColumnType = Annotated[StrictStr, AfterValidator(_column_type)]


class DatasetCatalog(_Frozen):
    """The table a dataset's objects make, so that each consumer given it queries it with SQL in its own account: its
    Glue table (in the database PROJECT_ENV) over the dataset's objects, and an Athena workgroup to run queries in."""

    table: GlueName | None = None
    """The table's name in Athena: lower-case letters, digits and _. Default: the dataset's name, - as _."""
    format: Literal["parquet", "csv", "json"]
    """How the objects are written: parquet, csv (comma-separated; see header) or json (one object per line)."""
    header: StrictBool | None = None
    """csv only: whether each object's first line names the columns (then skipped). Default true."""
    columns: Annotated[dict[GlueName, ColumnType], Field(min_length=1, max_length=1000)]
    """{name: type} in the objects' order: Hive types as Athena reads them (string, bigint, double, decimal(10,2),
    date, timestamp, array<string>, ...)."""
    partition_keys: Annotated[dict[GlueName, ColumnType], Field(max_length=100)] = Field(default_factory=dict)
    """{name: type} of the folders the objects are under (dt=2026-12-01/), in their order; a consumer's roles load new
    partitions into its own table (MSCK REPAIR TABLE)."""

    @model_validator(mode="after")
    def _columns_apart(self) -> DatasetCatalog:
        both = sorted(set(self.columns) & set(self.partition_keys))
        if both:
            raise ValueError(f"partition_keys: {both[0]!r} is also a column: a partition key is not in the objects")
        if self.header is not None and self.format != "csv":
            raise ValueError(f"header: is for format csv, not {self.format}")
        complex_keys = [k for k, v in self.partition_keys.items() if not PRIMITIVE_TYPE.fullmatch(v)]
        if complex_keys:
            raise ValueError(f"partition_keys: {complex_keys[0]!r} has a complex type: a partition key is a primitive")
        return self


WEB_ACL_ARN = re.compile(
    r"^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:[0-9]{12}:regional/webacl/[A-Za-z0-9_-]{1,128}/[0-9a-f-]{36}$"
)


class DatasetApi(_Frozen):
    """A REST API of the source account (regional) that serves the dataset's items from a table of its own, through a
    small function: consumers call it with their roles' own credentials (SigV4, IAM authorization), GET for read, PUT
    and DELETE too for read-write. Its resource policy admits exactly the consumers given it, per method."""

    # API Gateway's stage throttling: a steady rate and a burst, for all callers together (API Gateway quotas: 10,000
    # requests per second and a burst of 5,000 per account and region, shared by every API of the account).
    rate_limit: Annotated[float, Field(gt=0, le=aws.APIGATEWAY_ACCOUNT_RATE)] = 50
    """Requests per second the API serves, all consumers together (then 429); at most 10,000, the account's quota."""
    burst_limit: Annotated[int, Field(ge=1, le=aws.APIGATEWAY_ACCOUNT_BURST)] = 100
    """Requests the API takes at once above the rate; at most 5,000, the account's quota."""
    web_acl_arn: Annotated[StrictStr, AfterValidator(_pattern(WEB_ACL_ARN, "a regional WAFv2 web ACL ARN"))] | None = (
        None
    )
    """A WAFv2 web ACL of the source account and region (scope REGIONAL, arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/
    NAME/ID) in front of the API; none by default (IAM authorization and the resource policy decide who calls)."""


DatasetName = Annotated[StrictStr, AfterValidator(_name(20))]


class Dataset(_Frozen):
    """Something the source account shares: objects (a bucket, or a prefix of one), a table, or both; or an API
    that serves items. Each consumer gets it only where its `grants` name it."""

    name: DatasetName
    """1-20 lower-case letters, digits or hyphens, unique in the environment: it names the dataset's bucket
    (PROJECT-ENV-NAME-ACCOUNT-REGION, at most 63 characters), table and key alias."""
    bucket: DatasetBucket | None = None
    """The dataset's bucket, {} for a new one. A dataset has a bucket, a table or both."""
    table: DatasetTable | None = None
    """The dataset's table, {} for a new one."""
    catalog: DatasetCatalog | None = None
    """The table its objects make, queried with SQL (Athena) in each consumer's account: format, columns, partition keys
    (docs/data-lake.md). For a new bucket, or an existing one through an access point."""
    api: DatasetApi | None = None
    """An API that serves the dataset's items instead of the data itself, {} for the defaults (docs/shared-api.md):
    consumers call it, and never reach its table. A dataset with an API has no bucket or table."""
    # What the test step's self-check proves of a consumer given the dataset read-write: "full" writes and deletes an
    # object and an item of its own; "read-only" proves the reads only, for an existing bucket or table the self-check
    # must not write (Object Lock keeps every object it writes; a table's stream hands its items to the owner's code).
    proof: Literal["full", "read-only"] = "full"
    """What the test step proves of a consumer given the dataset read-write: full (writes and deletes an object and
    an item of its own) or read-only (the reads only, for an existing bucket or table the self-check must not
    write to)."""

    @model_validator(mode="after")
    def _something(self) -> Dataset:
        if self.api is not None:
            if self.bucket is not None or self.table is not None:
                raise ValueError(
                    "api: a dataset with an API shares the API alone (its items are in a table of the API's own): "
                    "make the bucket or table another dataset"
                )
            if self.proof == "read-only":
                raise ValueError(
                    "proof: 'read-only' is for an existing bucket or table; an API's self-check writes "
                    "and deletes an item of its own"
                )
            return self
        if self.bucket is None and self.table is None:
            raise ValueError("bucket: a dataset shares a bucket, a table, or an API: give at least one")
        if self.bucket and self.bucket.through_access_point and self.name.endswith(("-s3alias", "-ext-s3alias")):
            # The access point is PROJECT-ENV-NAME, and S3 keeps these endings for access point aliases.
            raise ValueError("name: an access point's name cannot end in -s3alias or -ext-s3alias (S3 reserves them)")
        if self.catalog and self.bucket is None:
            raise ValueError("catalog: describes the objects of a dataset's bucket: give the dataset a bucket")
        hidden = [s for s in (self.bucket.prefix or "").split("/") if s.startswith(("_", "."))] if self.bucket else []
        if self.catalog and hidden:
            # Athena treats files starting with _ or . as hidden, and its Hive reader skips such folders (its guide
            # says not to name locations with underscores, "Table location in Amazon S3"): no rows, ever.
            raise ValueError(
                f"catalog: Athena reads nothing under a folder named {hidden[0]!r} (it skips folders starting with _ "
                "or .): give the table a prefix without such a folder"
            )
        if self.catalog and self.bucket and self.bucket.existing and not self.bucket.through_access_point:
            # Athena, Glue and EMR read with the caller's own credentials: they cannot assume the source role.
            raise ValueError(
                "catalog: a table over an existing bucket is read with the consumers' own roles, which reach it "
                "through an access point only: give the bucket access: access-point"
            )
        if self.proof == "read-only" and not self.existing:
            raise ValueError(
                "proof: 'read-only' is for a dataset of an existing bucket or table; the self-check's writes in the "
                "project's own are expired by their lifecycle"
            )
        return self

    @property
    def existing(self) -> bool:
        """Whether any of it exists outside the project: then only the source role reaches that part."""
        return bool((self.bucket and self.bucket.existing) or (self.table and self.table.existing))


# An environment without `datasets` shares one, a new bucket and table, that each consumer without `grants` reads.
DEFAULT_DATASET = "data"


def _distinct(values: tuple[str, ...]) -> tuple[str, ...]:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise ValueError(f"lists {repeated[0]!r} twice")
    return values


SubnetId = Annotated[StrictStr, AfterValidator(_pattern(SUBNET_ID, "a subnet id (subnet-...)"))]
SecurityGroupId = Annotated[StrictStr, AfterValidator(_pattern(SECURITY_GROUP_ID, "a security group id (sg-...)"))]


class TaskNetwork(_Frozen):
    """Where the pipeline's test step runs the consumer's ECS task (Fargate, awsvpc). Without it, the consumer
    account's default VPC in the consumer's region: its default subnets, its default security group, a public IP."""

    # ECS RunTask takes at most 16 subnets and 5 security groups.
    subnets: Annotated[tuple[SubnetId, ...], Field(min_length=1, max_length=16), AfterValidator(_distinct)]
    """1-16 subnet ids of one VPC, where the test step runs the consumer's ECS task."""
    # None: the default security group of the subnets' VPC.
    security_groups: Annotated[tuple[SecurityGroupId, ...], Field(max_length=5), AfterValidator(_distinct)] = ()
    """0-5 security group ids; none: the VPC's default group."""
    # A task in a public subnet needs a public IP to pull its image and reach AWS, unless the VPC has a NAT gateway
    # or VPC endpoints (ECR, S3, DynamoDB, STS, KMS, CloudWatch Logs).
    assign_public_ip: StrictBool = False
    """true in public subnets (or the task cannot pull its image), unless the VPC has a NAT gateway or VPC endpoints."""


ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/(?P<name>.+)$")


def _role_name(value: str) -> str:
    arn = ROLE_ARN.fullmatch(value)
    if arn:
        raise ValueError(
            f"is a role ARN: name the role, with its path if it has one ({arn['name']!r}); its account is the "
            "consumer's"
        )
    return _pattern(ROLE_NAME, "an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-), after its path if it has one")(value)


RoleName = Annotated[StrictStr, AfterValidator(_role_name)]


def _distinct_roles(values: tuple[str, ...]) -> tuple[str, ...]:
    """IAM role names are unique in an account whatever their case and path; a path is at most 512 characters with
    its slashes (IAM CreateRole)."""
    seen: dict[str, str] = {}
    for value in values:
        path = value.rpartition("/")[0]
        if path and len(path) + 2 > 512:
            raise ValueError(f"gives {value[:40]!r}... a path of {len(path) + 2} characters, IAM allows 512")
        name = value.rsplit("/", 1)[-1].lower()
        if name in seen:
            raise ValueError(f"lists the role {value.rsplit('/', 1)[-1]!r} twice ({seen[name]!r}, {value!r})")
        seen[name] = value
    return values


# The demo workloads' roles are PROJECT-ENV-consumer-function, -task and -task-exec.
RESERVED_WORKLOADS = frozenset({"function", "task", "task-exec"})


def _workload(value: str) -> str:
    if value in RESERVED_WORKLOADS:
        raise ValueError(f"names a workload the project deploys itself ({', '.join(sorted(RESERVED_WORKLOADS))})")
    if value.startswith("consumer-"):
        # PROJECT-a-consumer-consumer-function would also be the demo function of an environment named a-consumer.
        raise ValueError("starts with consumer-, which could name a role of another environment")
    return value


WorkloadName = Annotated[StrictStr, AfterValidator(_name(20)), AfterValidator(_workload)]


# Within this many days of its end a grant is listed as expiring (make doctor, make summary).
EXPIRY_WARNING_DAYS = 14
# What a validation's context may say (config/loader.py, parse_config): the instant the config is read at, against
# which an end date must be in the future; and whether an end date in the past is taken (a config of before, as the
# access diff reads its base: its expired grants give nothing).
NOW = "now"
PAST_ENDS_ALLOWED = "past_ends_allowed"


def _short_grant(value: object) -> object:
    """`sales: read` is `sales: {access: read}`."""
    if isinstance(value, str):
        if value not in ("read", "read-write"):
            raise ValueError("must be 'read' or 'read-write' (or {access: read, until: 2027-03-31})")
        return {"access": value}
    return value


def _end(value: object) -> object:
    """An end date as the instant it means, in UTC: a date's end (2027-03-31: 2027-04-01T00:00:00Z), or a time with
    its zone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            raise ValueError(_NOT_AN_END) from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("has no time zone: add one (Z for UTC, or +02:00), or give a date")
        # To the second, as IAM's conditions and the statements' sids name it: two ends within a second are one.
        return value.astimezone(UTC).replace(microsecond=0)
    if isinstance(value, date):
        return datetime.combine(value + timedelta(days=1), time(0), tzinfo=UTC)
    raise ValueError(_NOT_AN_END)


_NOT_AN_END = "is not a date (2027-03-31) or a time with its zone (2027-03-31T17:00:00+02:00)"
EndDate = Annotated[datetime, BeforeValidator(_end)]


class Grant(_Frozen):
    """A dataset given to a consumer: its access, and, optionally, when that access ends by itself."""

    access: Access
    """read or read-write."""
    # Every statement that carries the grant ends at that instant by itself (aws:CurrentTime), without a deploy.
    until: EndDate | None = None
    """When the access ends, by itself and without a deploy (every statement that carries it has an aws:CurrentTime
    condition): a date (access ends at the end of that day, UTC: 2027-03-31 ends at 2027-04-01T00:00:00Z) or a time
    with its zone (2027-03-31T17:00:00+02:00). Must be in the future when the config is read; take the grant out of
    the config once it has passed (the config refuses it then)."""

    @field_validator("until")
    @classmethod
    def _in_the_future(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        context = info.context or {}
        now: datetime = context.get(NOW) or datetime.now(UTC)
        if value is not None and value <= now and not context.get(PAST_ENDS_ALLOWED):
            raise ValueError(f"has passed ({aws_time(value)}): the grant has ended, take it out of the config")
        return value

    @property
    def ends(self) -> datetime | None:
        """The instant the access ends (UTC), or None."""
        return self.until

    def active(self, at: datetime) -> bool:
        """Whether the grant gives its access at that instant."""
        return self.until is None or at < self.until


class _Given:
    """What a consumer and a consumer group have alike: their grants."""

    if TYPE_CHECKING:  # each declares it as a field of its own
        grants: dict[str, Grant]

    def access_to(self, dataset: str) -> Access | None:
        """The access given to a dataset, or None where it is not given."""
        grant = self.grants.get(dataset)
        return grant.access if grant else None

    def ends(self, dataset: str) -> datetime | None:
        """When the grant of a dataset ends, or None (it does not, or there is none)."""
        grant = self.grants.get(dataset)
        return grant.ends if grant else None


class Consumer(_Given, _Frozen):
    name: ConsumerName
    """1-20 lower-case letters, digits or hyphens, unique in the environment; ENV-NAME names its stage, so not
    sharing."""
    account: AccountId
    """The consumer's 12-digit account id, quoted."""
    region: Region
    """The region of the consumer's stacks."""
    task_network: TaskNetwork | None = None
    """Where the test step runs the consumer's ECS task; without it, the default VPC, its default subnets and a
    public IP."""
    # The consumer's own roles (Glue jobs, Athena, applications), by name in its account, existing or to come: the
    # source account's grants admit them as they admit the demo workloads' roles, and each gets its side of the
    # access from a copy of the consumer stage's shared-data policy that the consumer's team creates under a name of
    # its own and attaches (make summary prints it): the stage's own policy is the pipeline's to rewrite.
    roles: Annotated[tuple[RoleName, ...], AfterValidator(_distinct_roles)] = ()
    """The consumer's own roles (Glue, Athena, applications) by name, with their path, in its account: the grants
    admit them as they admit the demo workloads (docs/extending.md)."""
    # Which of the environment's datasets this consumer gets, and how: {dataset: read | read-write}. Nothing else.
    grants: dict[DatasetName, Annotated[Grant, BeforeValidator(_short_grant)]] = Field(default_factory=dict)
    """{dataset: read | read-write}, or {dataset: {access: read, until: 2027-03-31}} for access that ends by itself:
    the datasets this consumer gets; it is refused every other one. Without datasets in the environment: {data:
    read}."""
    # Workloads your own code adds to this consumer's stage (extensions/), by name: each gets the role
    # PROJECT-ENV-consumer-NAME, which every grant of the consumer's datasets admits.
    workloads: Annotated[tuple[WorkloadName, ...], AfterValidator(_distinct)] = ()
    """Workloads your own code adds to the consumer's stage (extensions/), by name."""

    @property
    def env(self) -> AccountRegion:
        return AccountRegion(account=self.account, region=self.region)


def _organizational_unit(value: str) -> str:
    if not ORGANIZATIONAL_UNIT.fullmatch(value):
        raise ValueError("is not an organizational unit id (ou-ab12-11111111) or the organization's root (r-ab12)")
    return value


OrganizationalUnitId = Annotated[StrictStr, AfterValidator(_organizational_unit)]


def _one_region(values: tuple[str, ...]) -> tuple[str, ...]:
    if len(values) > 1:
        raise ValueError(
            f"lists {len(values)} regions: a group has one for now (its consumer stack's IAM roles are named without "
            "a region, and IAM names are account-wide): make a group per region, in an environment each"
        )
    return values


def root_of(unit: str) -> str:
    """The id of the root an organizational unit is under (ou-ab12-11111111: r-ab12), or of the root itself."""
    found = ORGANIZATIONAL_UNIT.fullmatch(unit)
    if not found:
        raise ValueError(f"{unit!r} is not an organizational unit id")
    return f"r-{found['root'] or found['rootid']}"


class Rollout(_Frozen):
    """How fast a group's StackSet rolls a change out to its accounts (CloudFormation's OperationPreferences; not
    for an account that joins a unit later, which gets its stack by itself)."""

    # Percentages of the target accounts, per region; all regions at once (RegionConcurrencyType PARALLEL).
    max_concurrent_percentage: Annotated[int, Field(ge=1, le=100)] = 25
    """1-100: the share of the group's accounts a change deploys to at once, per region."""
    failure_tolerance_percentage: Annotated[int, Field(ge=0, le=100)] = 10
    """0-100: the share of accounts whose deploy may fail before the rollout stops (soft failure tolerance: the
    accounts in flight finish)."""

    @model_validator(mode="after")
    def _tolerance_within_concurrency(self) -> Rollout:
        # StackSets deploys to at most max concurrent accounts at once, and with SOFT_FAILURE_TOLERANCE it keeps that
        # many in flight until the failures pass the tolerance: a tolerance above it would never stop a bad rollout
        # before its first wave is done.
        if self.failure_tolerance_percentage > self.max_concurrent_percentage:
            raise ValueError(
                f"failure_tolerance_percentage: {self.failure_tolerance_percentage} is above "
                f"max_concurrent_percentage {self.max_concurrent_percentage}: a bad change would reach more accounts "
                "than it may fail in"
            )
        return self


class ConsumerGroup(_Given, _Frozen):
    """Consumers that are whole organizational units: every account in them (and in the units under them), now or to
    come, with the roles of one name in each, given the same datasets. One statement per group and level admits them
    all (aws:PrincipalOrgPaths), whatever the units hold."""

    name: ConsumerName
    """1-20 lower-case letters, digits or hyphens, unique among the environment's consumers and groups."""
    organizational_units: Annotated[
        tuple[OrganizationalUnitId, ...], Field(min_length=1, max_length=10), AfterValidator(_distinct)
    ]
    """1-10 organizational unit ids (ou-ab12-11111111) of the config's organization_id: every account in them and in
    the units under them is a consumer. The root's id (r-ab12) is the whole organization: an explicit choice."""
    # One region: the consumer stack's roles and policy are named without a region (IAM names are account-wide, and the
    # grants admit the roles by name), so a second region's stack in the same account would collide with the first.
    regions: Annotated[tuple[Region, ...], Field(min_length=1), AfterValidator(_one_region)]
    """The region of the group's consumer stack in each account: one, for now (its roles' names are account-wide)."""
    roles: Annotated[tuple[RoleName, ...], AfterValidator(_distinct_roles)] = ()
    """The group's own roles by name (with their path), the same in each of its accounts: the grants admit them in
    those accounts only."""
    grants: dict[DatasetName, Annotated[Grant, BeforeValidator(_short_grant)]] = Field(default_factory=dict)
    """{dataset: read | read-write} (or {access, until}), as a consumer's: the datasets every account of the group
    gets."""
    rollout: Rollout = Rollout()
    """How fast a change reaches the group's accounts: max_concurrent_percentage (default 25) and
    failure_tolerance_percentage (default 10, at most the former)."""
    # The group's test step fails when more of its accounts than this fail their self-check or have no deployed stack.
    proof_tolerance_percentage: Annotated[int, Field(ge=0, le=100)] = 0
    """0-100: the share of the group's accounts whose proof may fail (or whose stack is not deployed) without failing
    the group's test step; default 0, every account."""

    def org_paths(self, organization_id: str) -> list[str]:
        """The aws:PrincipalOrgPaths patterns of the group's units, each with the units under it: o-ID/*/ou-ID/* (the
        path of an account's unit, from the root, ends with a slash; StringLike's * spans segments)."""
        return [
            f"{organization_id}/{unit}/*" if unit.startswith("r-") else f"{organization_id}/*/{unit}/*"
            for unit in self.organizational_units
        ]

    def member(self, account: str, region: str) -> Consumer:
        """One account of the group as a consumer: its name, roles and grants in that account (the access report and
        the rehearsal decide each sample account as they decide a consumer)."""
        return Consumer.model_construct(name=self.name, account=account, region=region, roles=self.roles,
                                        grants=self.grants, task_network=None, workloads=())  # fmt: skip


class Environment(_Frozen):
    name: EnvironmentName
    """1-10 lower-case letters, digits or hyphens, starting with a letter, unique; environments deploy in the order
    listed."""
    approval: StrictBool = False
    """A person approves before anything of the environment deploys, and again when a change widens its sharing
    stage's IAM permissions."""
    source: AccountRegion
    """The account and region that own and share the data."""
    datasets: Annotated[tuple[Dataset, ...], Field(min_length=1)]
    """What the source shares; without it, one dataset named data, a new bucket and table."""
    consumers: tuple[Consumer, ...] = ()
    """The consumer accounts, each by its id; an environment has consumers, consumer_groups or both."""
    consumer_groups: tuple[ConsumerGroup, ...] = ()
    """Consumers that are whole organizational units (with organization_id): every account in them, now or to come,
    gets the group's datasets (docs/scale.md)."""

    @model_validator(mode="before")
    @classmethod
    def _default_dataset(cls, data: Any) -> Any:
        """Without `datasets`, one new bucket and table that every consumer without `grants` reads."""
        if not isinstance(data, dict):
            return data
        if "share" in data:  # a config of before datasets: the fix, not "unknown key" (until 1.0: docs/upgrading.md)
            raise ValueError(
                "share: was replaced by datasets (each consumer names its own in grants): see config/example.yaml"
            )
        if "datasets" in data:
            return data
        consumers = data.get("consumers")
        if isinstance(consumers, list):
            consumers = [
                {**c, "grants": {DEFAULT_DATASET: "read"}} if isinstance(c, dict) and "grants" not in c else c
                for c in consumers
            ]
        return {**data, "datasets": [{"name": DEFAULT_DATASET, "bucket": {}, "table": {}}], "consumers": consumers}

    @model_validator(mode="after")
    def _consumers_are_distinct(self) -> Environment:
        if not self.consumers and not self.consumer_groups:
            raise ValueError("consumers: the environment has none: list consumer accounts or consumer_groups")
        names: set[str] = set()
        accounts: set[str] = set()
        for index, group in enumerate(self.consumer_groups):
            if group.name in names:
                raise ValueError(f"consumer_groups[{index}].name: {group.name!r} is used twice in the environment")
            names.add(group.name)
        for index, consumer in enumerate(self.consumers):
            where = f"consumers[{index}]"
            if consumer.account == self.source.account:
                raise ValueError(f"{where}.account: {consumer.account!r} is the source account of the environment")
            if consumer.name in names:
                raise ValueError(f"{where}.name: {consumer.name!r} is used twice in the environment (consumers and "
                                 "consumer_groups share their names)")  # fmt: skip
            if consumer.account in accounts:
                raise ValueError(f"{where}.account: {consumer.account!r} is used twice in the environment")
            names.add(consumer.name)
            accounts.add(consumer.account)
        return self

    @model_validator(mode="after")
    def _grants_name_datasets(self) -> Environment:
        datasets = {dataset.name for dataset in self.datasets}
        seen: set[str] = set()
        for index, dataset in enumerate(self.datasets):
            if dataset.name in seen:
                raise ValueError(f"datasets[{index}].name: {dataset.name!r} is used twice in the environment")
            seen.add(dataset.name)
        given: list[tuple[str, Consumer | ConsumerGroup]] = [
            *((f"consumers[{i}]", c) for i, c in enumerate(self.consumers)),
            *((f"consumer_groups[{i}]", g) for i, g in enumerate(self.consumer_groups)),
        ]
        for where, consumer in given:
            if not consumer.grants:
                raise ValueError(
                    f"{where}.grants: {consumer.name!r} is given no dataset: name one "
                    f"({', '.join(sorted(datasets))}) as {{dataset: read}} or {{dataset: read-write}}"
                )
            for name in consumer.grants:
                if name not in datasets:
                    close = difflib.get_close_matches(name, sorted(datasets), n=1)
                    raise ValueError(
                        f"{where}.grants.{name}: no dataset {name!r} in the environment "
                        + (f"(did you mean {close[0]!r}? " if close else "(")
                        + f"its datasets: {', '.join(sorted(datasets))})"
                    )
        for index, dataset in enumerate(self.datasets):
            if not self.everyone_granted(dataset):
                raise ValueError(
                    f"datasets[{index}].name: {dataset.name!r} is granted to no consumer: grant it in a consumer's "
                    "grants, or remove it"
                )
        return self

    @model_validator(mode="after")
    def _overlaps_agree(self) -> Environment:
        """Two datasets of one bucket whose prefixes overlap (or one of them the whole bucket) give the shared part
        to the consumers of both: that is what the config says only where every consumer gets both alike."""
        for i, first in enumerate(self.datasets):
            for second in self.datasets[:i]:
                if not (first.bucket and second.bucket and first.bucket.existing):
                    continue
                if first.bucket.existing != second.bucket.existing:
                    continue
                a, b = first.bucket.prefix or "", second.bucket.prefix or ""
                if not (a.startswith(b) or b.startswith(a)):
                    continue
                for consumer in self.given:
                    if consumer.grants.get(first.name) != consumer.grants.get(second.name):
                        raise ValueError(
                            f"datasets[{i}].bucket.prefix: {a or '(whole bucket)'!r} of {first.bucket.existing} "
                            f"overlaps dataset {second.name!r} ({b or 'whole bucket'}), and {consumer.name!r} gets "
                            f"{_described(consumer.grants.get(first.name))} on one and "
                            f"{_described(consumer.grants.get(second.name))} on the other: grant overlapping datasets "
                            "alike, or make their prefixes disjoint"
                        )
        return self

    def granted(self, dataset: Dataset) -> list[tuple[Consumer, Access]]:
        """The consumers given the dataset, with their access, in the config's order."""
        return [(c, c.grants[dataset.name].access) for c in self.consumers if dataset.name in c.grants]

    @property
    def given(self) -> tuple[Consumer | ConsumerGroup, ...]:
        """The consumers, then the consumer groups: everyone grants go to."""
        return (*self.consumers, *self.consumer_groups)

    def everyone_granted(self, dataset: Dataset) -> list[tuple[Consumer | ConsumerGroup, Access]]:
        """The consumers and consumer groups given the dataset, with their access."""
        return [*self.granted(dataset), *self.groups_granted(dataset)]

    def groups_granted(self, dataset: Dataset) -> list[tuple[ConsumerGroup, Access]]:
        """The consumer groups given the dataset, with their access, in the config's order."""
        return [(g, g.grants[dataset.name].access) for g in self.consumer_groups if dataset.name in g.grants]

    def dataset(self, name: str) -> Dataset:
        (found,) = [dataset for dataset in self.datasets if dataset.name == name]
        return found

    def datasets_of(self, consumer: Consumer | ConsumerGroup) -> list[tuple[Dataset, Access]]:
        """The datasets the consumer is given, with its access, in the config's order of datasets."""
        return [(d, consumer.grants[d.name].access) for d in self.datasets if d.name in consumer.grants]

    def expiring(self) -> list[tuple[Consumer | ConsumerGroup, Dataset, datetime]]:
        """The grants that end by themselves: consumer, dataset, when, in the config's order."""
        return [(c, d, ends) for c in self.given for d in self.datasets if (ends := c.ends(d.name)) is not None]


def _described(grant: Grant | None) -> str:
    if grant is None:
        return "nothing"
    return grant.access + (f" until {aws_time(grant.ends)}" if grant.ends else "")


DAILY_PROOF = "cron(0 6 * * ? *)"
SCHEDULE = re.compile(
    r"^cron\((?P<minute>\S+) \S+ (?P<day>\S+) \S+ (?P<weekday>\S+) \S+\)$"
    r"|^rate\((?P<value>[1-9][0-9]*) (?P<unit>hours?|days?)\)$"
)


def _schedule(value: str) -> str:
    """A Scheduler expression at most hourly: cron with the minute a number and ? for the day or the weekday (as
    cron expressions of EventBridge require), or rate in hours or days (singular for 1, plural above, as EventBridge's
    rate expressions require)."""
    found = SCHEDULE.fullmatch(value)
    if not found:
        raise ValueError("is not cron(MIN HOUR DAY MONTH WEEKDAY YEAR) or rate(N hours) or rate(N days)")
    if found["minute"] is not None:
        if not re.fullmatch(r"[0-9]{1,2}", found["minute"]):
            # Every minute's or several minutes' proofs would run a task in every consumer account each time.
            raise ValueError("runs more than once an hour: give the minute as one number (cron(0 6 * * ? *))")
        if "?" not in (found["day"], found["weekday"]):
            raise ValueError("needs ? as its day of month or its day of week (cron(0 6 * * ? *)), as EventBridge does")
    elif (found["value"] == "1") == found["unit"].endswith("s"):
        raise ValueError("takes a singular unit for 1 and a plural one above: rate(1 day), rate(2 days)")
    return value


class Notifications(_Frozen):
    """Who hears of failed pipeline runs and approvals waiting (an SNS topic in the tooling account)."""

    emails: tuple[Annotated[StrictStr, AfterValidator(_pattern(EMAIL, "an e-mail address"))], ...] = ()
    """Who is e-mailed failed runs and approvals waiting (refused in the regions without CodeStar Notifications)."""


class Config(_Frozen):
    # Prefix of every physical name (bucket, table, roles): keep it short, names have length limits.
    project: ProjectName
    """The prefix of every physical name (buckets, tables, roles): 1-12 lower-case letters, digits or hyphens,
    starting with a letter; not aws, nor a prefix S3 reserves (xn--, sthree-, amzn-s3-demo-)."""
    tooling: AccountRegion
    """Where the pipeline lives."""
    repository: Annotated[
        Annotated[ConnectionRepository, Tag("connection")] | Annotated[CodeCommitRepository, Tag("codecommit")],
        Discriminator(_repository_kind),
    ]
    """The repository the pipeline builds: a connection (GitHub, GitLab, Bitbucket) or CodeCommit."""
    organization_id: (
        Annotated[StrictStr, AfterValidator(_pattern(ORGANIZATION_ID, "an AWS Organizations id (o-...)"))] | None
    ) = None
    """Grant by organization (aws:PrincipalOrgID) instead of listing the consumer accounts."""
    # Image of the consumer's ECS task. None: build runtime/Dockerfile as a CDK asset.
    consumer_image: Annotated[StrictStr, AfterValidator(_pattern(IMAGE, "a container image reference"))] | None = None
    """The ECS task's image, built for linux/amd64. One of a private ECR repository is pulled through that
    repository, whose policy must let the consumer accounts pull (make doctor checks it). Without it,
    runtime/Dockerfile, built by the pipeline."""
    notifications: Notifications = Notifications()
    """Who hears of failed runs and approvals waiting."""
    # IAM's quota on a role trust policy: 2048 characters, or 4096 where AWS raised it for the account.
    trust_policy_quota: Literal[2048, 4096] = 2048
    """IAM's quota on a role trust policy in your accounts: 2048, or 4096 where AWS raised it."""
    # The test step again, by itself, against what every environment deployed: drift shows within a day.
    proof_schedule: Annotated[StrictStr, AfterValidator(_schedule)] | None = DAILY_PROOF
    """When the test step runs again by itself against what each environment deployed, and tells the notification
    topic of a failure (drift): an EventBridge Scheduler cron(MIN HOUR DAY MONTH WEEKDAY YEAR) or rate(N hours|days),
    in UTC, at most hourly; null for never. Default: every day at 06:00 UTC."""
    environments: Annotated[tuple[Environment, ...], Field(min_length=1)]
    """Each a source account, its datasets and their consumers; deployed in the order listed."""

    @model_validator(mode="after")
    def _one_partition(self) -> Config:
        """Accounts, roles and keys do not cross partitions (aws, aws-cn, aws-us-gov): a grant to an account of
        another partition can never work."""
        partition = self.tooling.partition
        where = f"the tooling account's region {self.tooling.region!r} is in {partition}"
        if self.notifications.emails and self.tooling.region in WITHOUT_PIPELINE_NOTIFICATIONS:
            raise ValueError(
                f"notifications.emails: CodeStar Notifications, which e-mails the pipeline's failures and "
                f"approvals, is not available in {self.tooling.region}: remove notifications.emails, or put the "
                "pipeline in another region"
            )
        if isinstance(self.repository, ConnectionRepository):
            arn_partition = self.repository.connection_arn.split(":")[1]
            if arn_partition != partition:
                raise ValueError(
                    f"repository.connection_arn: is in partition {arn_partition}, {where}: a pipeline uses "
                    "connections of its own partition"
                )
        for index, environment in enumerate(self.environments):
            places = [(f"environments[{index}].source.region", environment.source.region)]
            places += [
                (f"environments[{index}].consumers[{i}].region", c.region) for i, c in enumerate(environment.consumers)
            ]
            places += [
                (f"environments[{index}].consumer_groups[{i}].regions[{r}]", region)
                for i, group in enumerate(environment.consumer_groups)
                for r, region in enumerate(group.regions)
            ]
            for field, region in places:
                if partition_of(region) != partition:
                    raise ValueError(
                        f"{field}: {region!r} is in partition {partition_of(region)}, {where}: accounts, "
                        "roles and keys do not cross partitions; use one config per partition"
                    )
        return self

    @model_validator(mode="after")
    def _not_the_tooling_account(self) -> Config:
        """The tooling account is bootstrapped to run the pipeline, not as a target: it trusts no pipeline, has no
        permissions boundary for the stacks' roles to carry, and its execution policy is not the project's, while
        a target in it, in another region, would get the project's execution policy, which the pipeline's own
        replication stack there does not fit."""
        for index, environment in enumerate(self.environments):
            places = [(f"environments[{index}].source", environment.source.account)]
            for i, consumer in enumerate(environment.consumers):
                places.append((f"environments[{index}].consumers[{i}]", consumer.account))
            for where, account in places:
                if account == self.tooling.account:
                    raise ValueError(
                        f"{where}.account: {account!r} is the tooling account, which runs the pipeline and is no "
                        "target of it: share from and to other accounts"
                    )
        return self

    @model_validator(mode="after")
    def _own_roles_are_not_the_projects(self) -> Config:
        """Roles named `<project>-...` are the project's: the pipeline creates and changes them (its execution policy
        allows it), so a consumer's own role must be named otherwise."""
        for e, environment in enumerate(self.environments):
            given: list[tuple[str, Consumer | ConsumerGroup]] = [
                (f"consumers[{c}]", consumer) for c, consumer in enumerate(environment.consumers)
            ]
            given += [(f"consumer_groups[{g}]", group) for g, group in enumerate(environment.consumer_groups)]
            for where, consumer in given:
                for r, role in enumerate(consumer.roles):
                    name = role.rsplit("/", 1)[-1]
                    for prefix, whose in ((f"{self.project}-", "the project's"), ("cdk-", "the CDK bootstrap's")):
                        if name.lower().startswith(prefix):
                            raise ValueError(
                                f"environments[{e}].{where}.roles[{r}]: {role!r} starts with {whose} prefix "
                                f"{prefix}, which names roles the pipeline manages or deploys with: list your own"
                            )
        return self

    @model_validator(mode="after")
    def _groups_are_of_the_organization(self) -> Config:
        """Consumer groups are organizational units of the config's organization, which has one root: their grants name
        the organization and the units' paths in it. An existing key's dataset reached through an access point is
        given by KMS grants, each to a role by its exact ARN, which a group, whose accounts are not listed, cannot
        have."""
        roots: dict[str, str] = {}
        for e, environment in enumerate(self.environments):
            # Every group of an environment deploys the same stack names: two groups may not reach one account.
            claimed: dict[str, str] = {}
            for g, group in enumerate(environment.consumer_groups):
                for u, unit in enumerate(group.organizational_units):
                    here = f"environments[{e}].consumer_groups[{g}].organizational_units[{u}]"
                    whole = unit.startswith("r-")
                    for other, there in claimed.items():
                        if other == unit or whole or other.startswith("r-"):
                            raise ValueError(
                                f"{here}: {unit!r} reaches accounts that {other} of {there} reaches too: the groups "
                                "of an environment deploy stacks of the same names, so an account may be in one "
                                "group's units only"
                            )
                    claimed[unit] = f"environments[{e}].consumer_groups[{g}]"
            for g, group in enumerate(environment.consumer_groups):
                where = f"environments[{e}].consumer_groups[{g}]"
                if self.organization_id is None:
                    raise ValueError(
                        f"{where}.organizational_units: a group of organizational units needs organization_id "
                        "(o-...), the organization its units are in: set it"
                    )
                for u, unit in enumerate(group.organizational_units):
                    root = root_of(unit)
                    for other, there in roots.items():
                        if other != root:
                            raise ValueError(
                                f"{where}.organizational_units[{u}]: {unit!r} is under root {root}, {there} under "
                                f"{other}: an organization has one root, so they are of two organizations"
                            )
                    roots.setdefault(root, f"{where}.organizational_units[{u}]")
                if self.consumer_image is None:
                    raise ValueError(
                        f"{where}: a group's stacks are deployed by a StackSet, which cannot build the task's image: "
                        "set consumer_image (an image its accounts may pull)"
                    )
                apis = [d.name for d in environment.datasets if d.api]
                if apis:
                    # The consumer stack reads the APIs' ids in the source account at deploy, with a custom resource
                    # whose code is a CDK asset, which a StackSet's accounts cannot read.
                    raise ValueError(
                        f"{where}: the environment shares the API {apis[0]!r}, whose id a group's stacks cannot read "
                        "yet (docs/scale.md): put the group in an environment without APIs"
                    )
                for name, _grant in group.grants.items():
                    dataset = environment.dataset(name)
                    if dataset.catalog:
                        raise ValueError(
                            f"{where}.grants.{name}: dataset {name!r} has a catalog, which a group's stacks do not "
                            "create yet (docs/scale.md): give the group datasets without one"
                        )
                    bucket = dataset.bucket
                    if bucket and bucket.existing and bucket.kms_key and bucket.access == "access-point":
                        raise ValueError(
                            f"{where}.grants.{name}: dataset {name!r} is read through an access point under the "
                            "existing key kms_key, which KMS grants give to each role by its ARN, and a group's "
                            "accounts are not listed: give the group a dataset the stacks encrypt, or one with "
                            "access: role"
                        )
        return self

    @model_validator(mode="after")
    def _datasets_fit_the_source(self) -> Config:
        """A new bucket's name is within S3's 63 characters; an existing resource is not named as the project's, and
        its key is used through S3 or DynamoDB in the source region, where the resource is."""
        for e, environment in enumerate(self.environments):
            source = environment.source
            for d, dataset in enumerate(environment.datasets):
                acl = dataset.api.web_acl_arn if dataset.api else None
                if acl and (acl.split(":")[3], acl.split(":")[4]) != (source.region, source.account):
                    raise ValueError(
                        f"environments[{e}].datasets[{d}].api.web_acl_arn: {acl!r} is not in the source account "
                        f"{source.account} and region {source.region}: WAF protects an API with a web ACL of its own "
                        "account and region"
                    )
                for part, where in ((dataset.bucket, "bucket"), (dataset.table, "table")):
                    key = part.kms_key if part else None
                    if key and (key.split(":")[3], key.split(":")[4]) != (source.region, source.account):
                        raise ValueError(
                            f"environments[{e}].datasets[{d}].{where}.kms_key: {key!r} is not in the source account "
                            f"{source.account} and region {source.region}, where the {where} is"
                        )
                existing = dataset.bucket.existing if dataset.bucket else None
                if dataset.bucket and not existing:
                    bucket = dataset_bucket(self.project, environment.name, dataset.name, source.account, source.region)
                    if len(bucket) > 63:
                        raise ValueError(
                            f"environments[{e}].datasets[{d}].name: {dataset.name!r} makes the bucket name {bucket} of "
                            f"{len(bucket)} characters, S3 allows 63: shorten it"
                        )
                if existing and existing.startswith(f"{self.project}-"):
                    raise ValueError(
                        f"environments[{e}].datasets[{d}].bucket.existing: {existing!r} starts with the project's "
                        f"prefix {self.project}-, which names the buckets the stacks own: name a bucket of your own"
                    )
                table = dataset.table.existing if dataset.table else None
                if table and table.startswith(f"{self.project}-"):
                    raise ValueError(
                        f"environments[{e}].datasets[{d}].table.existing: {table!r} starts with the project's "
                        f"prefix {self.project}-, which names the tables the stacks own: name a table of your own"
                    )
        return self

    @model_validator(mode="after")
    def _environment_names_are_unique(self) -> Config:
        seen: set[str] = set()
        for index, environment in enumerate(self.environments):
            if environment.name in seen:
                raise ValueError(f"environments[{index}].name: {environment.name!r} is used twice")
            seen.add(environment.name)
        return self

    @model_validator(mode="after")
    def _stage_ids_are_unique(self) -> Config:
        """Stage ids name the stacks (and their CloudFormation stack names): environment "a" with consumer "b-c"
        and environment "a-b" with consumer "c" would both be "a-b-c", and a consumer named "sharing" is its
        environment's sharing stage."""
        seen: dict[str, str] = {}
        for index, environment in enumerate(self.environments):
            places = [(f"environments[{index}].name", sharing_stage_id(environment))]
            places += [
                (f"environments[{index}].consumers[{i}].name", consumer_stage_id(environment, consumer))
                for i, consumer in enumerate(environment.consumers)
            ]
            places += [
                (f"environments[{index}].consumer_groups[{i}].name", consumer_stage_id(environment, group))
                for i, group in enumerate(environment.consumer_groups)
            ]
            if environment.consumer_groups:  # the stage of the groups' StackSets
                places.append((f"environments[{index}].consumer_groups", groups_stage_id(environment)))
            for field, stage in places:
                if stage in seen:
                    raise ValueError(f"{field}: makes the stage {stage!r}, as {seen[stage]} does: rename one")
                seen[stage] = field
        return self


def sharing_stage_id(environment: Environment) -> str:
    """The sharing Stage's construct id, the prefix of its stacks' names."""
    return f"{environment.name}-sharing"


def groups_stage_id(environment: Environment) -> str:
    """The Stage (and, under the project's prefix, the stack) in the tooling account that holds an environment's
    consumer groups' StackSets."""
    return f"{environment.name}-groups"


def consumer_stage_id(environment: Environment, consumer: Consumer | ConsumerGroup) -> str:
    return f"{environment.name}-{consumer.name}"
