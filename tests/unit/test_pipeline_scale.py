"""The pipeline within CodePipeline's and CloudFormation's quotas: waves of at most 49 consumers, one test
step per wave, and a clear error where one pipeline cannot hold a configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import aws_cdk as cdk
import pytest

import pipeline.capacity as capacity
from checks import limits as policy_limits
from checks.limits import size
from config import load_config
from config.loader import parse_config
from pipeline.app import ROOT, build_app, cdk_json_context
from pipeline.capacity import PipelineTooLarge, deployment_role_lower_bound
from tests.conftest import EXAMPLE
from tests.templates import only


def _config(environments: int, consumers: int) -> str:
    lines = [
        "project: scale",
        'tooling: {account: "111111111111", region: eu-west-1}',
        "repository: {codecommit_repository: data-sharing}",
        "consumer_image: public.ecr.aws/example/consumer:1.0",
        "environments:",
    ]
    for e in range(environments):
        lines += [
            f"  - name: e{e}",
            f'    source: {{account: "{200000000000 + e:012d}", region: eu-west-1}}',
            "    consumers:",
        ]
        lines += [
            f'      - {{name: c{c}, account: "{300000000000 + c:012d}", region: eu-west-1}}' for c in range(consumers)
        ]
    return "\n".join(lines) + "\n"


def _app(tmp_path) -> cdk.App:
    return cdk.App(context=cdk_json_context(), outdir=str(tmp_path))


def test_consumers_beyond_a_wave_spill_into_further_waves_each_with_its_own_test_step(tmp_path):
    config = parse_config(_config(1, 5))
    app = _app(tmp_path)
    built = build_app(config, config_path="scale.yaml", app=app, consumers_per_wave=2)
    template = app.synth().get_stack_by_name(built.pipeline.stack_name).template
    stages = only(template, "AWS::CodePipeline::Pipeline")["Properties"]["Stages"]
    waves = {s["Name"]: [a["Name"] for a in s["Actions"]] for s in stages if s["Name"].startswith("e0-")}
    assert waves == {
        "e0-sharing": ["Deploy"],
        "e0-consumers-1": ["e0-c0.scale-e0-c0.Deploy", "e0-c1.scale-e0-c1.Deploy", "Prove-e0-1"],
        "e0-consumers-2": ["e0-c2.scale-e0-c2.Deploy", "e0-c3.scale-e0-c3.Deploy", "Prove-e0-2"],
        "e0-c4": ["scale-e0-c4.Deploy", "Prove-e0-3"],  # a wave of one stage takes that stage's name
    }
    # Each wave's step role may assume only its own consumers' proof roles, and they trust only it.
    roles = {
        r["Properties"]["RoleName"]: k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and r["Properties"].get("RoleName", "").startswith("scale-e0-proof-step-")
    }
    assert sorted(roles) == ["scale-e0-proof-step-1", "scale-e0-proof-step-2", "scale-e0-proof-step-3"]
    consumer = built.consumer("e0", 4)
    trust = json.dumps(
        app.synth()
        .get_nested_assembly(cdk.Stage.of(consumer).artifact_id)
        .get_stack_artifact(consumer.artifact_id)
        .template
    )
    assert "role/scale-e0-proof-step-3" in trust and "proof-step-1" not in trust


def test_stage_count_beyond_the_quota_fails_before_any_construct_with_the_fix_named(tmp_path):
    # 4 fixed stages + 24 environments x (sharing + 1 wave) = 52 stages.
    config = parse_config(_config(24, 1))
    app = _app(tmp_path)
    with pytest.raises(
        PipelineTooLarge,
        match=r"24 environments with 24 consumers need 52 pipeline stages, more "
        r"than CodePipeline's 50 .*split the environments across several configs",
    ):
        build_app(config, config_path="big.yaml", app=app)
    assert app.node.children == []


def test_too_many_actions_or_resources_fail_synth_with_the_reason(tmp_path, monkeypatch):
    config = load_config(EXAMPLE)
    monkeypatch.setattr(capacity, "MAX_ACTIONS_PER_STAGE", 3)
    # prod-sharing: the broadening check and its confirmation, the approval and the deploy.
    with pytest.raises(PipelineTooLarge, match="pipeline stage prod-sharing has 4 actions, more than 3"):
        build_app(config, config_path="x.yaml", app=_app(tmp_path / "a"))
    monkeypatch.setattr(capacity, "MAX_ACTIONS_PER_STAGE", 50)
    monkeypatch.setattr(capacity, "MAX_RESOURCES", 20)
    with pytest.raises(PipelineTooLarge, match=r"the pipeline stack has \d+ resources, CloudFormation allows 20"):
        build_app(config, config_path="x.yaml", app=_app(tmp_path / "b"))


def test_artifact_grants_beyond_the_policy_quotas_fail_before_synth_with_the_fix(tmp_path, monkeypatch):
    # CDK Pipelines grants every consumer account's deployment role on the artifact bucket and its key; about
    # 205 consumer accounts fill the bucket policy's 20 KB. Lowered here so that the example's four do.
    def lowered(trust_policy_quota, *, pipeline=False):
        limits = policy_limits.quotas(trust_policy_quota, pipeline=pipeline)
        return {**limits, "AWS::S3::BucketPolicy": replace(limits["AWS::S3::BucketPolicy"], limit=1000)}

    monkeypatch.setattr(capacity, "quotas", lowered)
    app = _app(tmp_path)
    with pytest.raises(
        PipelineTooLarge,
        match=r"the pipeline's artifact bucket policy in eu-west-1 is [\d,]+ characters for 4 consumer accounts, "
        r"AWS allows 1,000: split .* one pipeline each",
    ):
        build_app(load_config(EXAMPLE), config_path="x.yaml", app=app)
    # Before the app's synth: no manifest, so the CDK CLI deploys nothing. (CDK Pipelines has already written
    # the stages' own assemblies while adding them.)
    assert not (tmp_path / "manifest.json").exists()


def test_far_too_many_consumer_accounts_fail_before_any_construct(tmp_path):
    config = parse_config(_config(1, 400))
    app = _app(tmp_path)
    with pytest.raises(
        PipelineTooLarge,
        match=r"401 target accounts in eu-west-1 make the pipeline's artifact bucket policy there at least 29,273 "
        r"characters, AWS allows 20,480: split",
    ):
        build_app(config, config_path="big.yaml", app=app)
    assert app.node.children == []


def test_the_early_bound_never_exceeds_the_policy_it_bounds(example):
    # Sound only while CDK Pipelines names each account's deployment role once, in the bucket of its region:
    # measured on the example, whose prod has a consumer in another region than the pipeline's.
    config = example.config
    stack = example.pipeline
    document = stack.resolve(stack.pipeline.pipeline.artifact_bucket.policy.document)
    region = config.tooling.region
    targets = {(a.account, a.region) for e in config.environments for a in (e.source, *e.consumers)}
    here = {account for account, target_region in targets if target_region == region}
    assert len(here) < len(targets)
    text = json.dumps(document)
    assert text.count("deploy-role-") == len(here)
    bounds = [deployment_role_lower_bound(account, region) for account in here]
    assert sum(len(b) for b in bounds) <= size(document)
    principals = document["Statement"][1]["Principal"]["AWS"]
    assert len(bounds[0]) <= size(principals[0]) + 1  # each at most one principal, with its comma


def test_app_reports_a_config_too_large_in_one_line(tmp_path):
    config_path = tmp_path / "big.yaml"
    config_path.write_text(_config(24, 1))
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path / "out"),
        "CDK_CONTEXT_JSON": json.dumps({"config": str(config_path)}),
    }
    result = subprocess.run(
        [sys.executable, "pipeline_app.py"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "need 52 pipeline stages" in lines[0]


def test_a_wave_of_long_named_consumers_keeps_every_action_configuration_value_within_1000(tmp_path):
    # CodePipeline rejects an action configuration value over 1,000 characters; with stack outputs passed to the
    # test step (about 200 characters a consumer), a wave of 6 was past it.
    text = _config(1, 6).replace("name: c", "name: consumer-long-n")
    built = build_app(parse_config(text), config_path="x.yaml", app=_app(tmp_path))
    template = built.app.synth().get_stack_by_name(built.pipeline.stack_name).template
    stages = only(template, "AWS::CodePipeline::Pipeline")["Properties"]["Stages"]
    (wave,) = [s for s in stages if s["Name"] == "e0-consumers"]
    assert len(wave["Actions"]) == 7
    longest = max(
        len(value if isinstance(value, str) else json.dumps(value))
        for stage in stages
        for action in stage["Actions"]
        for value in action.get("Configuration", {}).values()
    )
    assert longest <= 1000


@pytest.mark.parametrize(
    ("datasets", "says"),
    [(17, "its policy is 6,1"), (30, "its policy is 9,9")],
)
def test_a_consumer_given_more_datasets_than_its_policy_holds_is_one_line_before_anything_is_written(
    tmp_path, capsys, datasets, says
):
    from pipeline.app import synthesize_or_report
    from tools.bench.datasets import config_with

    config = parse_config(config_with(datasets, 1))
    assert synthesize_or_report(config, tmp_path / "out", config_path="lake.yaml") is None
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        f"error: lake.yaml: environments[env0].consumers[c0] (given {datasets} datasets of {datasets})"
    )
    assert says in line and "AWS allows 6,144: give the consumer fewer datasets" in line
    assert not list(tmp_path.glob("out/**/*.json"))  # no template, no manifest


def test_a_function_environment_past_lambdas_4_kb_is_one_line(monkeypatch):
    from pipeline import capacity
    from tools.bench.datasets import config_with

    monkeypatch.setattr(capacity, "LAMBDA_ENVIRONMENT_BYTES", 400)  # 3 datasets make about 700 bytes
    with pytest.raises(capacity.PipelineTooLarge, match=r"its function's environment \(the datasets it is given and "):
        capacity.within_one_pipeline(parse_config(config_with(3, 1)), capacity.CONSUMERS_PER_WAVE)


def test_a_sharing_stack_past_500_resources_is_one_line_before_synth(tmp_path, monkeypatch):
    from tools.bench.datasets import config_with

    monkeypatch.setattr(capacity, "MAX_RESOURCES", 60)  # 8 datasets make about 70
    with pytest.raises(
        PipelineTooLarge, match=r"the sharing stack of env0 has \d+ resources, CloudFormation allows 60"
    ):
        build_app(parse_config(config_with(8, 1)), config_path="x.yaml", app=_app(tmp_path))


def test_an_access_log_bucket_policy_past_its_quota_is_one_line_before_synth(tmp_path, monkeypatch):
    from dataclasses import replace as replaced

    from tools.bench.datasets import config_with

    def lowered(trust_policy_quota, *, pipeline=False):
        limits = policy_limits.quotas(trust_policy_quota, pipeline=pipeline)
        return {**limits, "AWS::S3::BucketPolicy": replaced(limits["AWS::S3::BucketPolicy"], limit=3000)}

    monkeypatch.setattr(capacity, "quotas", lowered)  # 8 buckets log to the access-log bucket: about 4,800
    with pytest.raises(
        PipelineTooLarge, match=r"the sharing stack of env0: the bucket policy .*AccessLogs.* AWS allows 3,000"
    ):
        build_app(parse_config(config_with(8, 1)), config_path="x.yaml", app=_app(tmp_path))


def test_access_points_past_s3s_quota_and_grants_past_kmss_are_one_line_before_synth(monkeypatch):
    from config import quotas
    from tests.conftest import ORGANIZATION_CONFIG

    config = parse_config(ORGANIZATION_CONFIG)  # raw: one access point; 4 roles of analytics granted its key
    capacity.within_one_pipeline(config, capacity.CONSUMERS_PER_WAVE)
    monkeypatch.setattr(quotas, "KMS_GRANTS_PER_KEY", 3)
    with pytest.raises(PipelineTooLarge, match=r"need 4 grants of it, more than KMS's 3 per key"):
        capacity.within_one_pipeline(config, capacity.CONSUMERS_PER_WAVE)
    monkeypatch.setattr(quotas, "S3_ACCESS_POINTS_PER_REGION", 0)
    with pytest.raises(PipelineTooLarge, match=r"222222222222 in eu-west-1 make 1 access points, more than S3's 0"):
        capacity.within_one_pipeline(config, capacity.CONSUMERS_PER_WAVE)
