"""The CDK's CloudFormation template validation runs on every stack that belongs to no family, and on one
stack of each family of consumer stacks built alike (checks/template_validation.py)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import PolicyValidationStack

from checks.register import register_checks
from checks.template_validation import template_validation
from config import load_config
from pipeline.app import cdk_json_context
from stages.consumer_stage import ConsumerStage
from stages.sharing_stage import SharingStage
from tests.conftest import EXAMPLE


def _stack(path: str) -> PolicyValidationStack:
    return PolicyValidationStack(stack_construct_path=path, template_path=f"/out/{path}.json")


def test_selects_stacks_without_a_family_and_the_first_of_each_family_of_each_app():
    plugin = template_validation(cdk.App())
    app, other = cdk.App(), cdk.App()
    for path in ("dev-a/Consumer", "dev-b/Consumer", "dev-c/Consumer"):
        plugin.add_to_family(app, path, "dev in eu-west-1")
    plugin.add_to_family(app, "prod-a/Consumer", "prod in eu-west-1")
    stacks = [_stack(p) for p in ("pipeline", "dev-a/Consumer", "dev-b/Consumer", "dev-c/Consumer", "prod-a/Consumer")]
    selected = [s.stack_construct_path for s in plugin.select(app, stacks)]
    assert selected == ["pipeline", "dev-a/Consumer", "prod-a/Consumer"]
    # Another app's stacks of the same paths belong to no family there.
    assert plugin.select(other, stacks) == stacks


def test_one_validation_engine_serves_every_app():
    # Each engine costs about 2 s and 100 MB that jsii never frees.
    assert template_validation(cdk.App()) is template_validation(cdk.App())


def _app_with_consumers(tmp_path, count: int) -> tuple[cdk.App, list[ConsumerStage], SharingStage]:
    config = load_config(EXAMPLE)
    environment = config.environments[1]
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    checks = register_checks(app, trust_policy_quota=config.trust_policy_quota)
    sharing = SharingStage(app, "Source", config=config, environment=environment)
    consumers = [
        ConsumerStage(
            app,
            f"Probe{index}",
            config=config,
            environment=environment,
            consumer=environment.consumers[0],
            proof_step_role_arn="arn:aws:iam::111111111111:role/check",
        )
        for index in range(count)
    ]
    for stage in consumers:
        checks.add_to_family(stage.stack, stage.family)
    return app, consumers, sharing


def _break(stack: cdk.Stack) -> None:
    # A property the resource's schema does not have: CloudFormation would reject the template.
    cdk.CfnResource(stack, "Broken", type="AWS::SNS::Topic", properties={"NoSuchProperty": "x"})


@pytest.mark.parametrize("which", ["sharing", "first consumer"])
def test_a_schema_error_fails_synth(tmp_path, which):
    app, consumers, sharing = _app_with_consumers(tmp_path, 2)
    _break(sharing.stack if which == "sharing" else consumers[0].stack)
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        app.synth()
    assert "NoSuchProperty" in str(raised.value)


def test_later_stacks_of_a_family_are_not_validated_again(tmp_path):
    # The trade-off, stated: the CDK would validate each of a thousand identical consumer stacks (35 ms each).
    app, consumers, _ = _app_with_consumers(tmp_path, 2)
    _break(consumers[1].stack)
    app.synth()


def test_validation_turned_off_as_the_cdk_allows_is_not_registered(monkeypatch):
    # `cdk synth --no-validation` sets CDK_VALIDATION=false; the CDK then skips its own plugin, and so does this.
    monkeypatch.setenv("CDK_VALIDATION", "false")
    assert template_validation(cdk.App()) is None
