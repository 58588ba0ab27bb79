"""Names and values AWS bounds, measured on the synthesized templates: what a config can push past (a long
project, environment or consumer name, many consumers in one wave) fails at synth with the limit and its source
named, rather than at deploy. Values CloudFormation computes (a Ref, a generated name) are not measured: the CDK
keeps those within the limits.

Each limit is the service's documented one (API reference of the resource's create call, or the service's quotas
page); `limit` is inclusive."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from checks.templates import Template
from config import quotas as aws


@dataclass(frozen=True)
class Limit:
    rule: str
    what: str
    source: str  # where AWS documents it
    check: Callable[[str], str | None]  # a problem, or None
    fix: str = "shorten the project, environment, dataset or consumer names in the config"


def _length(low: int, high: int, pattern: str | None = None) -> Callable[[str], str | None]:
    compiled = re.compile(pattern) if pattern else None

    def check(value: str) -> str | None:
        if not low <= len(value) <= high:
            return f"{len(value)} characters, AWS allows {low}-{high}"
        if compiled and not compiled.fullmatch(value):
            return f"characters outside {pattern}"
        return None

    return check


def _bucket(value: str) -> str | None:
    problem = _length(3, 63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]")(value)
    if problem:
        return problem
    if value.startswith(aws.S3_RESERVED_BUCKET_PREFIXES) or value.endswith(aws.S3_RESERVED_BUCKET_SUFFIXES):
        return "a prefix or suffix S3 reserves"
    return None


def _alias(value: str) -> str | None:
    if value.startswith("alias/aws/"):
        return "alias/aws/ is reserved for AWS managed keys"
    return _length(7, 256, r"alias/[a-zA-Z0-9/_-]+")(value)


# (resource type, property) -> limit
LIMITS: dict[tuple[str, str], Limit] = {
    ("AWS::IAM::Role", "RoleName"): Limit(
        "RoleName", "IAM role name", "IAM CreateRole: RoleName 1-64, [\\w+=,.@-]+", _length(1, 64, r"[\w+=,.@-]+")
    ),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"): Limit(
        "PolicyName", "managed policy name", "IAM CreatePolicy: 1-128", _length(1, 128, r"[\w+=,.@-]+")
    ),
    ("AWS::Lambda::Function", "FunctionName"): Limit(
        "FunctionName", "Lambda function name", "Lambda CreateFunction: 1-64", _length(1, 64, r"[a-zA-Z0-9_-]+")
    ),
    ("AWS::S3::Bucket", "BucketName"): Limit("BucketName", "bucket name", "S3 bucket naming rules", _bucket),
    ("AWS::KMS::Alias", "AliasName"): Limit("AliasName", "KMS alias", "KMS CreateAlias: 1-256", _alias),
    ("AWS::DynamoDB::GlobalTable", "TableName"): Limit(
        "TableName", "table name", "DynamoDB CreateTable: 3-255, [a-zA-Z0-9_.-]+", _length(3, 255, r"[a-zA-Z0-9_.-]+")
    ),
    ("AWS::ECS::Cluster", "ClusterName"): Limit(
        "ClusterName", "ECS cluster name", "ECS CreateCluster: up to 255, [a-zA-Z0-9_-]",
        _length(1, 255, r"[a-zA-Z0-9_-]+"),
    ),
    ("AWS::ECS::TaskDefinition", "Family"): Limit(
        "TaskFamily", "ECS task definition family", "ECS RegisterTaskDefinition: family up to 255, [a-zA-Z0-9_-]",
        _length(1, 255, r"[a-zA-Z0-9_-]+"),
    ),
    ("AWS::CodePipeline::Pipeline", "Name"): Limit(
        "PipelineName", "pipeline name", "CodePipeline PipelineDeclaration: 1-100", _length(1, 100, r"[A-Za-z0-9.@_-]+")
    ),
    ("AWS::CodeStarNotifications::NotificationRule", "Name"): Limit(
        "NotificationRuleName", "notification rule name", "CodeStar Notifications CreateNotificationRule: 1-64",
        _length(1, 64),
    ),
}  # fmt: skip
STAGE_OR_ACTION_NAME = Limit(
    "PipelineNames", "pipeline stage or action name", "CodePipeline StageDeclaration/ActionDeclaration: 1-100",
    _length(1, 100, r"[A-Za-z0-9.@_-]+"),
)  # fmt: skip
ACTION_CONFIGURATION_VALUE = Limit(
    "ActionConfiguration", "pipeline action configuration value",
    "CodePipeline ActionDeclaration: configuration values up to 1,000 characters (aws/aws-cdk#17067)",
    _length(0, aws.CODEPIPELINE_CONFIGURATION_VALUE_CHARACTERS),
)  # fmt: skip
LAMBDA_ENVIRONMENT = Limit(
    "LambdaEnvironment", "Lambda environment", "Lambda quotas: environment variables 4 KB in all",
    _length(0, aws.LAMBDA_ENVIRONMENT_BYTES),
)  # fmt: skip
CODEBUILD_VARIABLE = Limit(
    "CodeBuildVariable", "CodeBuild environment variable",
    "StartBuild has refused values over 4,096 characters (reported; CodeBuild documents no limit)",
    _length(0, aws.CODEBUILD_ENVIRONMENT_VALUE_CHARACTERS),
    fix="fewer consumers per wave, or fewer subnets and security groups in their task_network",
)  # fmt: skip
SESSION_DURATION = Limit(
    "MaxSessionDuration", "role session duration", "IAM CreateRole: MaxSessionDuration 3,600-43,200 seconds",
    lambda value: None if 3600 <= int(value) <= 43200 else f"{int(value):,} s, AWS allows 3,600-43,200",
    fix="a session duration between one and twelve hours",
)  # fmt: skip

OUTPUTS = Limit(
    "Outputs", "stack outputs", "CloudFormation quotas: 200 outputs per template",
    lambda value: None if int(value) <= 200 else f"{int(value)} outputs, AWS allows 200",
    fix="fewer datasets in one environment",
)  # fmt: skip


def violations(template: Template) -> Iterator[tuple[Limit, str, str]]:
    """(limit, logical id, problem) of every literal name or value of the template over its limit."""
    outputs = len(template.get("Outputs", {}))
    if OUTPUTS.check(str(outputs)):
        yield OUTPUTS, "Outputs", str(OUTPUTS.check(str(outputs)))
    for logical_id, resource in template.get("Resources", {}).items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        for (limit_kind, name), limit in LIMITS.items():
            value = properties.get(name)
            if kind == limit_kind and isinstance(value, str):
                problem = limit.check(value)
                if problem:
                    yield limit, logical_id, f"{value!r}: {problem}"
        if kind == "AWS::CodePipeline::Pipeline":
            yield from _pipeline(logical_id, properties)
        if kind == "AWS::CodeBuild::Project":
            for variable in properties.get("Environment", {}).get("EnvironmentVariables", []):
                value = variable.get("Value")
                problem = CODEBUILD_VARIABLE.check(value) if isinstance(value, str) else None
                if problem:
                    yield CODEBUILD_VARIABLE, logical_id, f"{variable.get('Name')}: {problem}"
        if kind == "AWS::Lambda::Function":
            variables = properties.get("Environment", {}).get("Variables", {})
            measured = json.dumps(variables, separators=(",", ":"))
            problem = LAMBDA_ENVIRONMENT.check(measured) if _literal(variables) else None
            if problem:
                yield LAMBDA_ENVIRONMENT, logical_id, problem
        if kind == "AWS::IAM::Role":
            duration = properties.get("MaxSessionDuration")
            problem = SESSION_DURATION.check(str(duration)) if isinstance(duration, int) else None
            if problem:
                yield SESSION_DURATION, logical_id, problem


def _pipeline(logical_id: str, properties: dict[str, Any]) -> Iterator[tuple[Limit, str, str]]:
    for stage in properties.get("Stages", []):
        problem = STAGE_OR_ACTION_NAME.check(stage["Name"])
        if problem:
            yield STAGE_OR_ACTION_NAME, logical_id, f"stage {stage['Name']!r}: {problem}"
        for action in stage.get("Actions", []):
            problem = STAGE_OR_ACTION_NAME.check(action["Name"])
            if problem:
                yield STAGE_OR_ACTION_NAME, logical_id, f"action {action['Name']!r}: {problem}"
            for key, value in action.get("Configuration", {}).items():
                if isinstance(value, str):
                    problem = ACTION_CONFIGURATION_VALUE.check(value)
                    if problem:
                        yield ACTION_CONFIGURATION_VALUE, logical_id, f"{action['Name']}.{key}: {problem}"


def _literal(value: Any) -> bool:
    """No intrinsic function anywhere in the value: its length is what AWS will see."""
    if isinstance(value, dict):
        return not any(k.startswith(("Fn::", "Ref")) for k in value) and all(_literal(v) for v in value.values())
    if isinstance(value, list):
        return all(_literal(v) for v in value)
    return True
