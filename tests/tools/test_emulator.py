"""The emulator's mends of moto, each where AWS behaves otherwise than moto (tools/rehearsal/emulator.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

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
                    "TableInput": {
                        "Name": "events",
                        "TableType": "EXTERNAL_TABLE",
                        "StorageDescriptor": {
                            "Location": "s3://events/raw/",
                            "Columns": [{"Name": "id", "Type": "string"}],
                            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
                        },
                    },
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
        session.client("s3").create_bucket(
            Bucket="events", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
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


# The source account's stack of an existing bucket's dataset: the bucket (a stand-in) and the project's access point.
LAKE_WITH_ACCESS_POINT = {
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "corp-data-lake"}},
        "AccessPoint": {
            "Type": "AWS::S3::AccessPoint",
            "Properties": {"Bucket": {"Ref": "Bucket"}, "Name": "datashare-prod-lake-curated"},
        },
    }
}


def _deployed_lake(emulator: Emulator) -> tuple[Any, str]:
    """The source account's session once LAKE_WITH_ACCESS_POINT is deployed there, and the alias S3 gave the point."""
    source = emulator.administrator("444444444444").session("eu-west-1")
    source.client("cloudformation").create_stack(StackName="sharing", TemplateBody=json.dumps(LAKE_WITH_ACCESS_POINT))
    point = source.client("s3control").get_access_point(AccountId="444444444444", Name="datashare-prod-lake-curated")
    return source, point["Alias"]


def test_a_tables_location_names_the_alias_the_custom_resource_reads_from_the_source_account():
    """The consumer stack's custom resource asks the source account for its access point's alias, as the role the
    call names and in the call's region; the table's location joins the field it answers (Fn::GetAtt)."""
    call = {
        "service": "S3Control",
        "action": "getAccessPoint",
        "assumedRoleArn": "arn:aws:iam::444444444444:role/datashare-prod-locate-analytics",
        "region": "eu-west-1",
        "outputPaths": ["Alias"],
        "parameters": {"AccountId": "444444444444", "Name": "datashare-prod-lake-curated"},
    }
    consumer_template = {
        "Resources": {
            "Alias": {
                "Type": "Custom::AWS",
                "Properties": {
                    "ServiceToken": "arn:aws:lambda:eu-central-1:555555555555:function:datashare-prod-locate",
                    "Create": json.dumps(call),
                },
            },
            "Database": {
                "Type": "AWS::Glue::Database",
                "Properties": {"CatalogId": "555555555555", "DatabaseInput": {"Name": "datashare_prod"}},
            },
            "Table": {
                "Type": "AWS::Glue::Table",
                "DependsOn": "Database",
                "Properties": {
                    "CatalogId": "555555555555",
                    "DatabaseName": "datashare_prod",
                    "TableInput": {
                        "Name": "lake_curated",
                        "TableType": "EXTERNAL_TABLE",
                        "StorageDescriptor": {
                            "Location": {"Fn::Join": ["", ["s3://", {"Fn::GetAtt": ["Alias", "Alias"]}, "/curated/"]]}
                        },
                    },
                },
            },
        }
    }
    with Emulator() as emulator:
        _, alias = _deployed_lake(emulator)
        # The consumer in another region: the call's region is the access point's.
        consumer = emulator.administrator("555555555555").session("eu-central-1")
        consumer.client("cloudformation").create_stack(StackName="consumer", TemplateBody=json.dumps(consumer_template))
        table = consumer.client("glue").get_table(DatabaseName="datashare_prod", Name="lake_curated")["Table"]
        assert alias.endswith("-s3alias")
        assert table["StorageDescriptor"]["Location"] == f"s3://{alias}/curated/"


def test_a_query_runs_in_duckdb_over_the_objects_behind_the_tables_alias_and_its_results_are_written():
    """Athena's answer is DuckDB's over the objects Athena would read: those under the table's location (here an
    access point's alias in the source account), not the self-check's under a folder named _...; the results are
    written as CSV where the workgroup enforces; an object the table's format cannot read fails the query."""
    with Emulator() as emulator:
        source, alias = _deployed_lake(emulator)
        s3 = source.client("s3")
        s3.put_object(Bucket="corp-data-lake", Key="curated/a.json", Body=b'{"customer_id": "c-1", "revenue": 2.5}\n')
        s3.put_object(Bucket="corp-data-lake", Key="curated/__consumer-self-check__/canary", Body=b"not json")
        consumer = emulator.administrator("555555555555").session("eu-west-1")
        consumer.client("s3").create_bucket(
            Bucket="results-555555555555", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        glue = consumer.client("glue")
        glue.create_database(DatabaseInput={"Name": "datashare_prod"})
        storage = {
            "Location": f"s3://{alias}/curated/",
            "Columns": [{"Name": "customer_id", "Type": "string"}, {"Name": "revenue", "Type": "double"}],
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
        }
        glue.create_table(
            DatabaseName="datashare_prod", TableInput={"Name": "lake_curated", "StorageDescriptor": storage}
        )
        athena = consumer.client("athena")
        athena.create_work_group(
            Name="queries",
            Configuration={
                "EnforceWorkGroupConfiguration": True,
                "ResultConfiguration": {"OutputLocation": "s3://results-555555555555/"},
            },
        )
        query = athena.start_query_execution(
            QueryString='SELECT * FROM "datashare_prod"."lake_curated" LIMIT 1', WorkGroup="queries"
        )["QueryExecutionId"]
        rows = athena.get_query_results(QueryExecutionId=query)["ResultSet"]["Rows"]
        assert [[c["VarCharValue"] for c in row["Data"]] for row in rows] == [
            ["customer_id", "revenue"],
            ["c-1", "2.5"],
        ]
        results = consumer.client("s3").get_object(Bucket="results-555555555555", Key=f"{query}.csv")["Body"].read()
        assert b'"c-1","2.5"' in results
        s3.put_object(Bucket="corp-data-lake", Key="curated/b.json", Body=b"this is not json\n")
        with pytest.raises(athena.exceptions.InvalidRequestException, match="the rehearsal's SQL engine"):
            athena.start_query_execution(
                QueryString='SELECT count(*) FROM "datashare_prod"."lake_curated"', WorkGroup="queries"
            )


# The enforcement's mends and its off switch (its decisions: test_enforcement.py, which keeps one emulator running).
SOURCE, CONSUMER, REGION = "222222222222", "333333333333", "eu-west-1"
READER = f"arn:aws:iam::{CONSUMER}:role/reader"


def test_without_enforcement_moto_serves_every_request_as_before():
    with Emulator() as emulator:
        assert emulator.enforcer is None
        source = emulator.administrator(SOURCE).session(REGION).client("s3")
        source.create_bucket(Bucket="open-data", CreateBucketConfiguration={"LocationConstraint": REGION})
        source.put_object(Bucket="open-data", Key="k", Body=b"v")
        stranger = emulator.credentials(f"arn:aws:iam::{CONSUMER}:role/nobody").session(REGION).client("s3")
        assert stranger.get_object(Bucket="open-data", Key="k")["Body"].read() == b"v"


def test_the_emulator_holds_a_templates_bucket_policy_table_policy_and_log_group_arn():
    """moto's CloudFormation skips AWS::S3::BucketPolicy, a global table's resource policy, and the ":*" of a log
    group's Arn: the emulator mends them, so the enforcement decides by what the template says."""
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": READER}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::held-x/*"}
    ]}  # fmt: skip
    table_policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": READER}, "Action": "dynamodb:GetItem", "Resource": "*"}
    ]}  # fmt: skip
    template = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "held-x"}},
            "Policy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": policy},
            },
            "Table": {
                "Type": "AWS::DynamoDB::GlobalTable",
                "Properties": {
                    "TableName": "held",
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                    "Replicas": [{"Region": REGION, "ResourcePolicy": {"PolicyDocument": table_policy}}],
                },
            },
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "held-logs"}},
        },
        "Outputs": {"LogsArn": {"Value": {"Fn::GetAtt": ["Logs", "Arn"]}}},
    }
    with Emulator() as emulator:
        source = emulator.administrator(SOURCE).session(REGION)
        cloudformation = source.client("cloudformation")
        cloudformation.create_stack(StackName="held", TemplateBody=json.dumps(template))
        assert json.loads(source.client("s3").get_bucket_policy(Bucket="held-x")["Policy"]) == policy
        arn = f"arn:aws:dynamodb:{REGION}:{SOURCE}:table/held"
        assert json.loads(source.client("dynamodb").get_resource_policy(ResourceArn=arn)["Policy"]) == table_policy
        (stack,) = cloudformation.describe_stacks(StackName="held")["Stacks"]
        assert stack["Outputs"][0]["OutputValue"] == f"arn:aws:logs:{REGION}:{SOURCE}:log-group:held-logs:*"
        cloudformation.delete_stack(StackName="held")
        with pytest.raises(ClientError):
            source.client("s3").get_bucket_policy(Bucket="held-x")


def test_the_emulators_sql_engine_serves_athena_only_while_it_serves():
    """The emulator mends moto in this process: outside a rehearsal (other tests of the same worker, after one ran),
    moto's Athena answers as moto does, without the rehearsal's catalog and SQL."""
    import boto3
    from moto import mock_aws

    from tools.rehearsal.emulator import Emulator

    Emulator()  # mends moto, serves nothing
    with mock_aws():
        athena = boto3.client("athena", region_name="eu-west-1")
        athena.create_work_group(Name="queries")
        started = athena.start_query_execution(
            QueryString="SELECT * FROM nowhere.missing LIMIT 1",
            WorkGroup="queries",
            ResultConfiguration={"OutputLocation": "s3://results/"},
        )
        assert started["QueryExecutionId"]


def _organization(emulator: Emulator, *, register: bool = True) -> Any:
    """An organization whose management account is 990000000000: a unit with an account, a unit under it with another,
    an account at the root; the tooling account 111111111111 a delegated administrator of StackSets where asked."""
    from moto.organizations.models import organizations_backends

    from tools.rehearsal.stack_sets import STACKSETS

    management = emulator.administrator("990000000000").session("us-east-1").client("organizations")
    management.create_organization(FeatureSet="ALL")
    root = management.list_roots()["Roots"][0]["Id"]
    unit = management.create_organizational_unit(ParentId=root, Name="branches")["OrganizationalUnit"]["Id"]
    below = management.create_organizational_unit(ParentId=unit, Name="below")["OrganizationalUnit"]["Id"]
    backend = organizations_backends["990000000000"]["aws"]

    def account(account_id: str, parent: str) -> None:
        management.create_account(AccountName=account_id, Email=f"{account_id}@example.com")
        made = backend.accounts[-1]
        made.id, made.parent_id = account_id, parent
        organizations_backends.master_accounts[account_id] = ("990000000000", "aws")

    account("111111111111", root)
    account("700000000001", unit)
    account("700000000002", below)
    account("700000000009", root)
    if register:
        management.register_delegated_administrator(AccountId="111111111111", ServicePrincipal=STACKSETS)
    return SimpleNamespace(client=management, root=root, unit=unit)


def _stack_set_stack(emulator: Emulator, unit: str) -> Any:
    """The tooling account's stack with a StackSet of a one-role template, read from its S3."""
    tooling = emulator.administrator("111111111111").session("eu-west-1")
    s3 = tooling.client("s3")
    s3.create_bucket(Bucket="assets-111111111111", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    member = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "group-topic"}}}}
    s3.put_object(Bucket="assets-111111111111", Key="group.json", Body=json.dumps(member).encode())
    template = {
        "Resources": {
            "Group": {
                "Type": "AWS::CloudFormation::StackSet",
                "Properties": {
                    "StackSetName": "project-prod-branches",
                    "PermissionModel": "SERVICE_MANAGED",
                    "CallAs": "DELEGATED_ADMIN",
                    "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
                    "StackInstancesGroup": [{"DeploymentTargets": {"OrganizationalUnitIds": [unit]},
                                             "Regions": ["eu-west-1"]}],
                    "TemplateURL": "https://s3.eu-west-1.amazonaws.com/assets-111111111111/group.json",
                },
            }
        }
    }  # fmt: skip
    cloudformation = tooling.client("cloudformation")
    cloudformation.create_stack(StackName="project-prod-groups", TemplateBody=json.dumps(template))
    return cloudformation


def _topics(emulator: Emulator, account: str) -> list[str]:
    sns = emulator.administrator(account).session("eu-west-1").client("sns")
    return [t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]]


def test_a_delegated_administrators_stack_set_reaches_every_account_of_its_units_and_follows_them():
    with Emulator() as emulator:
        organization = _organization(emulator)
        cloudformation = _stack_set_stack(emulator, organization.unit)
        # In the unit and in the unit under it; not at the root, not in the management account.
        assert _topics(emulator, "700000000001") == ["group-topic"]
        assert _topics(emulator, "700000000002") == ["group-topic"]
        assert _topics(emulator, "700000000009") == [] and _topics(emulator, "990000000000") == []
        # The stack set lives in the management account, and CallAs DELEGATED_ADMIN lists it from the tooling account.
        listed = cloudformation.list_stack_instances(StackSetName="project-prod-branches", CallAs="DELEGATED_ADMIN")
        assert sorted(i["Account"] for i in listed["Summaries"]) == ["700000000001", "700000000002"]
        with pytest.raises(ClientError):  # the tooling account's own stack sets: none of that name
            cloudformation.list_stack_instances(StackSetName="project-prod-branches")
        # Auto-deployment: an account moved into the unit gets its stack, one moved out loses it.
        organization.client.move_account(AccountId="700000000009", SourceParentId=organization.root,
                                         DestinationParentId=organization.unit)  # fmt: skip
        assert _topics(emulator, "700000000009") == ["group-topic"]
        organization.client.move_account(AccountId="700000000001", SourceParentId=organization.unit,
                                         DestinationParentId=organization.root)  # fmt: skip
        assert _topics(emulator, "700000000001") == []


def test_a_stack_set_of_an_account_that_is_no_delegated_administrator_fails_its_stack():
    with Emulator() as emulator:
        organization = _organization(emulator, register=False)
        with pytest.raises(ClientError, match="111111111111 is not registered as a delegated administrator"):
            _stack_set_stack(emulator, organization.unit)
        assert _topics(emulator, "700000000001") == []
