"""The emulator's mends of moto, each where AWS behaves otherwise than moto (tools/rehearsal/emulator.py)."""

from __future__ import annotations

import json

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


def test_a_consumers_catalog_and_workgroup_are_made_from_the_template_and_a_missing_table_is_refused():
    """moto's CloudFormation has no Glue or Athena resources: the emulator makes them from the template, gives a query
    the workgroup's enforced results location, and refuses a table the account's catalog does not have."""
    template = {
        "Resources": {
            "Database": {
                "Type": "AWS::Glue::Database",
                "Properties": {"CatalogId": "333333333333", "DatabaseInput": {"Name": "datashare_prod"}},
            },
            "Table": {
                "Type": "AWS::Glue::Table",
                "DependsOn": "Database",
                "Properties": {
                    "CatalogId": "333333333333",
                    "DatabaseName": "datashare_prod",
                    "TableInput": {"Name": "events", "TableType": "EXTERNAL_TABLE"},
                },
            },
            "Workgroup": {
                "Type": "AWS::Athena::WorkGroup",
                "Properties": {
                    "Name": "datashare-prod-queries",
                    "WorkGroupConfiguration": {
                        "EnforceWorkGroupConfiguration": True,
                        "ResultConfiguration": {"OutputLocation": "s3://results/"},
                    },
                },
            },
        }
    }
    with Emulator() as emulator:
        session = emulator.administrator("333333333333").session("eu-west-1")
        session.client("cloudformation").create_stack(StackName="consumer", TemplateBody=json.dumps(template))
        assert session.client("glue").get_table(DatabaseName="datashare_prod", Name="events")["Table"]["Name"]
        athena = session.client("athena")
        query = athena.start_query_execution(
            QueryString='SELECT * FROM "datashare_prod"."events" LIMIT 1', WorkGroup="datashare-prod-queries"
        )
        execution = athena.get_query_execution(QueryExecutionId=query["QueryExecutionId"])["QueryExecution"]
        assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://results/{query['QueryExecutionId']}.csv"
        with pytest.raises(athena.exceptions.InvalidRequestException, match="TABLE_NOT_FOUND"):
            athena.start_query_execution(
                QueryString='SELECT * FROM "datashare_prod"."other" LIMIT 1', WorkGroup="datashare-prod-queries"
            )
        session.client("cloudformation").delete_stack(StackName="consumer")
        assert session.client("glue").get_databases()["DatabaseList"] == []
