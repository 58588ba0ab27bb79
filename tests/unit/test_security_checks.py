"""cdk-nag's AWS Solutions checks run on every stack of every Stage of the App, and every finding left is
acknowledged with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from checks.register import register_checks
from config import load_config
from pipeline.app import cdk_json_context
from stages.consumer_stage import ConsumerStage
from stages.sharing_stage import SharingStage
from tests.conftest import EXAMPLE


@pytest.mark.parametrize("fixture", ["example", "organization"])
def test_no_unacknowledged_findings(request, fixture):
    synthesized = request.getfixturevalue(fixture)
    report = json.loads((Path(synthesized.app.outdir) / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []


def test_every_acknowledgement_states_its_reason(example):
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    acknowledged = {
        rule: reason
        for construct in example.app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == key
        for rule, reason in entry.data.items()
    }
    assert acknowledged
    for rule, reason in acknowledged.items():
        assert len(reason.split()) >= 5, f"{rule}: reason too short: {reason!r}"


def test_consumer_stacks_acknowledge_nothing_about_their_grants(example):
    # The consumer's own grants are exact; only the unknown key id, object keys and index names need a
    # wildcard, each acknowledged by name, never a whole rule.
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    stack = example.consumer("prod")
    rules = [
        rule
        for construct in stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == key
        for rule in entry.data
    ]
    # ECS2 (environment variables) and ECS4 (Container Insights) concern the task and cluster, S1 (access logs) the
    # Athena results bucket: not grants.
    assert all("[" in rule or any(r in rule for r in ("ECS2", "ECS4", "S1")) for rule in rules), rules


@pytest.mark.parametrize("stage_class", [SharingStage, ConsumerStage])
def test_a_finding_inside_a_stage_fails_synth(tmp_path, stage_class):
    config = load_config(EXAMPLE)
    environment = config.environments[1]
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    register_checks(app, trust_policy_quota=config.trust_policy_quota)
    kwargs = (
        {"consumer": environment.consumers[0], "proof_step_role_arn": "arn:aws:iam::111111111111:role/check"}
        if stage_class is ConsumerStage
        else {}
    )
    stage = stage_class(app, "Probe", config=config, environment=environment, **kwargs)
    # A wildcard policy nobody acknowledged: AwsSolutions-IAM5 must stop the synth.
    role = iam.Role(stage.stack, "Careless", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:Get*"], resources=["*"]))
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        app.synth()
    assert "AwsSolutions-IAM5[Action::s3:Get*]" in str(raised.value)
    assert "Probe/" in str(raised.value) and "/Careless/" in str(raised.value)
