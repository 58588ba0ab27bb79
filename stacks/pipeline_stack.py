"""The tooling account: a self-mutating pipeline that deploys each environment's sharing stage, then its
consumer stages in waves, each wave followed by one test step that proves its consumers' access.

CodePipeline holds at most 50 actions in a stage and 50 stages in a pipeline, and CloudFormation 500
resources in a stack. Each stack deploys in one action (no change sets), so a wave of up to 49 consumers and
its test step fill one pipeline stage: the pipeline grows by one stage per 49 consumers and its own stack by
one CodeBuild project, role and policy per wave.

What limits the consumer accounts of one pipeline first is none of those: CDK Pipelines grants each target
account's deployment role on the artifact bucket and its key, about 95 characters per account in each
policy, and the bucket policy's 20 KB quota is full at about 205 accounts (see _check_artifact_grants).
"""

from __future__ import annotations

import math
from typing import Any

from aws_cdk import CfnResource, Stack, pipelines
from aws_cdk import Environment as CdkEnvironment
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs.notifications import PipelineNotifications
from config.model import CodeCommitRepository, Config, Environment
from config.naming import Names, pipeline_check_step_role, pipeline_check_step_role_arn
from config.toolchain import cdk_cli_version, pinned_version
from pipeline_steps.check_consumers import TARGETS_VARIABLE, Target, encode_targets
from stacks.pipeline_findings import acknowledge_pipeline_findings
from stages.consumer_stage import ConsumerStage
from stages.policy_sizes import quotas, size
from stages.sharing_stage import SharingStage

BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
MAX_ACTIONS_PER_STAGE = 50
MAX_STAGES = 50
MAX_RESOURCES = 500
# Source, Build, UpdatePipeline and Assets come before the environments' stages.
FIXED_STAGES = 4


class PipelineTooLarge(Exception):
    """A configuration one pipeline cannot hold; the message says why and what to change."""


class PipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        config_path: str,
        consumers_per_wave: int = MAX_ACTIONS_PER_STAGE - 1,
        **kwargs: Any,
    ) -> None:
        _check_stage_count(config, consumers_per_wave)
        _check_artifact_grants_bound(config)
        super().__init__(
            scope,
            id,
            env=CdkEnvironment(account=config.tooling.account, region=config.tooling.region),
            **kwargs,
        )
        self.config = config
        self.consumers_per_wave = consumers_per_wave
        # Stages are built in the app, beside this stack: validation plugins registered in a Stage (cdk-nag)
        # do not run for a Stage nested in a Stack.
        self._stage_scope = scope
        self.source = _source(self, config)
        self.notifications = PipelineNotifications(self, "Notifications", emails=config.notifications.emails)
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=f"{config.project}-data-sharing",
            pipeline_type=codepipeline.PipelineType.V2,
            # Cross-account deployments need a customer-managed key on the artifact bucket.
            cross_account_keys=True,
            self_mutation=True,
            enable_key_rotation=True,
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
            synth=pipelines.ShellStep(
                "Synth",
                input=self.source,
                # The same Makefile as developers and CI: unit tests and static checks run before
                # `cdk synth`, so a failing test stops the pipeline before anything deploys.
                commands=[f"make pipeline-synth CONFIG={config_path}"],
                primary_output_directory="cdk.out",
            ),
        )
        self.sharing_stages: dict[str, SharingStage] = {}
        self.consumer_stages: dict[str, list[ConsumerStage]] = {}
        for environment in config.environments:
            self._add_environment(environment)
        # Built now rather than at synth so that the generated constructs exist to be checked.
        self.pipeline.build_pipeline()
        self.notifications.watch(self.pipeline.pipeline)
        acknowledge_pipeline_findings(self, self.pipeline)
        self._check_quotas()

    def _add_environment(self, environment: Environment) -> None:
        config = self.config
        sharing = SharingStage(
            self._stage_scope,
            f"{environment.name}-sharing",
            config=config,
            environment=environment,
        )
        pre: list[pipelines.Step] = []
        if environment.approval:
            # The sharing stage holds every grant to other accounts: a change that widens IAM permissions
            # there waits for its own approval, then the environment's approval gate.
            broadening = pipelines.ConfirmPermissionsBroadening(
                f"Broadening-{environment.name}", stage=sharing, notification_topic=self.notifications.topic
            )
            approval = pipelines.ManualApprovalStep(
                f"Approve-{environment.name}",
                comment=f"Deploy the {environment.name} share from account {environment.source.account} "
                f"to {len(environment.consumers)} consumer account(s)?",
            )
            approval.add_step_dependency(broadening)  # pre steps run side by side unless told otherwise
            pre += [broadening, approval]
        self.pipeline.add_stage(sharing, pre=pre)
        self.sharing_stages[environment.name] = sharing

        consumers = environment.consumers
        chunks = [consumers[i : i + self.consumers_per_wave] for i in range(0, len(consumers), self.consumers_per_wave)]
        self.consumer_stages[environment.name] = []
        for number, chunk in enumerate(chunks, start=1):
            suffix = "" if len(chunks) == 1 else f"-{number}"
            wave = self.pipeline.add_wave(f"{environment.name}-consumers{suffix}")
            step_role_arn = pipeline_check_step_role_arn(config, environment, number)
            stages = []
            for consumer in chunk:
                stage = ConsumerStage(
                    self._stage_scope,
                    f"{environment.name}-{consumer.name}",
                    config=config,
                    environment=environment,
                    consumer=consumer,
                    check_step_role_arn=step_role_arn,
                )
                wave.add_stage(stage)
                stages.append(stage)
            self.consumer_stages[environment.name] += stages
            wave.add_post(self._check_step(environment, number, suffix, stages))

    def _check_quotas(self) -> None:
        stages = self.pipeline.pipeline.stages
        if len(stages) > MAX_STAGES:
            raise PipelineTooLarge(f"the pipeline has {len(stages)} stages, more than CodePipeline's {MAX_STAGES}")
        for stage in stages:
            if len(stage.actions) > MAX_ACTIONS_PER_STAGE:
                raise PipelineTooLarge(
                    f"pipeline stage {stage.stage_name} has {len(stage.actions)} actions, more than "
                    f"{MAX_ACTIONS_PER_STAGE}: lower consumers_per_wave"
                )
        self._check_artifact_grants()
        # isinstance rather than CfnResource.is_cfn_resource, which is one call to JavaScript per construct.
        resources = sum(1 for node in self.node.find_all() if isinstance(node, CfnResource))
        if resources >= MAX_RESOURCES:
            raise PipelineTooLarge(
                f"the pipeline stack has {resources} resources, CloudFormation allows {MAX_RESOURCES}: "
                "split the environments across several configs, one pipeline each"
            )

    def _check_artifact_grants(self) -> None:
        """CDK Pipelines grants the deployment roles of every target account on the artifact bucket and its
        key, about 95 characters per account in each policy: the bucket policy's 20 KB quota is what limits
        the consumer accounts of one pipeline first (about 205). Checked here, before synth, in one line; the
        validation plugin (stages/policy_sizes.py) checks every policy again in the synthesized templates."""
        limits = quotas(self.config.trust_policy_quota, pipeline=True)
        buckets = [(self, self.pipeline.pipeline.artifact_bucket)]
        # Targets in other regions are granted on CDK Pipelines' replication bucket there instead.
        buckets += [(s.stack, s.replication_bucket) for s in self.pipeline.pipeline.cross_region_support.values()]
        documents = []
        for stack, bucket in buckets:
            if bucket.policy is not None:
                documents.append((stack, limits["AWS::S3::BucketPolicy"], bucket.policy.document))
            key = bucket.encryption_key
            if isinstance(key, kms.Alias):  # the replication buckets' keys are given by their alias
                key = key.alias_target_key
            if isinstance(key, kms.Key):
                documents.append((stack, limits["AWS::KMS::Key"], key.node.default_child.key_policy))
        accounts = {(c.account, c.region) for e in self.config.environments for c in e.consumers}
        for stack, quota, document in documents:
            measured = size(stack.resolve(document))
            if measured > quota.limit:
                raise PipelineTooLarge(
                    f"the pipeline's artifact {quota.what} in {stack.region} is {measured:,} characters for "
                    f"{len(accounts)} consumer accounts, AWS allows {quota.limit:,}: {quota.fix}"
                )

    def _check_step(
        self, environment: Environment, number: int, suffix: str, stages: list[ConsumerStage]
    ) -> pipelines.CodeBuildStep:
        """One test step per wave: every CodeBuild step costs the pipeline stack a project, a role and a
        policy, so a step per consumer would not scale."""
        names = Names.of(self.config, environment)
        role = iam.Role(
            self,
            f"{environment.name}-CheckStepRole{suffix}",
            role_name=pipeline_check_step_role(self.config, environment, number),
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description=f"Pipeline test step of {environment.name}: may only assume the consumers' check roles",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                resources=[names.check_role_arn(stage.consumer) for stage in stages],
            )
        )
        targets = []
        outputs = {}
        for index, stage in enumerate(stages):
            target = Target(
                consumer=stage.consumer.name,
                account=stage.consumer.account,
                region=stage.consumer.region,
                function_variable=f"FUNCTION_{index}",
                role_variable=f"CHECK_ROLE_{index}",
            )
            targets.append(target)
            outputs[target.function_variable] = stage.stack.function_name
            outputs[target.role_variable] = stage.stack.check_role_arn
        return pipelines.CodeBuildStep(
            f"Check-{environment.name}{suffix}",
            input=self.source,
            role=role,
            install_commands=[f"python3 -m pip install --quiet boto3=={pinned_version('boto3')}"],
            commands=["python3 pipeline_steps/check_consumers.py"],
            env={TARGETS_VARIABLE: encode_targets(targets)},
            env_from_cfn_outputs=outputs,
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


def _check_stage_count(config: Config, consumers_per_wave: int) -> None:
    """Before any construct exists: the stages the configuration needs, against CodePipeline's quota."""
    stages = FIXED_STAGES + sum(1 + math.ceil(len(e.consumers) / consumers_per_wave) for e in config.environments)
    if stages > MAX_STAGES:
        consumers = sum(len(e.consumers) for e in config.environments)
        raise PipelineTooLarge(
            f"{len(config.environments)} environments with {consumers} consumers need {stages} pipeline stages, "
            f"more than CodePipeline's {MAX_STAGES} (each environment takes one stage plus one per "
            f"{consumers_per_wave} consumers): split the environments across several configs, one pipeline each"
        )


def _check_artifact_grants_bound(config: Config) -> None:
    """Before any construct exists: CDK Pipelines names each target account's deployment role in the policy of
    the artifact bucket of the target's region (the pipeline's own, or a replication bucket in another region).
    More accounts in one region than their role ARNs leave room for are over the quota whatever else the policy
    holds, so a config far too large is rejected at once rather than after building the pipeline
    (_check_artifact_grants measures the rest)."""
    by_region: dict[str, set[str]] = {}
    for environment in config.environments:
        for target in (environment.source, *environment.consumers):
            by_region.setdefault(target.region, set()).add(target.account)
    quota = quotas(config.trust_policy_quota, pipeline=True)["AWS::S3::BucketPolicy"]
    for region, accounts in by_region.items():
        at_least = sum(len(deployment_role_lower_bound(account, region)) for account in accounts)
        if at_least > quota.limit:
            raise PipelineTooLarge(
                f"{len(accounts)} target accounts in {region} make the pipeline's artifact {quota.what} there at "
                f"least {at_least:,} characters, AWS allows {quota.limit:,}: {quota.fix}"
            )


def deployment_role_lower_bound(account: str, region: str) -> str:
    """No longer than the principal CDK Pipelines writes for a target's deployment role, with its quotes and
    comma: the shortest partition and no bootstrap qualifier."""
    return f'"arn:aws:iam::{account}:role/cdk--deploy-role-{account}-{region}",'
