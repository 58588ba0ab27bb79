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
from pipeline_steps.prove_consumers import (
    COMMAND,
    GRANT_SETTLE_SECONDS,
    SETTLE_VARIABLE,
    WAVE_VARIABLE,
    ProofTarget,
    TaskNetwork,
    Wave,
)
from stages.consumer_stage import ConsumerStage
from toolchain import pinned_version


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
    wave_proof = Wave(
        partition=config.tooling.partition,
        function=names.consumer_function,
        cluster=names.consumer_cluster,
        task_family=names.consumer_task_family,
        role=names.proof_role,
        targets=tuple(_target(stage) for stage in stages),
    )
    return pipelines.CodeBuildStep(
        f"Prove-{environment.name}{suffix}",
        input=source,
        role=role,
        install_commands=[f"python3 -m pip install --quiet boto3=={pinned_version('boto3')}"],
        commands=[COMMAND],
        # In the CodeBuild project, not in the pipeline action: CodePipeline allows an action configuration value
        # 1,000 characters, and stack outputs of a wave of consumers (env_from_cfn_outputs) went past it.
        env={
            WAVE_VARIABLE: wave_proof.encode(),
            # KMS grants take up to five minutes to be effective everywhere, and S3 uses a key for the caller without
            # its grant token: a consumer given an existing key by grant is proven again until they are.
            **({SETTLE_VARIABLE: str(GRANT_SETTLE_SECONDS)} if any(stage.key_grants for stage in stages) else {}),
        },
    )


def _target(stage: ConsumerStage) -> ProofTarget:
    consumer = stage.consumer
    network = consumer.task_network
    return ProofTarget(
        consumer.name,
        consumer.account,
        consumer.region,
        None if network is None else TaskNetwork(network.subnets, network.security_groups, network.assign_public_ip),
    )
