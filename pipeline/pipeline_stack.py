"""The tooling account: a self-mutating pipeline that deploys each environment's sharing stage, then its
consumer stages in waves, each wave followed by one test step that proves its consumers' access
(proof_step.py). The app builds the Stages (pipeline/app.py); this stack places them."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack, pipelines
from aws_cdk import Environment as CdkEnvironment
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs.buckets import hardened
from cdk_constructs.findings import acknowledge
from cdk_constructs.notifications import PipelineNotifications
from config.model import (
    WITHOUT_PIPELINE_NOTIFICATIONS,
    CodeCommitRepository,
    Config,
    ConnectionRepository,
    Environment,
)
from config.naming import (
    ACCESS_CHANGES_PREFIX,
    access_records_bucket,
    daily_proof_role,
    pipeline_events_rule,
    pipeline_name,
)
from pipeline import approval
from pipeline.approval import review_url as approval_review_url
from pipeline.daily_proof import DailyProof
from pipeline.findings import acknowledge_pipeline_findings
from pipeline.group_proof import group_proof_step
from pipeline.proof_step import Recording, proof_step, proof_wave
from pipeline.replication import ReplicationStack
from pipeline_steps import record_deployed
from stages.consumer_stage import ConsumerStage
from stages.groups_stage import GroupsStage
from stages.sharing_stage import SharingStage
from toolchain import NotInRepository, cdk_cli_version, repository_path

BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0


@dataclass
class Deployables:
    """What the pipeline deploys, built by the app beside it (pipeline/app.py build_app): its artifact replicas in
    other regions, each environment's sharing stage, its consumer groups' StackSets, and its consumer stages in
    waves."""

    replication: dict[str, ReplicationStack]
    sharing: dict[str, SharingStage]
    waves: dict[str, list[list[ConsumerStage]]]
    groups: dict[str, GroupsStage] = field(default_factory=dict)  # environments with consumer groups


class PipelineStack(Stack):
    """The pipeline in the tooling account. It places the Stages the app built beside it (Deployables) in its
    stages and waves; it builds none of them."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        config_path: str,
        deployables: Deployables,
        access_changes: Mapping[str, Sequence[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        """access_changes: each environment's access changes since what it deployed, for its approval's comment
        (pipeline/approval.py; the synth step computes them)."""
        super().__init__(
            scope,
            id,
            env=CdkEnvironment(account=config.tooling.account, region=config.tooling.region),
            **kwargs,
        )
        self.config = config
        self.config_path = _in_repository(config_path)
        self.deployables = deployables
        self.comments = approval.comments(config, access_changes or {})
        self.source = _source(self, config)
        self.records = _access_records(self, config)
        records = self.records.bucket_arn
        self.notifications = PipelineNotifications(self, "Notifications", emails=config.notifications.emails)
        for replication in deployables.replication.values():
            self.add_stack_dependency(replication, "the pipeline copies its artifacts to this region's bucket")
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name(config),
            pipeline_type=codepipeline.PipelineType.V2,
            # Cross-account deployments need a customer-managed key on the artifact bucket.
            cross_account_keys=True,
            self_mutation=True,
            enable_key_rotation=True,
            cross_region_replication_buckets={region: r.bucket for region, r in deployables.replication.items()},
            # One CloudFormation action per stack instead of two (change set, then execute): half the actions
            # per stage, so twice the consumers per wave.
            use_change_sets=False,
            cli_version=cdk_cli_version(),
            # One publishing action for all assets: per-asset CodeBuild projects are slower and costlier
            # for a handful of small assets (aws/aws-cdk#23016).
            publish_assets_in_parallel=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE)
            ),
            synth=pipelines.CodeBuildStep(
                "Synth",
                input=self.source,
                # The same Makefile as developers and CI: unit tests and static checks run before
                # `cdk synth`, so a failing test stops the pipeline before anything deploys.
                commands=[synth_command(config_path)],
                primary_output_directory="cdk.out",
                # What each environment deployed (its last test step recorded it), to show each approval the access
                # changes since; and the whole list of them, which the approval links to.
                env={record_deployed.RECORDS_VARIABLE: access_records_bucket(config)},
                role_policy_statements=[
                    # A missing record (an environment's first deployment) answers 404 only to one who may list.
                    iam.PolicyStatement(actions=["s3:ListBucket"], resources=[records]),
                    iam.PolicyStatement(
                        actions=["s3:GetObject"],
                        resources=[f"{records}/{record_deployed.record_key(e.name)}" for e in config.environments],
                    ),
                    iam.PolicyStatement(
                        actions=["s3:PutObject"],
                        resources=[f"{records}/{ACCESS_CHANGES_PREFIX}{e.name}.txt" for e in config.environments],
                    ),
                ],
            ),
        )
        for environment in config.environments:
            self._add_environment(environment)
        # Built now rather than at synth so that the generated constructs exist to be checked.
        self.pipeline.build_pipeline()
        _use_connection_by_its_own_prefix(self.pipeline, config)
        if config.proof_schedule is not None:
            self.notifications.failed_builds([daily_proof_role(config, e) for e in config.environments])
        if config.tooling.region not in WITHOUT_PIPELINE_NOTIFICATIONS:
            self.notifications.watch(self.pipeline.pipeline, name=pipeline_events_rule(config))
        acknowledge_pipeline_findings(self, self.pipeline)

    def _add_environment(self, environment: Environment) -> None:
        config = self.config
        sharing = self.deployables.sharing[environment.name]
        pre: list[pipelines.Step] = []
        if environment.approval:
            # The sharing stage holds every grant to other accounts: a change that widens IAM permissions
            # there waits for its own approval, then the environment's approval gate.
            broadening = pipelines.ConfirmPermissionsBroadening(
                f"Broadening-{environment.name}", stage=sharing, notification_topic=self.notifications.topic
            )
            approval = pipelines.ManualApprovalStep(
                f"Approve-{environment.name}",
                comment=self.comments[environment.name],
                review_url=approval_review_url(config, environment),
            )
            approval.add_step_dependency(broadening)  # pre steps run side by side unless told otherwise
            pre += [broadening, approval]
        self.pipeline.add_stage(sharing, pre=pre)
        groups = self.deployables.groups.get(environment.name)
        if groups is not None:
            # After the sharing stage, whose grants the groups' stacks use, and after the environment's approval; each
            # group's test step after it.
            proofs = [
                group_proof_step(self, config=config, environment=environment, group=group, source=self.source)
                for group in environment.consumer_groups
            ]
            self.pipeline.add_stage(groups, post=proofs)
        waves = self.deployables.waves[environment.name]
        if config.proof_schedule is not None:
            DailyProof(
                self,
                f"{environment.name}-DailyProof",
                config=config,
                environment=environment,
                records=self.records,
                topic=self.notifications.topic,
                topic_key=self.notifications.key,
                build_image=BUILD_IMAGE,
            )
        for number, stages in enumerate(waves, start=1):
            suffix = "" if len(waves) == 1 else f"-{number}"
            wave = self.pipeline.add_wave(f"{environment.name}-consumers{suffix}")
            for stage in stages:
                wave.add_stage(stage)
            wave.add_post(
                proof_step(
                    self,
                    config=config,
                    environment=environment,
                    wave=number,
                    suffix=suffix,
                    stages=stages,
                    source=self.source,
                    # The last wave's step, once it passes, records what the environment deployed.
                    record=Recording(
                        self.records,
                        self.config_path,
                        waves=[proof_wave(config, environment, wave_stages) for wave_stages in waves],
                    )
                    if number == len(waves)
                    else None,
                )
            )


def synth_command(config_path: str) -> str:
    """The pipeline's synth step: the config by its path in the repository, quoted for the shell. A config outside
    the repository keeps its path here (a local synth of a temporary config); make deploy, make doctor and the
    synth step itself refuse it (tools/validate.py --deployable)."""
    return f"make pipeline-synth CONFIG={shlex.quote(_in_repository(config_path))}"


def _in_repository(config_path: str) -> str:
    try:
        return repository_path(config_path)
    except NotInRepository:
        return str(config_path)


def _access_records(scope: Construct, config: Config) -> s3.Bucket:
    """The tooling account's records of what each environment deployed and of the access changes its next approval
    shows: configs and lists of grants, written by the pipeline's own steps only."""
    bucket = s3.Bucket(
        scope,
        "AccessRecords",
        bucket_name=access_records_bucket(config),
        encryption=s3.BucketEncryption.S3_MANAGED,
        removal_policy=RemovalPolicy.RETAIN,
        **hardened(),
        lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(365))],
    )
    acknowledge(
        bucket,
        {
            "AwsSolutions-S1": "The pipeline's own records (configs as deployed, lists of access changes), written "
            "only by its synth and test steps' roles; versioned, so every change is kept for a year."
        },
    )
    return bucket


def _use_connection_by_its_own_prefix(pipeline: pipelines.CodePipeline, config: Config) -> None:
    """CDK Pipelines grants the source action codestar-connections:UseConnection, but a connection whose ARN has the
    codeconnections prefix (every connection created since the service's rename) is authorized by the action of
    that prefix: the service prefix of an action must match the resource's."""
    repository = config.repository
    if not isinstance(repository, ConnectionRepository):
        return
    service = repository.connection_arn.split(":")[2]
    if service == "codestar-connections":
        return
    # The role CodePipeline makes for the source action, found where it makes it: the Source stage's construct.
    source = pipeline.pipeline.node.find_child("Source")
    (role,) = [node for node in source.node.find_all() if isinstance(node, iam.Role)]
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=[f"{service}:UseConnection"], resources=[repository.connection_arn])
    )


def _source(scope: Construct, config: Config) -> pipelines.CodePipelineSource:
    repository = config.repository
    if isinstance(repository, CodeCommitRepository):
        return pipelines.CodePipelineSource.code_commit(
            codecommit.Repository.from_repository_name(scope, "Repository", repository.codecommit_repository),
            repository.branch,
        )
    return pipelines.CodePipelineSource.connection(
        repository.repository,
        repository.branch,
        connection_arn=repository.connection_arn,
        trigger_on_push=True,
    )
