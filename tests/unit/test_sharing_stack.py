"""The source account's stack: per dataset a key, a bucket and a table with exactly the intended grants, and per
consumer a source role for what it reaches through a role."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from config.naming import CANARY_KEY, Names
from tests.configs import config_text
from tests.templates import by_sid, inline_statements, resources, role_named

# The consumer roles by name, in any account; the principals name the accounts.
PROD_ROLES = [
    "arn:aws:iam::*:role/datashare-prod-consumer-function",
    "arn:aws:iam::*:role/datashare-prod-consumer-task",
]
ONLY_CONSUMER_ROLES = {"ArnLike": {"aws:PrincipalArn": PROD_ROLES}}
# analytics' own role, by its account: it is given sales too.
ANALYTICS_OWN = "arn:aws:iam::555555555555:role/service-role/athena-analyst"
ANALYTICS, REPORTING, INGEST = "555555555555", "666666666666", "777777777777"


def _root(*accounts: str) -> dict[str, Any]:
    roots = [f"arn:aws:iam::{account}:root" for account in accounts]
    return {"AWS": roots if len(roots) > 1 else roots[0]}


def _bucket_id(template: dict[str, Any], name: str) -> str:
    (logical_id,) = [
        k for k, r in resources(template, "AWS::S3::Bucket").items() if r["Properties"].get("BucketName") == name
    ]
    return logical_id


def _bucket_policy(template: dict[str, Any], name: str) -> dict[str, Any]:
    bucket = _bucket_id(template, name)
    (policy,) = [
        r for r in resources(template, "AWS::S3::BucketPolicy").values() if r["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    return policy["Properties"]["PolicyDocument"]


def _key_policy(template: dict[str, Any], alias: str) -> dict[str, Any]:
    (target,) = [
        r["Properties"]["TargetKeyId"]
        for r in resources(template, "AWS::KMS::Alias").values()
        if r["Properties"]["AliasName"] == alias
    ]
    return template["Resources"][target["Fn::GetAtt"][0]]["Properties"]["KeyPolicy"]


def _dataset_buckets(template: dict[str, Any]) -> list[str]:
    """Every bucket but the access logs' (which has no logging of its own)."""
    return [
        r["Properties"]["BucketName"]
        for r in resources(template, "AWS::S3::Bucket").values()
        if "LoggingConfiguration" in r["Properties"]
    ]


def test_the_access_logs_bucket_is_named_as_the_projects(example):
    """The execution policy lets CloudFormation touch no bucket outside PROJECT-*: a generated name (the stack's)
    would be refused."""
    template = example.template_json(example.sharing("prod"))
    buckets = resources(template, "AWS::S3::Bucket").values()
    logged = {
        r["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
        for r in buckets
        if "LoggingConfiguration" in r["Properties"]
    }
    (logs,) = logged
    assert template["Resources"][logs]["Properties"]["BucketName"] == "datashare-prod-logs-444444444444-eu-west-1"


def test_each_dataset_bucket_is_versioned_private_encrypted_with_its_own_key_and_logged(example):
    template = example.template_json(example.sharing("prod"))
    assert sorted(_dataset_buckets(template)) == [
        "datashare-prod-events-444444444444-eu-west-1",
        "datashare-prod-sales-444444444444-eu-west-1",
    ]
    for name, key in (("sales", "DatasetSalesKey"), ("events", "DatasetEventsKey")):
        example.template(example.sharing("prod")).has_resource_properties(
            "AWS::S3::Bucket",
            {
                "BucketName": f"datashare-prod-{name}-444444444444-eu-west-1",
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "BucketKeyEnabled": True,
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {"Fn::GetAtt": [Match.string_like_regexp(f"^{key}"), "Arn"]},
                            },
                        }
                    ]
                },
                "LoggingConfiguration": Match.object_like(
                    {"LogFilePrefix": f"datashare-prod-{name}-444444444444-eu-west-1/"}
                ),
                # The self-check's leftovers (a noncurrent version and a delete marker per read-write run) expire.
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "SelfCheckLeftovers",
                            "Prefix": f"{'raw/events/' if name == 'events' else ''}__consumer-self-check__/",
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                            "ExpiredObjectDeleteMarker": True,
                            "Status": "Enabled",
                        }
                    ]
                },
            },
        )


def test_stateful_resources_are_retained_on_delete_and_replacement_but_not_after_a_failed_create(example):
    # RetainExceptOnCreate: a failed first create deletes what it made, so the retry does not find fixed names taken.
    template = example.template_json(example.sharing("prod"))
    for kind in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::DynamoDB::GlobalTable"):
        found = [(k, r) for k, r in template["Resources"].items() if r["Type"] == kind]
        assert found, kind
        for logical_id, resource in found:
            assert resource.get("DeletionPolicy") == "RetainExceptOnCreate", logical_id
            assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


def test_every_dataset_bucket_denies_requests_without_tls_or_older_than_tls_1_2(example):
    template = example.template_json(example.sharing("prod"))
    for name in _dataset_buckets(template):
        statements = _bucket_policy(template, name)["Statement"]
        deny = [s for s in statements if s["Effect"] == "Deny" and "aws:SecureTransport" in str(s.get("Condition"))]
        assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny[0]["Principal"] == {"AWS": "*"}
        old = [s for s in statements if s["Effect"] == "Deny" and "s3:TlsVersion" in str(s.get("Condition"))]
        assert [s["Condition"] for s in old] == [{"NumericLessThan": {"s3:TlsVersion": 1.2}}]


def test_a_dataset_bucket_grants_list_and_read_to_exactly_the_consumers_given_it(example):
    template = example.template_json(example.sharing("prod"))
    name = "datashare-prod-sales-444444444444-eu-west-1"
    statements = by_sid(_bucket_policy(template, name))
    listing, objects = statements["ConsumersList"], statements["ConsumersReadObjects"]
    # s3:ListBucket applies to the bucket ARN, s3:GetObject to the object ARNs: not the article's bucket/*.
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Resource"] == f"arn:aws:s3:::{name}"
    # Read-only for both: no write statement at all. Readers may ask the bucket's region (Athena, Glue, EMR do, before
    # they read), in the reads' statement, so the consumers are not listed a third time.
    assert objects["Action"] == ["s3:GetBucketLocation", "s3:GetObject"]
    assert objects["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
    assert "ConsumersWriteObjects" not in statements
    for statement in (listing, objects):
        assert statement["Principal"] == _root(ANALYTICS, REPORTING)  # ingest is not given sales
        assert statement["Condition"] == {"ArnLike": {"aws:PrincipalArn": [*PROD_ROLES, ANALYTICS_OWN]}}


def test_a_prefix_dataset_lists_and_reaches_objects_only_under_its_prefix_and_only_its_writer_writes(example):
    template = example.template_json(example.sharing("prod"))
    name = "datashare-prod-events-444444444444-eu-west-1"
    statements = by_sid(_bucket_policy(template, name))
    assert statements["ConsumersList"]["Condition"]["StringLike"] == {"s3:prefix": ["raw/events/*"]}
    assert statements["ConsumersList"]["Principal"] == _root(ANALYTICS, INGEST)
    assert statements["ConsumersReadObjects"]["Resource"] == [
        f"arn:aws:s3:::{name}",
        f"arn:aws:s3:::{name}/raw/events/*",
    ]
    write = statements["ConsumersWriteObjects"]
    assert sorted(write["Action"]) == ["s3:DeleteObject", "s3:PutObject"]
    assert write["Resource"] == f"arn:aws:s3:::{name}/raw/events/*"
    assert write["Principal"] == _root(INGEST)  # the one read-write consumer


def test_no_policy_of_the_sharing_stack_grants_wildcard_actions_to_consumers(example, organization):
    for synthesized in (example, organization):
        template = synthesized.template_json(synthesized.sharing("prod"))
        for resource in template["Resources"].values():
            for document in _policy_documents(resource):
                for statement in document["Statement"]:
                    if statement["Effect"] != "Allow" or "aws:PrincipalArn" not in str(statement.get("Condition")):
                        continue
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    assert all("*" not in action for action in actions), statement


def test_each_dataset_key_rotates_and_lets_its_consumers_use_it_only_through_its_service(example):
    template = example.template_json(example.sharing("prod"))
    keys = list(resources(template, "AWS::KMS::Key").values())
    # sales, events, reference, orders (its API's table and access log)
    assert len(keys) == 4 and all(k["Properties"]["EnableKeyRotation"] for k in keys)
    sales = by_sid(_key_policy(template, "alias/datashare/prod/sales"))
    assert sales["ConsumersReadThroughS3"]["Action"] == "kms:Decrypt"
    assert sales["ConsumersReadThroughS3"]["Principal"] == _root(ANALYTICS, REPORTING)
    assert sales["ConsumersReadThroughS3"]["Condition"]["StringEquals"] == {
        "kms:ViaService": ["s3.eu-west-1.amazonaws.com"]
    }
    events = by_sid(_key_policy(template, "alias/datashare/prod/events"))
    assert events["ConsumersWriteThroughS3"]["Action"] == "kms:GenerateDataKey"
    assert events["ConsumersWriteThroughS3"]["Principal"] == _root(INGEST)
    reference = by_sid(_key_policy(template, "alias/datashare/prod/reference"))
    assert reference["ConsumersReadThroughDynamodb"]["Condition"]["StringEquals"] == {
        "kms:ViaService": ["dynamodb.eu-west-1.amazonaws.com"]
    }
    assert not any("ThroughS3" in sid for sid in reference)  # a table-only dataset: no S3 grant on its key


def test_each_new_table_has_recovery_deletion_protection_and_its_datasets_key(example):
    template = example.template_json(example.sharing("prod"))
    tables = {r["Properties"]["TableName"]: r for r in resources(template, "AWS::DynamoDB::GlobalTable").values()}
    assert sorted(tables) == ["datashare-prod-orders", "datashare-prod-reference", "datashare-prod-sales"]
    # orders: the table of its API's own, which only the API's function reaches
    for name, key in (
        ("sales", "DatasetSalesKey"),
        ("reference", "DatasetReferenceKey"),
        ("orders", "DatasetOrdersKey"),
    ):
        properties = tables[f"datashare-prod-{name}"]["Properties"]
        assert properties["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        (replica,) = properties["Replicas"]
        assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert replica["DeletionProtectionEnabled"] is True
        assert replica["SSESpecification"]["KMSMasterKeyId"]["Fn::GetAtt"][0].startswith(key)


def test_the_table_shared_by_its_own_policy_admits_exactly_its_consumers_and_the_other_makes_no_policy(example):
    template = example.template_json(example.sharing("prod"))
    tables = {r["Properties"]["TableName"]: r for r in resources(template, "AWS::DynamoDB::GlobalTable").values()}
    (replica,) = tables["datashare-prod-reference"]["Properties"]["Replicas"]
    # analytics reads it with no end; reporting until the end of 2031-03-31: a statement of its own, that ends then.
    (statement, ending) = replica["ResourcePolicy"]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query"]
    assert statement["Principal"] == _root(ANALYTICS)
    assert "DateLessThan" not in statement["Condition"]
    assert (ending["Sid"], ending["Principal"]) == ("ConsumersReadTableUntil20310401", _root(REPORTING))
    assert ending["Action"] == statement["Action"]
    assert ending["Condition"]["DateLessThan"] == {"aws:CurrentTime": "2031-04-01T00:00:00Z"}
    (sales,) = tables["datashare-prod-sales"]["Properties"]["Replicas"]
    assert "ResourcePolicy" not in sales  # shared by role


def _source_role(template: dict[str, Any], name: str) -> dict[str, Any]:
    (role,) = [r for r in resources(template, "AWS::IAM::Role").values() if r["Properties"].get("RoleName") == name]
    return role["Properties"]


def test_each_consumer_reaching_a_table_by_role_has_a_source_role_only_its_own_roles_may_assume(example):
    template = example.template_json(example.sharing("prod"))
    roles = sorted(
        r["Properties"]["RoleName"]
        for r in resources(template, "AWS::IAM::Role").values()
        if "-source-" in r["Properties"].get("RoleName", "")
    )
    assert roles == ["datashare-prod-source-analytics", "datashare-prod-source-reporting"]  # ingest has no table
    trust = _source_role(template, "datashare-prod-source-reporting")["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": _root(REPORTING),
            "Condition": {
                "ArnEquals": {
                    "aws:PrincipalArn": [
                        f"arn:aws:iam::{REPORTING}:role/datashare-prod-consumer-function",
                        f"arn:aws:iam::{REPORTING}:role/datashare-prod-consumer-task",
                    ]
                }
            },
        }
    ]


@pytest.mark.parametrize(
    ("environment", "consumer", "actions"),
    [
        ("prod", "analytics", ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query"]),
        (
            "dev",
            "analytics",
            [
                "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                "dynamodb:Query", "dynamodb:UpdateItem",
            ],
        ),
    ],
)  # fmt: skip
def test_a_source_role_may_use_only_its_consumers_tables_at_its_access(example, environment, consumer, actions):
    template = example.template_json(example.sharing(environment))
    role = role_named(template, f"datashare-{environment}-source-{consumer}")
    statements = by_sid({"Statement": inline_statements(template, role)})
    table = statements["SalesTable"]
    assert sorted(table["Action"]) == actions
    account = "222222222222" if environment == "dev" else "444444444444"
    arn = f"arn:aws:dynamodb:eu-west-1:{account}:table/datashare-{environment}-sales"
    assert table["Resource"] == [arn, f"{arn}/index/*"]  # by its computed name
    (key_id,) = [k for k, r in resources(template, "AWS::KMS::Key").items() if k.startswith("DatasetSalesKey")]
    assert statements["SalesTableKey"]["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}  # the key itself, no alias
    assert set(statements) == {"SalesTable", "SalesTableKey"}  # nothing of another dataset


def test_names_are_those_the_consumer_accounts_compute(example):
    config = example.config
    (prod,) = [e for e in config.environments if e.name == "prod"]
    names = Names.of(config, prod)
    template = example.template_json(example.sharing("prod"))
    assert sorted(_dataset_buckets(template)) == sorted(
        str(names.dataset(d).bucket) for d in prod.datasets if names.dataset(d).owns_bucket
    )
    tables = sorted(r["Properties"]["TableName"] for r in resources(template, "AWS::DynamoDB::GlobalTable").values())
    owned = [str(names.dataset(d).table) for d in prod.datasets if names.dataset(d).owns_table]
    assert tables == sorted(owned + [names.dataset(d).api for d in prod.datasets if names.dataset(d).has_api])
    aliases = sorted(r["Properties"]["AliasName"] for r in resources(template, "AWS::KMS::Alias").values())
    assert aliases == sorted(names.dataset(d).key_alias for d in prod.datasets if names.dataset(d).has_key)
    points = sorted(r["Properties"]["Name"] for r in resources(template, "AWS::S3::AccessPoint").values())
    assert points == sorted(
        names.dataset(d).access_point for d in prod.datasets if names.dataset(d).through_access_point
    )


def test_organization_mode_grants_a_dataset_everyone_gets_by_pattern_and_one_some_get_by_exact_arn(organization):
    template = organization.template_json(organization.sharing("prod"))
    lake = by_sid(_bucket_policy(template, "orgshare-prod-lake-222222222222-eu-west-1"))
    assert lake["ConsumersList"]["Principal"] == {"AWS": "*"}
    # The accounts are pinned too: a consumer removed from the config (its stack and roles left behind) is not admitted.
    assert lake["ConsumersList"]["Condition"]["StringEquals"] == {
        "aws:PrincipalOrgID": "o-abcdefghij",
        "aws:PrincipalAccount": ["333333333333", "444444444444"],
    }
    assert (
        "arn:aws:iam::*:role/orgshare-prod-consumer-function"
        in lake["ConsumersList"]["Condition"]["ArnLike"]["aws:PrincipalArn"]
    )
    events = by_sid(_bucket_policy(template, "orgshare-prod-events-222222222222-eu-west-1"))
    # Only reporting gets events: the organization admits every account of it, so its roles are named exactly.
    assert events["ConsumersList"]["Condition"]["ArnLike"]["aws:PrincipalArn"] == [
        "arn:aws:iam::444444444444:role/orgshare-prod-consumer-function",
        "arn:aws:iam::444444444444:role/orgshare-prod-consumer-task",
    ]


def test_an_existing_bucket_and_table_are_never_changed_and_are_reached_through_the_source_role(organization):
    template = organization.template_json(organization.sharing("prod"))
    text = json.dumps({k: r for k, r in template["Resources"].items() if r["Type"] != "AWS::IAM::Policy"})
    assert "corp-finance-data" not in text, [
        k for k, r in template["Resources"].items() if "corp-finance-data" in json.dumps(r)
    ]
    assert "finance-ledger" not in text
    assert not any(
        r["Properties"].get("TableName") == "finance-ledger"
        for r in resources(template, "AWS::DynamoDB::GlobalTable").values()
    )
    role = role_named(template, "orgshare-prod-source-analytics")
    statements = by_sid({"Statement": inline_statements(template, role)})
    assert statements["FinanceList"] == {
        "Action": "s3:ListBucket",
        "Condition": {"StringLike": {"s3:prefix": ["ledger/*"]}},
        "Effect": "Allow",
        "Resource": "arn:aws:s3:::corp-finance-data",
        "Sid": "FinanceList",
    }
    assert statements["FinanceObjects"]["Resource"] == "arn:aws:s3:::corp-finance-data/ledger/*"
    assert sorted(statements["FinanceObjects"]["Action"]) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert (
        statements["FinanceObjectsKey"]["Resource"]
        == "arn:aws:kms:eu-west-1:222222222222:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    )
    assert statements["FinanceTable"]["Resource"][0] == "arn:aws:dynamodb:eu-west-1:222222222222:table/finance-ledger"
    # Reporting is not given finance: its role has no such statement, and it has no source role at all.
    assert not any(
        r["Properties"].get("RoleName") == "orgshare-prod-source-reporting"
        for r in resources(template, "AWS::IAM::Role").values()
    )


def _policy_documents(resource: dict[str, Any]) -> list[dict[str, Any]]:
    properties = resource.get("Properties", {})
    documents = [properties.get(key) for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument")]
    for replica in properties.get("Replicas", []):
        documents.append(replica.get("ResourcePolicy", {}).get("PolicyDocument"))
    return [document for document in documents if document]


def test_the_sharing_stage_writes_a_canary_per_dataset_with_a_role_that_may_write_only_them(example, organization):
    template = example.template_json(example.sharing("prod"))
    calls = [json.dumps(r["Properties"]["Create"]) for r in resources(template, "Custom::AWS").values()]
    assert len(calls) == 4  # sales object and item, events object, reference item
    assert any('\\"action\\":\\"putObject\\"' in c and f"raw/events/{CANARY_KEY}" in c for c in calls)
    assert sum('\\"action\\":\\"putItem\\"' in c and '\\"sk\\":{\\"S\\":\\"canary\\"}' in c for c in calls) == 2
    role = role_named(template, "datashare-prod-canary-writer")
    statements = inline_statements(template, role)
    (put,) = [s for s in statements if s["Action"] == "s3:PutObject"]
    assert sorted(put["Resource"]) == [
        f"arn:aws:s3:::datashare-prod-events-444444444444-eu-west-1/raw/events/{CANARY_KEY}",
        f"arn:aws:s3:::datashare-prod-sales-444444444444-eu-west-1/{CANARY_KEY}",
    ]  # those objects, no other
    # Nothing is written into an existing bucket or table.
    template = organization.template_json(organization.sharing("prod"))
    calls = [json.dumps(r["Properties"]["Create"]) for r in resources(template, "Custom::AWS").values()]
    assert calls and not any("corp-finance-data" in c or "finance-ledger" in c for c in calls)
    role = role_named(template, "orgshare-prod-canary-writer")
    assert "corp-finance-data" not in json.dumps(inline_statements(template, role))


def test_the_canary_function_logs_to_a_group_created_before_it_and_may_create_none(example):
    """CloudFormation creates the log group first (the function's LoggingConfig refers to it), so Lambda never
    creates one while the stack does (aws/aws-cdk#667); the role writes to that group only."""
    template = example.template_json(example.sharing("prod"))
    (function,) = [
        r["Properties"]
        for r in resources(template, "AWS::Lambda::Function").values()
        if r["Properties"].get("FunctionName") == "datashare-prod-canary-writer"
    ]
    group = function["LoggingConfig"]["LogGroup"]["Ref"]
    assert template["Resources"][group]["Properties"]["LogGroupName"] == "datashare-prod-canary-writer"
    assert template["Resources"][group]["DeletionPolicy"] == "Retain"
    statements = inline_statements(template, role_named(template, "datashare-prod-canary-writer"))
    (logs,) = [s for s in statements if any(a.startswith("logs:") for a in _actions(s))]
    assert sorted(_actions(logs)) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs["Resource"] == {"Fn::GetAtt": [group, "Arn"]}
    # Every custom resource of the stack runs that one function.
    functions = resources(template, "AWS::Lambda::Function")
    for custom in resources(template, "Custom::AWS").values():
        (token,) = custom["Properties"]["ServiceToken"]["Fn::GetAtt"][:1]
        assert functions[token]["Properties"]["FunctionName"] == "datashare-prod-canary-writer"


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def test_own_roles_are_admitted_by_every_grant_of_their_datasets_and_only_in_their_account(organization):
    template = organization.template_json(organization.sharing("prod"))
    own = {"arn:aws:iam::333333333333:role/glue-etl", "arn:aws:iam::333333333333:role/service-role/athena-analyst"}
    lake = [
        set(statement["Condition"]["ArnLike"]["aws:PrincipalArn"])
        for document in (
            _bucket_policy(template, "orgshare-prod-lake-222222222222-eu-west-1"),
            _key_policy(template, "alias/orgshare/prod/lake"),
        )
        for statement in document["Statement"]
        if "aws:PrincipalArn" in statement.get("Condition", {}).get("ArnLike", {})
    ]
    assert len(lake) >= 4 and all(own <= arns for arns in lake[:2])
    events = _bucket_policy(template, "orgshare-prod-events-222222222222-eu-west-1")
    assert not own & {
        a for s in events["Statement"] for a in s.get("Condition", {}).get("ArnLike", {}).get("aws:PrincipalArn", [])
    }
    trust = _source_role(template, "orgshare-prod-source-analytics")["AssumeRolePolicyDocument"]["Statement"][0]
    assert own <= set(trust["Condition"]["ArnEquals"]["aws:PrincipalArn"])


SINGLE_SHARE = config_text(
    "datashare",
    """\
  - name: dev
    source: {account: "222222222222", region: eu-west-1}
    consumers: [{name: analytics, account: "333333333333", region: eu-west-1}]
""",
)


# The single share, and then a dataset added to it: the default dataset keeps its layout in both.
WITH_A_DATASET_ADDED = SINGLE_SHARE.replace(
    '    consumers: [{name: analytics, account: "333333333333", region: eu-west-1}]',
    "    datasets: [{name: data, bucket: {}, table: {}}, {name: events, bucket: {prefix: raw/}}]\n"
    '    consumers: [{name: analytics, account: "333333333333", region: eu-west-1, '
    "grants: {data: read, events: read}}]",
)


@pytest.mark.parametrize("text", [SINGLE_SHARE, WITH_A_DATASET_ADDED], ids=["single share", "a dataset added"])
def test_the_single_shares_dataset_keeps_its_names_and_logical_ids_so_it_updates_in_place(tmp_path, text):
    # The logical ids and names of the stateful resources of a deployment made before datasets (commit 847100b's
    # templates): a new id would make CloudFormation create a named bucket, table or alias that exists, and delete
    # the bucket's policy after writing a new one.
    from config.loader import parse_config
    from pipeline.app import synthesize

    synthesized = synthesize(parse_config(text), tmp_path)
    template = synthesized.template_json(synthesized.sharing("dev"))
    found = {k: (r["Type"], r["Properties"]) for k, r in template["Resources"].items()}
    before = {
        "DataKey2A0DE9E6": ("AWS::KMS::Key", None),
        "DataKeyAliasBD63605D": ("AWS::KMS::Alias", "alias/datashare/dev/shared-data"),
        "SharedBucketAccessLogsEA0F7CBB": ("AWS::S3::Bucket", None),
        "SharedBucketAccessLogsPolicy6756F9F9": ("AWS::S3::BucketPolicy", None),
        "SharedBucket2958CF43": ("AWS::S3::Bucket", "datashare-dev-data-222222222222-eu-west-1"),
        "SharedBucketPolicyD3A8B7DA": ("AWS::S3::BucketPolicy", None),
        "SharedTable1C65D7E1": ("AWS::DynamoDB::GlobalTable", "datashare-dev-shared"),
        "CanaryObject00548A76": ("Custom::AWS", None),
        "CanaryItem069F6189": ("Custom::AWS", None),
    }
    for logical_id, (kind, name) in before.items():
        assert found[logical_id][0] == kind, logical_id
        properties = found[logical_id][1]
        if name:
            assert name in (properties.get("AliasName"), properties.get("BucketName"), properties.get("TableName"))
    # The consumer side computes the same names.
    consumer = json.dumps(synthesized.template_json(synthesized.consumer("dev")))
    assert "datashare-dev-shared" in consumer and "datashare-dev-data-222222222222-eu-west-1" in consumer


def test_an_existing_buckets_access_point_is_the_projects_and_its_bucket_and_key_policies_are_not_written(organization):
    sharing = organization.template_json(organization.sharing("prod"))
    (point,) = resources(sharing, "AWS::S3::AccessPoint").values()
    properties = point["Properties"]
    assert (properties["Name"], properties["Bucket"], properties["BucketAccountId"]) == (
        "orgshare-prod-raw",
        "corp-lake",
        "222222222222",
    )
    assert all(properties["PublicAccessBlockConfiguration"].values())
    statements = {s["Sid"]: s for s in properties["Policy"]["Statement"]}
    assert statements["TlsOnly"]["Effect"] == "Deny"
    # Reads only (raw is read by analytics), only its roles, only under raw/.
    assert set(statements) == {"TlsOnly", "ConsumersList", "ConsumersReadObjects"}
    # Athena and Glue ask the bucket's location first: in the reads' statement, on the access point itself.
    assert statements["ConsumersReadObjects"]["Action"] == ["s3:GetBucketLocation", "s3:GetObject"]
    assert statements["ConsumersList"]["Condition"]["StringLike"] == {"s3:prefix": ["raw/*"]}
    assert sorted(statements["ConsumersReadObjects"]["Resource"]) == [
        "arn:aws:s3:eu-west-1:222222222222:accesspoint/orgshare-prod-raw",
        "arn:aws:s3:eu-west-1:222222222222:accesspoint/orgshare-prod-raw/object/raw/*",
    ]
    assert (
        "arn:aws:iam::333333333333:role/glue-etl"
        in statements["ConsumersReadObjects"]["Condition"]["ArnLike"]["aws:PrincipalArn"]
    )
    assert "corp-lake" not in json.dumps(resources(sharing, "AWS::S3::BucketPolicy"))
    # The existing key: no policy, no grant in the sharing stack.
    assert "key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d" not in json.dumps(sharing)
    assert "OrgshareRawAccessPointAlias" not in sharing["Outputs"] and "RawAccessPointAlias" in sharing["Outputs"]


def test_key_grants_give_each_consumer_role_its_datasets_existing_key_after_its_roles_exist(organization):
    from stacks.key_grants_stack import KeyGrantsStack

    analytics, reporting = organization.consumer_stages("prod")
    assert reporting.key_grants is None  # reporting is not given raw
    stack = analytics.key_grants
    assert isinstance(stack, KeyGrantsStack)
    assert (stack.account, stack.region, stack.stack_name) == (
        "222222222222",
        "eu-west-1",
        "orgshare-prod-analytics-key-grants",
    )
    assert analytics.stack in stack.dependencies
    template = organization.template_json(stack)
    calls = [_call(r["Properties"]["Create"]) for r in resources(template, "Custom::AWS").values()]
    created = sorted(call["parameters"]["GranteePrincipal"] for call in calls)
    assert created == sorted(
        [
            "arn:aws:iam::333333333333:role/orgshare-prod-consumer-function",
            "arn:aws:iam::333333333333:role/orgshare-prod-consumer-task",
            "arn:aws:iam::333333333333:role/glue-etl",
            "arn:aws:iam::333333333333:role/service-role/athena-analyst",
        ]
    )
    for resource in resources(template, "Custom::AWS").values():
        create = _call(resource["Properties"]["Create"])
        assert create["action"] == "createGrant" and create["parameters"]["Operations"] == ["Decrypt"]
        assert "revokeGrant" in json.dumps(resource["Properties"]["Delete"])
    # Its role may grant only those roles, only those operations, only that key; it carries the boundary.
    (role,) = [r for r in resources(template, "AWS::IAM::Role").values() if r["Properties"].get("RoleName")]
    assert role["Properties"]["RoleName"] == "orgshare-prod-grants-analytics"
    assert "PermissionsBoundary" in role["Properties"]
    policy = json.dumps(resources(template, "AWS::IAM::Policy"))
    assert '"kms:GranteePrincipal"' in policy and '"kms:GrantOperations"' in policy
    assert "key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d" in policy
    # Revocation reaches any key of the source account and region: a key that leaves the config is no longer in the
    # policy when CloudFormation deletes its grant's resource, after the update.
    statements = [
        s
        for p in resources(template, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    (revoke,) = [s for s in statements if s["Action"] == "kms:RevokeGrant"]
    assert revoke["Resource"] == "arn:aws:kms:eu-west-1:222222222222:key/*"
    # The wave's proof step waits for the grants to settle; a wave without grants does not.
    steps = json.dumps(organization.template_json(organization.pipeline))
    assert "PROOF_SETTLE_SECONDS" in steps


def _call(value: Any) -> dict[str, Any]:
    """An AwsCustomResource's SDK call: a JSON string, or Fn::Join parts where it holds a reference."""
    if isinstance(value, str):
        return dict(json.loads(value))
    parts = value["Fn::Join"][1]
    return dict(json.loads("".join(p if isinstance(p, str) else "REF" for p in parts)))


GROUP_PATHS = ["o-abcdefghij/*/ou-ab12-11111111/*", "o-abcdefghij/*/ou-ab12-22222222/*"]
GROUP_ROLES = [
    "arn:aws:iam::*:role/orgshare-prod-consumer-function",
    "arn:aws:iam::*:role/orgshare-prod-consumer-task",
    "arn:aws:iam::*:role/branch-reporting",
]


def test_a_consumer_group_is_one_statement_a_level_naming_its_units_paths_and_role_names(organization):
    """Whatever its units hold: the organization, narrowed to the units' paths (and those under them) and to the roles
    of the group's names; a grant that ends, ends there too; apart from the listed consumers' statements."""
    template = organization.template_json(organization.sharing("prod"))
    lake = by_sid(_bucket_policy(template, "orgshare-prod-lake-222222222222-eu-west-1"))
    group = lake["ConsumersReadObjectsGroupBranches"]
    assert group["Principal"] == {"AWS": "*"}
    assert group["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"},
        "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": GROUP_PATHS},
        "ArnLike": {"aws:PrincipalArn": GROUP_ROLES},
    }
    assert "ConsumersWriteObjectsGroupBranches" not in lake  # it reads lake
    # The listed consumers' statements do not widen to the group's accounts.
    assert "aws:PrincipalOrgPaths" not in json.dumps(lake["ConsumersReadObjects"])
    events = by_sid(_bucket_policy(template, "orgshare-prod-events-222222222222-eu-west-1"))
    writes = events["ConsumersWriteObjectsGroupBranchesUntil20310401"]
    assert writes["Condition"]["DateLessThan"] == {"aws:CurrentTime": "2031-04-01T00:00:00Z"}
    assert writes["Condition"]["ForAnyValue:StringLike"] == {"aws:PrincipalOrgPaths": GROUP_PATHS}
    # The lake's table, shared by its own resource policy, and the dataset keys admit the group alike.
    (table,) = [t for t in resources(template, "AWS::DynamoDB::GlobalTable").values()]
    table_sids = by_sid(table["Properties"]["Replicas"][0]["ResourcePolicy"]["PolicyDocument"])
    assert table_sids["ConsumersReadTableGroupBranches"]["Condition"]["ForAnyValue:StringLike"] == {
        "aws:PrincipalOrgPaths": GROUP_PATHS
    }
    keys = [
        statement
        for key in resources(template, "AWS::KMS::Key").values()
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if "GroupBranches" in statement.get("Sid", "")
    ]
    assert keys and all(
        s["Condition"]["ForAnyValue:StringLike"] == {"aws:PrincipalOrgPaths": GROUP_PATHS} for s in keys
    )


def test_a_consumer_group_has_one_source_role_its_units_roles_assume(organization):
    """finance (an existing bucket and table) is reached through a role in the source account: the group's one role
    trusts the roles of its names in its units' accounts only, and allows finance at the group's access."""
    template = organization.template_json(organization.sharing("prod"))
    logical_id = role_named(template, "orgshare-prod-source-branches")
    (trust,) = resources(template, "AWS::IAM::Role")[logical_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": "*"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"},
        "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": GROUP_PATHS},
        "ArnLike": {"aws:PrincipalArn": GROUP_ROLES},
    }
    allowed = {a for s in inline_statements(template, logical_id) for a in json.dumps(s["Action"]).split('"')}
    assert "s3:GetObject" in allowed and "s3:PutObject" not in allowed  # finance: read
