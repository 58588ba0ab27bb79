"""Names and values AWS bounds are checked at synth: each limit on a template made to break it, the wiring on a
real synth, and a config of the longest names the config allows, which stays within every limit."""

from __future__ import annotations

from dataclasses import replace

import aws_cdk as cdk
import pytest

from checks import service_limits
from checks.register import register_checks
from config import load_config
from config.loader import parse_config
from config.regions import known_regions, partition_of
from pipeline.app import cdk_json_context, synthesize
from stages.sharing_stage import SharingStage
from tests.conftest import EXAMPLE


def _rules(resources: dict) -> list[str]:
    return [limit.rule for limit, _, _ in service_limits.violations({"Resources": resources})]


@pytest.mark.parametrize(
    ("kind", "properties", "rule"),
    [
        ("AWS::IAM::Role", {"RoleName": "r" * 65}, "RoleName"),
        ("AWS::IAM::Role", {"RoleName": "has space"}, "RoleName"),
        ("AWS::IAM::Role", {"MaxSessionDuration": 60}, "MaxSessionDuration"),
        ("AWS::IAM::ManagedPolicy", {"ManagedPolicyName": "p" * 129}, "PolicyName"),
        ("AWS::Lambda::Function", {"FunctionName": "f" * 65}, "FunctionName"),
        ("AWS::Lambda::Function", {"Environment": {"Variables": {"A": "x" * 4100}}}, "LambdaEnvironment"),
        ("AWS::S3::Bucket", {"BucketName": "b" * 64}, "BucketName"),
        ("AWS::S3::Bucket", {"BucketName": "xn--data-bucket"}, "BucketName"),
        ("AWS::S3::Bucket", {"BucketName": "Upper-Case"}, "BucketName"),
        ("AWS::KMS::Alias", {"AliasName": "alias/aws/shared"}, "AliasName"),
        ("AWS::DynamoDB::GlobalTable", {"TableName": "t"}, "TableName"),
        ("AWS::ECS::Cluster", {"ClusterName": "c" * 256}, "ClusterName"),
        ("AWS::ECS::TaskDefinition", {"Family": "a.family"}, "TaskFamily"),
        ("AWS::CodePipeline::Pipeline", {"Name": "p" * 101}, "PipelineName"),
        ("AWS::CodeStarNotifications::NotificationRule", {"Name": "n" * 65}, "NotificationRuleName"),
        ("AWS::CodePipeline::Pipeline", {"Stages": [{"Name": "a stage", "Actions": []}]}, "PipelineNames"),
        (
            "AWS::CodeBuild::Project",
            {"Environment": {"EnvironmentVariables": [{"Name": "PROOF_WAVE", "Value": "x" * 4097}]}},
            "CodeBuildVariable",
        ),
        (
            "AWS::CodePipeline::Pipeline",
            {
                "Stages": [
                    {"Name": "s", "Actions": [{"Name": "a", "Configuration": {"EnvironmentVariables": "x" * 1001}}]}
                ]
            },
            "ActionConfiguration",
        ),
    ],
)
def test_each_limit_catches_a_value_past_it(kind, properties, rule):
    assert _rules({"R": {"Type": kind, "Properties": properties}}) == [rule]


def test_more_outputs_than_cloudformation_allows_are_caught():
    # Each dataset a stack creates a bucket or table for adds an output.
    outputs = {f"O{i}": {"Value": "x"} for i in range(201)}
    found = list(service_limits.violations({"Resources": {}, "Outputs": outputs}))
    assert [(limit.rule, problem) for limit, _, problem in found] == [("Outputs", "201 outputs, AWS allows 200")]
    assert list(service_limits.violations({"Resources": {}, "Outputs": dict(list(outputs.items())[:200])})) == []


def test_values_at_the_limits_and_computed_values_pass():
    resources = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r" * 64, "MaxSessionDuration": 43200}},
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "Generated"}}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {"A": {"Ref": "X"}}}}},
    }
    assert _rules(resources) == []


def test_a_name_past_its_limit_fails_synth_with_the_limit_and_its_source(tmp_path, monkeypatch):
    short = replace(service_limits.LIMITS[("AWS::IAM::Role", "RoleName")], check=service_limits._length(1, 10))
    monkeypatch.setitem(service_limits.LIMITS, ("AWS::IAM::Role", "RoleName"), short)
    config = load_config(EXAMPLE)
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    register_checks(app, trust_policy_quota=config.trust_policy_quota)
    SharingStage(app, "Probe", config=config, environment=config.environments[1])
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        app.synth()
    assert "IAM role name of" in str(raised.value) and "IAM CreateRole" in str(raised.value)


def test_the_longest_names_the_config_allows_stay_within_every_limit(tmp_path):
    # project 12, environment 10, consumer 20 characters, in the region of the longest name, the task in the most
    # subnets and security groups: synth raises on any violation of a limit (and of a policy size, cdk-nag or
    # template validation).
    region = max((r for r in known_regions() if partition_of(r) == "aws"), key=len)
    subnets = ", ".join(f"subnet-{n:017x}" for n in range(16))
    groups = ", ".join(f"sg-{n:017x}" for n in range(5))
    text = f"""
project: p{"x" * 10}q
tooling: {{account: "111111111111", region: {region}}}
repository: {{codecommit_repository: {"r" * 100}, branch: {"b" * 200}}}
consumer_image: public.ecr.aws/example/consumer:1.0
environments:
  - name: e{"y" * 8}z
    approval: true
    source: {{account: "222222222222", region: {region}}}
    consumers:
      - name: c{"w" * 18}v
        account: "333333333333"
        region: {region}
        task_network: {{subnets: [{subnets}], security_groups: [{groups}], assign_public_ip: true}}
        grants: {{d{"u" * 8}t: read-write}}
    datasets: [{{name: d{"u" * 8}t, bucket: {{prefix: {"p/" * 400}}}, table: {{access: resource-policy}}}}]
"""
    synthesized = synthesize(parse_config(text), tmp_path)
    assert synthesized.config.project == "pxxxxxxxxxxq"
