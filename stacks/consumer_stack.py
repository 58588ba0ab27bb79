from __future__ import annotations

import fnmatch
from typing import Any

from aws_cdk import CfnOutput, CfnResource, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs import actions
from cdk_constructs.consumer import (
    ConsumerFunction,
    ConsumerTask,
    ProofRole,
    SharedDataAccess,
    workload_role,
)
from config.bootstrap_policies import CUSTOM_RESOURCE_TYPES, IAM_RESOURCE_TYPES, STACK_RESOURCE_TYPES, boundary_actions
from config.model import Config, Consumer, Environment
from config.naming import Names, permissions_boundary_name
from stacks.extensions import EXTENSIONS, ExtensionError


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
        self.names, self.consumer, self.config = names, consumer, config
        data_access = SharedDataAccess(
            self, "SharedDataAccess", names=names, environment=environment, consumer=consumer
        ).policy
        self.data_access = data_access
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
        self._extend()

    def workload_role(self, workload: str, service: str) -> iam.Role:
        """The role of a workload of your own (stacks/extensions.py), with the consumer's datasets: the one call an
        extension makes to be granted them."""
        if workload not in self.consumer.workloads:
            raise ExtensionError(
                f"a role for the workload {workload!r} of {self.consumer.name}, which its workloads in the config do "
                f"not list ({', '.join(self.consumer.workloads) or 'none'}): the source account would not admit it"
            )
        scope = Construct(self, f"Workload{actions.sid(workload)}")
        return workload_role(
            scope,
            names=self.names,
            consumer=self.consumer,
            workload=workload,
            service=service,
            data_access=self.data_access,
        )

    def _extend(self) -> None:
        """The workloads of your own the config lists for this consumer, each added by its extension."""
        for workload in self.consumer.workloads:
            build = EXTENSIONS.get(workload)
            if build is None:
                raise ExtensionError(
                    f"{self.consumer.name}'s workloads list {workload!r}, but no extension of that name is registered "
                    "(stacks/extensions.py)"
                )
            build(self)
            if self.node.try_find_child(f"Workload{actions.sid(workload)}") is None:
                raise ExtensionError(
                    f"the extension {workload!r} gave itself no role: call stack.workload_role({workload!r}, SERVICE)"
                )
        known = {*STACK_RESOURCE_TYPES, *IAM_RESOURCE_TYPES, *CUSTOM_RESOURCE_TYPES}
        # isinstance, as in pipeline/capacity.py: one call to JavaScript per construct otherwise.
        types = {n.cfn_resource_type for n in self.node.find_all() if isinstance(n, CfnResource)}
        unknown = sorted(types - known - {"AWS::CDK::Metadata"})
        if unknown:
            raise ExtensionError(
                f"{self.consumer.name}'s stack creates {', '.join(unknown)}, which the bootstrap execution policy does "
                "not let CloudFormation create: add the types to STACK_RESOURCE_TYPES in config/bootstrap_policies.py, "
                "then run make bootstrap"
            )
        if self.consumer.workloads:
            self._within_the_boundary()

    def _within_the_boundary(self) -> None:
        """Every action an extension grants its roles is one the permissions boundary allows: otherwise the workload is
        refused at run time, with nothing at deploy to say why."""
        allowed = boundary_actions(self.config)
        stack = Stack.of(self)
        for node in self.node.find_all():
            if isinstance(node, iam.CfnPolicy | iam.CfnManagedPolicy):
                document = stack.resolve(node.policy_document)
                for statement in document.get("Statement", []):
                    actions = statement.get("Action", [])
                    for action in [actions] if isinstance(actions, str) else actions:
                        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in allowed):
                            raise ExtensionError(
                                f"{self.consumer.name}'s stack grants {action} ({node.node.path}), which the "
                                "permissions boundary of every project role does not allow: add a statement for it "
                                "to EXTENSION_BOUNDARY in config/bootstrap_policies.py, then run make bootstrap"
                            )
