"""The source account's stack: bucket, key, table and role, with exactly the intended grants."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from config.naming import CANARY_KEY, Names
from tests.templates import by_sid, inline_statements, only, resources, role_named

# The consumer roles by name, in any account; the principals name the accounts.
PROD_ROLES = [
    "arn:aws:iam::*:role/datashare-prod-consumer-function",
    "arn:aws:iam::*:role/datashare-prod-consumer-task",
]
PROD_ACCOUNTS = ["arn:aws:iam::555555555555:root", "arn:aws:iam::666666666666:root"]
ONLY_CONSUMER_ROLES = {"ArnLike": {"aws:PrincipalArn": PROD_ROLES}}


def _shared_bucket_policy(example, environment="prod") -> dict[str, Any]:
    template = example.template_json(example.sharing(environment))
    policies = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::S3::BucketPolicy"
        and any(s.get("Sid") == "ConsumersListBucket" for s in r["Properties"]["PolicyDocument"]["Statement"])
    ]
    assert len(policies) == 1
    return policies[0]["Properties"]["PolicyDocument"]


def test_bucket_is_versioned_private_encrypted_with_the_data_key_and_logged(example):
    template = example.template(example.sharing("prod"))
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": "datashare-prod-data-444444444444-eu-west-1",
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
                            "KMSMasterKeyID": {"Fn::GetAtt": [Match.string_like_regexp("^DataKey"), "Arn"]},
                        },
                    }
                ]
            },
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": Match.any_value()}),
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


def test_bucket_policy_denies_requests_without_tls(example):
    statements = _shared_bucket_policy(example)["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny" and "aws:SecureTransport" in str(s.get("Condition"))]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny[0]["Principal"] == {"AWS": "*"}


def test_bucket_policy_denies_tls_older_than_1_2(example):
    statements = _shared_bucket_policy(example)["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny" and "s3:TlsVersion" in str(s.get("Condition"))]
    assert [s["Condition"] for s in deny] == [{"NumericLessThan": {"s3:TlsVersion": 1.2}}]


def test_bucket_policy_grants_list_on_the_bucket_and_read_on_objects_to_consumer_rolesonly(example):
    template = example.template_json(example.sharing("prod"))
    bucket = next(
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Properties"].get("BucketName") == "datashare-prod-data-444444444444-eu-west-1"
    )
    statements = by_sid(_shared_bucket_policy(example))
    listing, objects = statements["ConsumersListBucket"], statements["ConsumersUseObjects"]
    # s3:ListBucket applies to the bucket ARN, s3:GetObject to the object ARNs: not the article's bucket/*.
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Resource"] == {"Fn::GetAtt": [bucket, "Arn"]}
    assert objects["Action"] == "s3:GetObject"  # read-only in prod: no PutObject, no wildcard
    assert objects["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]}
    for statement in (listing, objects):
        assert statement["Principal"] == {"AWS": PROD_ACCOUNTS}
        assert statement["Condition"] == ONLY_CONSUMER_ROLES


def test_read_write_share_adds_put_object_and_nothing_broader(example):
    statements = by_sid(_shared_bucket_policy(example, "dev"))
    assert sorted(statements["ConsumersUseObjects"]["Action"]) == ["s3:GetObject", "s3:PutObject"]


def test_no_policy_of_the_sharing_stack_grants_wildcard_actions_to_consumers(example):
    template = example.template_json(example.sharing("prod"))
    for resource in template["Resources"].values():
        for document in _policy_documents(resource):
            for statement in document["Statement"]:
                if statement["Effect"] != "Allow" or "aws:PrincipalArn" not in str(statement.get("Condition")):
                    continue
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert all("*" not in action for action in actions), statement


def test_key_rotates_and_lets_consumers_decrypt_only_through_s3(example):
    template = example.template_json(example.sharing("prod"))
    key = only(template, "AWS::KMS::Key")["Properties"]
    assert key["EnableKeyRotation"] is True
    grant = by_sid(key["KeyPolicy"])["ConsumersUseKeyThroughS3"]
    assert grant["Action"] == "kms:Decrypt"
    assert grant["Principal"] == {"AWS": PROD_ACCOUNTS}
    assert grant["Condition"] == {
        **ONLY_CONSUMER_ROLES,
        "StringEquals": {"kms:ViaService": ["s3.eu-west-1.amazonaws.com"]},
    }
    alias = only(template, "AWS::KMS::Alias")["Properties"]
    assert alias["AliasName"] == "alias/datashare/prod/shared-data"


def test_read_write_key_grant_adds_generate_data_key_for_uploads(example):
    key = only(example.template_json(example.sharing("dev")), "AWS::KMS::Key")["Properties"]
    grant = by_sid(key["KeyPolicy"])["ConsumersUseKeyThroughS3"]
    assert sorted(grant["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_table_has_recovery_deletion_protection_and_the_customer_managed_key(example):
    example.template(example.sharing("prod")).has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "TableName": "datashare-prod-shared",
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "Replicas": [
                Match.object_like(
                    {
                        "DeletionProtectionEnabled": True,
                        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                        "SSESpecification": {"KMSMasterKeyId": {"Fn::GetAtt": [Match.any_value(), "Arn"]}},
                    }
                )
            ],
        },
    )


def _source_role(template: dict[str, Any], environment: str = "prod", project: str = "datashare") -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][role_named(template, f"{project}-{environment}-table-access")][
        "Properties"
    ]
    return properties


def test_source_role_trusts_only_the_consumer_roles(example):
    role = _source_role(example.template_json(example.sharing("prod")))
    assert role["RoleName"] == "datashare-prod-table-access"
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": PROD_ACCOUNTS},
            "Condition": ONLY_CONSUMER_ROLES,
        }
    ]
    assert role["MaxSessionDuration"] == 3600


@pytest.mark.parametrize(
    ("environment", "actions"),
    [
        ("prod", ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query"]),
        (
            "dev",
            ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
        ),
    ],
)
def test_source_role_may_use_only_the_listed_actions_on_the_table_and_its_indexes(example, environment, actions):
    template = example.template_json(example.sharing(environment))
    document = {"Statement": inline_statements(template, role_named(template, f"datashare-{environment}-table-access"))}
    table = by_sid(document)["UseSharedTable"]
    assert sorted(table["Action"]) == actions
    table_id = next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::GlobalTable")
    assert table["Resource"] == [
        {"Fn::GetAtt": [table_id, "Arn"]},
        {"Fn::Join": ["", [{"Fn::GetAtt": [table_id, "Arn"]}, "/index/*"]]},
    ]
    key = by_sid(document)["UseTableKeyThroughDynamoDB"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": ["dynamodb.eu-west-1.amazonaws.com"]}}


def test_names_are_those_the_consumer_accounts_compute(example):
    names = Names.of(example.config, example.config.environments[1])
    template = example.template_json(example.sharing("prod"))
    text = str(template)
    for name in (names.bucket, names.table, names.source_role, names.key_alias):
        assert name in text


def test_organization_mode_grants_by_organization_with_role_name_patterns(organization):
    template = organization.template_json(organization.sharing("prod"))
    patterns = [
        "arn:aws:iam::*:role/orgshare-prod-consumer-function",
        "arn:aws:iam::*:role/orgshare-prod-consumer-task",
        # analytics' own roles: by exact ARN, in its account only, never by name in any account
        "arn:aws:iam::333333333333:role/glue-etl",
        "arn:aws:iam::333333333333:role/service-role/athena-analyst",
    ]
    statements = _shared_bucket_policy(organization)["Statement"]
    grant = next(s for s in statements if s.get("Sid") == "ConsumersListBucket")
    assert grant["Principal"] == {"AWS": "*"}
    assert grant["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"},
        "ArnLike": {"aws:PrincipalArn": patterns},
    }
    # No account is listed for the demo workloads' roles: the grant grows only with the roles consumers list as their
    # own (analytics lists two; reporting, in 444444444444, none).
    assert "444444444444" not in str(template)


def test_resource_policy_mode_shares_the_table_directly_and_creates_no_role(organization):
    template = organization.template_json(organization.sharing("prod"))
    roles = [r["Properties"]["RoleName"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles == ["orgshare-prod-canary-writer"]  # no source role
    replica = only(template, "AWS::DynamoDB::GlobalTable")["Properties"]["Replicas"][0]
    statement = replica["ResourcePolicy"]["PolicyDocument"]["Statement"][0]
    assert sorted(statement["Action"]) == [
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ]
    assert statement["Resource"] == "*"
    assert "aws:PrincipalOrgID" in statement["Condition"]["StringEquals"]
    key = only(template, "AWS::KMS::Key")["Properties"]["KeyPolicy"]
    through_dynamodb = by_sid(key)["ConsumersUseKeyThroughDynamoDB"]
    assert through_dynamodb["Condition"]["StringEquals"]["kms:ViaService"] == ["dynamodb.eu-west-1.amazonaws.com"]


def _policy_documents(resource: dict[str, Any]) -> list[dict[str, Any]]:
    properties = resource.get("Properties", {})
    documents = [properties.get(key) for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument")]
    for replica in properties.get("Replicas", []):
        documents.append(replica.get("ResourcePolicy", {}).get("PolicyDocument"))
    return [document for document in documents if document]


def test_organization_mode_with_the_role_trusts_the_organizations_consumer_roles(tmp_path):
    # Found by the property test: grants by organization combined with the identity-based table access.
    from config.loader import parse_config
    from pipeline.app import synthesize
    from tests.conftest import ORGANIZATION_CONFIG

    config = parse_config(ORGANIZATION_CONFIG.replace("table_access: resource-policy", "table_access: role"))
    synthesized = synthesize(config, tmp_path)
    role = _source_role(synthesized.template_json(synthesized.sharing("prod")), project="orgshare")
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Condition": {
                "StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"},
                "ArnLike": {
                    "aws:PrincipalArn": [
                        "arn:aws:iam::*:role/orgshare-prod-consumer-function",
                        "arn:aws:iam::*:role/orgshare-prod-consumer-task",
                        "arn:aws:iam::333333333333:role/glue-etl",
                        "arn:aws:iam::333333333333:role/service-role/athena-analyst",
                    ]
                },
            },
        }
    ]


def test_the_sharing_stage_writes_the_canary_with_a_role_that_may_write_only_it(example):
    template = example.template_json(example.sharing("prod"))
    calls = [json.dumps(r["Properties"]["Create"]) for r in resources(template, "Custom::AWS").values()]
    assert len(calls) == 2
    assert any('\\"action\\":\\"putObject\\"' in c and CANARY_KEY in c for c in calls)
    assert any('\\"action\\":\\"putItem\\"' in c and '\\"sk\\":{\\"S\\":\\"canary\\"}' in c for c in calls)
    role = role_named(template, "datashare-prod-canary-writer")
    statements = inline_statements(template, role)
    actions = sorted(a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))
    assert actions == [
        "dynamodb:PutItem", "kms:Decrypt", "kms:GenerateDataKey", "logs:CreateLogGroup", "logs:CreateLogStream",
        "logs:PutLogEvents", "s3:PutObject",
    ]  # fmt: skip
    (put,) = [s for s in statements if s["Action"] == "s3:PutObject"]
    assert f"/{CANARY_KEY}" in json.dumps(put["Resource"])  # that one object, no other


def test_own_roles_are_admitted_by_every_grant_of_the_share_and_only_in_their_account(organization):
    # The bucket policy, the key policy and the table's own policy (resource-policy mode) all name them.
    template = organization.template_json(organization.sharing("prod"))
    own = {"arn:aws:iam::333333333333:role/glue-etl", "arn:aws:iam::333333333333:role/service-role/athena-analyst"}
    admitted = [
        set(statement["Condition"]["ArnLike"]["aws:PrincipalArn"])
        for kind, key in (
            ("AWS::S3::BucketPolicy", "PolicyDocument"),
            ("AWS::KMS::Key", "KeyPolicy"),
        )
        for resource in resources(template, kind).values()
        for statement in resource["Properties"][key]["Statement"]
        if "aws:PrincipalArn" in statement.get("Condition", {}).get("ArnLike", {})
    ]
    (table,) = resources(template, "AWS::DynamoDB::GlobalTable").values()
    for replica in table["Properties"]["Replicas"]:
        for statement in replica.get("ResourcePolicy", {}).get("PolicyDocument", {}).get("Statement", []):
            if "aws:PrincipalArn" in statement.get("Condition", {}).get("ArnLike", {}):
                admitted.append(set(statement["Condition"]["ArnLike"]["aws:PrincipalArn"]))
    assert len(admitted) >= 4 and all(own <= arns for arns in admitted)
    assert not any("role/glue-etl" in arn and "333333333333" not in arn for arns in admitted for arn in arns)
