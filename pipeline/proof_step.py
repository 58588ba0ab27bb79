"""The test step of a wave: one CodeBuild step that proves every consumer of the wave can reach the shared data
(pipeline_steps/prove_consumers.py). One step per wave rather than per consumer: every CodeBuild step costs the
pipeline stack a project, a role and a policy."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import pipelines
from constructs import Construct

from config.model import Config, Environment
from config.naming import Names, proof_step_role
from config.toolchain import pinned_version
from pipeline_steps.prove_consumers import COMMAND, TARGETS_VARIABLE, ProofTarget, encode_targets
from stages.consumer_stage import ConsumerStage


def proof_step(
    scope: Construct,
    *,
    config: Config,
    environment: Environment,
    wave: int,
    suffix: str,
    stages: Sequence[ConsumerStage],
    source: pipelines.IFileSetProducer,
) -> pipelines.CodeBuildStep:
    names = Names.of(config, environment)
    role = iam.Role(
        scope,
        f"{environment.name}-ProofStepRole{suffix}",
        role_name=proof_step_role(config, environment, wave),
        assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
        description=f"Pipeline test step of {environment.name}: may only assume the consumers' proof roles",
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["sts:AssumeRole"],
            resources=[names.proof_role_arn(stage.consumer) for stage in stages],
        )
    )
    targets = []
    outputs = {}
    for index, stage in enumerate(stages):
        target = ProofTarget(
            consumer=stage.consumer.name,
            account=stage.consumer.account,
            region=stage.consumer.region,
            function_variable=f"FUNCTION_{index}",
            role_variable=f"PROOF_ROLE_{index}",
        )
        targets.append(target)
        outputs[target.function_variable] = stage.stack.function_name
        outputs[target.role_variable] = stage.stack.proof_role_arn
    return pipelines.CodeBuildStep(
        f"Prove-{environment.name}{suffix}",
        input=source,
        role=role,
        install_commands=[f"python3 -m pip install --quiet boto3=={pinned_version('boto3')}"],
        commands=[COMMAND],
        env={TARGETS_VARIABLE: encode_targets(targets)},
        env_from_cfn_outputs=outputs,
    )
