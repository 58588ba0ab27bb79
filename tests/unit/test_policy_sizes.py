"""Policy sizes are checked at synth against AWS's quotas, with the fix named."""

from __future__ import annotations

from dataclasses import replace

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from checks import limits
from checks.limits import (
    INTRINSIC_WEIGHT,
    MANAGED_POLICIES_PER_ROLE,
    TEMPLATE_BYTES,
    measure,
    size,
    template_too_large,
)
from checks.register import register_checks
from config import load_config
from pipeline.app import cdk_json_context
from stages.sharing_stage import SharingStage
from tests.conftest import EXAMPLE


def _statement(principals: int) -> dict:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": [f"arn:aws:iam::{100000000000 + i}:root" for i in range(principals)]},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bucket/*",
    }


def _template(kind: str, properties: dict) -> dict:
    return {"Resources": {"It": {"Type": kind, "Properties": properties}}}


def test_size_is_compact_json_with_intrinsics_counted_generously():
    assert size({"a": [1, 2]}) == len('{"a":[1,2]}')
    assert size({"Resource": {"Fn::GetAtt": ["Bucket", "Arn"]}}) == len('{"Resource":}') + INTRINSIC_WEIGHT
    # A pseudo parameter as its longest value: the longest partition today is aws-us-gov.
    assert size({"Ref": "AWS::Partition"}) == len('"aws-us-gov"') + 6
    # Fn::Join as its parts: how CDK Pipelines names a target account's deployment role.
    role = ":iam::300000000000:role/cdk-hnb659fds-deploy-role-300000000000-eu-west-1"
    joined = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, role]]}
    assert size(joined) == len(f'"arn:{"x" * 16}{role}"')
    assert size(joined) >= len(f'"arn:aws-us-gov{role}"')
    # Separators count, and a part CloudFormation fills from a resource counts as 128.
    assert size({"Fn::Join": ["/", ["a", {"Fn::GetAtt": ["Bucket", "Arn"]}]]}) == len('"a/"') + INTRINSIC_WEIGHT - 2


@pytest.mark.parametrize(
    ("kind", "key", "limit", "rule"),
    [
        ("AWS::S3::BucketPolicy", "PolicyDocument", 20 * 1024, "BucketPolicySize"),
        ("AWS::KMS::Key", "KeyPolicy", 32 * 1024, "KeyPolicySize"),
        ("AWS::IAM::ManagedPolicy", "PolicyDocument", 6 * 1024, "ManagedPolicySize"),
        ("AWS::IAM::Role", "AssumeRolePolicyDocument", 2048, "TrustPolicySize"),
    ],
)
def test_each_quota_is_enforced_just_above_its_limit(kind, key, limit, rule):
    principals = 1
    while size({"Statement": [_statement(principals)]}) <= limit:
        principals += 1
    fits = _template(kind, {key: {"Statement": [_statement(principals - 1)]}})
    too_big = _template(kind, {key: {"Statement": [_statement(principals)]}})
    assert measure(fits, 2048) == []
    ((quota, logical_id, measured),) = measure(too_big, 2048)
    assert (quota.rule, logical_id) == (rule, "It") and measured > limit
    assert "organization_id" in quota.fix


def test_a_raised_trust_quota_is_honoured_and_otherwise_suggested():
    role = _template("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [_statement(80)]}})
    ((quota, _, _),) = measure(role, 2048)
    assert "trust_policy_quota: 4096" in quota.fix
    assert measure(role, 4096) == []


def test_inline_policies_of_a_role_add_up():
    document = {"Statement": [_statement(160)]}  # about 5,400 characters each
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "One": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": document}},
            "Two": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": document}},
        }
    }
    ((quota, logical_id, _),) = measure(template, 2048)
    assert (quota.rule, logical_id) == ("InlinePoliciesSize", "Role")


def test_managed_policies_attached_to_a_role_are_counted_both_ways():
    # CDK attaches its overflow policies from the policy's side (Roles), others from the role's side.
    def template(overflow: int) -> dict:
        resources = {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {}, "ManagedPolicyArns": ["arn:aws:iam::aws:policy/A"]},
            }
        }
        for i in range(overflow):
            resources[f"Overflow{i}"] = {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": {"Statement": []}},
            }
        return {"Resources": resources}

    assert measure(template(MANAGED_POLICIES_PER_ROLE - 1), 2048) == []
    ((quota, logical_id, count),) = measure(template(MANAGED_POLICIES_PER_ROLE), 2048)
    assert (quota.rule, logical_id, count) == ("ManagedPoliciesPerRole", "Role", MANAGED_POLICIES_PER_ROLE + 1)
    assert "one pipeline each" in quota.fix


def test_a_template_is_measured_in_bytes_as_written(tmp_path):
    path = tmp_path / "t.template.json"
    path.write_text("x" * TEMPLATE_BYTES)
    assert template_too_large(str(path)) is None
    path.write_text("x" * (TEMPLATE_BYTES + 1))
    assert template_too_large(str(path)) == TEMPLATE_BYTES + 1


def test_a_template_over_its_quota_fails_synth_with_the_fix(tmp_path, monkeypatch):
    # A sharing stack is about 20 KB: with the quota lowered to 1,000 bytes it is over.
    monkeypatch.setattr(limits, "TEMPLATE_SIZE", replace(limits.TEMPLATE_SIZE, limit=1000))
    config = load_config(EXAMPLE)
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    register_checks(app, trust_policy_quota=config.trust_policy_quota)
    SharingStage(app, "Probe", config=config, environment=config.environments[1])
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        app.synth()
    message = str(raised.value)
    assert "TemplateSize" in message
    assert "AWS allows 1,000." in message and "one pipeline each" in message


def test_an_oversized_policy_in_a_stage_fails_synth_with_the_fix(tmp_path):
    config = load_config(EXAMPLE)
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    register_checks(app, trust_policy_quota=config.trust_policy_quota)
    stage = SharingStage(app, "Probe", config=config, environment=config.environments[1])
    role = iam.Role(
        stage.stack,
        "Crowded",
        assumed_by=iam.CompositePrincipal(*[iam.AccountPrincipal(str(100000000000 + i)) for i in range(80)]),
    )
    assert role
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        app.synth()
    message = str(raised.value)
    assert "TrustPolicySize" in message or "role trust policy" in message
    assert "organization_id" in message
