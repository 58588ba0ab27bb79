"""The consumer account's stack: roles of fixed names, least-privilege access to the source account's data
by computed names (no cross-account references), and the outputs the pipeline's test step reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from bootstrap.policies import permissions_boundary
from tests.templates import by_sid, inline_statements, only, resources, role_named
from toolchain import PYTHON_VERSION, RUNTIME_DIR


def _managed_policy(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return by_sid(only(template, "AWS::IAM::ManagedPolicy")["Properties"]["PolicyDocument"])


def test_function_and_task_roles_have_the_names_the_source_account_admits(example):
    template = example.template_json(example.consumer("prod", 1))
    names = {
        r["Properties"]["RoleName"]
        for r in resources(template, "AWS::IAM::Role").values()
        if "RoleName" in r["Properties"]
    }
    assert {"datashare-prod-consumer-function", "datashare-prod-consumer-task"} <= names


def test_consumer_policy_reaches_exactly_its_datasets_by_computed_names_only(example):
    # reporting (prod, index 1) is given sales (bucket + table by role) and reference (table by its own policy) until
    # the end of 2031-03-31: the statements of reference end then by themselves, and say so in their sids.
    statements = _managed_policy(example.template_json(example.consumer("prod", 1)))
    assert set(statements) == {
        "ListBuckets", "ReadObjects", "ReadTablesUntil20310401", "AssumeSourceRole", "KeyReadThroughS3",
        "KeyReadThroughDynamodbUntil20310401",
    }  # fmt: skip
    assert statements["ListBuckets"]["Resource"] == "arn:aws:s3:::datashare-prod-sales-444444444444-eu-west-1"
    assert statements["ReadObjects"]["Action"] == "s3:GetObject"
    assert statements["ReadObjects"]["Resource"] == "arn:aws:s3:::datashare-prod-sales-444444444444-eu-west-1/*"
    assert statements["AssumeSourceRole"] == {
        "Sid": "AssumeSourceRole",
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Resource": "arn:aws:iam::444444444444:role/datashare-prod-source-reporting",
    }
    assert statements["ReadTablesUntil20310401"]["Resource"] == [
        "arn:aws:dynamodb:eu-west-1:444444444444:table/datashare-prod-reference",
        "arn:aws:dynamodb:eu-west-1:444444444444:table/datashare-prod-reference/index/*",
    ]
    assert statements["ReadTablesUntil20310401"]["Condition"] == {
        "DateLessThan": {"aws:CurrentTime": "2031-04-01T00:00:00Z"}
    }
    assert "Condition" not in statements["ReadObjects"]  # sales does not end
    assert "events" not in json.dumps(statements)  # not given


def test_a_prefix_writer_lists_under_its_prefix_and_writes_there_only(example):
    # ingest (prod, index 2) is given events read-write: a prefix of the events bucket; no table, so no source role.
    statements = _managed_policy(example.template_json(example.consumer("prod", 2)))
    assert statements["ListUnderPrefixes"]["Condition"] == {"StringLike": {"s3:prefix": ["raw/events/*"]}}
    objects = "arn:aws:s3:::datashare-prod-events-444444444444-eu-west-1/raw/events/*"
    assert statements["ReadObjects"]["Resource"] == objects
    assert sorted(statements["WriteObjects"]["Action"]) == ["s3:DeleteObject", "s3:PutObject"]
    assert statements["WriteObjects"]["Resource"] == objects
    assert statements["KeyWriteThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": ["s3.eu-west-1.amazonaws.com"]}
    }
    assert "AssumeSourceRole" not in statements and "ListBuckets" not in statements


def test_consumer_uses_keys_of_the_source_account_only_through_s3_and_dynamodb_never_directly(example):
    # Not by alias (KMS takes up to five minutes to authorize by a new one): what it decrypts is what the buckets and
    # tables it is given let it read, and each key's own policy admits only its dataset's consumers.
    statements = _managed_policy(example.template_json(example.consumer("prod", 1)))
    key = statements["KeyReadThroughS3"]
    assert key["Action"] == "kms:Decrypt"
    assert key["Resource"] == "arn:aws:kms:eu-west-1:444444444444:key/*"
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": ["s3.eu-west-1.amazonaws.com"]}}
    # Only reference (ending) uses a key through DynamoDB: that statement ends with it.
    assert statements["KeyReadThroughDynamodbUntil20310401"]["Condition"] == {
        "StringEquals": {"kms:ViaService": ["dynamodb.eu-west-1.amazonaws.com"]},
        "DateLessThan": {"aws:CurrentTime": "2031-04-01T00:00:00Z"},
    }
    assert "KeyWriteThroughS3" not in statements  # reporting reads only


def test_no_cloudformation_reference_crosses_accounts(example):
    for index in range(2):
        template = example.template_json(example.consumer("prod", index))
        text = str(template)
        assert "Fn::ImportValue" not in text
        assert "444444444444" in text  # the source account appears only inside computed names and ARNs


def _joined(value: Any) -> str:
    """A value of the template with the API's id (the custom resource's attribute that reads it) as ID."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "ID" for p in parts)


def test_function_runs_the_consumer_code_with_the_shared_names(example):
    template = example.template_json(example.consumer("prod", 1))
    (function,) = [
        r["Properties"]
        for r in resources(template, "AWS::Lambda::Function").values()
        if r["Properties"].get("FunctionName") == "datashare-prod-consumer"
    ]
    assert (function["Handler"], function["Runtime"]) == ("consumer_app.handler.handler", f"python{PYTHON_VERSION}")
    variables = function["Environment"]["Variables"]
    assert {k: _joined(v) for k, v in variables.items()} == {
        "CONSUMER_NAME": "reporting",
        "CANARY_KEY": "__consumer-self-check__/canary",
        "CANARY_ITEM": json.dumps(
            {"pk": {"S": "__consumer-self-check__"}, "sk": {"S": "canary"}}, separators=(",", ":")
        ),
        "DATASETS": json.dumps(
            [
                {
                    "n": "sales",
                    "a": "read",
                    "b": "datashare-prod-sales-444444444444-eu-west-1",
                    "c": 1,
                    "t": "datashare-prod-sales",
                    "tr": 1,
                    "ci": 1,
                },
                {"n": "reference", "x": "2031-04-01T00:00:00Z", "a": "read", "t": "datashare-prod-reference", "ci": 1},
            ],
            separators=(",", ":"),
        ),
        "REFUSED_DATASETS": json.dumps(
            [
                {"n": "events", "b": "datashare-prod-events-444444444444-eu-west-1", "c": 1, "p": "raw/events/"},
                # An existing bucket's datasets by their access points' ARNs (boto3 takes them as Bucket).
                {
                    "n": "lake-raw",
                    "b": "arn:aws:s3:eu-west-1:444444444444:accesspoint/datashare-prod-lake-raw",
                    "p": "raw/",
                },
                {
                    "n": "lake-curated",
                    "b": "arn:aws:s3:eu-west-1:444444444444:accesspoint/datashare-prod-lake-curated",
                    "p": "curated/",
                },
                # An API by its stage's URL, its id read from the sharing stack: the self-check must be refused it.
                {"n": "orders", "u": "https://ID.execute-api.eu-west-1.amazonaws.com/live"},
            ],
            separators=(",", ":"),
        ),
        "TABLE_ARN_PREFIX": "arn:aws:dynamodb:eu-west-1:444444444444:table/",
        "SOURCE_ACCOUNT": "444444444444",
        "SOURCE_REGION": "eu-west-1",
        "SOURCE_ROLE_ARN": "arn:aws:iam::444444444444:role/datashare-prod-source-reporting",
    }


def test_task_definition_is_fargate_with_the_task_role_and_logs(example):
    template = example.template_json(example.consumer("prod", 1))
    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    properties = task["Properties"]
    assert properties["RequiresCompatibilities"] == ["FARGATE"]
    role_id = properties["TaskRoleArn"]["Fn::GetAtt"][0]
    assert template["Resources"][role_id]["Properties"]["RoleName"] == "datashare-prod-consumer-task"
    (container,) = properties["ContainerDefinitions"]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert {
        "Name": "SOURCE_ROLE_ARN",
        "Value": "arn:aws:iam::444444444444:role/datashare-prod-source-reporting",
    } in container["Environment"]


def test_default_image_is_built_from_the_runtime_dockerfile(example):
    (task,) = resources(example.template_json(example.consumer("prod")), "AWS::ECS::TaskDefinition").values()
    image = str(task["Properties"]["ContainerDefinitions"][0]["Image"])
    assert "cdk-datashare-container-assets-555555555555-eu-west-1" in image


def test_the_image_runs_the_lambdas_python_and_the_one_boto3_pin(example):
    stack = example.consumer("prod")
    assembly = example.assembly.get_nested_assembly(cdk.Stage.of(stack).artifact_id)
    manifest = json.loads((Path(assembly.directory) / f"{stack.artifact_id}.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    assert image["source"]["dockerBuildArgs"] == {"PYTHON_VERSION": PYTHON_VERSION}
    # Built for the architecture the task runs on (an arm64 task of an amd64 image fails with exec format error).
    (task,) = resources(example.template_json(stack), "AWS::ECS::TaskDefinition").values()
    architecture = task["Properties"]["RuntimePlatform"]["CpuArchitecture"]
    assert {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}[architecture] == image["source"]["platform"]
    dockerfile = (RUNTIME_DIR / "Dockerfile").read_text()
    # No second source of either version: the base image takes the build argument, pip the runtime's pins.
    assert "FROM public.ecr.aws/docker/library/python:${PYTHON_VERSION}-slim" in dockerfile
    assert "==" not in dockerfile and "pip install --no-cache-dir -r /tmp/requirements.txt" in dockerfile


def test_configured_image_is_used_instead_of_building_one_and_its_private_repository_pulled_from(organization):
    """ContainerImage.from_registry grants nothing: an image of a private ECR repository (here the tooling account's)
    needs the execution role's pulls on that repository, and the boundary's (Fargate would stop the task with
    CannotPullContainerError)."""
    template = organization.template_json(organization.consumer("prod"))
    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    image = {
        "Fn::Join": ["", ["111111111111.dkr.ecr.eu-west-1.", {"Ref": "AWS::URLSuffix"}, "/data-sharing/consumer:1.0"]]
    }
    assert task["Properties"]["ContainerDefinitions"][0]["Image"] == image  # amazonaws.com, or .com.cn in China
    statements = inline_statements(template, role_named(template, "orgshare-prod-consumer-task-exec"))
    (pulls,) = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert sorted(pulls["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert pulls["Resource"] == "arn:aws:ecr:eu-west-1:111111111111:repository/data-sharing/consumer"
    boundary = {s["Sid"]: s for s in permissions_boundary(organization.config, "aws")["Statement"]}
    assert boundary["PullTheConfiguredImage"]["Resource"] == pulls["Resource"]


def test_proof_role_trusts_only_the_environments_proof_step_and_may_only_run_its_consumers_workloads(example):
    template = example.template_json(example.consumer("prod", 1))
    role_id = role_named(template, "datashare-prod-pipeline-proof")
    role = template["Resources"][role_id]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            # The wave's test step, and the environment's daily proof (the same checks, on a schedule).
            "Condition": {
                "ArnEquals": {
                    "aws:PrincipalArn": [
                        "arn:aws:iam::111111111111:role/datashare-prod-proof-step-1",
                        "arn:aws:iam::111111111111:role/datashare-prod-daily-proof",
                    ]
                }
            },
        }
    ]
    (function_id,) = [
        k
        for k, r in resources(template, "AWS::Lambda::Function").items()
        if r["Properties"].get("FunctionName") == "datashare-prod-consumer"
    ]
    task_role = role_named(template, "datashare-prod-consumer-task")
    execution_role = role_named(template, "datashare-prod-consumer-task-exec")
    (log_group,) = [k for k, r in resources(template, "AWS::Logs::LogGroup").items() if k.startswith("TaskLogs")]
    ecs = "arn:aws:ecs:eu-central-1:666666666666"
    assert by_sid({"Statement": inline_statements(template, role_id)}) == {
        "InvokeTheFunction": {
            "Sid": "InvokeTheFunction",
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [function_id, "Arn"]},
        },
        # Any revision of the consumer's task family, in the consumer's cluster only.
        "RunTheTaskInItsCluster": {
            "Sid": "RunTheTaskInItsCluster",
            "Action": "ecs:RunTask",
            "Effect": "Allow",
            "Resource": f"{ecs}:task-definition/datashare-prod-consumer:*",
            "Condition": {"ArnEquals": {"ecs:cluster": f"{ecs}:cluster/datashare-prod-consumer"}},
        },
        # RunTask passes the task's two roles, to ECS tasks only.
        "PassTheTasksRoles": {
            "Sid": "PassTheTasksRoles",
            "Action": "iam:PassRole",
            "Effect": "Allow",
            "Resource": [{"Fn::GetAtt": [execution_role, "Arn"]}, {"Fn::GetAtt": [task_role, "Arn"]}],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
        "WatchAndStopTheTasks": {
            "Sid": "WatchAndStopTheTasks",
            "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
            "Effect": "Allow",
            "Resource": f"{ecs}:task/datashare-prod-consumer/*",
        },
        "ReadTheTasksLog": {
            "Sid": "ReadTheTasksLog",
            "Action": "logs:GetLogEvents",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    ["arn:aws:logs:eu-central-1:666666666666:log-group:", {"Ref": log_group}, ":log-stream:*"],
                ]
            },
        },
        # No subnets configured: the step finds the default VPC and its subnets (ECS uses its default security group).
        "FindWhereAndHowToRun": {
            "Sid": "FindWhereAndHowToRun",
            "Action": ["ec2:DescribeSubnets", "ec2:DescribeVpcs", "ecs:DescribeTaskDefinition"],
            "Effect": "Allow",
            "Resource": "*",
        },
    }


def test_configured_networks_narrow_what_the_proof_role_may_describe(organization):
    def describe(index: int) -> list[str]:
        template = organization.template_json(organization.consumer("prod", index))
        statements = by_sid(
            {"Statement": inline_statements(template, role_named(template, "orgshare-prod-pipeline-proof"))}
        )
        actions = statements["FindWhereAndHowToRun"]["Action"]
        return [actions] if isinstance(actions, str) else actions

    # Configured subnets, with or without security groups: nothing to find in EC2.
    assert describe(0) == describe(1) == ["ecs:DescribeTaskDefinition"]


def test_the_task_runs_in_a_cluster_and_family_of_fixed_names_without_a_vpc(example):
    template = example.template_json(example.consumer("prod", 1))
    cluster = only(template, "AWS::ECS::Cluster")
    assert cluster["Properties"] == {
        "ClusterName": "datashare-prod-consumer",
        "Tags": cluster["Properties"]["Tags"],
    }
    assert not resources(template, "AWS::EC2::VPC")
    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    assert task["Properties"]["Family"] == "datashare-prod-consumer"
    assert task["Properties"]["RequiresCompatibilities"] == ["FARGATE"]
    assert task["Properties"]["NetworkMode"] == "awsvpc"
    (container,) = task["Properties"]["ContainerDefinitions"]
    # What the step reads: the container's name and its log stream prefix (<prefix>/<container>/<task id>).
    assert container["Name"] == "Consumer"
    assert container["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == "consumer"


def test_outputs_give_the_test_step_the_function_and_proof_role(example):
    outputs = example.template_json(example.consumer("prod"))["Outputs"]
    assert set(outputs) >= {"FunctionName", "ProofRoleArn", "TaskDefinitionArn"}


def test_a_table_shared_by_its_own_policy_is_reached_directly_without_assuming_a_role(organization):
    # reporting is given lake (a table by its own policy, read-write) and events (a bucket): no source role.
    template = organization.template_json(organization.consumer("prod", 1))
    statements = _managed_policy(template)
    assert "AssumeSourceRole" not in statements
    assert sorted(statements["ReadTables"]["Action"]) == [
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:Query",
    ]
    assert sorted(statements["WriteTables"]["Action"]) == [
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert (
        statements["WriteTables"]["Resource"][0] == "arn:aws:dynamodb:eu-west-1:222222222222:table/orgshare-prod-lake"
    )
    assert statements["KeyWriteThroughDynamodb"]["Condition"]["StringEquals"] == {
        "kms:ViaService": ["dynamodb.eu-west-1.amazonaws.com"]
    }
    (function,) = resources(template, "AWS::Lambda::Function").values()
    assert "SOURCE_ROLE_ARN" not in function["Properties"]["Environment"]["Variables"]


def test_log_groups_keep_a_year_and_survive_stack_deletion(example):
    template = example.template_json(example.consumer("prod"))
    groups = resources(template, "AWS::Logs::LogGroup")
    assert sorted(g["Properties"]["LogGroupName"] for g in groups.values()) == [
        "datashare-prod-consumer-function",
        "datashare-prod-consumer-task",
        "datashare-prod-locate",  # the custom resource's that reads its tables' access point aliases
    ]
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 365
        assert group["DeletionPolicy"] == "Retain"


def test_function_role_writes_only_its_own_log_group(example):
    template = example.template_json(example.consumer("prod"))
    function_role = role_named(template, "datashare-prod-consumer-function")
    statements = inline_statements(template, function_role)
    (function,) = [
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Role"]["Fn::GetAtt"][0] == function_role
    ]
    log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert statements == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group, "Arn"]},
        }
    ]
    # No AWS-managed policy (AWSLambdaBasicExecutionRole would allow writing to every log group).
    role = template["Resources"][function_role]["Properties"]
    assert all("aws:policy" not in str(arn) for arn in role["ManagedPolicyArns"])


def test_the_function_has_time_for_every_dataset_it_proves_and_the_step_waits_for_it(example, monkeypatch):
    """10 s a dataset over 30 s, within Lambda's 15 minutes: a consumer given many datasets in a far source region would
    not finish its self-check in a fixed 30 s. The step's synchronous invoke waits past Lambda's limit (botocore's
    default read timeout, 60 s, would end and retry it)."""
    from cdk_constructs.consumer import function_timeout_seconds
    from pipeline_steps import prove_consumers

    analytics = example.config.environments[1].consumers[0]
    assert len(analytics.grants) == 6
    template = example.template_json(example.consumer("prod", 0))
    (function,) = [
        r["Properties"]
        for r in resources(template, "AWS::Lambda::Function").values()
        if r["Properties"].get("FunctionName") == "datashare-prod-consumer"
    ]
    # analytics is given two datasets with a table to query (events, lake-curated): an Athena query's wait more each.
    assert function["Timeout"] == function_timeout_seconds(analytics, queries=2) == 90 + 2 * 130
    assert (
        function_timeout_seconds(analytics.model_copy(update={"grants": {f"d{i}": "read" for i in range(200)}})) == 900
    )
    seen = {}

    class Session:
        def client(self, name, config):
            seen["read_timeout"] = config.read_timeout
            raise RuntimeError("stop")

    monkeypatch.setattr(prove_consumers, "assumed_session", lambda *args: Session())
    with pytest.raises(RuntimeError, match="stop"):
        prove_consumers.invoke_with_boto3("f", "eu-west-1", "arn:aws:iam::1:role/r", {})
    assert seen["read_timeout"] > 900


def test_a_consumer_given_a_dataset_with_a_table_queries_it_in_its_own_account(example):
    """analytics (prod, index 0) is given events, whose catalog describes a partitioned JSON table: its account gets
    the environment's Glue database, the table over the dataset's prefix in the source account's bucket, and a
    workgroup whose results go, under a key of its own, to a retained bucket of its own."""
    template = example.template_json(example.consumer("prod", 0))
    database = only(template, "AWS::Glue::Database")["Properties"]
    assert database["CatalogId"] == "555555555555"
    assert database["DatabaseInput"]["Name"] == "datashare_prod"
    tables = {
        r["Properties"]["TableInput"]["Name"]: r["Properties"] for r in resources(template, "AWS::Glue::Table").values()
    }
    assert sorted(tables) == ["events", "lake_curated"]
    table = tables["events"]
    assert table["DatabaseName"] == "datashare_prod"
    described = table["TableInput"]
    assert described["Name"] == "events" and described["TableType"] == "EXTERNAL_TABLE"
    storage = described["StorageDescriptor"]
    assert storage["Location"] == "s3://datashare-prod-events-444444444444-eu-west-1/raw/events/"
    assert [c["Name"] for c in storage["Columns"]] == ["event_id", "kind", "occurred_at", "payload"]
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert described["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    workgroup = only(template, "AWS::Athena::WorkGroup")["Properties"]
    assert workgroup["Name"] == "datashare-prod-queries"
    configuration = workgroup["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == 1024**4
    results = configuration["ResultConfiguration"]
    assert results["OutputLocation"] == "s3://datashare-prod-queries-555555555555-eu-west-1/"
    assert results["ExpectedBucketOwner"] == "555555555555"
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    (bucket_id,) = [
        i
        for i, r in resources(template, "AWS::S3::Bucket").items()
        if r["Properties"]["BucketName"] == "datashare-prod-queries-555555555555-eu-west-1"
    ]
    bucket = template["Resources"][bucket_id]
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate"  # as the datasets' own buckets
    encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key_policy = by_sid(only(template, "AWS::KMS::Key")["Properties"]["KeyPolicy"])
    assert key_policy["CloudFormationManagesTheKey"]["Principal"] == {
        "AWS": "arn:aws:iam::555555555555:role/cdk-datashare-cfn-exec-role-555555555555-eu-west-1"
    }
    # Its roles: query in that workgroup, read those tables, load their partitions, read and delete the results.
    statements = _managed_policy(template)
    assert statements["QueryInTheWorkgroup"]["Resource"] == (
        "arn:aws:athena:eu-west-1:555555555555:workgroup/datashare-prod-queries"
    )
    catalog = [
        "arn:aws:glue:eu-west-1:555555555555:catalog",
        "arn:aws:glue:eu-west-1:555555555555:database/datashare_prod",
        "arn:aws:glue:eu-west-1:555555555555:table/datashare_prod/events",
    ]
    assert statements["ReadTheTables"]["Resource"] == [*catalog, f"{catalog[-1].rsplit('/', 1)[0]}/lake_curated"]
    assert statements["LoadPartitions"]["Resource"] == catalog  # lake-curated has no partitions
    assert statements["QueryResultsKeyThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": ["s3.eu-west-1.amazonaws.com"]}
    }
    # Athena asks the region of the dataset's bucket before it reads it.
    assert "arn:aws:s3:::datashare-prod-*-444444444444-eu-west-1" in statements["LocateBuckets"]["Resource"]
    # What the self-check reads: the workgroup, the database, and the dataset's table.
    (function,) = [
        r["Properties"]
        for r in resources(template, "AWS::Lambda::Function").values()
        if r["Properties"].get("FunctionName") == "datashare-prod-consumer"
    ]
    environment = function["Environment"]["Variables"]
    assert environment["QUERY_WORKGROUP"] == "datashare-prod-queries"
    assert environment["CATALOG_DATABASE"] == "datashare_prod" and environment["QUERY_REGION"] == "eu-west-1"
    datasets = json.loads(_joined(environment["DATASETS"]))
    assert [d.get("q") for d in datasets] == [None, "events", None, None, "lake_curated", None]


def test_a_table_over_an_existing_bucket_is_located_by_its_access_points_alias(example):
    """lake-curated is an existing bucket's prefix with a catalog: S3 makes its access point's alias in the source
    stage, and the consumer stack's custom resource reads it there, as the consumer's locator role of the source
    account (which trusts that reader's role alone), in the source region; the table's location is the alias."""
    template = example.template_json(example.consumer("prod", 0))
    (table,) = [
        r["Properties"]["TableInput"]
        for r in resources(template, "AWS::Glue::Table").values()
        if r["Properties"]["TableInput"]["Name"] == "lake_curated"
    ]
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    location = table["StorageDescriptor"]["Location"]["Fn::Join"][1]
    assert location[0] == "s3://" and location[2] == "/curated/"
    (alias_id,) = [i for i, r in resources(template, "Custom::AWS").items() if i == location[1]["Fn::GetAtt"][0]]
    call = json.loads(template["Resources"][alias_id]["Properties"]["Create"])
    assert location[1]["Fn::GetAtt"][1] == "Alias" and call["outputPaths"] == ["Alias"]
    assert (call["service"], call["action"], call["region"]) == ("S3Control", "getAccessPoint", "eu-west-1")
    assert call["parameters"] == {"AccountId": "444444444444", "Name": "datashare-prod-lake-curated"}
    assert call["assumedRoleArn"] == "arn:aws:iam::444444444444:role/datashare-prod-locate-analytics"
    roles = {r["Properties"]["RoleName"]: i for i, r in resources(template, "AWS::IAM::Role").items()}
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": roles["datashare-prod-locate"]} in p["Properties"]["Roles"]
    ]
    assumed = [s["Resource"] for statements in policies for s in statements if s["Action"] == "sts:AssumeRole"]
    assert assumed == [call["assumedRoleArn"]]
    # The source side: the locator role trusts the consumer's reader alone and reads access points' configuration.
    source = example.template_json(example.sharing("prod"))
    (locator,) = [
        r["Properties"]
        for r in resources(source, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == "datashare-prod-locate-analytics"
    ]
    (trust,) = locator["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::555555555555:root"}
    assert trust["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::555555555555:role/datashare-prod-locate"]}
    }
    granted = [
        (s["Action"], s["Resource"])
        for p in resources(source, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "s3:GetAccessPoint" in json.dumps(s)
    ]
    assert granted == [("s3:GetAccessPoint", "*")]
    # A consumer without such a table reads no alias (the environment's API's id only: docs/shared-api.md).
    for index, consumer in ((1, "reporting"), (2, "ingest")):
        calls = [json.loads(_joined(r["Properties"]["Create"])) for r in resources(
            example.template_json(example.consumer("prod", index)), "Custom::AWS").values()]  # fmt: skip
        assert [c["action"] for c in calls] == ["describeStackResource"], consumer
        reads = inline_statements(source, role_named(source, f"datashare-prod-locate-{consumer}"))
        assert [s["Action"] for s in reads] == ["cloudformation:DescribeStackResource"], consumer


def test_a_consumer_given_no_dataset_with_a_table_has_no_catalog_and_no_query_grants(example):
    template = example.template_json(example.consumer("prod", 1))  # reporting: sales and reference, no catalog
    for kind in ("AWS::Glue::Database", "AWS::Glue::Table", "AWS::Athena::WorkGroup"):
        assert not resources(template, kind)
    text = json.dumps(_managed_policy(template))
    assert "athena:" not in text and "glue:" not in text and "QUERY_WORKGROUP" not in json.dumps(template)
