"""What the function or task is told by its environment variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class SettingsError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    consumer: str
    bucket: str
    table_name: str
    table_arn: str
    source_region: str
    # The role in the source account that reaches the table; None when the table's resource policy
    # admits this consumer's own role directly.
    source_role_arn: str | None
    # What the share gives: "read" or "read-write", for the bucket and for the table.
    # The canary object the sharing stage writes (None: an older deployment without one).
    canary_key: str | None = None
    # The key of the canary item in the table, as DynamoDB attribute values.
    canary_item: dict[str, Any] | None = None
    bucket_access: str = "read"
    table_access: str = "read"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        missing = [name for name in _REQUIRED if not environ.get(name)]
        if missing:
            raise SettingsError(f"missing environment variables: {', '.join(missing)}")
        return cls(
            consumer=environ["CONSUMER_NAME"],
            bucket=environ["SHARED_BUCKET"],
            table_name=environ["SHARED_TABLE"],
            table_arn=environ["SHARED_TABLE_ARN"],
            source_region=environ["SOURCE_REGION"],
            source_role_arn=environ.get("SOURCE_ROLE_ARN") or None,
            canary_key=environ.get("CANARY_KEY") or None,
            canary_item=json.loads(environ["CANARY_ITEM"]) if environ.get("CANARY_ITEM") else None,
            bucket_access=environ.get("BUCKET_ACCESS") or "read",
            table_access=environ.get("TABLE_ACCESS") or "read",
        )


_REQUIRED = ("CONSUMER_NAME", "SHARED_BUCKET", "SHARED_TABLE", "SHARED_TABLE_ARN", "SOURCE_REGION")
