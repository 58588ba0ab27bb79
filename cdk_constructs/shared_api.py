"""A shared API in the source account: a regional REST API whose every method takes IAM authorization, in front of a
small function that serves the items of a table of the API's own (runtime/shared_api/). Its resource policy admits
the consumers given the dataset (their roles, as every grant does: cdk_constructs/grantees.py), GET for read, PUT
and DELETE too for read-write; a cross-account call is allowed only where both that policy and the caller's identity
policy allow it (API Gateway's policy evaluation), so each consumer's side names the same methods
(cdk_constructs/documents.py).

Its access log goes to a log group of the project's, kept a year after the stack goes and encrypted with the
dataset's key; throttling is the config's. No API keys, no execution logs (API Gateway writes those to a log group it
names, API-Gateway-Execution-Logs_ID/STAGE, outside the project's prefix, where neither the execution policy nor the
boundary reach). API Gateway writes access logs with the account's CloudWatch role (its account settings, one per
region, shared by every API of the account): the project does not set it, as it would replace another team's; make
doctor checks it is set (docs/shared-api.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from aws_cdk import ArnFormat, CfnElement, Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from cdk_constructs.consumer import lambda_runtime
from cdk_constructs.findings import acknowledge
from cdk_constructs.grantees import Grantees
from cdk_constructs.keys import RETAINED
from config import actions
from config.actions import Level
from config.model import DatasetApi
from config.naming import API_STAGE, DatasetNames, api_logical_id
from toolchain import RUNTIME_DIR

HANDLER = "handler.handler"
CODE = RUNTIME_DIR / "shared_api"
# What each access log line records: who called (the role and its account), what, and API Gateway's answer.
ACCESS_LOG_FIELDS = (
    "requestId", "requestTime", "httpMethod", "resourcePath", "status", "protocol", "responseLength",
    "identity.caller", "identity.user", "identity.userArn", "identity.accountId", "identity.sourceIp",
    "error.messageString", "integrationStatus",
)  # fmt: skip


def level_methods(level: Level) -> tuple[str, ...]:
    return actions.API_READ_METHODS if level == "read" else actions.API_WRITE_METHODS


def policy_resources(level: Level) -> list[str]:
    """The methods a level's statement admits, in the form an API's resource policy takes before the API has an id
    (API Gateway expands execute-api:/ to the API's ARN when it stores the policy)."""
    return [f"execute-api:/{API_STAGE}/{method}/{actions.API_PATH}" for method in level_methods(level)]


class SharedApi(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: DatasetNames,
        settings: DatasetApi,
        levels: Sequence[tuple[Level, Grantees]],
        key: kms.Key,
    ) -> None:
        super().__init__(scope, id)
        region = Stack.of(self).region
        self.table = dynamodb.TableV2(
            self,
            "Table",
            table_name=names.api,
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(key),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RETAINED,
        )
        role = iam.Role(
            self,
            "Role",
            role_name=names.api_function,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"The function behind {names.names.project} {names.names.environment}'s API {names.name}",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                resources=[self.table.table_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[*actions.KEY_DECRYPT, *actions.KEY_ENCRYPT],
                resources=[key.key_arn],
                conditions=actions.via_services(*names.names.via("dynamodb")),
            )
        )
        function_logs = logs.LogGroup(
            self,
            "FunctionLogs",
            log_group_name=names.api_function,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RETAINED,  # a failed first create takes it away, so the retry's name is free
        )
        function_logs.grant_write(role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=names.api_function,
            runtime=lambda_runtime(),
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(CODE), exclude=["**/__pycache__"]),
            role=role,
            environment={"TABLE_NAME": names.api},
            timeout=Duration.seconds(10),
            memory_size=256,
            log_group=function_logs,
            logging_format=lambda_.LoggingFormat.JSON,
            description=f"Serves {names.names.project} {names.names.environment}'s API {names.name}",
        )
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=names.api_access_logs,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RETAINED,  # a failed first create takes it away, so the retry's name is free
            encryption_key=key,
        )
        # CloudWatch Logs encrypts with the key as its own service principal, for this log group only.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsEncryptsTheAccessLog",
                principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
                actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
                         "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={
                    "ArnEquals": {
                        "kms:EncryptionContext:aws:logs:arn": Stack.of(self).format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name=names.api_access_logs,
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )  # fmt: skip
        statements = [
            grantees.statement(
                sid=actions.sid("consumers", level, "api"),
                actions=actions.INVOKE,
                resources=policy_resources(level),
            )
            for level, grantees in levels
        ]
        self.api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=names.api,
            description=f"{names.names.project} {names.names.environment} dataset {names.name}, for its consumers",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            policy=iam.PolicyDocument(statements=statements),
            cloud_watch_role=False,  # the account's, not the project's to set (module docstring)
            default_method_options=apigateway.MethodOptions(authorization_type=apigateway.AuthorizationType.IAM),
            deploy_options=apigateway.StageOptions(
                stage_name=API_STAGE,
                throttling_rate_limit=settings.rate_limit,
                throttling_burst_limit=settings.burst_limit,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(
                    "{" + ",".join(f'"{f}":"$context.{f}"' for f in ACCESS_LOG_FIELDS) + "}"
                ),
                logging_level=apigateway.MethodLoggingLevel.OFF,
                data_trace_enabled=False,
                metrics_enabled=True,
            ),
        )
        # A fixed logical id: a consumer stack reads the API's id as this resource's physical id in the sharing stack
        # (cdk_constructs/catalog.py, SourceLookups).
        cast(CfnElement, self.api.node.default_child).override_logical_id(api_logical_id(names.name))
        # API Gateway applies a changed resource policy only when the API is deployed again: a deployment of its own for
        # each version of the grants (the CDK makes one for each change of the methods only).
        deployment = self.api.latest_deployment
        if deployment is None:
            raise RuntimeError(f"API {names.api} has no deployment")
        deployment.add_to_logical_id({"policy": [statement.to_json() for statement in statements]})
        integration = apigateway.LambdaIntegration(self.function, proxy=True, allow_test_invoke=False)
        item = self.api.root.add_resource("items").add_resource("{id}")
        for method in (*actions.API_READ_METHODS, *actions.API_WRITE_METHODS):
            item.add_method(method, integration)
        self.stage = self.api.deployment_stage
        if settings.web_acl_arn:
            association = wafv2.CfnWebACLAssociation(
                self, "WebAcl", resource_arn=self.stage.stage_arn, web_acl_arn=settings.web_acl_arn
            )
            association.node.add_dependency(self.stage)  # its ARN names the stage, which must exist first
        acknowledge(
            self,
            {
                "AwsSolutions-APIG2": (
                    "The one parameter, the item id, is checked by the function (1-256 safe characters), which also "
                    "refuses a body over 16 KB or not JSON."
                ),
                "AwsSolutions-APIG6": (
                    "No execution logs: API Gateway writes them to a log group it names outside the project's "
                    "prefix; the access log records every call, its caller and its answer."
                ),
                "AwsSolutions-COG4": (
                    "IAM authorization: the callers are the consumers' roles, admitted by the resource policy."
                ),
                **(
                    {}
                    if settings.web_acl_arn
                    else {
                        "AwsSolutions-APIG3": (
                            "Only the consumers' roles may call (IAM authorization and the resource policy, both "
                            "required across accounts), within the stage's throttling; a web ACL is the config's "
                            "choice (api.web_acl_arn)."
                        )
                    }
                ),
            },
        )
