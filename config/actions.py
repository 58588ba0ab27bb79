"""The IAM actions each kind of share allows: one list, used by both accounts' policies.

Exact actions, never wildcards such as s3:Get* (which also grants GetObjectAcl, GetBucketPolicy, ...).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Literal

# What a consumer is given of a dataset (config: grants).
Access = Literal["read", "read-write"]
# The statements a dataset's grants are written as: read, for everyone given it; write, the actions read-write adds.
Level = Literal["read", "write"]

BUCKET_LIST = ("s3:ListBucket",)  # applies to the bucket ARN
# Athena, Glue and EMR ask where a bucket is before they read it, through an access point too (its ARN); it takes no
# s3:prefix, so it is a statement of its own.
BUCKET_LOCATION = ("s3:GetBucketLocation",)
# An access point's configuration, its alias with it: what a table over an existing bucket names as its location.
LOCATE_ACCESS_POINT = ("s3:GetAccessPoint",)
OBJECT_READ = ("s3:GetObject",)  # applies to the object ARNs (bucket/*)
# Writers also delete: what they wrote (the self-check cleans up after itself), and what a data pipeline replaces.
OBJECT_WRITE = ("s3:PutObject", "s3:DeleteObject")
TABLE_READ = ("dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query")
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
# A consumer's tables and queries, in its own account (Athena's documented needs for queries over the Glue catalog,
# without the account-wide ones: no ListWorkGroups, ListDataCatalogs, or catalog writes beyond partitions).
QUERY = (
    "athena:GetWorkGroup",
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:StopQueryExecution",
)
CATALOG_READ = (
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
)
# Partitions new objects make, loaded into the consumer's own table (MSCK REPAIR TABLE, ALTER TABLE ADD PARTITION):
# metadata of its own account's copy of the table, which changes nothing of the data or of other consumers.
PARTITION_LOAD = ("glue:CreatePartition", "glue:BatchCreatePartition")
# The workgroup's results, as Athena writes them for the caller and the caller reads and deletes them.
RESULTS_BUCKET = ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads")
RESULTS_OBJECTS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
RESULTS_KEY = ("kms:GenerateDataKey", "kms:Decrypt")
# A shared API: its callers invoke it (API Gateway's IAM authorization); readers GET an item, writers also PUT and
# DELETE one. Its resource path, as its ARNs name it (API_RESOURCE, without the leading /).
INVOKE = ("execute-api:Invoke",)
API_RESOURCE = "items/{id}"
API_PATH = "items/*"
# A consumer stack learns the ids API Gateway gave its APIs from the sharing stack's resources (their logical ids are
# fixed: config.naming.api_logical_id).
LOCATE_API = ("cloudformation:DescribeStackResource",)
API_READ_METHODS = ("GET",)
API_WRITE_METHODS = ("PUT", "DELETE")
KEY_DECRYPT = ("kms:Decrypt",)
KEY_ENCRYPT = ("kms:GenerateDataKey",)


def object_actions(access: Access) -> tuple[str, ...]:
    return OBJECT_READ + (OBJECT_WRITE if access == "read-write" else ())


def table_actions(access: Access) -> tuple[str, ...]:
    return TABLE_READ + (TABLE_WRITE if access == "read-write" else ())


def api_methods(access: Access) -> tuple[str, ...]:
    return API_READ_METHODS + (API_WRITE_METHODS if access == "read-write" else ())


def key_actions(access: Access) -> tuple[str, ...]:
    return KEY_DECRYPT + (KEY_ENCRYPT if access == "read-write" else ())


def grant_operations(access: Access) -> list[str]:
    """The operations of a KMS grant of a key to a role given a dataset at that access: its key actions, without
    their service prefix."""
    return [action.removeprefix("kms:") for action in key_actions(access)]


def access_point_delegation(
    bucket: str,
    account: str,
    region: str,
    project: str,
    partition: str = "aws",
    access_points: list[str] | None = None,
) -> dict[str, object]:
    """The statement an existing bucket's owner adds once so that the project's access points decide the requests
    made through them: a request through one of the project's access points (PROJECT-*, in the bucket's own account
    and region) is allowed by the bucket and decided by that access point's policy (S3 user guide, "Delegating access
    control to access points", narrowed from every access point of the account to the project's). make doctor checks
    it is there and prints it if not; docs/data-lake.md shows it.

    PROJECT-* also admits the access points of another project whose name begins with this one's (PROJECT-x-...) in
    the same account: doctor names any such access point of the bucket, and prints this statement with the project's
    access points' ARNs (access_points) instead, which the owner then extends with each new dataset of the bucket."""
    arn = f"arn:{partition}:s3:::{bucket}"
    return {
        "Sid": f"DelegateToTheAccessPointsOf{sid(project)}",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {
            "StringEquals": {"s3:DataAccessPointAccount": account},
            "StringLike": {
                "s3:DataAccessPointArn": access_points
                or f"arn:{partition}:s3:{region}:{account}:accesspoint/{project}-*"
            },
        },
    }


def via_services(*endpoints: str) -> dict[str, dict[str, list[str]]]:
    """Use of a key only through the given services (their regional endpoints, as Names.service_endpoint gives
    them), never directly."""
    return {"StringEquals": {"kms:ViaService": list(endpoints)}}


def sid(*words: str) -> str:
    """A statement id from words and names (IAM allows only letters and digits): ("read", "raw-events") ->
    ReadRawEvents."""
    return "".join(part[:1].upper() + part[1:] for word in words for part in word.replace("_", "-").split("-"))


def until_condition(ends: datetime | None) -> dict[str, dict[str, str]]:
    """A grant that ends by itself: allowed only before that instant. aws:CurrentTime is set in every request AWS
    authorizes (a global key), so the statement stops allowing at that instant, with no deploy."""
    return {"DateLessThan": {"aws:CurrentTime": aws_time(ends)}} if ends else {}


def until_sid(ends: datetime | None) -> str:
    """The end of a statement's grant in its sid: Until20270401 (at midnight UTC) or Until20270331T1500."""
    if ends is None:
        return ""
    return "Until" + (f"{ends:%Y%m%d}" if ends.time() == time(0) else f"{ends:%Y%m%dT%H%M%S}".removesuffix("00"))


def aws_time(instant: datetime) -> str:
    """An instant as IAM's date conditions take it (ISO 8601, UTC, to the second)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def prefix_condition(prefix: str) -> dict[str, dict[str, list[str]]]:
    """ListBucket only under a prefix: s3:prefix is the caller's Prefix parameter, absent when it lists the whole
    bucket (then denied)."""
    return {"StringLike": {"s3:prefix": [f"{prefix}*"]}} if prefix else {}
