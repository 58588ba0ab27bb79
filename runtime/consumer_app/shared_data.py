"""Clients for the shared data: the bucket with the consumer's own credentials (the bucket policy admits
its role), the table through the source account's role (or directly, where the table's resource policy
admits the consumer), and a separate client for the consumer's own account."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from consumer_app.credentials import assumed_role_session
from consumer_app.settings import Settings

# Standard retry mode backs off on throttling; connect and read timeouts well inside a Lambda timeout.
_CLIENT_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)


class SharedData:
    def __init__(self, settings: Settings, *, own_session: boto3.Session | None = None) -> None:
        self.settings = settings
        self.own_session = own_session or boto3.Session()
        self.s3 = self.own_session.client("s3", region_name=settings.source_region, config=_CLIENT_CONFIG)
        if settings.source_role_arn:
            self.source_session: boto3.Session | None = assumed_role_session(
                settings.source_role_arn,
                session_name=f"consumer-{settings.consumer}",
                region_name=settings.source_region,
                base_session=self.own_session,
            )
            self.dynamodb = self.source_session.client("dynamodb", config=_CLIENT_CONFIG)
            # In the source account, the table is addressed by name.
            self.table_id = settings.table_name
        else:
            self.source_session = None
            self.dynamodb = self.own_session.client(
                "dynamodb", region_name=settings.source_region, config=_CLIENT_CONFIG
            )
            # Across accounts through a resource policy, DynamoDB needs the table's ARN.
            self.table_id = settings.table_arn

    def own_client(self, service: str, **kwargs: Any) -> Any:
        """A client for the consumer's own account, with its own credentials."""
        return self.own_session.client(service, config=_CLIENT_CONFIG, **kwargs)

    def read_object(self, key: str, *, first_bytes: int | None = None) -> bytes:
        """The object, or only its first bytes: S3 decrypts (through KMS) whatever it returns."""
        extra = {"Range": f"bytes=0-{first_bytes - 1}"} if first_bytes else {}
        response = self.s3.get_object(Bucket=self.settings.bucket, Key=key, **extra)
        body: bytes = response["Body"].read()
        return body

    def write_object(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.settings.bucket, Key=key, Body=body)

    def list_keys(self, *, prefix: str = "", limit: int = 1000) -> list[str]:
        response = self.s3.list_objects_v2(Bucket=self.settings.bucket, Prefix=prefix, MaxKeys=limit)
        return [item["Key"] for item in response.get("Contents", [])]

    def get_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(TableName=self.table_id, Key=key, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def put_item(self, item: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName=self.table_id, Item=item)

    def describe_table(self) -> dict[str, Any]:
        table: dict[str, Any] = self.dynamodb.describe_table(TableName=self.table_id)["Table"]
        return table
