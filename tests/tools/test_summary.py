from __future__ import annotations

import itertools
import json
from pathlib import Path

from tools import summary
from tools.bench.configs import config_with


def test_summary_shows_stages_in_order_with_accounts_and_every_grant(example, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(summary, "OWN_ROLES_DIR", tmp_path / "own-roles")
    summary.render(example)
    out = capsys.readouterr().out
    stage_lines = [line.split()[1] for line in out.splitlines() if line[:4].strip().isdigit()]
    assert stage_lines == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Assets",
        "dev-sharing",
        "dev-analytics",
        "prod-sharing",
        "prod-consumers",
    ]
    # The consumers' accounts, and the source account where analytics' key grants deploy.
    (stage,) = [i for i, line in enumerate(out.splitlines()) if line.endswith(": prod-consumers")]
    assert out.splitlines()[stage + 1].strip() == "deploys to: 444444444444, 555555555555, 666666666666, 777777777777"
    assert "lake-raw: objects corp-data-lake/raw/ (existing; through access point datashare-prod-lake-raw" in out
    assert "  access point datashare-prod-lake-raw policy: s3:GetBucketLocation, s3:GetObject" in out
    assert "(datashare-prod-grants-analytics): kms:Decrypt" in out
    assert "Approve-prod" in out and "datashare-prod-sharing.Deploy [CloudFormation]" in out
    assert max(len(line) for line in out.splitlines()) <= 120  # a terminal's width
    assert "Environment prod (manual approval first): source 444444444444 eu-west-1" in out
    assert "s3:DeleteObject, s3:PutObject" in out.split("Environment prod")[0]  # dev gives sales read-write
    prod = out.split("Environment prod")[1]
    # Who gets which dataset first, one column per consumer; then what each dataset is.
    assert "  dataset       analytics  reporting                     ingest" in prod
    (reference,) = [line for line in prod.splitlines() if line.startswith("  reference ")]
    assert [cell.strip() for cell in reference.split("  ") if cell.strip()] == [
        "reference", "read", "read, ends 2031-04-01 00:00Z", "-"
    ]  # fmt: skip
    assert "  reporting's grant of reference (read) ends at 2031-04-01T00:00:00Z" in prod
    (events,) = [line for line in prod.splitlines() if line.startswith("  events ")]
    assert events.split()[1:] == ["read", "-", "read-write"]
    assert "  events: objects datashare-prod-events-444444444444-eu-west-1/raw/events/" in prod
    lines = prod.splitlines()
    (writes,) = [i for i, line in enumerate(lines) if "s3:DeleteObject, s3:PutObject" in line]
    assert (
        lines[writes] == "  bucket datashare-prod-events-444444444444-eu-west-1 policy: s3:DeleteObject, s3:PutObject"
    )
    assert lines[writes + 1] == "      granted to: accounts 777777777777"
    assert "prefix raw/events/*" in prod
    assert "kms:Decrypt" in prod and "via s3" in prod
    assert "dynamodb:DescribeTable, dynamodb:GetItem, dynamodb:Query" in prod
    assert "role datashare-prod-source-reporting may" in prod and "on table datashare-prod-sales" in prod
    # The shared API: what it is, and its resource policy's grants (readers, then the writers).
    assert "  orders: API datashare-prod-orders (REST, stage live: GET for read, PUT and DELETE for read-write;" in prod
    (reads, writes) = [
        i for i, line in enumerate(lines) if line == "  API datashare-prod-orders policy: execute-api:Invoke"
    ]
    assert lines[reads + 1] == "      granted to: accounts 555555555555, 777777777777"
    assert lines[writes + 1] == "      granted to: accounts 777777777777"


def test_summary_in_organization_mode_names_the_organization(organization, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(summary, "OWN_ROLES_DIR", tmp_path / "own-roles")
    summary.render(organization)
    out = capsys.readouterr().out
    assert "organization o-abcdefghij" in out
    assert "table orgshare-prod-lake policy" in out
    assert "corp-finance-data/ledger/ (existing; through the role)" in out
    # analytics lists its own roles: their grants are above, and their side is the policy their team attaches.
    assert "roles athena-analyst in 333333333333, glue-etl in 333333333333, orgshare-prod-consumer-function" in out
    assert (
        "analytics's own roles glue-etl, service-role/athena-analyst: granted above. Their side is yours: create this "
        "policy under a name of your own (the pipeline cannot change a policy it does not own) and attach it to them:"
    ) in " ".join(line.strip() for line in out.splitlines())
    # The policy to create, as the consumer stage's own shared-data policy has it, laid out to read and copy.
    block = out.split("and attach it to them:\n", 1)[1]
    document = json.loads("\n".join(itertools.takewhile(lambda line: line.startswith("    "), block.splitlines())))
    sids = [statement["Sid"] for statement in document["Statement"]]
    assert "ListUnderPrefixes" in sids and "orgshare-prod-lake-222222222222-eu-west-1" in json.dumps(document)


def test_summary_shows_a_consumer_group_its_units_grants_and_its_own_roles_side(organization, capsys, tmp_path,
                                                                                 monkeypatch):  # fmt: skip
    monkeypatch.setattr(summary, "OWN_ROLES_DIR", tmp_path / "own-roles")
    summary.render(organization)
    out = capsys.readouterr().out
    joined = " ".join(line.strip() for line in out.splitlines())
    assert "dataset  analytics   reporting   branches" in out
    assert (
        "consumer group branches: every account in ou-ab12-11111111, ou-ab12-22222222 and the units under them "
        "(eu-west-1); its own roles branch-reporting"
    ) in joined
    assert "granted to: organizational units ou-ab12-11111111, ou-ab12-22222222 (and under them)" in out
    assert "role orgshare-prod-source-branches trust: sts:AssumeRole" in out
    # Its own roles' side, to attach in each account: the group's datasets, at its access, ending with its grants.
    block = out.split("in each account and attach it to them", 1)[1].split(":\n", 1)[1]
    document = json.loads("\n".join(itertools.takewhile(lambda line: line.startswith("    "), block.splitlines())))
    text = json.dumps(document)
    assert "orgshare-prod-events-222222222222-eu-west-1" in text and "2031-04-01T00:00:00Z" in text
    assert "orgshare-prod-source-branches" in text and "corp-lake" not in text  # raw is not the group's


def test_a_config_one_pipeline_cannot_hold_is_one_line_and_exit_2(tmp_path, capsys):
    config = tmp_path / "big.yaml"
    config.write_text(config_with(1000))
    assert summary.main(["--config", str(config), "--outdir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {config}: 1002 target accounts in eu-west-1")


def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys):
    assert summary.main(["--config", str(tmp_path / "missing.yaml"), "--outdir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "file not found" in err[0]
    assert not (tmp_path / "out").exists()


def test_the_own_roles_side_is_a_template_the_consumers_team_deploys(organization, capsys, tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setattr(summary, "OWN_ROLES_DIR", tmp_path / "own-roles")
    summary.render(organization)
    out = capsys.readouterr().out
    path = tmp_path / "own-roles" / "prod-analytics.template.json"
    assert f"or deploy {path} in 333333333333 eu-west-1" in " ".join(line.strip() for line in out.splitlines())
    template = json.loads(path.read_text())
    (policy,) = template["Resources"].values()
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    assert policy["Properties"]["Roles"] == ["glue-etl", "athena-analyst"]  # names: a path is not part of them
    assert policy["Properties"]["ManagedPolicyName"] == {"Ref": "PolicyName"}
    stage = organization.consumer("prod", 0)
    (document,) = [
        r["Properties"]["PolicyDocument"]
        for r in organization.template_json(stage)["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    assert policy["Properties"]["PolicyDocument"] == document  # the stage's own policy, as it deploys
    assert "accesspoint/orgshare-prod-raw" in json.dumps(document)
    linted = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", "-t", str(path)],
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_an_own_roles_template_takes_the_ids_of_the_apis_it_is_given_as_parameters(
    example, capsys, tmp_path, monkeypatch
):
    """The consumer stack reads an API's id at deploy (its lookup), which the own roles' template cannot: it takes it
    as a parameter, the consumer stack's output, and passes cfn-lint as it is written (a reference to the stack's
    lookup would be an unresolved resource there)."""
    import subprocess
    import sys

    monkeypatch.setattr(summary, "OWN_ROLES_DIR", tmp_path / "own-roles")
    summary.render(example)
    out = capsys.readouterr().out
    assert "<ApiOrdersId>/live/GET/items/*" in out  # the printed policy names the output to read
    path = tmp_path / "own-roles" / "prod-analytics.template.json"
    template = json.loads(path.read_text())
    assert template["Parameters"]["ApiOrdersId"]["Description"].endswith(
        "the output ApiOrdersId of the stack datashare-prod-analytics in this account (after the pipeline deployed it)"
    )
    document = json.dumps(template["Resources"]["OwnRolesSharedData"]["Properties"]["PolicyDocument"])
    assert '{"Ref": "ApiOrdersId"}' in document and "Lookups" not in document
    consumer = example.template_json(example.consumer("prod", 0))
    assert consumer["Outputs"]["ApiOrdersId"]["Value"]["Fn::GetAtt"][1] == "StackResourceDetail.PhysicalResourceId"
    linted = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", "-t", str(path)],
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert linted.returncode == 0, linted.stdout + linted.stderr
