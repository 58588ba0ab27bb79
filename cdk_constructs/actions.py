"""The IAM actions each kind of share allows: one list, used by both accounts' policies.

Exact actions, never wildcards such as s3:Get* (which also grants GetObjectAcl, GetBucketPolicy, ...).
"""

from __future__ import annotations

BUCKET_LIST = ("s3:ListBucket",)  # applies to the bucket ARN
OBJECT_READ = ("s3:GetObject",)  # applies to the object ARNs (bucket/*)
OBJECT_WRITE = ("s3:PutObject",)
TABLE_READ = ("dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query")
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem")
KEY_DECRYPT = ("kms:Decrypt",)
KEY_ENCRYPT = ("kms:GenerateDataKey",)
# The source role's statement on the table, which the summary looks up.
SOURCE_ROLE_TABLE_SID = "UseSharedTable"


def object_actions(access: str) -> tuple[str, ...]:
    return OBJECT_READ + (OBJECT_WRITE if access == "read-write" else ())


def table_actions(access: str) -> tuple[str, ...]:
    return TABLE_READ + (TABLE_WRITE if access == "read-write" else ())


def key_actions(access: str) -> tuple[str, ...]:
    return KEY_DECRYPT + (KEY_ENCRYPT if access == "read-write" else ())


def via_services(*endpoints: str) -> dict[str, dict[str, list[str]]]:
    """Use of a key only through the given services (their regional endpoints, as Names.service_endpoint gives
    them), never directly."""
    return {"StringEquals": {"kms:ViaService": list(endpoints)}}
