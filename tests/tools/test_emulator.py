"""The emulator's mends of moto, each where AWS behaves otherwise than moto (tools/rehearsal/emulator.py)."""

from __future__ import annotations

import pytest

from tools.rehearsal.emulator import Emulator

KEY = {"pk": {"S": "a"}}


def test_a_table_named_by_its_arn_is_served_from_the_account_in_the_arn():
    # What a consumer does in the resource-policy mode: it names the source account's table by its ARN.
    with Emulator() as emulator:
        source = emulator.administrator("222222222222").session("eu-west-1").client("dynamodb")
        source.create_table(
            TableName="shared",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        source.put_item(TableName="shared", Item=KEY)
        consumer = emulator.administrator("333333333333").session("eu-west-1").client("dynamodb")
        arn = "arn:aws:dynamodb:eu-west-1:222222222222:table/shared"
        assert consumer.get_item(TableName=arn, Key=KEY)["Item"] == KEY
        assert consumer.describe_table(TableName=arn)["Table"]["TableArn"] == arn
        with pytest.raises(consumer.exceptions.ResourceNotFoundException):  # by name: the consumer's own account
            consumer.get_item(TableName="shared", Key=KEY)
