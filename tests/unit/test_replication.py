"""The pipeline's replication buckets (one per region it deploys to other than its own) are the project's, to the
bar of its own buckets, and CDK Pipelines grants on them only the deployment roles of their region."""

from __future__ import annotations

import json

import pytest

from config.loader import parse_config
from config.naming import pipeline_replication_alias
from pipeline.app import Synthesized, synthesize
from tests.configs import config_text
from tests.templates import only, resources

THREE_REGIONS = config_text(
    "multi",
    """\
  - name: prod
    source: {account: "222222222222", region: eu-west-1}
    consumers:
      - {name: here, account: "333333333333", region: eu-west-1}
      - {name: frankfurt, account: "444444444444", region: eu-central-1}
      - {name: virginia, account: "555555555555", region: us-east-1}
      - {name: virginia-two, account: "666666666666", region: us-east-1}
""",
)
ACCOUNTS = ("222222222222", "333333333333", "444444444444", "555555555555", "666666666666")
EXTRA = {"eu-central-1": {"444444444444"}, "us-east-1": {"555555555555", "666666666666"}}


@pytest.fixture(scope="module")
def multi(tmp_path_factory) -> Synthesized:
    return synthesize(parse_config(THREE_REGIONS), tmp_path_factory.mktemp("multi"))


@pytest.mark.parametrize("region", sorted(EXTRA))
def test_each_extra_region_has_a_hardened_bucket_and_key_of_the_project(multi, region):
    stack = multi.pipeline.deployables.replication[region]
    assert stack.region == region and stack.account == "111111111111"
    template = multi.template_json(stack)
    bucket = only(template, "AWS::S3::Bucket")["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert only(template, "AWS::KMS::Key")["Properties"]["EnableKeyRotation"] is True
    assert only(template, "AWS::KMS::Alias")["Properties"]["AliasName"] == pipeline_replication_alias(multi.config)
    policy = only(template, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    denied = [s.get("Condition") for s in policy if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in denied
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in denied  # the bar of the project's own buckets
    # CDK Pipelines' grants: the deployment roles of this region's targets, and no other.
    granted = json.dumps([s["Principal"] for s in policy if s["Effect"] == "Allow"])
    assert {
        a for a in ("222222222222", "333333333333", "444444444444", "555555555555", "666666666666") if a in granted
    } == EXTRA[region]
    assert all(f"deploy-role-{account}-{region}" in granted for account in EXTRA[region])


def test_the_pipeline_uses_them_and_deploys_after_them(multi):
    pipeline = multi.template_json(multi.pipeline)
    (codepipeline,) = resources(pipeline, "AWS::CodePipeline::Pipeline").values()
    stores = {store["Region"]: store["ArtifactStore"] for store in codepipeline["Properties"]["ArtifactStores"]}
    assert set(stores) == {"eu-west-1", *EXTRA}
    for region in EXTRA:
        bucket = only(multi.template_json(multi.pipeline.deployables.replication[region]), "AWS::S3::Bucket")
        assert stores[region]["Location"] == bucket["Properties"]["BucketName"]
        assert stores[region]["EncryptionKey"]["Id"].endswith(pipeline_replication_alias(multi.config))
    assert set(multi.pipeline.dependencies) >= set(multi.pipeline.deployables.replication.values())
    # CDK Pipelines made no replication stack of its own.
    assert [s.stack_name for s in multi.app.node.children if "cross-region-stack" in getattr(s, "stack_name", "")] == []
