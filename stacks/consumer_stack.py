from __future__ import annotations

import fnmatch
import re
from typing import Any

from aws_cdk import CfnOutput, CfnResource, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from bootstrap.policies import (
    CUSTOM_RESOURCE_TYPES,
    IAM_RESOURCE_TYPES,
    NAME_PROPERTIES,
    STACK_RESOURCE_TYPES,
    boundary_actions,
)
from cdk_constructs.catalog import QueryCatalog, SourceLookups
from cdk_constructs.consumer import (
    ConsumerFunction,
    ConsumerTask,
    ProofRole,
    SharedDataAccess,
    workload_role,
)
from cdk_constructs.documents import runtime_environment
from config import actions
from config.model import Config, Consumer, Environment
from config.naming import Names, api_id_output, daily_proof_role_arn, permissions_boundary_name
from stacks.extensions import ExtensionError, registered


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
        # role without it (bootstrap/policies.py).
        iam.PermissionsBoundary.of(self).apply(
            iam.ManagedPolicy.from_managed_policy_name(self, "PermissionsBoundary", permissions_boundary_name(config))
        )
        self.names, self.consumer, self.config = names, consumer, config
        lookups = (
            SourceLookups(self, "Lookups", names=names, consumer=consumer, apis=names.api_datasets(environment))
            if names.looks_up(environment, consumer)
            else None
        )
        api_ids = lookups.api_ids if lookups else {}
        # What the demo function and task read (runtime/consumer_app/settings.py), for a workload that reads it too.
        self.runtime_environment = runtime_environment(names, environment, consumer, api_ids)
        data_access = SharedDataAccess(
            self,
            "SharedDataAccess",
            names=names,
            environment=environment,
            consumer=consumer,
            api_ids=api_ids,
            api_findings=lookups.api_findings if lookups else {},
        ).policy
        self.data_access = data_access
        catalog = names.catalog_datasets(environment, consumer)
        if catalog:
            QueryCatalog(
                self, "Catalog", names=names, consumer=consumer, datasets=[n for n, _ in catalog], lookups=lookups
            )
        provers = [proof_step_role_arn, *filter(None, [daily_proof_role_arn(config, environment)])]
        consumer_workloads(
            self, config=config, names=names, environment=environment, consumer=consumer, data_access=data_access,
            runtime=self.runtime_environment, provers=provers,
        )  # fmt: skip
        # The APIs' ids as the stack read them: what the consumer's own roles' template takes (make summary).
        for dataset, api_id in api_ids.items():
            CfnOutput(self, api_id_output(dataset), value=api_id)
        self._extend()

    def workload_name(self, workload: str) -> str:
        """PROJECT-ENV-consumer-WORKLOAD: a name for a workload's function, log group, state machine or job under the
        project's prefix, where the bootstrap execution policy lets CloudFormation create them."""
        return self.names.workload_role(workload)

    def workload_role(self, workload: str, service: str) -> iam.Role:
        """The role of a workload of your own (extensions/), with the consumer's datasets: the one call an extension
        makes to be granted them."""
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
            registered(self.consumer, workload)(self)
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
                "not let CloudFormation create: add the types to STACK_RESOURCE_TYPES in bootstrap/policies.py, "
                "then run make bootstrap"
            )
        if self.consumer.workloads:
            self._within_the_boundary()
            self._named_under_the_project()

    def _named_under_the_project(self) -> None:
        """The execution policy lets CloudFormation create a function, log group, state machine, job or table only under
        the project's prefix, and the boundary lets a function write only to log groups there: a resource left to a
        generated name (or a function to its default log group, /aws/lambda/NAME) would fail at deploy or lose its
        logs, with nothing at synth to say why."""
        stack = Stack.of(self)
        prefix = f"{self.config.project}-"
        for node in self.node.find_all():
            if not isinstance(node, CfnResource) or node.cfn_resource_type not in NAME_PROPERTIES:
                continue
            name = stack.resolve(getattr(node, _attribute(NAME_PROPERTIES[node.cfn_resource_type])))
            if not (isinstance(name, str) and name.startswith(prefix)):
                raise ExtensionError(
                    f"{self.consumer.name}'s stack creates {node.cfn_resource_type} {node.node.path} named "
                    f"{name if isinstance(name, str) else 'by CloudFormation'}, outside the project's prefix {prefix}, "
                    "where the bootstrap execution policy does not let CloudFormation create it: name it "
                    "stack.workload_name(WORKLOAD)"
                )
            logging = stack.resolve(getattr(node, "logging_config", None)) or {}
            if node.cfn_resource_type == "AWS::Lambda::Function" and not logging.get("logGroup"):
                raise ExtensionError(
                    f"{self.consumer.name}'s function {node.node.path} has no log group of its own: its default, "
                    "/aws/lambda/NAME, is outside the project's prefix, where the roles' permissions boundary lets it "
                    "write no logs: give it log_group= a LogGroup named stack.workload_name(WORKLOAD)"
                )

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
                                "to EXTENSION_BOUNDARY in bootstrap/policies.py, then run make bootstrap"
                            )


def _attribute(cloudformation_property: str) -> str:
    """The attribute of an L1 construct that holds a CloudFormation property: FunctionName -> function_name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cloudformation_property).lower()


def consumer_workloads(
    stack: Stack,
    *,
    config: Config,
    names: Names,
    environment: Environment,
    consumer: Consumer,
    data_access: iam.IManagedPolicy,
    runtime: dict[str, str],
    provers: list[str],
    inline: str | None = None,
) -> None:
    """The demo function and task of a consumer's stack (a listed consumer's, or a group's), the proof role through
    which the provers (test steps) invoke and run them, and their names as outputs. inline: the function's code inside
    the template (a group's: cdk_constructs/inline_code.py)."""
    function = ConsumerFunction(stack, "Function", names=names, environment=environment, consumer=consumer,
                                data_access=data_access, runtime=runtime, inline=inline).function  # fmt: skip
    task = ConsumerTask(stack, "Task", names=names, environment=environment, consumer=consumer, data_access=data_access,
                        image=config.consumer_image, runtime=runtime)  # fmt: skip
    proof_role = ProofRole(stack, "Proof", names=names, tooling_account=config.tooling.account, provers=provers,
                           consumer=consumer, function=function, task=task).role  # fmt: skip
    # For whoever reads the stack: the test steps know these names from the config (set at synth).
    CfnOutput(stack, "FunctionName", value=function.function_name)
    CfnOutput(stack, "ProofRoleArn", value=proof_role.role_arn)
    CfnOutput(stack, "TaskDefinitionArn", value=task.task_definition.task_definition_arn)
