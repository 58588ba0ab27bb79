"""Capacity: what one pipeline can hold, checked in one line before anything is written.

CodePipeline holds at most 50 actions in a stage and 50 stages in a pipeline, and CloudFormation 500
resources in a stack. Each stack deploys in one action (no change sets), so a wave of up to 49 consumers and
its test step fill one pipeline stage: the pipeline grows by one stage per 49 consumers and its own stack by
one CodeBuild project, role and policy per wave.

What limits the consumer accounts of one pipeline first is none of those: CDK Pipelines grants each target
account's deployment role on the artifact bucket and its key, about 95 characters per account in each
policy, and the bucket policy's 20 KB quota is full at about 205 accounts (see artifact_grants).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

from checks.limits import SPLIT_FIX, quotas, size
from config import quotas as aws
from config.loader import ConfigError
from config.model import AccountRegion, Config, Consumer
from config.naming import bootstrap_role
from stacks.extensions import ExtensionError

if TYPE_CHECKING:
    from aws_cdk import Stack, pipelines

MAX_ACTIONS_PER_STAGE = aws.CODEPIPELINE_ACTIONS_PER_STAGE
MAX_STAGES = aws.CODEPIPELINE_STAGES
MAX_RESOURCES = aws.CLOUDFORMATION_RESOURCES
# Source, Build, UpdatePipeline and Assets come before the environments' stages.
FIXED_STAGES = 4
CONSUMERS_PER_WAVE = MAX_ACTIONS_PER_STAGE - 1  # and the wave's test step


class PipelineTooLarge(ConfigError):
    """A configuration one pipeline cannot hold; the message says why and what to change."""


def within_one_pipeline(config: Config, consumers_per_wave: int) -> None:
    """What the config alone tells of the pipeline's size (pipeline/preflight.py runs it): the stages it needs, a lower
    bound of the artifact grants, the boundary's size, and each consumer's documents."""
    _stage_count(config, consumers_per_wave)
    _artifact_grants_bound(config)
    _boundary(config)
    _consumers_documents(config)
    _access_points_and_grants(config)


def _access_points_and_grants(config: Config) -> None:
    """The access points of each source account and region within S3's 10,000, and the grants of each existing key
    (one per consumer role and dataset) within KMS's 50,000; grants others made on the key count too, which the config
    cannot see (make doctor lists a key's grants)."""
    from config.naming import Names

    points: dict[tuple[str, str], int] = {}
    grants: dict[str, int] = {}
    for environment in config.environments:
        names = Names.of(config, environment)
        source = (environment.source.account, environment.source.region)
        points[source] = points.get(source, 0) + sum(
            names.dataset(d).through_access_point for d in environment.datasets
        )
        for consumer in environment.consumers:
            for n, _ in names.key_grant_datasets(environment, consumer):
                key = (n.dataset.bucket.kms_key if n.dataset.bucket else None) or ""
                grants[key] = grants.get(key, 0) + len(names.consumer_role_arns(consumer))
    for (account, region), count in points.items():
        if count > aws.S3_ACCESS_POINTS_PER_REGION:
            raise PipelineTooLarge(
                f"the datasets of source account {account} in {region} make {count} access points, more than S3's "
                f"{aws.S3_ACCESS_POINTS_PER_REGION:,} per account and region: share fewer datasets through access "
                "points"
            )
    for key, count in grants.items():
        if count > aws.KMS_GRANTS_PER_KEY:
            raise PipelineTooLarge(
                f"the consumers' roles given datasets of the key {key} need {count} grants of it, more than KMS's "
                f"{aws.KMS_GRANTS_PER_KEY:,} per key: give fewer roles those datasets, or encrypt them with more keys"
            )


# IAM's quotas on a role's inline policies (together), and Lambda's on a function's environment variables.
INLINE_POLICIES_CHARACTERS = aws.IAM_ROLE_INLINE_POLICIES_CHARACTERS
LAMBDA_ENVIRONMENT_BYTES = aws.LAMBDA_ENVIRONMENT_BYTES


def _consumers_documents(config: Config) -> None:
    """What grows with the datasets a consumer is given: its shared-data policy, its function's environment (which
    also lists the datasets it is refused) and its source role's policy, measured as they will deploy."""
    import json

    from cdk_constructs.documents import consumer_policy, runtime_environment, source_role_policy
    from config.naming import Names

    for environment in config.environments:
        names = Names.of(config, environment)
        for consumer in environment.consumers:
            where = f"environments[{environment.name}].consumers[{consumer.name}] (given {len(consumer.grants)} "
            where += f"datasets of {len(environment.datasets)})"
            measured = [
                (size(consumer_policy(names, environment, consumer)), MANAGED_POLICY_CHARACTERS, "its policy"),
                (
                    size(source_role_policy(names, environment, consumer)),
                    INLINE_POLICIES_CHARACTERS,
                    "its source role's policy",
                ),
                (
                    len(json.dumps(runtime_environment(names, environment, consumer), separators=(",", ":"))),
                    LAMBDA_ENVIRONMENT_BYTES,
                    "its function's environment (the datasets it is given and refused)",
                ),
            ]
            for value, limit, what in measured:
                if value > limit:
                    raise PipelineTooLarge(
                        f"{where}: {what} is {value:,} characters, AWS allows {limit:,}: give the consumer fewer "
                        "datasets, or split the environment's datasets over environments (or configs)"
                    )


# IAM's quota on a customer managed policy, which the permissions boundary is.
MANAGED_POLICY_CHARACTERS = aws.IAM_MANAGED_POLICY_CHARACTERS


def _boundary(config: Config) -> None:
    """The permissions boundary `make bootstrap` writes names every existing bucket, table and key the datasets
    share (bootstrap/policies.py): it must stay within a managed policy's quota."""
    from bootstrap.policies import BoundaryStatementError, permissions_boundary

    try:
        boundary = permissions_boundary(config, config.tooling.partition)
    except BoundaryStatementError as error:
        raise ExtensionError(str(error)) from None
    measured = size(boundary)
    if measured > MANAGED_POLICY_CHARACTERS:
        raise PipelineTooLarge(
            f"the permissions boundary is {measured:,} characters with the existing buckets, tables and keys the "
            f"datasets name, IAM allows {MANAGED_POLICY_CHARACTERS:,} for a managed policy: share fewer existing "
            "resources in one config, or prefixes of fewer buckets"
        )


def stage_resources(stacks: dict[str, Stack]) -> None:
    """Each sharing and consumer stack, before the app synthesizes, within CloudFormation's 500 resources: a sharing
    stack grows by about 8 per dataset and 2 per consumer reaching a dataset through a role."""
    from aws_cdk import CfnResource
    from aws_cdk import aws_s3 as s3

    bucket_quota = quotas(aws.IAM_TRUST_POLICY_CHARACTERS)["AWS::S3::BucketPolicy"].limit
    for where, stack in stacks.items():
        nodes = stack.node.find_all()
        resources = sum(1 for node in nodes if isinstance(node, CfnResource))
        if resources >= MAX_RESOURCES:
            raise PipelineTooLarge(
                f"{where} has {resources} resources, CloudFormation allows {MAX_RESOURCES} in a stack: share fewer "
                "datasets in the environment, or split its datasets or consumers over environments (or configs)"
            )
        # The bucket policies, as they will synthesize: the access-log bucket's names every dataset bucket that logs
        # to it (about 500 characters each), a dataset bucket's the consumers given it.
        for node in nodes:
            if isinstance(node, s3.CfnBucketPolicy):
                measured = size(stack.resolve(node.policy_document))
                if measured > bucket_quota:
                    raise PipelineTooLarge(
                        f"{where}: the bucket policy {node.node.path} is {measured:,} characters, AWS allows "
                        f"{bucket_quota:,}: share fewer datasets with buckets of their own in the environment, or "
                        "split them over environments (or configs)"
                    )


def after_construction(stack: Stack, pipeline: pipelines.CodePipeline, config: Config) -> None:
    """The built pipeline, before the app synthesizes: its stages, actions, artifact grants and resources."""
    # Imported here: preflight runs before the CDK builds anything (pipeline/preflight.py).
    from aws_cdk import CfnResource

    stages = pipeline.pipeline.stages
    if len(stages) > MAX_STAGES:
        raise PipelineTooLarge(f"the pipeline has {len(stages)} stages, more than CodePipeline's {MAX_STAGES}")
    for stage in stages:
        if len(stage.actions) > MAX_ACTIONS_PER_STAGE:
            raise PipelineTooLarge(
                f"pipeline stage {stage.stage_name} has {len(stage.actions)} actions, more than "
                f"{MAX_ACTIONS_PER_STAGE}: lower consumers_per_wave"
            )
    artifact_grants(stack, pipeline, config)
    # isinstance rather than CfnResource.is_cfn_resource, which is one call to JavaScript per construct.
    resources = sum(1 for node in stack.node.find_all() if isinstance(node, CfnResource))
    if resources >= MAX_RESOURCES:
        raise PipelineTooLarge(
            f"the pipeline stack has {resources} resources, CloudFormation allows {MAX_RESOURCES}: {SPLIT_FIX}"
        )


def artifact_grants(stack: Stack, pipeline: pipelines.CodePipeline, config: Config) -> None:
    """CDK Pipelines grants the deployment roles of every target account on the artifact bucket and its key,
    about 95 characters per account in each policy: the bucket policy's 20 KB quota is what limits the consumer
    accounts of one pipeline first (about 205). Measured here, before synth, in one line; the quota checks
    (checks/limits.py, run by checks/policy_sizes.py) measure every policy again in the synthesized templates."""
    from aws_cdk import aws_kms as kms

    limits = quotas(config.trust_policy_quota, pipeline=True)
    buckets = [(stack, pipeline.pipeline.artifact_bucket)]
    # Targets in other regions are granted on CDK Pipelines' replication bucket there instead.
    buckets += [(s.stack, s.replication_bucket) for s in pipeline.pipeline.cross_region_support.values()]
    documents = []
    for holder, bucket in buckets:
        if bucket.policy is not None:
            documents.append((holder, limits["AWS::S3::BucketPolicy"], bucket.policy.document))
        key = bucket.encryption_key
        if isinstance(key, kms.Alias):  # the replication buckets' keys are given by their alias
            key = key.alias_target_key
        if isinstance(key, kms.Key):
            documents.append((holder, limits["AWS::KMS::Key"], cast(kms.CfnKey, key.node.default_child).key_policy))
    accounts = {(c.account, c.region) for e in config.environments for c in e.consumers}
    for holder, quota, document in documents:
        measured = size(holder.resolve(document))
        if measured > quota.limit:
            raise PipelineTooLarge(
                f"the pipeline's artifact {quota.what} in {holder.region} is {measured:,} characters for "
                f"{len(accounts)} consumer accounts, AWS allows {quota.limit:,}: {quota.fix}"
            )


def _stage_count(config: Config, consumers_per_wave: int) -> None:
    stages = FIXED_STAGES + sum(1 + math.ceil(len(e.consumers) / consumers_per_wave) for e in config.environments)
    if stages > MAX_STAGES:
        consumers = sum(len(e.consumers) for e in config.environments)
        raise PipelineTooLarge(
            f"{len(config.environments)} environments with {consumers} consumers need {stages} pipeline stages, "
            f"more than CodePipeline's {MAX_STAGES} (each environment takes one stage plus one per "
            f"{consumers_per_wave} consumers): {SPLIT_FIX}"
        )


def _artifact_grants_bound(config: Config) -> None:
    """CDK Pipelines names each target account's deployment role in the policy of the artifact bucket of the
    target's region (the pipeline's own, or a replication bucket in another region). More accounts in one region
    than their role ARNs leave room for are over the quota whatever else the policy holds, so a config far too
    large is rejected at once rather than after building the pipeline (artifact_grants measures the rest)."""
    by_region: dict[str, set[str]] = {}
    for environment in config.environments:
        targets: list[AccountRegion | Consumer] = [environment.source, *environment.consumers]
        for target in targets:
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
    comma: the shortest partition and an empty bootstrap qualifier."""
    return f'"arn:aws:iam::{account}:role/{bootstrap_role("deploy", account, region, qualifier="")}",'
