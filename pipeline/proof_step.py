"""The test step of a wave: one CodeBuild step that proves every consumer of the wave can reach the shared data
(pipeline_steps/prove_consumers.py). One step per wave rather than per consumer: every CodeBuild step costs the
pipeline stack a project, a role and a policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines
from constructs import Construct

from config.model import Config, Environment
from config.naming import Names, access_records_bucket, proof_step_role
from pipeline_steps import record_deployed
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


@dataclass(frozen=True)
class Recording:
    """What the environment's last test step records once it passes: the config and every wave (and the commit, which
    CodeBuild gives the step: the source action's CommitId variable would name the source's variable namespace after
    the repository, past CodePipeline's 100 characters for a long CodeCommit name)."""

    bucket: s3.IBucket
    config_path: str
    waves: Sequence[Wave]


def proof_step(
    scope: Construct,
    *,
    config: Config,
    environment: Environment,
    wave: int,
    suffix: str,
    stages: Sequence[ConsumerStage],
    source: pipelines.IFileSetProducer,
    record: Recording | None = None,
) -> pipelines.CodeBuildStep:
    """record: for the environment's last wave, whose step then records what the environment deployed once every
    consumer passed (pipeline_steps/record_deployed.py)."""
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
    recording: dict[str, str] = {}
    if record is not None:
        keys = (record_deployed.record_key(environment.name), record_deployed.waves_key(environment.name))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[record.bucket.arn_for_objects(key) for key in keys]
            )
        )
        recording = {
            record_deployed.RECORDS_VARIABLE: access_records_bucket(config),  # the bucket's name, known at synth
            record_deployed.ENVIRONMENT_VARIABLE: environment.name,
            record_deployed.CONFIG_VARIABLE: record.config_path,
            **record_deployed.wave_variables([wave.encode() for wave in record.waves]),
        }
    wave_proof = proof_wave(config, environment, stages)
    return pipelines.CodeBuildStep(
        f"Prove-{environment.name}{suffix}",
        input=source,
        role=role,
        install_commands=[f"python3 -m pip install --quiet boto3=={pinned_version('boto3')}"],
        commands=[COMMAND, *([record_deployed.COMMAND] if record is not None else [])],
        # In the CodeBuild project, not in the pipeline action: CodePipeline allows an action configuration value
        # 1,000 characters, and stack outputs of a wave of consumers (env_from_cfn_outputs) went past it.
        env={
            WAVE_VARIABLE: wave_proof.encode(),
            # KMS grants take up to five minutes to be effective everywhere, and S3 uses a key for the caller without
            # its grant token: a consumer given an existing key by grant is proven again until they are.
            **({SETTLE_VARIABLE: str(GRANT_SETTLE_SECONDS)} if any(stage.key_grants for stage in stages) else {}),
            **recording,
        },
    )


def proof_wave(config: Config, environment: Environment, stages: Sequence[ConsumerStage]) -> Wave:
    """What a wave's test step proves (the daily proof proves the same)."""
    names = Names.of(config, environment)
    return Wave(
        partition=config.tooling.partition,
        function=names.consumer_function,
        cluster=names.consumer_cluster,
        task_family=names.consumer_task_family,
        role=names.proof_role,
        targets=tuple(_target(stage) for stage in stages),
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
