"""The consumer's runtime code against moto: a source account that owns the bucket and table, and a
consumer account whose own role reads them. moto acts in the account of the role whose credentials
sign a request; it enforces no policies, so these tests prove the
credential chain and the calls, not the permissions (the synth tests and the access report do that)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from pipeline_steps.prove_consumers import new_session

SOURCE = "444444444444"
CONSUMER = "555555555555"
REGION = "eu-west-1"
BUCKET = "datashare-prod-sales-444444444444-eu-west-1"
TABLE = "datashare-prod-sales"
EVENTS_BUCKET = "datashare-prod-events-444444444444-eu-west-1"
EVENTS_PREFIX = "raw/events/"
LEDGER = "finance-ledger"  # an existing table of the source account: a key schema of its own, no canary
SECRET_BUCKET = "datashare-prod-secret-444444444444-eu-west-1"  # a dataset the consumer is not given
SOURCE_ROLE_ARN = f"arn:aws:iam::{SOURCE}:role/datashare-prod-source-analytics"
CONSUMER_ROLE_ARN = f"arn:aws:iam::{CONSUMER}:role/datashare-prod-consumer-function"
CANARY = "__consumer-self-check__/canary"
CANARY_ITEM = {"pk": {"S": "__consumer-self-check__"}, "sk": {"S": "canary"}}


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{SOURCE}:table/{name}"


def session_in(role_arn: str) -> boto3.Session:
    credentials = boto3.client("sts", region_name=REGION).assume_role(RoleArn=role_arn, RoleSessionName="test")[
        "Credentials"
    ]
    return new_session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


# Datasets as the consumer stack writes them into DATASETS (cdk_constructs/documents.py, ENTRY_KEYS): one-letter keys.
SALES = {"n": "sales", "a": "read", "b": BUCKET, "c": 1, "t": TABLE, "tr": 1, "ci": 1}
EVENTS = {"n": "events", "a": "read", "b": EVENTS_BUCKET, "c": 1, "p": EVENTS_PREFIX}
FINANCE = {"n": "finance", "a": "read", "t": LEDGER, "tr": 1}
SECRET = {"n": "secret", "b": SECRET_BUCKET}


@dataclass
class Accounts:
    source: boto3.Session
    consumer: boto3.Session

    def environment(
        self, datasets: list[dict] | None = None, refused: list[dict] | None = None, **overrides: str
    ) -> dict[str, str]:
        environment = {
            "CONSUMER_NAME": "analytics",
            "SOURCE_ACCOUNT": SOURCE,
            "SOURCE_REGION": REGION,
            "SOURCE_ROLE_ARN": SOURCE_ROLE_ARN,
            "CANARY_KEY": CANARY,
            "CANARY_ITEM": json.dumps(CANARY_ITEM),
            "TABLE_ARN_PREFIX": table_arn(""),
            "DATASETS": json.dumps([SALES, EVENTS] if datasets is None else datasets),
            "REFUSED_DATASETS": json.dumps([SECRET] if refused is None else refused),
        }
        environment.update(overrides)
        return {k: v for k, v in environment.items() if v}


def _table(client, name: str, key: list[tuple[str, str, str]]) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": a, "KeyType": k} for a, _, k in key],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, t, _ in key],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def accounts() -> Iterator[Accounts]:
    with mock_aws():
        source = session_in(f"arn:aws:iam::{SOURCE}:role/owner")
        s3, dynamodb = source.client("s3"), source.client("dynamodb")
        for bucket in (BUCKET, EVENTS_BUCKET, SECRET_BUCKET):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        # What the sharing stage writes: a canary under each dataset's prefix, and in each table it created.
        s3.put_object(Bucket=BUCKET, Key=CANARY, Body=b"the canary\n")
        s3.put_object(Bucket=EVENTS_BUCKET, Key=EVENTS_PREFIX + CANARY, Body=b"the canary\n")
        _table(dynamodb, TABLE, [("pk", "S", "HASH"), ("sk", "S", "RANGE")])
        dynamodb.put_item(TableName=TABLE, Item=CANARY_ITEM)
        _table(dynamodb, LEDGER, [("account", "N", "HASH"), ("entry", "S", "RANGE")])
        yield Accounts(source=source, consumer=session_in(CONSUMER_ROLE_ARN))
