"""Documents computed from the config alone, without the CDK: a consumer's shared-data policy, what its runtime
reads, and its source role's policy. The constructs deploy them as they are; the capacity checks measure them before
the CDK loads (pipeline/capacity.py), so a config whose grants outgrow a quota is one line, and nothing is written.

Statements are merged across datasets where their conditions agree, so a consumer's policy grows by little more
than the ARNs of each dataset it is given."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from config import actions
from config.actions import Access
from config.model import Consumer, ConsumerGroup, Environment
from config.naming import CANARY_ITEM, CANARY_KEY, DatasetNames, Names
from config.regions import via_service_values

Document = dict[str, Any]
# The encryption context key S3 and DynamoDB put in their requests to KMS.
ENCRYPTION_CONTEXT = {
    "s3": "kms:EncryptionContext:aws:s3:arn",
    "dynamodb": "kms:EncryptionContext:aws:dynamodb:tableName",
}


def _statement(
    sid: str,
    allowed: tuple[str, ...] | list[str],
    resources: list[str],
    condition: Any = None,
    *,
    ends: datetime | None = None,
) -> Document:
    """An Allow statement; with ends, one that allows only before that instant (its sid says until when)."""
    condition = {**(condition or {}), **actions.until_condition(ends)}
    statement: Document = {
        "Sid": sid + actions.until_sid(ends),
        "Effect": "Allow",
        "Action": list(allowed) if len(allowed) > 1 else allowed[0],
        "Resource": resources if len(resources) > 1 else resources[0],
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _never_first(item: tuple[datetime | None, Any]) -> datetime:
    """Groups by the end of their grants: the one that never ends first, then by their end."""
    return item[0] or datetime.min.replace(tzinfo=UTC)


def _last(ends: list[datetime | None]) -> datetime | None:
    """When something every one of these grants uses ends: never, if one of them never does; else at the last end."""
    return None if None in ends else max(e for e in ends if e is not None)


def source_role_ends(names: Names, environment: Environment, consumer: Consumer | ConsumerGroup) -> datetime | None:
    """When the consumer's role in the source account may no longer be assumed: when every grant it reaches through
    that role has ended (None: one never does, or it has no such grant). Each grant's statements in the role's policy
    end at their own instant; the trust ends with the last."""
    ends = [consumer.ends(d.name) for d, _ in environment.datasets_of(consumer) if names.dataset(d).through_role]
    return _last(ends) if ends else None


# An API's id as long as API Gateway's (10 characters), for measuring a policy before the API exists.
API_ID_STAND_IN = "a0b1c2d3e4"


def api_id(api_ids: Mapping[str, str] | None, dataset: str) -> str:
    """The id of a dataset's API: the consumer stack's token for it (SourceLookups), or a stand-in for measuring."""
    return (api_ids or {}).get(dataset, API_ID_STAND_IN)


def consumer_policy(
    names: Names, environment: Environment, consumer: Consumer, api_ids: Mapping[str, str] | None = None
) -> Document:
    """Everything the consumer's roles may do with the datasets it is given: their side of each grant. api_ids: the
    ids of the environment's APIs (tokens of the consumer stack; a stand-in of their length without)."""
    # Each kind of statement apart for each end of the grants in it (None: never ends), so that a grant that ends by
    # itself ends on this side too, at the same instant as on the source's (aws:CurrentTime).
    whole_buckets: dict[datetime | None, list[str]] = {}
    # The prefix datasets' buckets in one statement, with all their prefixes: on this side only, which is safe as
    # each bucket's own policy admits its prefix alone, and a cross-account request needs both sides.
    prefixed_buckets: dict[datetime | None, tuple[list[str], list[str]]] = {}
    locate: list[str] = []  # where Athena, Glue and EMR ask the bucket's location (of an access point: its ARN)
    grouped: dict[tuple[str, str, datetime | None], list[str]] = {}
    # The source account's keys, used only through S3 or DynamoDB: what the role may then decrypt is what the buckets
    # and tables it is given let it read (and each key's own policy admits only the consumers of its dataset). Not
    # narrowed by the keys' aliases, which KMS takes up to five minutes to authorize by, nor by encryption context,
    # which the offline evaluator cannot decide (access_report/). One statement a level and service for all keys:
    # it ends where every grant that uses it does, at the last of them.
    levels_by_service: dict[tuple[str, str], list[datetime | None]] = {}
    through_role = False
    # Athena, Glue and EMR ask a bucket's region before they read it: the consumer's own roles and workloads may be
    # those, and its tables are queried with Athena. The demo function and task never ask.
    asks_location = bool(consumer.roles or consumer.workloads or names.catalog_datasets(environment, consumer))
    for dataset, access in environment.datasets_of(consumer):
        n = names.dataset(dataset)
        ends = consumer.ends(dataset.name)
        levels = ["read", "write"] if access == "read-write" else ["read"]
        through_role |= n.through_role
        if n.owns_bucket and asks_location and names.dataset_buckets_pattern not in locate:
            # One pattern for them all: each dataset's ARN again would cost ~70 characters of the 6,144 a dataset.
            locate.append(names.dataset_buckets_pattern)
        if n.owns_bucket or n.through_access_point:
            # An existing bucket's dataset by its access point: the consumer names the access point, not the bucket.
            bucket, objects_arn = (
                (n.access_point_arn, n.access_point_objects_arn)
                if n.through_access_point
                else (n.bucket_arn, n.objects_arn)
            )
            if n.through_access_point:
                locate.append(n.access_point_arn)
            if n.prefix:
                buckets, prefixes = prefixed_buckets.setdefault(ends, ([], []))
                buckets.append(bucket)
                prefixes.append(f"{n.prefix}*")
            else:
                whole_buckets.setdefault(ends, []).append(bucket)
            for level in levels:
                grouped.setdefault((level, "objects", ends), []).append(objects_arn)
                # The key of an existing bucket is the source account's too: key_arn_pattern covers it. Its key
                # policy is not the project's to write: KMS grants give the consumer's roles its use.
                if n.owns_bucket or (dataset.bucket and dataset.bucket.kms_key):
                    levels_by_service.setdefault((level, "s3"), []).append(ends)
        if n.owns_table and not n.table_through_role:
            for level in levels:
                grouped.setdefault((level, "tables", ends), []).extend([n.table_arn, f"{n.table_arn}/index/*"])
                levels_by_service.setdefault((level, "dynamodb"), []).append(ends)
        if n.has_api:
            identifier = api_id(api_ids, n.name)
            for level in levels:
                methods = actions.API_READ_METHODS if level == "read" else actions.API_WRITE_METHODS
                arns = [n.api_arn(identifier, m, actions.API_PATH) for m in methods]
                grouped.setdefault((level, "apis", ends), []).extend(arns)
    statements = []
    for ends, arns in sorted(whole_buckets.items(), key=_never_first):
        statements.append(_statement("ListBuckets", actions.BUCKET_LIST, arns, ends=ends))
    if locate:
        # Where a bucket is, not what it holds: one statement whatever the grants' ends (the bucket's own policy
        # ends its readers' location with their reads).
        statements.append(_statement("LocateBuckets", actions.BUCKET_LOCATION, locate))
    for ends, (arns, prefixes) in sorted(prefixed_buckets.items(), key=_never_first):
        condition = {"StringLike": {"s3:prefix": prefixes}}
        statements.append(_statement("ListUnderPrefixes", actions.BUCKET_LIST, arns, condition, ends=ends))
    allowed_by_kind = {
        ("read", "objects"): actions.OBJECT_READ,
        ("write", "objects"): actions.OBJECT_WRITE,
        ("read", "tables"): actions.TABLE_READ,
        ("write", "tables"): actions.TABLE_WRITE,
        ("read", "apis"): actions.INVOKE,
        ("write", "apis"): actions.INVOKE,
    }
    for level, what in allowed_by_kind:
        for (lv, wh, ends), arns in sorted(grouped.items(), key=lambda item: _never_first((item[0][2], None))):
            if (lv, wh) == (level, what):
                statements.append(_statement(actions.sid(level, what), allowed_by_kind[(lv, wh)], arns, ends=ends))
    if through_role:
        role_ends = source_role_ends(names, environment, consumer)
        statements.append(
            _statement("AssumeSourceRole", ("sts:AssumeRole",), [names.source_role_arn(consumer)], ends=role_ends)
        )
    for (level, service), all_ends in levels_by_service.items():
        statements.append(
            _statement(
                actions.sid("key", level, "through", service),
                actions.KEY_DECRYPT if level == "read" else actions.KEY_ENCRYPT,
                [names.key_arn_pattern],
                actions.via_services(*names.via(service)),
                ends=_last(all_ends),
            )
        )
    statements += catalog_statements(names, environment, consumer)
    return {"Version": "2012-10-17", "Statement": statements}


def catalog_statements(names: Names, environment: Environment, consumer: Consumer) -> list[Document]:
    """The consumer's tables and queries in its own account: read its datasets' tables, load their partitions, query
    in its workgroup and read (and delete) the results there, under the results key. The objects themselves are read
    with the grants above: Athena reads them with the caller's own credentials."""
    catalog = names.catalog_datasets(environment, consumer)
    if not catalog:
        return []
    tables = [n.catalog_table or "" for n, _ in catalog]
    partitioned = [n.catalog_table or "" for n, _ in catalog if n.dataset.catalog and n.dataset.catalog.partition_keys]
    results = f"arn:{names.partition}:s3:::{names.query_results_bucket(consumer)}"
    statements = [
        _statement("QueryInTheWorkgroup", actions.QUERY, [names.workgroup_arn(consumer)]),
        _statement("ReadTheTables", actions.CATALOG_READ, names.catalog_arns(consumer, tables)),
    ]
    if partitioned:
        statements.append(
            _statement("LoadPartitions", actions.PARTITION_LOAD, names.catalog_arns(consumer, partitioned))
        )
    statements += [
        _statement("QueryResultsBucket", actions.RESULTS_BUCKET, [results]),
        _statement("QueryResults", actions.RESULTS_OBJECTS, [f"{results}/*"]),
        _statement(
            "QueryResultsKeyThroughS3",
            actions.RESULTS_KEY,
            [names.consumer_key_pattern(consumer)],
            actions.via_services(*via_service_values("s3", consumer.region)),
        ),
    ]
    return statements


# The keys of a dataset's entry in DATASETS and REFUSED_DATASETS (runtime/consumer_app/settings.py reads them):
# one letter each, as Lambda holds 4 KB of environment in all and every dataset of the environment is listed.
ENTRY_KEYS = {
    "name": "n",
    "access": "a",
    "bucket": "b",
    "prefix": "p",
    "via_role": "r",
    "canary": "c",
    "kms_key": "k",
    "table": "t",
    "table_via_role": "tr",
    "canary_item": "ci",
    "reads_only": "ro",
    "catalog_table": "q",
    "api": "u",
    "until": "x",
}


def _dataset_entry(
    n: DatasetNames, access: Access | None, api_ids: Mapping[str, str] | None, ends: datetime | None = None
) -> dict[str, Any]:
    """A dataset as the runtime code reads it: short keys, no empty ones, its table by name (TABLE_ARN_PREFIX says
    where), its API by the URL of its stage, when its grant ends (its self-check is refused from then on)."""
    entry: dict[str, Any] = {"name": n.name}
    if ends:
        entry["until"] = actions.aws_time(ends)
    if n.has_api:
        entry["api"] = n.api_url(api_id(api_ids, n.name))
    if access:
        entry["access"] = access
        entry["reads_only"] = access == "read-write" and n.dataset.proof == "read-only"
    if n.bucket:
        # Through an access point, the bucket is named by its ARN (boto3 takes it as Bucket).
        bucket = n.access_point_arn if n.through_access_point else n.bucket
        entry |= {"bucket": bucket, "via_role": n.bucket_through_role, "canary": n.owns_bucket}
        entry |= {"prefix": n.prefix} if n.prefix else {}
        key = n.dataset.bucket.kms_key if n.dataset.bucket else None
        entry |= {"kms_key": key} if key and access == "read-write" else {}  # writes name it (SSE-KMS)
    if n.catalog_table and access:
        entry["catalog_table"] = n.catalog_table  # queried in the consumer's workgroup (QUERY_WORKGROUP)
    if n.table:
        entry |= {"table": n.table, "table_via_role": n.table_through_role, "canary_item": n.owns_table}
    return {ENTRY_KEYS[k]: (1 if v is True else v) for k, v in entry.items() if v is not False}


def runtime_environment(
    names: Names, environment: Environment, consumer: Consumer, api_ids: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What the runtime code reads (runtime/consumer_app/settings.py): the datasets the consumer is given, and the
    others of the environment, which its self-check must be refused."""
    given = environment.datasets_of(consumer)
    refused = [dataset for dataset in environment.datasets if dataset.name not in consumer.grants]

    def compact(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))

    environ = {
        "CONSUMER_NAME": consumer.name,
        "SOURCE_ACCOUNT": names.source_account,
        "SOURCE_REGION": names.source_region,
        "CANARY_KEY": CANARY_KEY,
        "CANARY_ITEM": compact(CANARY_ITEM),
        "TABLE_ARN_PREFIX": names.table_arn_prefix,
        "DATASETS": compact(
            [_dataset_entry(names.dataset(d), access, api_ids, consumer.ends(d.name)) for d, access in given]
        ),
    }
    if refused:
        environ["REFUSED_DATASETS"] = compact([_dataset_entry(names.dataset(d), None, api_ids) for d in refused])
    if names.catalog_datasets(environment, consumer):
        environ |= {
            "QUERY_WORKGROUP": names.query_workgroup,
            "CATALOG_DATABASE": names.catalog_database,
            "QUERY_REGION": consumer.region,
        }
    if any(names.dataset(dataset).through_role for dataset, _ in given):
        environ["SOURCE_ROLE_ARN"] = names.source_role_arn(consumer)
        role_ends = source_role_ends(names, environment, consumer)
        if role_ends:
            environ["SOURCE_ROLE_UNTIL"] = actions.aws_time(role_ends)
    return environ


# A key's ARN as AWS will write it, but for its partition and region: for measuring, as long as the real one.
KEY_ID_STAND_IN = "000000000000:key/00000000-0000-0000-0000-000000000000"


def source_role_policy(
    names: Names, environment: Environment, consumer: Consumer | ConsumerGroup, key_arns: dict[str, str] | None = None
) -> Document:
    """What the consumer's role in the source account may do: exactly the datasets it reaches through it (tables
    shared by role, existing buckets and tables), at its access to each. Resources by their computed names; the
    datasets' own keys by `key_arns` (dataset -> the key's ARN, a CloudFormation reference when deployed: not by
    alias, which KMS takes up to five minutes to authorize by)."""
    measuring = key_arns is None
    stand_in = f"arn:{names.partition}:kms:{names.source_region}:{KEY_ID_STAND_IN}"
    statements = []
    for dataset, access in environment.datasets_of(consumer):
        n = names.dataset(dataset)
        ends = consumer.ends(dataset.name)  # each statement of the dataset ends with its grant
        if n.table_through_role:
            statements.append(
                _statement(
                    actions.sid(dataset.name, "table"),
                    actions.table_actions(access),
                    [n.table_arn, f"{n.table_arn}/index/*"],
                    ends=ends,
                )
            )
            if n.owns_table and not measuring and dataset.name not in (key_arns or {}):
                raise ValueError(f"no key ARN given for dataset {dataset.name}")
            owned = stand_in if measuring else (key_arns or {}).get(dataset.name)
            key = owned if n.owns_table else (dataset.table.kms_key if dataset.table else None)
            if key:
                statements.append(
                    _statement(
                        actions.sid(dataset.name, "table", "key"),
                        actions.key_actions(access),
                        [key],
                        actions.via_services(*names.via("dynamodb")),
                        ends=ends,
                    )
                )
        if n.bucket_through_role and dataset.bucket:
            statements.append(
                _statement(
                    actions.sid(dataset.name, "list"),
                    actions.BUCKET_LIST,
                    [n.bucket_arn],
                    actions.prefix_condition(n.prefix),
                    ends=ends,
                )
            )
            statements.append(
                _statement(
                    actions.sid(dataset.name, "objects"), actions.object_actions(access), [n.objects_arn], ends=ends
                )
            )
            if dataset.bucket.kms_key:
                statements.append(
                    _statement(
                        actions.sid(dataset.name, "objects", "key"),
                        actions.key_actions(access),
                        [dataset.bucket.kms_key],
                        actions.via_services(*names.via("s3")),
                        ends=ends,
                    )
                )
    return {"Version": "2012-10-17", "Statement": statements}
