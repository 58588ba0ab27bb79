"""The example workload of your own: a function in the consumer's stage that reads the datasets the consumer is given.

Not imported by extensions/__init__.py, so not registered: copy it, or import it there to use it as it is.
"""

from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from cdk_constructs.consumer import lambda_runtime
from stacks.consumer_stack import ConsumerStack
from stacks.extensions import extension

WORKLOAD = "nightly-export"


@extension(WORKLOAD)
def nightly_export(stack: ConsumerStack) -> None:
    role = stack.workload_role(WORKLOAD, "lambda.amazonaws.com")  # the consumer's datasets
    # Named under the project's prefix, as the bootstrap execution policy and the roles' boundary require.
    name = stack.workload_name(WORKLOAD)
    log_group = logs.LogGroup(
        stack,
        "NightlyExportLogs",
        log_group_name=name,
        retention=logs.RetentionDays.ONE_YEAR,
        removal_policy=RemovalPolicy.RETAIN,
    )
    log_group.grant_write(role)
    lambda_.Function(
        stack,
        "NightlyExport",
        function_name=name,
        role=role,
        runtime=lambda_runtime(),
        handler="export.handler",
        code=lambda_.Code.from_asset(str(Path(__file__).parent / "code")),
        environment=stack.runtime_environment,  # DATASETS: the consumer's datasets, as the demo function reads them
        log_group=log_group,
    )
