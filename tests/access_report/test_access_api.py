"""The access report of a shared API (#23): execute-api:Invoke per method and consumer role, decided by the API's
resource policy (its short form expanded, as API Gateway stores it) and the caller's identity policy; who must be
refused is; and broken grants are caught."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from access_report.engine import evaluate
from access_report.inputs import Inputs
from access_report.matrix import build

API = "stand-in-ApiOrders"
ITEM = f"arn:aws:execute-api:eu-west-1:222222222222:{API}/live/{{}}/items/order-1"
READER = "arn:aws:iam::333333333333:role/apishare-prod-consumer-function"
WRITER = "arn:aws:iam::444444444444:role/apishare-prod-consumer-task"
VERDICTS: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_inputs(shared_api) -> Inputs:
    return Inputs.from_synthesized(shared_api)


@pytest.fixture(scope="module")
def verdicts(api_inputs):
    return evaluate(build(api_inputs), memo=VERDICTS)


def _actual(verdicts, principal: str, method: str, **match: Any) -> set[str]:
    found = {
        v.actual
        for v in verdicts
        if v.cell.principal == principal and v.cell.resource == ITEM.format(method)
        and all(getattr(v.cell, k) == value for k, value in match.items())
    }  # fmt: skip
    assert found, (principal, method)
    return found


def test_every_cell_of_the_api_config_is_as_expected(verdicts):
    assert [v.cell.name for v in verdicts if not v.as_expected] == []
    assert sum(v.cell.action == "execute-api:Invoke" for v in verdicts) > 20


def test_a_reader_gets_and_a_writer_also_puts_and_deletes_with_their_own_identity_policies(verdicts):
    assert _actual(verdicts, READER, "GET", who="analytics function role") == {"allow"}
    for method in ("GET", "PUT", "DELETE"):
        assert _actual(verdicts, WRITER, method, who="billing task role") == {"allow"}


def test_a_reader_is_refused_the_write_methods_by_the_apis_policy_alone(verdicts):
    for method in ("PUT", "DELETE"):
        assert _actual(verdicts, READER, method, who="analytics function role writing") == {"deny"}


def test_a_consumer_not_given_the_api_another_role_and_a_third_account_are_refused(verdicts):
    outsiders = [
        "arn:aws:iam::555555555555:role/apishare-prod-consumer-function",  # reporting: not given it
        "arn:aws:iam::333333333333:role/intruder",  # another role of a reader's account
        "arn:aws:iam::999999999999:role/apishare-prod-consumer-function",  # a third account, the same role name
    ]
    for principal in outsiders:
        assert _actual(verdicts, principal, "GET") == {"deny"}


def test_each_consumer_may_read_its_apis_id_from_the_sharing_stack_and_no_other(verdicts):
    cells = [v for v in verdicts if v.cell.action == "cloudformation:DescribeStackResource"]
    assert {(v.cell.resource.split(":stack/")[1].split("/")[0], v.actual) for v in cells} == {
        ("apishare-prod-sharing", "allow"),
        ("apishare-other", "deny"),
    }
    assert len(cells) == 2 * 3  # each consumer's locator


def _api_policy(inputs: Inputs) -> dict[str, Any]:
    (api,) = [r for r in inputs.sharing["prod"]["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    return api["Properties"]["Policy"]


def _differing(inputs: Inputs) -> list[str]:
    return [v.cell.name for v in evaluate(build(inputs), memo=VERDICTS) if not v.as_expected]


def test_a_write_statement_widened_to_every_consumer_is_caught(api_inputs):
    broken = copy.deepcopy(api_inputs)
    statements = {s["Sid"]: s for s in _api_policy(broken)["Statement"]}
    statements["ConsumersWriteApi"]["Principal"] = statements["ConsumersReadApi"]["Principal"]
    assert f"prod | analytics function role writing | execute-api:Invoke | {ITEM.format('PUT')}" in _differing(broken)


def test_a_resource_policy_without_its_principal_arn_condition_is_caught(api_inputs):
    broken = copy.deepcopy(api_inputs)
    for statement in _api_policy(broken)["Statement"]:
        del statement["Condition"]
    assert any(
        name.startswith("prod | analytics account: another role | execute-api:Invoke") for name in _differing(broken)
    )


def test_an_identity_policy_without_the_api_fails_the_readers_call(api_inputs):
    broken = copy.deepcopy(api_inputs)
    consumer = broken.consumers[("prod", "analytics")]
    for resource in consumer["Resources"].values():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            document = resource["Properties"]["PolicyDocument"]
            document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "ReadApis"]
    assert f"prod | analytics function role | execute-api:Invoke | {ITEM.format('GET')}" in _differing(broken)


def test_the_report_shows_the_writer_read_write_and_each_roles_methods(verdicts):
    from access_report.report import render

    report = render("api.yaml", verdicts, engine_version="x")
    assert "| orders | read | read-write | - | - |" in report
    assert "| prod | orders | analytics function role | `execute-api:Invoke GET` |" in report
    assert (
        "| prod | orders | billing task role | `execute-api:Invoke DELETE`, `execute-api:Invoke GET`, "
        "`execute-api:Invoke PUT` |"
    ) in report


def test_by_organization_the_api_admits_any_principal_only_under_the_organization_and_the_roles(tmp_path):
    """With organization_id the grants name the organization: `Principal: *`, never without aws:PrincipalOrgID and the
    consumer roles; every cell, a third account's included, as expected."""
    from config.loader import parse_config
    from pipeline.app import synthesize
    from tests.conftest import ORGANIZATION_CONFIG

    # Without its consumer group, which an environment with an API cannot have yet.
    text = (
        ORGANIZATION_CONFIG.split("    consumer_groups:\n")[0]
        .replace(
            "      - {name: events, bucket: {}}\n",
            "      - {name: events, bucket: {}}\n      - {name: orders, api: {}}\n",
        )
        .replace("grants: {lake: read-write, events: read}", "grants: {lake: read-write, events: read, orders: read}")
    )
    built = synthesize(parse_config(text), tmp_path)
    (api,) = [
        r["Properties"]["Policy"]
        for r in built.template_json(built.sharing("prod"))["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::RestApi"
    ]
    for statement in api["Statement"]:
        assert statement["Principal"] == {"AWS": "*"}
        assert statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-abcdefghij"
        assert statement["Condition"]["ArnLike"]["aws:PrincipalArn"]
    verdicts = evaluate(build(Inputs.from_synthesized(built)), memo=VERDICTS)
    assert [v.cell.name for v in verdicts if not v.as_expected] == []
    outsider = [
        v for v in verdicts if v.cell.action == "execute-api:Invoke" and v.cell.principal_account == "999999999999"
    ]
    assert outsider and all(v.actual == "deny" for v in outsider)
