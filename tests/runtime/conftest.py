"""The consumer's runtime code against moto: a source account that owns the bucket and table, and a
consumer account whose own role reads them. moto acts in the account of the role whose credentials
sign a request (../shared/notes/local-emulation.md); it enforces no policies, so these tests prove the
credential chain and the calls, not the permissions (the synth tests and the access report do that)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

SOURCE = "444444444444"
CONSUMER = "555555555555"
REGION = "eu-west-1"
BUCKET = "datashare-prod-data-444444444444-eu-west-1"
TABLE = "datashare-prod-shared"
SOURCE_ROLE_ARN = f"arn:aws:iam::{SOURCE}:role/datashare-prod-table-access"
CONSUMER_ROLE_ARN = f"arn:aws:iam::{CONSUMER}:role/datashare-prod-consumer-function"


def session_in(role_arn: str) -> boto3.Session:
    credentials = boto3.client("sts", region_name=REGION).assume_role(RoleArn=role_arn, RoleSessionName="test")[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


@dataclass
class Accounts:
    source: boto3.Session
    consumer: boto3.Session

    def environment(self, **overrides: str) -> dict[str, str]:
        environment = {
            "CONSUMER_NAME": "analytics",
            "SHARED_BUCKET": BUCKET,
            "SHARED_TABLE": TABLE,
            "SHARED_TABLE_ARN": f"arn:aws:dynamodb:{REGION}:{SOURCE}:table/{TABLE}",
            "SOURCE_REGION": REGION,
            "SOURCE_ROLE_ARN": SOURCE_ROLE_ARN,
        }
        environment.update(overrides)
        return {k: v for k, v in environment.items() if v}


@pytest.fixture
def accounts() -> Iterator[Accounts]:
    with mock_aws():
        source = session_in(f"arn:aws:iam::{SOURCE}:role/owner")
        source.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        source.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Accounts(source=source, consumer=session_in(CONSUMER_ROLE_ARN))
