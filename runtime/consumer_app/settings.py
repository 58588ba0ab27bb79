"""What the function or task is told by its environment variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class SettingsError(Exception):
    pass


@dataclass(frozen=True)
class DatasetSettings:
    """One dataset of the environment: given to this consumer (with its access) or not (access None)."""

    name: str
    access: str | None = None  # "read" | "read-write"; None: not given, the self-check must be refused it
    bucket: str | None = None
    prefix: str = ""  # the dataset's part of the bucket; "" for all of it
    via_role: bool = False  # the bucket is reached through the source role (an existing bucket)
    canary: bool = False  # the sharing stage wrote the canary object under the prefix (a bucket it created)
    kms_key: str | None = None  # the key an existing bucket's objects are written with (SSE-KMS), if any
    table_arn: str | None = None
    table_via_role: bool = False  # the table is reached through the source role (else its resource policy)
    canary_item: bool = False  # the sharing stage wrote the canary item (a table it created)
    reads_only: bool = False  # read-write, but the config asks for a proof of the reads only (proof: read-only)
    catalog_table: str | None = None  # its table in the consumer's own catalog (CATALOG_DATABASE), to query
    api_url: str | None = None  # its API's stage (https://ID.execute-api.REGION.amazonaws.com/STAGE), to call
    until: datetime | None = None  # when its grant ends by itself (AWS refuses it from then on), if it does

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any], table_arn_prefix: str) -> DatasetSettings:
        """An entry of DATASETS or REFUSED_DATASETS: one-letter keys (cdk_constructs/documents.py, ENTRY_KEYS), the
        table by name."""
        return cls(
            name=entry["n"],
            access=entry.get("a"),
            bucket=entry.get("b"),
            prefix=entry.get("p", ""),
            via_role=bool(entry.get("r")),
            canary=bool(entry.get("c")),
            kms_key=entry.get("k"),
            table_arn=f"{table_arn_prefix}{entry['t']}" if entry.get("t") else None,
            table_via_role=bool(entry.get("tr")),
            canary_item=bool(entry.get("ci")),
            reads_only=bool(entry.get("ro")),
            catalog_table=entry.get("q"),
            api_url=entry.get("u"),
            until=_instant(entry["x"]) if entry.get("x") else None,
        )

    @property
    def table_name(self) -> str | None:
        return self.table_arn.rsplit("/", 1)[-1] if self.table_arn else None

    def ended(self, at: datetime) -> bool:
        """Whether its grant has ended by that instant."""
        return self.until is not None and at >= self.until

    @property
    def writes(self) -> bool:
        """Whether the self-check proves writes: read-write, and not proof: read-only."""
        return self.access == "read-write" and not self.reads_only


@dataclass(frozen=True)
class Settings:
    consumer: str
    source_region: str
    datasets: tuple[DatasetSettings, ...]
    # The datasets of the environment this consumer is not given.
    refused: tuple[DatasetSettings, ...] = ()
    # The consumer's role in the source account, for what it reaches through a role; None where it needs none.
    source_role_arn: str | None = None
    # The account that owns the data, where the source role must act.
    source_account: str | None = None
    # The canary object the sharing stage writes under each dataset's prefix (None: an older deployment without).
    canary_key: str | None = None
    # The key of the canary item in each table the sharing stage created, as DynamoDB attribute values.
    canary_item: dict[str, Any] | None = None
    # Where the datasets' tables are queried: the Athena workgroup and the Glue database in the consumer's own account
    # and region (None: no dataset given describes a table).
    query_workgroup: str | None = None
    catalog_database: str | None = None
    query_region: str | None = None
    # When the source role's trust in this consumer ends: when every grant it reaches through that role has.
    source_role_until: datetime | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        missing = [name for name in _REQUIRED if not environ.get(name)]
        if missing:
            raise SettingsError(f"missing environment variables: {', '.join(missing)}")
        prefix = environ.get("TABLE_ARN_PREFIX", "")
        try:
            datasets = tuple(DatasetSettings.from_entry(e, prefix) for e in json.loads(environ["DATASETS"]))
            refused = tuple(
                DatasetSettings.from_entry(e, prefix) for e in json.loads(environ.get("REFUSED_DATASETS", "[]"))
            )
        except (ValueError, KeyError, TypeError) as error:
            raise SettingsError(f"DATASETS or REFUSED_DATASETS is not the list of datasets expected: {error}") from None
        return cls(
            consumer=environ["CONSUMER_NAME"],
            source_region=environ["SOURCE_REGION"],
            datasets=datasets,
            refused=refused,
            source_role_arn=environ.get("SOURCE_ROLE_ARN") or None,
            source_account=environ.get("SOURCE_ACCOUNT") or None,
            canary_key=environ.get("CANARY_KEY") or None,
            canary_item=json.loads(environ["CANARY_ITEM"]) if environ.get("CANARY_ITEM") else None,
            query_workgroup=environ.get("QUERY_WORKGROUP") or None,
            catalog_database=environ.get("CATALOG_DATABASE") or None,
            query_region=environ.get("QUERY_REGION") or None,
            source_role_until=_instant(environ["SOURCE_ROLE_UNTIL"]) if environ.get("SOURCE_ROLE_UNTIL") else None,
        )

    def dataset(self, name: str) -> DatasetSettings:
        for dataset in self.datasets:
            if dataset.name == name:
                return dataset
        raise SettingsError(f"no dataset {name!r} is given to {self.consumer} (given: {', '.join(self.names)})")

    @property
    def names(self) -> list[str]:
        return [dataset.name for dataset in self.datasets]


_REQUIRED = ("CONSUMER_NAME", "SOURCE_REGION", "DATASETS")


def _instant(text: str) -> datetime:
    """An instant as the stacks write it (2027-04-01T00:00:00Z)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SettingsError(f"{text!r} is not an instant (2027-04-01T00:00:00Z)") from None


def now() -> datetime:
    """The instant the self-check judges the grants' ends by."""
    return datetime.now(UTC)
