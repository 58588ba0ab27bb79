"""Documents computed from the config alone, without the CDK: a consumer's shared-data policy, what its runtime
reads, and its source role's policy. The constructs deploy them as they are; the capacity checks measure them before
the CDK loads (pipeline/capacity.py), so a config whose grants outgrow a quota is one line, and nothing is written.

Statements are merged across datasets where their conditions agree, so a consumer's policy grows by little more
than the ARNs of each dataset it is given."""

from __future__ import annotations

import json
from typing import Any

from cdk_constructs import actions
from config.model import Consumer, Environment
from config.naming import CANARY_ITEM, CANARY_KEY, DatasetNames, Names

Document = dict[str, Any]


def _statement(sid: str, allowed: tuple[str, ...] | list[str], resources: list[str], condition: Any = None) -> Document:
    statement: Document = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": list(allowed) if len(allowed) > 1 else allowed[0],
        "Resource": resources if len(resources) > 1 else resources[0],
    }
    if condition:
        statement["Condition"] = condition
    return statement


def consumer_policy(names: Names, environment: Environment, consumer: Consumer) -> Document:
    """Everything the consumer's roles may do with the datasets it is given: their side of each grant."""
    whole_buckets: list[str] = []
    # The prefix datasets' buckets in one statement, with all their prefixes: on this side only, which is safe as
    # each bucket's own policy admits its prefix alone, and a cross-account request needs both sides.
    prefixed_buckets: list[str] = []
    prefixes: list[str] = []
    objects: dict[str, list[str]] = {"read": [], "write": []}
    tables: dict[str, list[str]] = {"read": [], "write": []}
    aliases: dict[tuple[str, str], list[str]] = {}
    through_role = False
    for dataset, access in environment.datasets_of(consumer):
        n = names.dataset(dataset)
        levels = ["read", "write"] if access == "read-write" else ["read"]
        through_role |= n.through_role
        if n.owns_bucket:
            if n.prefix:
                prefixed_buckets.append(n.bucket_arn)
                prefixes.append(f"{n.prefix}*")
            else:
                whole_buckets.append(n.bucket_arn)
            for level in levels:
                objects[level].append(n.objects_arn)
                aliases.setdefault((level, "s3"), []).append(n.key_alias)
        if n.owns_table and not n.table_through_role:
            for level in levels:
                tables[level] += [n.table_arn, f"{n.table_arn}/index/*"]
                aliases.setdefault((level, "dynamodb"), []).append(n.key_alias)
    statements = []
    if whole_buckets:
        statements.append(_statement("ListBuckets", actions.BUCKET_LIST, whole_buckets))
    if prefixed_buckets:
        condition = {"StringLike": {"s3:prefix": prefixes}}
        statements.append(_statement("ListUnderPrefixes", actions.BUCKET_LIST, prefixed_buckets, condition))
    grouped: list[tuple[str, str, tuple[str, ...], list[str]]] = [
        ("read", "objects", actions.OBJECT_READ, objects["read"]),
        ("write", "objects", actions.OBJECT_WRITE, objects["write"]),
        ("read", "tables", actions.TABLE_READ, tables["read"]),
        ("write", "tables", actions.TABLE_WRITE, tables["write"]),
    ]
    statements += [
        _statement(actions.sid(level, what), allowed, arns) for level, what, allowed, arns in grouped if arns
    ]
    if through_role:
        statements.append(_statement("AssumeSourceRole", ("sts:AssumeRole",), [names.source_role_arn(consumer)]))
    for (level, service), named in aliases.items():
        statements.append(
            _statement(
                actions.sid("key", level, "through", service),
                actions.KEY_DECRYPT if level == "read" else actions.KEY_ENCRYPT,
                [names.key_arn_pattern],
                {
                    **actions.via_services(*names.via(service)),
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": named},
                },
            )
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _dataset_entry(n: DatasetNames, access: str | None) -> dict[str, Any]:
    """A dataset as the runtime code reads it (runtime/consumer_app/settings.py): short keys, no empty ones (Lambda
    holds 4 KB of environment in all)."""
    entry: dict[str, Any] = {"name": n.name}
    if access:
        entry["access"] = access
    if n.bucket:
        entry |= {"bucket": n.bucket, "via_role": n.bucket_through_role, "canary": n.owns_bucket}
        entry |= {"prefix": n.prefix} if n.prefix else {}
        key = n.dataset.bucket.kms_key if n.dataset.bucket else None
        entry |= {"kms_key": key} if key and access == "read-write" else {}  # writes name it (SSE-KMS)
    if n.table:
        entry |= {"table": n.table_arn, "table_via_role": n.table_through_role, "canary_item": n.owns_table}
    return {k: v for k, v in entry.items() if v is not False}


def runtime_environment(names: Names, environment: Environment, consumer: Consumer) -> dict[str, str]:
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
        "DATASETS": compact([_dataset_entry(names.dataset(d), access) for d, access in given]),
    }
    if refused:
        environ["REFUSED_DATASETS"] = compact([_dataset_entry(names.dataset(d), None) for d in refused])
    if any(names.dataset(dataset).through_role for dataset, _ in given):
        environ["SOURCE_ROLE_ARN"] = names.source_role_arn(consumer)
    return environ


# A key's ARN as AWS will write it, where the key does not exist yet: for measuring, as long as the real one.
KEY_ARN_STAND_IN = "arn:aws:kms:xx-xxxxxxxxx-1:000000000000:key/00000000-0000-0000-0000-000000000000"


def source_role_policy(
    names: Names, environment: Environment, consumer: Consumer, key_arns: dict[str, str] | None = None
) -> Document:
    """What the consumer's role in the source account may do: exactly the datasets it reaches through it (tables
    shared by role, existing buckets and tables), at its access to each. Resources by their computed names; the
    datasets' own keys by `key_arns` (dataset -> the key's ARN, a CloudFormation reference when deployed: not by
    alias, which KMS takes up to five minutes to authorize by)."""
    key_arns = key_arns or {}
    statements = []
    for dataset, access in environment.datasets_of(consumer):
        n = names.dataset(dataset)
        if n.table_through_role:
            statements.append(
                _statement(
                    actions.sid(dataset.name, "table"),
                    actions.table_actions(access),
                    [n.table_arn, f"{n.table_arn}/index/*"],
                )
            )
            owned = key_arns.get(dataset.name, KEY_ARN_STAND_IN)
            key = owned if n.owns_table else (dataset.table.kms_key if dataset.table else None)
            if key:
                statements.append(
                    _statement(
                        actions.sid(dataset.name, "table", "key"),
                        actions.key_actions(access),
                        [key],
                        actions.via_services(*names.via("dynamodb")),
                    )
                )
        if n.bucket_through_role and dataset.bucket:
            statements.append(
                _statement(
                    actions.sid(dataset.name, "list"),
                    actions.BUCKET_LIST,
                    [n.bucket_arn],
                    actions.prefix_condition(n.prefix),
                )
            )
            statements.append(
                _statement(actions.sid(dataset.name, "objects"), actions.object_actions(access), [n.objects_arn])
            )
            if dataset.bucket.kms_key:
                statements.append(
                    _statement(
                        actions.sid(dataset.name, "objects", "key"),
                        actions.key_actions(access),
                        [dataset.bucket.kms_key],
                        actions.via_services(*names.via("s3")),
                    )
                )
    return {"Version": "2012-10-17", "Statement": statements}
