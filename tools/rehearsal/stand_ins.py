"""Stand-ins for what a config names as `existing` (buckets with their prefixes, customer-managed keys, tables): the
emulated source accounts start empty, and in AWS these belong to the data's owners. Created before the first deploy,
as their owners would have them: a bucket with one object under each prefix a dataset names (of a dataset with a
table: one row in the table's format), encrypted by default with its key; for a dataset reached through an access
point, the bucket's policy delegating access control to the account's access points (the one statement its owner
adds, docs/data-lake.md); a key of the ARN's id; a table with a string partition key."""

from __future__ import annotations

import json
from typing import Any

from config.actions import access_point_delegation
from config.model import Config
from config.naming import Names
from tools.rehearsal import sql

STAND_IN_OBJECT = "stand-in.csv"
STAND_IN_BODY = b"id,value\n1,stand-in\n"


def create(config: Config, session_of: Any) -> list[str]:
    """Creates the stand-ins in the emulated source accounts (session_of(account, region) gives an administrator's
    session there) and says what each is."""
    made: list[str] = []
    for environment in config.environments:
        source = environment.source
        if not any(dataset.existing for dataset in environment.datasets):
            continue
        session = session_of(source.account, source.region)
        names = Names.of(config, environment)
        for dataset in environment.datasets:
            bucket, table = dataset.bucket, dataset.table
            for part in (bucket, table):
                if part is not None and part.kms_key and _key(session, part.kms_key, source.account, source.region):
                    made.append(f"key {part.kms_key.rsplit('/', 1)[-1]} in {source.account}")
            if bucket and bucket.existing:
                made += _bucket(session, names, dataset)
            if table and table.existing:
                dynamodb = session.client("dynamodb")
                if table.existing not in dynamodb.list_tables()["TableNames"]:
                    dynamodb.create_table(
                        TableName=table.existing,
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST",
                    )
                    made.append(f"table {table.existing} in {source.account}")
    return made


def _key(session: Any, arn: str, account: str, region: str) -> bool:
    """A key of exactly the ARN's id (moto makes its own ids: the emulator gives the key the config's)."""
    from moto.kms.models import kms_backends

    backend = kms_backends[account][region]
    wanted = arn.rsplit("/", 1)[-1]
    if wanted in backend.keys:
        return False
    made = session.client("kms").create_key(Description="stand-in of an existing key")["KeyMetadata"]["KeyId"]
    key = backend.keys.pop(made)
    key.id = wanted
    key.arn = arn
    backend.keys[wanted] = key
    return True


def _bucket(session: Any, names: Names, dataset: Any) -> list[str]:
    bucket = dataset.bucket
    s3 = session.client("s3")
    made = []
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    if bucket.existing not in existing:
        s3.create_bucket(Bucket=bucket.existing, CreateBucketConfiguration={"LocationConstraint": names.source_region})
        if bucket.kms_key:
            s3.put_bucket_encryption(
                Bucket=bucket.existing,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": bucket.kms_key,
                            },
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
            )
        made.append(f"bucket {bucket.existing} in {names.source_account}")
    # A dataset that describes its table: one row in the table's format (Athena, and the rehearsal's DuckDB, fail a
    # query over an object of another format under its location).
    relative, body = sql.stand_in_object(dataset.catalog) if dataset.catalog else (STAND_IN_OBJECT, STAND_IN_BODY)
    key = f"{bucket.prefix or ''}{relative}"
    s3.put_object(Bucket=bucket.existing, Key=key, Body=body)
    made.append(f"object s3://{bucket.existing}/{key}")
    if bucket.through_access_point:
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=bucket.existing)["Policy"])
        except s3.exceptions.ClientError:
            policy = {"Version": "2012-10-17", "Statement": []}
        statement = access_point_delegation(
            bucket.existing, names.source_account, names.source_region, names.project, names.partition
        )
        if statement not in policy["Statement"]:
            policy["Statement"].append(statement)
            s3.put_bucket_policy(Bucket=bucket.existing, Policy=json.dumps(policy))
            made.append(f"policy of {bucket.existing}: delegation to the account's access points")
    return made
