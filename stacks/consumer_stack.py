from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs.consumer import (
    ConsumerFunction,
    ConsumerTask,
    ProofRole,
    SharedDataAccess,
)
from config.model import Config, Consumer, Environment
from config.naming import Names, permissions_boundary_name


class ConsumerStack(Stack):
    """One consumer account: a Lambda function and an ECS task (and its cluster) that read the shared data."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        environment: Environment,
        consumer: Consumer,
        proof_step_role_arn: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        names = Names.of(config, environment)
        # Every role of the stack carries the boundary `make bootstrap` creates: the execution policy admits no
        # role without it (config/bootstrap_policies.py).
        iam.PermissionsBoundary.of(self).apply(
            iam.ManagedPolicy.from_managed_policy_name(self, "PermissionsBoundary", permissions_boundary_name(config))
        )
        data_access = SharedDataAccess(
            self, "SharedDataAccess", names=names, environment=environment, consumer=consumer
        ).policy
        function = ConsumerFunction(
            self,
            "Function",
            names=names,
            environment=environment,
            consumer=consumer,
            data_access=data_access,
        ).function
        task = ConsumerTask(
            self,
            "Task",
            names=names,
            environment=environment,
            consumer=consumer,
            data_access=data_access,
            image=config.consumer_image,
        )
        proof_role = ProofRole(
            self,
            "Proof",
            names=names,
            tooling_account=config.tooling.account,
            proof_step_role_arn=proof_step_role_arn,
            consumer=consumer,
            function=function,
            task=task,
        ).role

        # Read by the pipeline's test step (env_from_cfn_outputs).
        self.function_name = CfnOutput(self, "FunctionName", value=function.function_name)
        self.proof_role_arn = CfnOutput(self, "ProofRoleArn", value=proof_role.role_arn)
        CfnOutput(self, "TaskDefinitionArn", value=task.task_definition.task_definition_arn)
