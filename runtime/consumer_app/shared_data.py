"""Clients for the datasets: a bucket or table whose resource policy admits the consumer's role with its own
credentials, the rest (tables shared by role, existing buckets and tables) through the consumer's role in the
source account, whose credentials refresh themselves; and a client for the consumer's own account."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from consumer_app.api_client import ApiClient
from consumer_app.credentials import assumed_role_session
from consumer_app.settings import DatasetSettings, Settings

# Standard retry mode backs off on throttling; connect and read timeouts well inside a Lambda timeout.
_CLIENT_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)


class SharedData:
    def __init__(self, settings: Settings, *, own_session: boto3.Session | None = None) -> None:
        self.settings = settings
        self.own_session = own_session or boto3.Session()
        region = settings.source_region
        self._own = {
            service: self.own_session.client(service, region_name=region, config=_CLIENT_CONFIG)
            for service in ("s3", "dynamodb")
        }
        self.source_session: boto3.Session | None = None
        self._source: dict[str, Any] = {}
        if settings.source_role_arn:
            self.source_session = assumed_role_session(
                settings.source_role_arn,
                session_name=f"consumer-{settings.consumer}",
                region_name=region,
                base_session=self.own_session,
            )
            self._source = {
                service: self.source_session.client(service, config=_CLIENT_CONFIG) for service in ("s3", "dynamodb")
            }

    def dataset(self, name: str) -> Dataset:
        return Dataset(self, self.settings.dataset(name))

    def own_client(self, service: str, **kwargs: Any) -> Any:
        """A client for the consumer's own account, with its own credentials."""
        return self.own_session.client(service, config=_CLIENT_CONFIG, **kwargs)

    def client(self, service: str, *, via_role: bool) -> Any:
        if via_role:
            if service not in self._source:
                raise RuntimeError("this consumer has no source role (SOURCE_ROLE_ARN is not set)")
            return self._source[service]
        return self._own[service]

    def api(self, settings: DatasetSettings) -> ApiClient:
        """The dataset's API, called with the consumer's own role (the API's resource policy admits it): its
        credentials as the session refreshes them."""
        if not settings.api_url:
            raise RuntimeError(f"dataset {settings.name} has no API")
        credentials = self.own_session.get_credentials()
        if credentials is None:
            raise RuntimeError("no credentials to sign the API's requests with")
        return ApiClient(settings.api_url, credentials, region=self.settings.source_region)

    def credentials(self) -> list[tuple[str, bool]]:
        """Every identity the consumer acts as: its own role and, where it has one, its source role."""
        return [("own role", False)] + ([("source role", True)] if self.source_session else [])


class Dataset:
    """One dataset, through the identity that reaches it."""

    def __init__(self, data: SharedData, settings: DatasetSettings, *, via_role: bool | None = None) -> None:
        self.data = data
        self.settings = settings
        bucket_via = settings.via_role if via_role is None else via_role
        table_via = settings.table_via_role if via_role is None else via_role
        self.s3 = data.client("s3", via_role=bucket_via) if settings.bucket else None
        self.dynamodb = data.client("dynamodb", via_role=table_via) if settings.table_arn else None
        # In the source account a table is addressed by name; across accounts DynamoDB needs its ARN.
        self.table_id = settings.table_name if table_via else settings.table_arn

    def key(self, relative: str) -> str:
        """An object key under the dataset's prefix."""
        return f"{self.settings.prefix}{relative}"

    def read_object(self, key: str, *, first_bytes: int | None = None) -> bytes:
        """The object, or only its first bytes: S3 decrypts (through KMS) whatever it returns."""
        extra = {"Range": f"bytes=0-{first_bytes - 1}"} if first_bytes else {}
        response = self._s3().get_object(Bucket=self.settings.bucket, Key=key, **extra)
        body: bytes = response["Body"].read()
        return body

    def head_object(self, key: str) -> dict[str, Any]:
        head: dict[str, Any] = self._s3().head_object(Bucket=self.settings.bucket, Key=key)
        return head

    def write_object(self, key: str, body: bytes) -> None:
        # An existing bucket's customer-managed key, named: a bucket policy may refuse uploads that do not say it.
        key_id = self.settings.kms_key
        sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id} if key_id else {}
        self._s3().put_object(Bucket=self.settings.bucket, Key=key, Body=body, **sse)

    def delete_object(self, key: str) -> None:
        self._s3().delete_object(Bucket=self.settings.bucket, Key=key)

    def list_keys(self, *, limit: int = 1000) -> list[str]:
        """Keys under the dataset's prefix (a prefix dataset may list nothing else)."""
        return [key for key, _ in self.list_objects(limit=limit)]

    def list_objects(self, *, limit: int = 1000) -> list[tuple[str, int]]:
        """(key, size in bytes) of the objects under the dataset's prefix, in key order."""
        response = self._s3().list_objects_v2(Bucket=self.settings.bucket, Prefix=self.settings.prefix, MaxKeys=limit)
        return [(item["Key"], int(item.get("Size", 0))) for item in response.get("Contents", [])]

    def list_whole_bucket(self) -> list[str]:
        """Keys of the whole bucket (or access point), whatever the prefix: what a prefix dataset must be refused."""
        response = self._s3().list_objects_v2(Bucket=self.settings.bucket, Prefix="", MaxKeys=1)
        return [item["Key"] for item in response.get("Contents", [])]

    def get_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self._dynamodb().get_item(TableName=self.table_id, Key=key, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def put_item(self, item: dict[str, Any], *, unless_someone_elses: bool = False) -> None:
        extra: dict[str, Any] = {}
        if unless_someone_elses:
            # Only where no item is, or one with the same note (the self-check's own, left by a stopped run).
            first = next(iter(item))
            extra = {
                "ConditionExpression": "attribute_not_exists(#k) OR #note = :note",
                "ExpressionAttributeNames": {"#k": first, "#note": "note"},
                "ExpressionAttributeValues": {":note": item["note"]},
            }
        self._dynamodb().put_item(TableName=self.table_id, Item=item, **extra)

    def delete_item(self, key: dict[str, Any]) -> None:
        self._dynamodb().delete_item(TableName=self.table_id, Key=key)

    def describe_table(self) -> dict[str, Any]:
        table: dict[str, Any] = self._dynamodb().describe_table(TableName=self.table_id)["Table"]
        return table

    def _s3(self) -> Any:
        if self.s3 is None:
            raise RuntimeError(f"dataset {self.settings.name} has no bucket")
        return self.s3

    def _dynamodb(self) -> Any:
        if self.dynamodb is None:
            raise RuntimeError(f"dataset {self.settings.name} has no table")
        return self.dynamodb
