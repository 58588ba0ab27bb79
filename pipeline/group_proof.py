"""The test step of a consumer group (pipeline_steps/prove_group.py): after the groups' stack, one CodeBuild step per
group, with a role that may list the group's stack instances as the organization's delegated administrator and assume
the group's proof roles, which trust it by exact ARN."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import pipelines
from constructs import Construct

from cdk_constructs.findings import acknowledge
from config import actions
from config.model import Config, ConsumerGroup, Environment
from config.naming import Names, group_proof_role, group_stack_set
from pipeline_steps.prove_group import COMMAND, GROUP_VARIABLE, Group
from toolchain import pinned_version


def group_proof_step(
    scope: Construct,
    *,
    config: Config,
    environment: Environment,
    group: ConsumerGroup,
    source: pipelines.IFileSetProducer,
) -> pipelines.CodeBuildStep:
    names = Names.of(config, environment)
    role = iam.Role(
        scope,
        f"{environment.name}-ProofGroup{actions.sid(group.name)}Role",
        role_name=group_proof_role(config, environment, group),
        assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
        description=f"Test step of {environment.name}'s consumer group {group.name}: lists its accounts, proves them",
    )
    proof = group_proof(config, environment, group)
    stack_sets = group_stack_sets_arn(config, proof.stack_set)
    proof_roles = names.role_arn("*", names.proof_role)
    role.add_to_policy(iam.PolicyStatement(actions=["cloudformation:ListStackInstances"], resources=[stack_sets]))
    # StackSets checks a delegated administrator's CallAs against the organization's list of them.
    role.add_to_policy(iam.PolicyStatement(actions=["organizations:ListDelegatedAdministrators"], resources=["*"]))
    role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[proof_roles]))
    acknowledge(
        role,
        {
            f"AwsSolutions-IAM5[Resource::{stack_sets}]": STACK_SET_REASON,
            f"AwsSolutions-IAM5[Resource::{proof_roles}]": (
                "The group's proof roles by their one name in its accounts, which the config does not list; each "
                "trusts only this role, by its exact ARN."
            ),
            "AwsSolutions-IAM5[Resource::*]": "organizations:ListDelegatedAdministrators takes no resource.",
        },
    )
    return pipelines.CodeBuildStep(
        f"Prove-{environment.name}-{group.name}",
        input=source,
        role=role,
        install_commands=[f"python3 -m pip install --quiet boto3=={pinned_version('boto3')}"],
        commands=[COMMAND],
        env={GROUP_VARIABLE: proof.encode()},
    )


STACK_SET_REASON = (
    "The group's stack set by its name: it lives in the organization's management account, whose id the config does "
    "not give, and its ARN ends with an id of CloudFormation's choosing."
)


def group_proof(config: Config, environment: Environment, group: ConsumerGroup) -> Group:
    """What a group's test step (and its environment's daily proof) proves."""
    names = Names.of(config, environment)
    return Group(
        partition=config.tooling.partition,
        name=group.name,
        stack_set=group_stack_set(config, environment, group),
        region=config.tooling.region,
        function=names.consumer_function,
        role=names.proof_role,
        tolerance_percentage=group.proof_tolerance_percentage,
    )


def group_stack_sets_arn(config: Config, stack_set: str) -> str:
    """A delegated administrator's stack set by its name: it lives in the organization's management account, which
    the config does not know, so in any account."""
    tooling = config.tooling
    return f"arn:{tooling.partition}:cloudformation:{tooling.region}:*:stackset/{stack_set}:*"
