"""The access report: every intended path allowed, every forbidden probe denied, and broken grants caught."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from access_report import __main__ as access_main
from access_report.cells import ALLOW_ALL
from access_report.engine import evaluate
from access_report.inputs import Inputs
from access_report.intrinsics import Unresolvable
from access_report.matrix import build
from tools.bench.configs import config_with

# Verdicts by simulation: a broken copy of the inputs re-evaluates only the cells its change is part of.
VERDICTS: dict[str, str] = {}


@pytest.fixture(scope="module")
def example_inputs(example) -> Inputs:
    return Inputs.from_synthesized(example)


@pytest.fixture(scope="module")
def organization_inputs(organization) -> Inputs:
    return Inputs.from_synthesized(organization)


@pytest.fixture(scope="module")
def example_verdicts(example_inputs):
    return evaluate(build(example_inputs), memo=VERDICTS)


def _find(verdicts, **match):
    found = [o for o in verdicts if all(getattr(o.cell, k) == v for k, v in match.items())]
    assert found, match
    return found


def _differing(inputs: Inputs) -> list[str]:
    return [o.cell.name for o in evaluate(build(inputs), memo=VERDICTS) if not o.as_expected]


def test_example_every_cell_as_expected(example_verdicts):
    assert [o.cell.name for o in example_verdicts if not o.as_expected] == []
    assert {o.actual for o in example_verdicts} == {"allow", "deny"}


def _key(resource: str) -> str:
    """A stand-in key ARN without the hash of its logical id."""
    return re.sub(r"(key/stand-in-Dataset[A-Za-z]+Key)[0-9A-F]{8}$", r"\1", resource)


def test_consumers_reach_exactly_the_datasets_they_are_given(example_verdicts):
    function = "arn:aws:iam::666666666666:role/datashare-prod-consumer-function"  # reporting: sales, reference
    allowed = {
        (o.cell.action, _key(o.cell.resource))
        for o in example_verdicts
        if o.cell.principal == function and o.actual == "allow"
    }
    sales = "arn:aws:s3:::datashare-prod-sales-444444444444-eu-west-1"
    reference = "arn:aws:dynamodb:eu-west-1:444444444444:table/datashare-prod-reference"
    assert allowed == {
        ("s3:ListBucket", sales),
        ("s3:GetObject", f"{sales}/reports/sample.csv"),
        ("kms:Decrypt", "arn:aws:kms:eu-west-1:444444444444:key/stand-in-DatasetSalesKey"),
        ("sts:AssumeRole", "arn:aws:iam::444444444444:role/datashare-prod-source-reporting"),
        ("dynamodb:DescribeTable", reference),
        ("dynamodb:GetItem", reference),
        ("dynamodb:Query", reference),
        ("kms:Decrypt", "arn:aws:kms:eu-west-1:444444444444:key/stand-in-DatasetReferenceKey"),
    }


def test_a_consumer_is_denied_every_dataset_it_was_not_given_by_the_source_accounts_policies_alone(example_verdicts):
    for who, dataset in (("reporting", "events"), ("ingest", "sales"), ("ingest", "reference")):
        cells = [
            o for o in example_verdicts if o.cell.who.startswith(f"{who} ") and f"(not given {dataset})" in o.cell.who
        ]
        assert cells and all(o.cell.expected == "deny" and o.actual == "deny" for o in cells), (who, dataset)
        assert all(o.cell.identity_policies == (ALLOW_ALL,) for o in cells)  # whatever its own account allows it
    other = _find(example_verdicts, who="ingest function role (another consumer's source role)")
    assert {o.cell.resource for o in other} == {
        "arn:aws:iam::444444444444:role/datashare-prod-source-analytics",
        "arn:aws:iam::444444444444:role/datashare-prod-source-reporting",
    }
    assert all(o.actual == "deny" for o in other)


def test_a_prefix_dataset_gives_its_prefix_and_not_the_rest_of_the_bucket(example_verdicts):
    listing = _find(example_verdicts, who="ingest function role", action="s3:ListBucket")
    assert [(o.cell.request.context.get("s3:prefix"), o.actual) for o in listing] == [("raw/events/", "allow")]
    (everything,) = _find(example_verdicts, who="ingest function role listing all of it")
    (outside,) = _find(example_verdicts, who="ingest function role outside raw/events/")
    assert everything.actual == outside.actual == "deny"
    writes = _find(example_verdicts, who="ingest function role", action="s3:PutObject", resource_account="444444444444")
    assert [o.actual for o in writes] == ["allow"]  # its one read-write dataset (the other write: its query results)
    deletes = _find(example_verdicts, environment="prod", who="analytics function role", action="s3:DeleteObject")
    # analytics reads sales and events (their buckets), and lake-raw and lake-curated (their access points)
    assert [o.actual for o in deletes] == ["deny"] * 4


def test_forbidden_probes_are_denied(example_verdicts):
    for who in ("third account, same role name", "reporting account: another role", "reporting account: root"):
        probes = _find(example_verdicts, environment="prod", who=who)
        assert {o.cell.action for o in probes} == {
            "s3:ListBucket", "s3:GetObject", "kms:Decrypt", "dynamodb:GetItem", "sts:AssumeRole", "execute-api:Invoke"
        }  # fmt: skip
        assert {o.cell.dataset for o in probes if o.cell.dataset} == {
            "sales", "events", "reference", "lake-raw", "lake-curated", "orders"
        }  # fmt: skip
        assert all(o.actual == "deny" for o in probes)
    (no_tls,) = _find(example_verdicts, who="reporting function role without TLS")
    assert no_tls.result == "ExplicitlyDenied"
    for action in ("dynamodb:DeleteTable", "dynamodb:PutItem", "dynamodb:Scan"):
        (probe,) = _find(example_verdicts, environment="prod", who="reporting source role", action=action)
        assert probe.actual == "deny"
    (write,) = _find(example_verdicts, environment="dev", who="analytics source role", action="dynamodb:PutItem")
    assert write.actual == "allow"  # dev gives analytics sales read-write


def test_bootstrap_trust_admits_the_pipeline_roles_and_not_another_tooling_account(example_verdicts):
    bootstrap = _find(example_verdicts, environment="bootstrap")
    deploy_roles = {o.cell.resource for o in bootstrap if "deploy-role" in o.cell.resource}
    assert len(deploy_roles) == 6  # every source and consumer stack's target
    trusted = [o for o in bootstrap if o.cell.who.startswith("pipeline role")]
    assert trusted and all(o.actual == "allow" for o in trusted)
    untrusted = [o for o in bootstrap if o.cell.who == "untrusted tooling account"]
    assert untrusted and all(o.actual == "deny" for o in untrusted)


def test_organization_mode_denies_an_account_outside_the_organization(organization_inputs):
    verdicts = evaluate(build(organization_inputs), memo=VERDICTS)
    assert [o.cell.name for o in verdicts if not o.as_expected] == []
    outside = _find(verdicts, who="account outside the organization")
    assert {o.cell.action for o in outside} == {
        "s3:ListBucket", "s3:GetObject", "kms:Decrypt", "dynamodb:GetItem", "sts:AssumeRole"
    }  # fmt: skip
    assert all(o.actual == "deny" for o in outside)
    table = _find(verdicts, who="reporting function role", action="dynamodb:PutItem")
    assert [o.actual for o in table] == ["allow"]  # lake, read-write, through the table's own resource policy
    # events is given to reporting only: in organization mode its grant names reporting's roles exactly.
    events = _find(verdicts, who="analytics function role (not given events)")
    assert events and all(o.actual == "deny" for o in events)


def test_a_consumer_group_reaches_its_datasets_from_its_units_and_under_them_and_nothing_from_outside(
    organization_inputs,
):
    verdicts = evaluate(build(organization_inputs), memo=VERDICTS)
    group = [o for o in verdicts if o.cell.who.startswith("branches ")]
    assert group and all(o.as_expected for o in group)
    # An account of a unit under the first unit is the group's too (aws:PrincipalOrgPaths ends with /*).
    deeper = [o for o in group if "under ou-ab12-11111111" in o.cell.who and o.actual == "allow"]
    assert {o.cell.dataset for o in deeper} == {"lake", "events", "finance"}
    assert ("s3:PutObject", "events") in {(o.cell.action, o.cell.dataset) for o in deeper}  # read-write until 2031
    # finance: through the group's one source role, which the units' roles may assume.
    assert any(o.cell.action == "sts:AssumeRole" and o.cell.dataset == "finance" for o in deeper)
    # Not raw (an existing key's access point: KMS grants, refused to groups) nor writes to lake (read).
    assert not [
        o for o in deeper if o.cell.dataset == "raw" or (o.cell.dataset, o.cell.action) == ("lake", "s3:PutObject")
    ]
    outside = [o for o in verdicts if "outside branches's units" in o.cell.who]
    assert {o.cell.principal.rsplit("/", 1)[1] for o in outside} == {
        "orgshare-prod-consumer-function", "orgshare-prod-consumer-task", "branch-reporting"
    }  # fmt: skip
    assert {o.cell.dataset for o in outside} == {"lake", "events", "raw", None}  # None: the source roles
    assert "arn:aws:iam::222222222222:role/orgshare-prod-source-branches" in {o.cell.resource for o in outside}
    assert all(o.actual == "deny" and o.as_expected for o in outside)
    from access_report.report import render

    report = render("org.yaml", verdicts, engine_version="x")
    assert "A consumer group's accounts are decided on samples" in report
    # The group's sample accounts are one node, in one subgraph of its units.
    assert report.count('nconsumerprod_branches["prod/branches"]') == 1
    assert "subgraph nunits_of_prod_branches[consumer group's units of prod/branches]" in report
    assert "samples" not in render("example.yaml", [o for o in verdicts if not o.cell.org_paths], engine_version="x")


def test_a_group_grant_without_its_units_paths_admits_the_whole_organization_and_is_caught(organization_inputs):
    broken = _broken(organization_inputs)
    for sid in ("ConsumersListGroupBranches", "ConsumersReadObjectsGroupBranches"):
        statement = _statement(
            broken.sharing["prod"], "AWS::S3::BucketPolicy", sid, "orgshare-prod-lake-222222222222-eu-west-1"
        )
        statement["Condition"].pop("ForAnyValue:StringLike")
    failing = _differing(broken)
    assert any("outside branches's units" in name and "s3:GetObject" in name for name in failing)


def test_an_existing_bucket_and_table_are_reached_through_the_source_role_at_the_consumers_access(organization_inputs):
    verdicts = evaluate(build(organization_inputs), memo=VERDICTS)
    role = [o for o in verdicts if o.cell.who == "analytics source role" and o.cell.dataset == "finance"]
    allowed = {(o.cell.action, o.cell.resource) for o in role if o.actual == "allow"}
    assert ("s3:PutObject", "arn:aws:s3:::corp-finance-data/ledger/reports/sample.csv") in allowed
    assert ("dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:222222222222:table/finance-ledger") in allowed
    outside = [o for o in role if o.cell.resource == "arn:aws:s3:::corp-finance-data/elsewhere/sample.csv"]
    assert [o.actual for o in outside] == ["deny"]


RAW_POINT = "arn:aws:s3:eu-west-1:222222222222:accesspoint/orgshare-prod-raw"


def test_an_existing_prefix_is_reached_directly_through_the_access_point_by_the_consumers_own_roles(
    organization_inputs,
):
    verdicts = evaluate(build(organization_inputs), memo=VERDICTS)
    assert [o.cell.name for o in verdicts if not o.as_expected] == []
    raw = [o for o in verdicts if o.cell.dataset == "raw"]
    allowed = {(o.cell.who, o.cell.action, o.cell.resource) for o in raw if o.actual == "allow"}
    objects = f"{RAW_POINT}/object/raw/reports/sample.csv"
    for who in (
        "analytics own role glue-etl",
        "analytics own role service-role/athena-analyst",
        "analytics function role",
    ):
        assert (who, "s3:GetObject", objects) in allowed
        assert (who, "s3:ListBucket", RAW_POINT) in allowed
        assert (who, "s3:GetBucketLocation", RAW_POINT) in allowed  # what Athena, Glue and EMR ask first
    # Read only, its prefix only, TLS only; nothing for reporting (not given raw), other roles or accounts.
    assert {o.cell.who.split(" ")[0] for o in raw if o.actual == "allow"} == {"analytics"}
    assert not [o for o in raw if o.actual == "allow" and o.cell.action in ("s3:PutObject", "s3:DeleteObject")]
    denied = {(o.cell.who, o.cell.action, o.cell.resource) for o in raw if o.actual == "deny"}
    assert (
        "analytics own role glue-etl outside raw/",
        "s3:GetObject",
        f"{RAW_POINT}/object/elsewhere/sample.csv",
    ) in denied
    assert ("analytics own role glue-etl without TLS", "s3:GetObject", objects) in denied
    assert ("account outside the organization", "s3:GetObject", objects) in denied
    # No policy of the existing bucket or key is written: the source role does not reach raw either.
    sharing = organization_inputs.sharing["prod"]["Resources"].values()
    assert not [r for r in sharing if r["Type"] == "AWS::S3::BucketPolicy" and "corp-lake" in str(r)]


def test_an_access_point_open_to_the_consumers_whole_account_is_caught(organization_inputs):
    broken = _broken(organization_inputs)
    for resource in broken.sharing["prod"]["Resources"].values():
        if resource["Type"] == "AWS::S3::AccessPoint":
            for statement in resource["Properties"]["Policy"]["Statement"]:
                statement.get("Condition", {}).pop("ArnLike", None)
    differing = _differing(broken)
    assert (
        f"prod | analytics account: another role | s3:GetObject | {RAW_POINT}/object/raw/reports/sample.csv"
        in differing
    )
    assert f"prod | reporting function role (not given raw) | s3:ListBucket | {RAW_POINT}" in differing


# Broken grants are caught


def _statement(template: dict[str, Any], kind: str, sid: str, holder: str | None = None) -> dict[str, Any]:
    """The statement of that id in the policy of the bucket or the key (by alias) named `holder`, or the first."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != kind or (holder and not _holds(template, logical_id, resource, holder)):
            continue
        document = resource["Properties"].get("PolicyDocument") or resource["Properties"].get("KeyPolicy")
        for statement in document["Statement"]:
            if statement.get("Sid") == sid:
                return statement
    raise AssertionError(f"no statement {sid}")


def _holds(template: dict[str, Any], logical_id: str, resource: dict[str, Any], holder: str) -> bool:
    if resource["Type"] == "AWS::S3::BucketPolicy":
        bucket = template["Resources"][resource["Properties"]["Bucket"]["Ref"]]
        return bucket["Properties"].get("BucketName") == holder
    return any(
        r["Type"] == "AWS::KMS::Alias"
        and r["Properties"]["AliasName"] == holder
        and r["Properties"]["TargetKeyId"]["Fn::GetAtt"][0] == logical_id
        for r in template["Resources"].values()
    )


SALES = "datashare-prod-sales-444444444444-eu-west-1"
EVENTS = "datashare-prod-events-444444444444-eu-west-1"


def _broken(inputs: Inputs) -> Inputs:
    return copy.deepcopy(inputs)


def test_a_wildcard_action_in_the_bucket_policy_is_caught(example_inputs):
    broken = _broken(example_inputs)
    _statement(broken.sharing["prod"], "AWS::S3::BucketPolicy", "ConsumersReadObjects", SALES)["Action"] = "s3:*"
    from access_report.report import render

    report = render("broken.yaml", evaluate(build(broken), memo=VERDICTS), engine_version="x")
    assert "| sales | read-write **DIFFERS** | read-write **DIFFERS** | - | - |" in report  # both may now write
    differing = _differing(broken)
    assert f"prod | reporting function role | s3:PutObject | arn:aws:s3:::{SALES}/reports/sample.csv" in differing


def test_a_dropped_principal_arn_condition_is_caught(example_inputs):
    broken = _broken(example_inputs)
    del _statement(broken.sharing["prod"], "AWS::S3::BucketPolicy", "ConsumersList", SALES)["Condition"]
    differing = _differing(broken)
    assert any(name.startswith("prod | reporting account: another role | s3:ListBucket") for name in differing)


def test_a_grant_that_leaks_a_dataset_to_a_consumer_not_given_it_is_caught(example_inputs):
    # sales is given to analytics and reporting; a broken grant admits ingest's account as well.
    broken = _broken(example_inputs)
    for sid in ("ConsumersList", "ConsumersReadObjects"):
        statement = _statement(broken.sharing["prod"], "AWS::S3::BucketPolicy", sid, SALES)
        statement["Principal"]["AWS"] = [*statement["Principal"]["AWS"], "arn:aws:iam::777777777777:root"]
    differing = _differing(broken)
    assert (
        f"prod | ingest function role (not given sales) | s3:GetObject | arn:aws:s3:::{SALES}/reports/sample.csv"
        in (differing)
    )
    assert all("(not given sales)" in name for name in differing)


def test_a_prefix_grant_that_leaks_the_whole_bucket_is_caught(example_inputs):
    broken = _broken(example_inputs)
    listing = _statement(broken.sharing["prod"], "AWS::S3::BucketPolicy", "ConsumersList", EVENTS)
    del listing["Condition"]["StringLike"]
    _statement(broken.sharing["prod"], "AWS::S3::BucketPolicy", "ConsumersReadObjects", EVENTS)["Resource"] = (
        f"arn:aws:s3:::{EVENTS}/*"
    )
    differing = _differing(broken)
    assert f"prod | ingest function role listing all of it | s3:ListBucket | arn:aws:s3:::{EVENTS}" in differing
    outside = f"arn:aws:s3:::{EVENTS}/elsewhere/sample.csv"
    assert f"prod | analytics function role outside raw/events/ | s3:GetObject | {outside}" in (differing)


def test_a_key_policy_without_via_service_is_caught(example_inputs):
    broken = _broken(example_inputs)
    statement = _statement(
        broken.sharing["prod"], "AWS::KMS::Key", "ConsumersReadThroughS3", "alias/datashare/prod/sales"
    )
    del statement["Condition"]["StringEquals"]
    assert any("calling KMS directly | kms:Decrypt" in name for name in _differing(broken))


def test_a_trust_policy_open_to_the_whole_account_is_caught(example_inputs):
    broken = _broken(example_inputs)
    role = next(
        r
        for r in broken.sharing["prod"]["Resources"].values()
        if r["Type"] == "AWS::IAM::Role" and r["Properties"]["RoleName"] == "datashare-prod-source-analytics"
    )
    del role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert any(
        name.startswith("prod | analytics account: another role | sts:AssumeRole") for name in _differing(broken)
    )


def test_bootstrap_without_trust_of_the_tooling_account_is_caught(example_inputs):
    broken = _broken(example_inputs)
    trust = broken.bootstrap["Resources"]["DeploymentActionRole"]["Properties"]["AssumeRolePolicyDocument"]
    trust["Statement"] = [s for s in trust["Statement"] if "Fn::If" not in s]  # as if bootstrapped without --trust
    differing = _differing(broken)
    assert differing and all(name.startswith("bootstrap | pipeline role") for name in differing)


def test_an_unresolvable_intrinsic_is_an_error_not_a_skip(example_inputs):
    broken = _broken(example_inputs)
    _statement(broken.sharing["dev"], "AWS::S3::BucketPolicy", "ConsumersList")["Resource"] = {
        "Fn::ImportValue": "elsewhere"
    }
    with pytest.raises(
        Unresolvable, match=r"dev-sharing: bucket policy of sales\.Statement.*Fn::ImportValue is not supported"
    ):
        build(broken)


def test_report_names_each_differing_cell_and_exits_1(example_inputs, tmp_path, capsys):
    broken = _broken(example_inputs)
    statement = _statement(
        broken.sharing["prod"], "AWS::KMS::Key", "ConsumersReadThroughS3", "alias/datashare/prod/sales"
    )
    del statement["Condition"]["StringEquals"]
    output = tmp_path / "report.md"
    assert access_main.run(broken, "example.yaml", output) == 1
    err = capsys.readouterr().err
    assert "DIFFERS: prod | analytics function role calling KMS directly | kms:Decrypt" in err
    assert "expected deny, got Allowed" in err
    report = output.read_text()
    assert "## Differences" in report and "**DIFFERS**" in report


def test_report_of_a_good_config_has_the_matrix_and_the_picture(example_inputs, tmp_path, capsys):
    output = tmp_path / "report.md"
    assert access_main.run(example_inputs, "example.yaml", output) == 0
    report = output.read_text()
    assert "all as expected" in report
    assert "```mermaid" in report and "flowchart LR" in report
    assert "## Environment prod (source account 444444444444)" in report
    assert "## Bootstrap trust" in report and "## Deployment trust" in report
    # It leads with who gets which dataset, as the evaluation found it.
    matrix = report.split("## Who gets which dataset")[1].split("```")[0]
    assert "| dataset | analytics | reporting | ingest | a third account |" in matrix
    assert "| events | read | - | read-write | - |" in matrix
    assert report.index("## Who gets which dataset") < report.index("## Environment prod")
    assert "| reporting function role | sales | 666666666666 | `s3:GetObject` |" in report  # rows name the dataset
    picture = report.split("## Who gets which dataset")[1].split("```")[1]
    assert "nconsumerprod_ingest ==>|read-write| nsourceprod_events" in picture
    assert "nconsumerprod_reporting -->|read| nsourceprod_sales" in picture
    assert "ingest" not in picture.split("nsourceprod_sales")[0].split("\n")[-1]
    assert not any("ingest" in line and "sales" in line for line in picture.splitlines())
    assert "| prod | events | ingest function role |" in report
    assert re.search(r"access cells evaluated at \S+Z \(0 differ\)", capsys.readouterr().out)


def test_a_config_one_pipeline_cannot_hold_is_one_line_and_exit_2(tmp_path, capsys):
    config = tmp_path / "big.yaml"
    config.write_text(config_with(1000))
    assert access_main.main(["--config", str(config), "--output", str(tmp_path / "r.md")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "artifact bucket policy" in err[0]
    assert not (tmp_path / "r.md").exists()


def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys):
    assert access_main.main(["--config", str(tmp_path / "none.yaml"), "--output", str(tmp_path / "r.md")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "r.md").exists()


def test_an_execution_policy_that_allows_all_of_iam_on_every_role_is_caught(example_inputs, monkeypatch):
    import access_report.execution

    def administrator_in_all_but_name(config, account, region, partition):
        iam = {"Effect": "Allow", "Action": "iam:*", "Resource": f"arn:{partition}:iam::{account}:role/*"}
        return {"old": {"Version": "2012-10-17", "Statement": [iam]}}

    monkeypatch.setattr(access_report.execution, "execution_policies", administrator_in_all_but_name)
    differing = {name.split(" | ")[1].split(" ", 3)[3] for name in _differing(example_inputs)}
    assert differing == {
        "creates a role of the project without it",
        "creates a role outside the project",
        "attaches AdministratorAccess",
        "removes a role's boundary",
        "puts a policy on a role of the project's name without the boundary",
        "attaches a policy to it",
        "rewrites its trust",
        "rewrites a bootstrap role's trust",
        "creates a table",
    }


def test_the_execution_policy_cells_hold_for_every_target_account(example_verdicts):
    cells = [v for v in example_verdicts if v.cell.environment == "execution policy"]
    accounts = {v.cell.resource_account for v in cells} - {"999999999999"}  # and one outside the config
    assert len(accounts) == 6 and all(v.as_expected for v in cells)


def test_own_roles_reach_the_share_with_the_policy_their_team_attaches_and_no_further(organization_inputs):
    verdicts = evaluate(build(organization_inputs), memo=VERDICTS)
    own = [v for v in verdicts if v.cell.who.startswith("analytics own role glue-etl")]
    assert own and all(v.as_expected for v in verdicts)
    allowed = {(v.cell.request.action, v.cell.request.resource) for v in own if v.cell.expected == "allow"}
    assert (
        "s3:GetObject",
        "arn:aws:s3:::orgshare-prod-lake-222222222222-eu-west-1/curated/reports/sample.csv",
    ) in allowed
    assert ("sts:AssumeRole", "arn:aws:iam::222222222222:role/orgshare-prod-source-analytics") in allowed
    assert any(action.startswith("dynamodb:") for action, _ in allowed)  # the table, by its own policy
    denied = {v.cell.request.action for v in own if v.cell.expected == "deny"}
    assert {"s3:DeleteObject", "s3:PutBucketPolicy"} <= denied  # lake is read-only for analytics
    # A role the consumer did not list is still refused, in the same account.
    (intruder,) = [
        v
        for v in verdicts
        if v.cell.who == "analytics account: another role"
        and v.cell.request.action == "s3:GetObject"
        and v.cell.dataset == "lake"
    ]
    assert intruder.cell.expected == "deny" and intruder.as_expected
    namesake = [v for v in verdicts if v.cell.who == "glue-etl of another account of the organization"]
    assert namesake and all(v.cell.expected == "deny" and v.as_expected for v in namesake)


def test_an_own_role_granted_by_name_in_any_account_is_caught(organization_inputs):
    # A broken grant: the own role admitted by name in every account of the organization.
    broken = _broken(organization_inputs)
    for sid in ("ConsumersList", "ConsumersReadObjects"):
        statement = _statement(
            broken.sharing["prod"], "AWS::S3::BucketPolicy", sid, "orgshare-prod-lake-222222222222-eu-west-1"
        )
        arns = statement.get("Condition", {}).get("ArnLike", {}).get("aws:PrincipalArn")
        if arns:
            statement["Condition"]["ArnLike"]["aws:PrincipalArn"] = [
                arn.replace("333333333333", "*") if "glue-etl" in arn else arn for arn in arns
            ]
            # and without the accounts a grant to every consumer pins
            statement["Condition"].get("StringEquals", {}).pop("aws:PrincipalAccount", None)
    failing = _differing(broken)
    assert any("glue-etl of another account of the organization" in name for name in failing)


def test_a_grant_to_every_consumer_without_its_accounts_admits_a_removed_consumer_and_is_caught(organization_inputs):
    """CDK Pipelines never deletes a removed consumer's stack, so its roles stay: a grant by role name in any account
    of the organization would still admit them. The report probes an account of the organization the config does not
    name; without the accounts pinned, it is admitted."""
    broken = _broken(organization_inputs)
    for sid in ("ConsumersList", "ConsumersReadObjects"):
        statement = _statement(
            broken.sharing["prod"], "AWS::S3::BucketPolicy", sid, "orgshare-prod-lake-222222222222-eu-west-1"
        )
        statement["Condition"]["StringEquals"].pop("aws:PrincipalAccount")
    failing = _differing(broken)
    assert any("account of the organization not in the config" in name for name in failing)
    assert not any("account of the organization not in the config" in name for name in _differing(organization_inputs))


def test_a_memo_sends_the_engine_only_simulations_it_has_not_decided(example_inputs, monkeypatch):
    import access_report.engine as engine

    cells = build(example_inputs)[:3]
    memo: dict[str, str] = {}
    sent: list[int] = []
    real = engine._run
    monkeypatch.setattr(engine, "_run", lambda simulations: sent.append(len(simulations)) or real(simulations))
    first = evaluate(cells, memo=memo)
    again = evaluate([*cells, *build(example_inputs)[3:5]], memo=memo)
    assert sent == [3, 2]
    assert [v.result for v in again[:3]] == [v.result for v in first]


def test_the_boundary_keeps_a_role_to_the_configs_accounts_where_names_alone_would_not():
    """Anyone can make a bucket named PROJECT-x (bucket names are global) or a role of that name in an account of
    theirs: the boundary names the accounts too, and without them both requests would be allowed."""
    from dataclasses import replace

    from access_report.execution import _bounded_role
    from config import load_config
    from tests.conftest import EXAMPLE

    config = load_config(EXAMPLE)
    outside = [c for c in _bounded_role(config, "555555555555", "eu-west-1", "aws") if "outside the config" in c.who]
    assert len(outside) == 2
    assert [v.actual for v in evaluate(outside, memo=VERDICTS)] == ["deny", "deny"]
    unbounded = copy.deepcopy(outside[0].boundary)
    for statement in unbounded["Statement"]:
        condition = statement.get("Condition", {})
        condition.get("StringEquals", {}).pop("aws:ResourceAccount", None)
        statement["Condition"] = {k: v for k, v in condition.items() if v}
    names_only = [replace(cell, boundary=unbounded) for cell in outside]
    assert [v.actual for v in evaluate(names_only, memo=VERDICTS)] == ["allow", "allow"]


def test_a_consumer_queries_its_datasets_table_in_its_own_workgroup_and_no_other(example_verdicts):
    # analytics (555555555555) is given events, whose catalog describes a partitioned table.
    function = "arn:aws:iam::555555555555:role/datashare-prod-consumer-function"
    table = "arn:aws:glue:eu-west-1:555555555555:table/datashare_prod/events"
    workgroup = "arn:aws:athena:eu-west-1:555555555555:workgroup/datashare-prod-queries"
    verdicts = {(o.cell.action, o.cell.resource): o.actual for o in example_verdicts if o.cell.principal == function}
    assert verdicts[("athena:StartQueryExecution", workgroup)] == "allow"
    assert verdicts[("glue:GetTable", table)] == "allow"
    assert verdicts[("glue:BatchCreatePartition", table)] == "allow"
    assert verdicts[("s3:GetBucketLocation", f"arn:aws:s3:::{EVENTS}")] == "allow"  # the source bucket's policy too
    results = "arn:aws:s3:::datashare-prod-queries-555555555555-eu-west-1/query-id.csv"
    assert verdicts[("s3:PutObject", results)] == "allow"
    assert verdicts[("athena:StartQueryExecution", workgroup.replace("datashare-prod-queries", "primary"))] == "deny"
    assert verdicts[("glue:DeleteTable", table)] == "deny"


def test_a_consumer_policy_without_its_query_grant_is_caught(example_inputs):
    broken = _broken(example_inputs)
    template = broken.consumers[("prod", "analytics")]
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s.get("Sid") != "QueryInTheWorkgroup"]
    workgroup = "arn:aws:athena:eu-west-1:555555555555:workgroup/datashare-prod-queries"
    assert f"prod | analytics function role | athena:StartQueryExecution | {workgroup}" in _differing(broken)


LOCATOR = "arn:aws:iam::444444444444:role/datashare-prod-locate-analytics"


def test_only_the_consumers_alias_reader_assumes_its_locator_which_reads_the_access_points(example_verdicts):
    assumed = _find(example_verdicts, action="sts:AssumeRole", resource=LOCATOR)
    assert sorted((o.cell.who, o.actual) for o in assumed) == [
        ("analytics account: another role", "deny"),
        ("analytics alias reader", "allow"),
        ("reporting alias reader (another consumer's locator)", "deny"),
    ]
    (located,) = _find(example_verdicts, action="s3:GetAccessPoint")
    assert (located.cell.principal, located.actual) == (LOCATOR, "allow")


def test_a_locator_trust_without_its_reader_condition_is_caught(example_inputs):
    broken = _broken(example_inputs)
    (role,) = [
        r["Properties"]
        for r in broken.sharing["prod"]["Resources"].values()
        if r["Type"] == "AWS::IAM::Role" and r["Properties"].get("RoleName") == "datashare-prod-locate-analytics"
    ]
    del role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert f"prod | analytics account: another role | sts:AssumeRole | {LOCATOR}" in _differing(broken)
