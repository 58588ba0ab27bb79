"""The pipeline's artifacts in the regions it deploys to other than its own: CodePipeline copies every artifact
(templates and assets) there before a cross-region action. CDK Pipelines would create these buckets itself, without
versioning or enforced bucket ownership; the project supplies its own instead, to the same bar as its own buckets.

What CDK Pipelines grants on them stays its own: each target's deployment role in that region may read (checked
by a test: no role of another region is named)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, PhysicalName, RemovalPolicy, Stack
from aws_cdk import Environment as CdkEnvironment
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs.buckets import hardened
from cdk_constructs.findings import acknowledge
from config.model import Config
from config.naming import pipeline_replication_alias


class ReplicationStack(Stack):
    """One region's replication bucket and its key, in the tooling account."""

    def __init__(self, scope: Construct, id: str, *, config: Config, region: str, **kwargs: Any) -> None:
        super().__init__(scope, id, env=CdkEnvironment(account=config.tooling.account, region=region), **kwargs)
        key = kms.Key(
            self,
            "Key",
            enable_key_rotation=True,
            description=f"{config.project} pipeline artifacts replicated to {region}",
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The pipeline in another region names the key by its alias: a name known before the key exists.
        alias = kms.Alias(
            self,
            "Alias",
            alias_name=pipeline_replication_alias(config),
            target_key=key,
            # Deleted with the stack, so that a stack made again can take the name again; the key stays, for
            # what the retained bucket holds.
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=PhysicalName.GENERATE_IF_NEEDED,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=alias,
            removal_policy=RemovalPolicy.RETAIN,
            **hardened(),
            # Artifacts serve the run that wrote them, each under a key of its own: they go after a month.
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(30),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        acknowledge(
            self.bucket,
            {
                "AwsSolutions-S1": (
                    "Holds only the pipeline's transient artifacts, written and read by the pipeline's own roles; "
                    "CloudTrail records their access."
                )
            },
        )


def replication_regions(config: Config) -> list[str]:
    """The regions the pipeline deploys to other than its own, in config order."""
    regions: dict[str, None] = {}
    for environment in config.environments:
        for region in (environment.source.region, *(c.region for c in environment.consumers)):
            if region != config.tooling.region:
                regions[region] = None
    return list(regions)
