"""The role and log group of a function the CDK's AwsCustomResource runs for the project's SDK calls at deploy (the key
grants in the source account, the access point aliases in a consumer's): named under the project's prefix, as the
execution policy and the boundary require, with the function's logs kept a year after the stack goes."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct


def sdk_call_role(scope: Construct, name: str, description: str) -> tuple[iam.Role, logs.LogGroup]:
    """The function's role (whose policy the caller adds) and its log group, both called `name`."""
    role = iam.Role(
        scope,
        "Role",
        role_name=name,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
    )
    log_group = logs.LogGroup(
        scope,
        "Logs",
        log_group_name=name,
        retention=logs.RetentionDays.ONE_YEAR,
        removal_policy=RemovalPolicy.RETAIN,
    )
    log_group.grant_write(role)
    return role, log_group
