"""Grants that end by themselves: every statement that carries one allows only before its end (aws:CurrentTime), in
every kind of policy that admits the consumer; the access report at an instant before the end allows the grant and at
the end refuses it, each as the config expects."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from access_report import __main__ as access_main
from access_report.engine import evaluate
from access_report.inputs import Inputs
from access_report.matrix import build
from checks.templates import PolicyKind, policy_documents
from config.loader import ConfigError, parse_config
from pipeline.app import Synthesized, synthesize

# analytics' grants all end at the end of 2031-03-31 (UTC); reporting's never do. Between them, every kind of policy
# a grant is written in: a bucket's (and its key's), a table's own, the source role's trust and policy (a table shared
# by role, an existing bucket), an access point's, an API's, and the consumer's own identity policy.
EXPIRY_CONFIG = """
project: expiring
tooling: {account: "111111111111", region: eu-west-1}
repository: {codecommit_repository: data-sharing, branch: main}
environments:
  - name: prod
    source: {account: "222222222222", region: eu-west-1}
    datasets:
      - {name: sales, bucket: {}, table: {}}
      - {name: reference, table: {access: resource-policy}}
      - {name: finance, bucket: {existing: corp-finance, prefix: ledger/}}
      - {name: raw, bucket: {existing: corp-lake, prefix: raw/, access: access-point}}
      - {name: orders, api: {}}
    consumers:
      - name: analytics
        account: "333333333333"
        region: eu-west-1
        grants:
          sales: {access: read-write, until: 2031-03-31}
          reference: {access: read, until: 2031-03-31}
          finance: {access: read, until: 2031-03-31}
          raw: {access: read, until: 2031-03-31}
          orders: {access: read-write, until: 2031-03-31}
      - name: reporting
        account: "444444444444"
        region: eu-west-1
        grants: {sales: read, reference: read, finance: read, raw: read, orders: read}
"""
ANALYTICS, REPORTING = "333333333333", "444444444444"
ENDS = {"DateLessThan": {"aws:CurrentTime": "2031-04-01T00:00:00Z"}}
BEFORE, AT_THE_END = datetime(2031, 3, 31, 23, 59, 59, tzinfo=UTC), datetime(2031, 4, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def expiring(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(parse_config(EXPIRY_CONFIG), tmp_path_factory.mktemp("expiring"))


def _statements(template: dict[str, Any]) -> list[tuple[PolicyKind, str, dict[str, Any]]]:
    found = []
    for policy in policy_documents(template):
        for statement in policy.document.get("Statement", []):
            found.append((policy.kind, policy.logical_id, statement))
    return found


def _admits(statement: dict[str, Any], account: str) -> bool:
    return statement.get("Effect") == "Allow" and account in json.dumps(statement.get("Principal", ""))


def test_every_statement_that_admits_a_grant_that_ends_ends_with_it_and_no_other_does(expiring):
    sharing = expiring.template_json(expiring.sharing("prod"))
    kinds = set()
    for kind, holder, statement in _statements(sharing):
        if _admits(statement, ANALYTICS) and not holder.startswith("Locator"):
            # (The locator tells the consumer's stack where its datasets are at deploy: ids, never data.)
            assert statement["Condition"]["DateLessThan"] == ENDS["DateLessThan"], (kind, holder, statement)
            assert "Until20310401" in statement.get("Sid", "Until20310401"), statement
            kinds.add(kind)
        if _admits(statement, REPORTING):
            assert "DateLessThan" not in statement.get("Condition", {}), (kind, holder, statement)
    # Every kind of resource policy and the source role's trust; its own policy has a statement per dataset.
    assert kinds >= {PolicyKind.BUCKET, PolicyKind.KEY, PolicyKind.TABLE, PolicyKind.ACCESS_POINT, PolicyKind.API,
                     PolicyKind.TRUST}  # fmt: skip
    (role,) = [
        r for r in sharing["Resources"].values() if r["Properties"].get("RoleName") == "expiring-prod-source-analytics"
    ]
    source_policy = [s for k, h, s in _statements(sharing) if k is PolicyKind.INLINE and "SourceAnalytics" in h]
    assert source_policy and all(s["Condition"]["DateLessThan"] == ENDS["DateLessThan"] for s in source_policy)
    assert (
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["DateLessThan"]
        == ENDS["DateLessThan"]
    )
    # The consumer's own side: every statement of its shared-data policy but where its buckets are.
    consumer = expiring.template_json(expiring.consumer("prod", 0))
    managed = [s for k, _, s in _statements(consumer) if k is PolicyKind.MANAGED]
    ending = [s for s in managed if s["Sid"] != "LocateBuckets"]
    assert ending and all(s["Condition"]["DateLessThan"] == ENDS["DateLessThan"] for s in ending), ending
    reporting = expiring.template_json(expiring.consumer("prod", 1))
    assert "DateLessThan" not in json.dumps(reporting)


def _cells_of(verdicts, who: str) -> dict[tuple[str, str, str], str]:
    return {(v.cell.dataset or "", v.cell.action, v.cell.resource): v.actual for v in verdicts if v.cell.who == who}


def test_the_report_allows_the_grant_before_its_end_and_refuses_it_from_then_on_each_as_expected(expiring):
    inputs = Inputs.from_synthesized(expiring)
    before = evaluate(build(inputs, BEFORE))
    after = evaluate(build(inputs, AT_THE_END))
    assert [v.cell.name for v in before if not v.as_expected] == []
    assert [v.cell.name for v in after if not v.as_expected] == []
    analytics_before = _cells_of(before, "analytics function role")
    analytics_after = _cells_of(after, "analytics function role")
    allowed_before = {cell for cell, result in analytics_before.items() if result == "allow"}
    assert {dataset for dataset, _, _ in allowed_before} == {"sales", "reference", "finance", "raw", "orders"}
    # At the end, nothing of any dataset is allowed.
    assert not [cell for cell, result in analytics_after.items() if result == "allow" and cell[0]]
    # The very requests allowed before, made at the end: every one refused by the policies as deployed.
    same_requests = [replace(v.cell, at=AT_THE_END) for v in before if v.cell.who == "analytics function role"]
    again = {(v.cell.dataset or "", v.cell.action, v.cell.resource): v.actual for v in evaluate(same_requests)}
    assert {cell: again[cell] for cell in allowed_before} == dict.fromkeys(allowed_before, "deny")
    # The source role's trust has ended with every grant it served.
    assert any(
        v.cell.action == "sts:AssumeRole" and "source-analytics" in v.cell.resource and v.actual == "deny"
        and v.cell.who == "analytics function role" for v in after
    )  # fmt: skip
    # reporting's grants do not end.
    assert _cells_of(before, "reporting function role") == _cells_of(after, "reporting function role")


def test_the_report_command_takes_an_instant_and_refuses_one_without_a_zone(expiring, tmp_path, capsys):
    inputs = Inputs.from_synthesized(expiring)
    assert access_main.run(inputs, "expiring.yaml", tmp_path / "r.md", AT_THE_END) == 0
    out = capsys.readouterr().out
    assert "evaluated at 2031-04-01T00:00:00Z (0 differ)" in out
    assert "grants ended by then, refused: analytics's sales, analytics's reference" in out
    assert "Every request is made at 2031-04-01T00:00:00Z" in (tmp_path / "r.md").read_text()
    assert access_main.main(["--at", "2031-04-01T00:00", "--output", str(tmp_path / "x.md")]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "error: --at: '2031-04-01T00:00' has no time zone: add one (Z for UTC, or +02:00)"
    )
    assert not (tmp_path / "x.md").exists()


@pytest.mark.parametrize(
    ("until", "says"),
    [
        ("2020-01-01", "2020-01-01 has passed (2020-01-02T00:00:00Z): the grant has ended, take it out of the config"),
        ("2031-03-31T17:00:00", "2031-03-31T17:00:00 has no time zone: add one (Z for UTC, or +02:00), or give a date"),
        ("soon", "'soon' is not a date (2027-03-31) or a time with its zone (2027-03-31T17:00:00+02:00)"),
    ],
)
def test_an_end_in_the_past_or_without_a_zone_is_one_line(until, says):
    text = EXPIRY_CONFIG.replace(
        "sales: {access: read-write, until: 2031-03-31}", f"sales: {{access: read, until: {until}}}"
    )
    with pytest.raises(ConfigError) as error:
        parse_config(text)
    assert str(error.value) == f"<config>: environments[prod].consumers[analytics].grants.sales.until: {says}"


def test_an_end_is_the_end_of_its_day_in_utc_or_the_instant_given():
    config = parse_config(
        EXPIRY_CONFIG.replace(
            "raw: {access: read, until: 2031-03-31}", "raw: {access: read, until: 2031-03-31T17:00:00+02:00}"
        )
    )
    analytics = config.environments[0].consumers[0]
    assert analytics.ends("sales") == datetime(2031, 4, 1, tzinfo=UTC)
    assert analytics.ends("raw") == datetime(2031, 3, 31, 15, tzinfo=UTC)
    assert config.environments[0].consumers[1].ends("sales") is None
    # A config read at an instant after an end refuses it; one read before takes it.
    with pytest.raises(ConfigError, match="has passed"):
        parse_config(EXPIRY_CONFIG, now=AT_THE_END)
    assert parse_config(EXPIRY_CONFIG, now=BEFORE).environments[0].consumers[0].ends("orders") == AT_THE_END


def test_ends_are_to_the_second_so_two_within_one_second_make_one_statement():
    text = EXPIRY_CONFIG.replace(
        "raw: {access: read, until: 2031-03-31}", "raw: {access: read, until: 2031-03-31T17:00:00.25Z}"
    )
    text = text.replace("raw: read, orders: read}", "raw: {access: read, until: 2031-03-31T17:00:00.5Z}, orders: read}")
    config = parse_config(text)
    analytics, reporting = config.environments[0].consumers
    assert analytics.ends("raw") == reporting.ends("raw") == datetime(2031, 3, 31, 17, tzinfo=UTC)


def test_in_organization_mode_one_end_does_not_turn_a_levels_grant_into_role_arns(tmp_path):
    # lake is read by both consumers; analytics' read ends. Both groups of the level still name the demo roles by
    # pattern with their accounts pinned, not by ARN (which made policies about four times larger).
    from tests.conftest import ORGANIZATION_CONFIG

    text = ORGANIZATION_CONFIG.replace(
        "grants: {lake: read, finance: read-write, raw: read}",
        "grants: {lake: {access: read, until: 2031-03-31}, finance: read-write, raw: read}",
    )
    synthesized = synthesize(parse_config(text), tmp_path)
    sharing = synthesized.template_json(synthesized.sharing("prod"))
    (bucket,) = [p for p in policy_documents(sharing) if p.kind is PolicyKind.BUCKET and "Lake" in p.logical_id]
    reads = [
        s
        for s in bucket.document["Statement"]
        if s.get("Sid", "").startswith("ConsumersReadObjects") and "Group" not in s["Sid"]  # the consumer group's apart
    ]
    assert [s["Sid"] for s in reads] == ["ConsumersReadObjects", "ConsumersReadObjectsUntil20310401"]
    for statement, account in zip(reads, ("444444444444", "333333333333"), strict=True):
        assert (
            "arn:aws:iam::*:role/orgshare-prod-consumer-function"
            in statement["Condition"]["ArnLike"]["aws:PrincipalArn"]
        )
        assert statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == [account]
