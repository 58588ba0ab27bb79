"""The local rehearsal, end to end: moto's server, the real CDK CLI, the pipeline's own order."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

import stacks.consumer_stack
from config import DEFAULT_CONFIG, load_config
from config.loader import parse_config
from tests.configs import config_text
from tests.conftest import EXAMPLE
from tools.bench.configs import config_with
from tools.docs import all_blocks, normalize
from tools.rehearsal import __main__ as rehearsal_main
from tools.rehearsal import runner
from tools.rehearsal.runner import EXIT_APPROVAL, EXIT_CONFIG, EXIT_FAILED, EXIT_OK, GROUPS_NOTE, Rehearsal

TWO_ENVIRONMENTS = config_text(
    "rehearse",
    """\
  - name: dev
    source: {account: "222222222222", region: eu-west-1}
    consumers: [{name: analytics, account: "333333333333", region: eu-west-1, grants: {data: read-write}}]
    datasets: [{name: data, bucket: {}, table: {}}]
  - name: prod
    approval: true
    source: {account: "444444444444", region: eu-west-1}
    consumers:
      - name: analytics
        account: "333333333333"
        region: eu-west-1
        task_network: {subnets: [subnet-0123456789abcdef0]}
""",
)


def _rehearse(tmp_path: Path, text: str = TWO_ENVIRONMENTS, **options) -> tuple[int, str, Rehearsal]:
    out = io.StringIO()
    rehearsal = Rehearsal(
        config=parse_config(text),
        config_path="test.yaml",
        outdir=tmp_path / "cdk.out",
        approve=options.pop("approve", True),
        destroy=options.pop("destroy", False),
        out=out,
        ask=options.pop("ask", None),
    )
    return rehearsal.run(), out.getvalue(), rehearsal


def _steps(rehearsal: Rehearsal, phase: str) -> list[str]:
    return [row.name for row in rehearsal.rows if row.phase == phase]


@pytest.mark.e2e
def test_the_example_passes_end_to_end_in_pipeline_order_as_the_readme_shows_and_the_data_outlives_the_stacks(
    tmp_path,
):
    out = io.StringIO()
    rehearsal = Rehearsal(
        config=load_config(EXAMPLE),
        config_path=DEFAULT_CONFIG,
        outdir=tmp_path / "cdk.out",
        approve=True,
        destroy=True,
        out=out,
    )
    code, out = rehearsal.run(), out.getvalue()
    assert code == EXIT_OK, out
    assert _steps(rehearsal, "deploy") == [
        "dev-sharing/Sharing",
        "dev-analytics/Consumer",
        "prod-sharing/Sharing",
        # analytics' grants of the data lake's existing key, in the source account, after its roles exist
        "prod-analytics/Consumer + prod-analytics/KeyGrants + prod-reporting/Consumer + prod-ingest/Consumer",
    ]
    # Then reporting's grant of reference ends (the end of 2031-03-31): at that instant, with no deploy, its test step
    # again, refused what it was given (the enforcement decides by aws:CurrentTime, the self-check expects it).
    assert _steps(rehearsal, "test") == ["Prove-dev", "Prove-prod", "Prove-prod at 2031-04-01T00:00:00Z"]
    assert _steps(rehearsal, "approve") == ["Broadening-prod", "Approve-prod"]
    phases = [row.phase for row in rehearsal.rows]
    assert phases.index("approve") == phases.index("test") + 1  # after dev's check, before prod deploys
    assert len(_steps(rehearsal, "bootstrap")) == 7
    # Each consumer's function and task passed; the task printed its self-check through its log.
    assert out.count("PASS  analytics (function)") == 2 and out.count("PASS  analytics (task)") == 2
    # Every refusal proven: the emulator decided each request by the policies as deployed.
    assert "PASS  reporting (task): sales read, reference read; refused events, lake-curated, lake-raw, orders" in out
    assert (
        "PASS  ingest (function): events read-write (its prefix only) and queried, orders read-write; refused "
        "lake-curated, lake-raw, reference, sales" in out
    )
    assert "not provable" not in out
    ended = out.split("At 2031-04-01T00:00:00Z, when reporting's grant of reference in prod ends")[1]
    assert (
        "PASS  reporting (function): sales read; refused events, lake-curated, lake-raw, orders, reference (its grant "
        "ended)" in ended
    )
    assert (
        "PASS  reporting (task): sales read; refused events" in ended
        and "analytics" not in ended.split("\n  destroy")[0]
    )
    assert re.search(
        r"IAM       \d+ requests of the project's principals evaluated \(\d+ distinct IAM decisions\), 134 refused; "
        r"27 not evaluated: ec2 18, ecs 9\n",
        out,
    ), out
    assert "Athena's queries ran in DuckDB over the emulated objects" in out  # events describes a table
    assert (
        "PASS  analytics (task): sales read, events read (its prefix only) and queried, reference read, lake-raw read "
        "(its prefix only), lake-curated read (its prefix only) and queried, orders read (its writes refused)" in out
    )
    assert "API Gateway is not served by the emulator: it served each shared API's calls itself" in out
    assert "the rehearsal created stand-ins before the first deploy (key 1a2b3c4d-" in out
    assert "approved (--approve)" in out
    # Each environment's daily proof, as its schedule starts it: its own role, the proof roles' trust, the same checks.
    assert [(row.name, row.where, row.result) for row in rehearsal.rows if row.phase == "daily"] == [
        ("datashare-dev-daily-proof", "dev", "passed"),
        ("datashare-prod-daily-proof", "prod", "passed"),
    ]
    # The person's gate shows the access it approves (nothing is deployed yet: everything is new), and each
    # environment's last test step records what it deployed, which the next push's approvals compare with.
    assert "Deploy the prod share from account 444444444444 to 3 consumer account(s)? access changes of prod" in out
    assert "recorded config/example.yaml (commit rehearsal) as what prod has deployed" in out
    assert (
        "access changes of prod since the deployed commit rehearsal: no access changes: every consumer keeps exactly "
        "what it had" in out
    )
    retained = [row for row in rehearsal.rows if row.phase == "retained"]
    assert [(row.name, row.result) for row in retained] == [
        ("sales", "buckets, objects, tables and items remain"),
        ("sales, events, reference, orders", "buckets, objects, tables and items remain"),
    ]
    # What `make local` printed, but for --destroy's rows, is what the README shows (make docs rewrites it).
    shown = "\n".join(line for line in out.splitlines() if not re.match(r"  (destroy|retained) ", line)) + "\n"
    assert normalize(shown) == normalize(all_blocks()["local"])
    assert "Result: PASSED" in out
    assert "Every request of the project's principals was decided before the emulator served it" in out
    assert "ran the function's handler in a local Python process" in out
    assert "ran the task's entry point (python -m consumer_app self-check) in a local Python process" in out


@pytest.mark.e2e
def test_a_broken_consumer_fails_its_test_step_and_later_environments_are_not_deployed(tmp_path, monkeypatch):
    original = stacks.consumer_stack.runtime_environment

    def wrong_source_role(names, environment_, consumer, api_ids=None):
        # A consumer that computes the source role in the wrong account: the table is not there.
        environment = original(names, environment_, consumer, api_ids)
        if names.environment == "dev":
            environment["SOURCE_ROLE_ARN"] = environment["SOURCE_ROLE_ARN"].replace("222222222222", "999999999999")
        return environment

    monkeypatch.setattr(stacks.consumer_stack, "runtime_environment", wrong_source_role)
    code, out, rehearsal = _rehearse(tmp_path)
    assert code == EXIT_FAILED
    assert _steps(rehearsal, "deploy") == ["dev-sharing/Sharing", "dev-analytics/Consumer"]
    # The function and the task both carry the wrong role, and both fail: the task's failure came from running it.
    assert "FAIL  analytics (function)" in out and "FAIL  analytics (task)" in out
    assert "exit code 1" in out
    # The refusal is AWS's, as the enforced emulator answers it: no role of that account trusts the consumer's.
    assert (
        "assume-source-role: AccessDenied: User: arn:aws:sts::333333333333:assumed-role/rehearse-dev-consumer-function/"
        "rehearse-dev-consumer is not authorized to perform: sts:AssumeRole on resource: "
        "arn:aws:iam::999999999999:role/rehearse-dev-source-analytics because no policy allows it" in out
    ), out
    assert "test step Prove-dev failed for analytics" in out
    assert "prod" not in " ".join(_steps(rehearsal, "deploy") + _steps(rehearsal, "approve"))
    assert "Result: FAILED" in out


APPROVAL_FIRST = TWO_ENVIRONMENTS.replace("  - name: dev\n", "  - name: dev\n    approval: true\n")


class _NoAccounts:
    """Stands in for the emulator and the CDK CLI where a test stops at an approval gate: it bootstraps nothing
    and fails any deploy, so a test that passed a gate by mistake fails."""

    endpoint = "http://localhost:0"
    exceptions = SimpleNamespace(EntityAlreadyExistsException=KeyError)

    def __init__(self, **_: object) -> None:
        pass

    def __enter__(self) -> _NoAccounts:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def administrator(self, account: str) -> _NoAccounts:
        return self

    def session(self, region: str) -> _NoAccounts:
        return self

    def client(self, service: str) -> _NoAccounts:
        return self

    def create_policy(self, **_: object) -> None:  # the permissions boundary the rehearsal writes after bootstrap
        pass

    def bootstrap(self, *_: object, **__: object) -> None:
        pass

    def deploy(self, paths: list[str], *_: object) -> None:
        raise AssertionError(f"deployed {paths} past an approval gate")


@pytest.fixture
def no_accounts(monkeypatch):
    monkeypatch.setattr(runner, "Emulator", _NoAccounts)
    monkeypatch.setattr(runner, "CdkCli", _NoAccounts)


@pytest.mark.usefixtures("no_accounts")
def test_an_approval_gate_without_a_terminal_stops_before_deploying(tmp_path):
    code, out, rehearsal = _rehearse(tmp_path, APPROVAL_FIRST, approve=False, ask=None)
    assert code == EXIT_APPROVAL
    assert _steps(rehearsal, "deploy") == []
    assert "approval gate Broadening-dev before dev-sharing: no terminal to ask at; pass --approve" in out
    assert "Result: STOPPED AT AN APPROVAL GATE" in out


@pytest.mark.usefixtures("no_accounts")
def test_a_rejected_approval_stops_and_says_so(tmp_path):
    questions = []

    def reject(question: str) -> bool:
        questions.append(question)
        return False

    code, out, rehearsal = _rehearse(tmp_path, APPROVAL_FIRST, approve=False, ask=reject)
    assert code == EXIT_APPROVAL
    assert questions and questions[0].startswith("Broadening-dev: Confirm any broadening of IAM permissions")
    assert _steps(rehearsal, "deploy") == []
    assert "was rejected" in out


def test_a_config_one_pipeline_cannot_hold_stops_with_the_reason_before_any_account(tmp_path):
    code, out, rehearsal = _rehearse(tmp_path, config_with(1000))
    assert code == EXIT_CONFIG
    assert "STOPPED: test.yaml: 1002 target accounts in eu-west-1" in out
    assert "Traceback" not in out and _steps(rehearsal, "bootstrap") == []


def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TWO_ENVIRONMENTS.replace('"444444444444"', '"4444"'))
    assert rehearsal_main.main(["--config", str(bad), "--outdir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "environments[prod].source.account: '4444' is not a 12-digit AWS account id" in err[0]
    assert not (tmp_path / "out").exists()


@pytest.fixture(autouse=True)
def _no_endpoint_leak():
    import os

    yield
    assert "AWS_ENDPOINT_URL" not in os.environ or os.environ["AWS_ENDPOINT_URL"].startswith("http://localhost")


def test_a_task_network_runs_in_the_emulated_default_vpc_and_the_rehearsal_says_so(tmp_path):
    from pipeline_steps.prove_consumers import ProofTarget, TaskNetwork, Wave

    rehearsal = Rehearsal(
        config=parse_config(TWO_ENVIRONMENTS),
        config_path="test.yaml",
        outdir=tmp_path,
        approve=True,
        destroy=False,
        out=io.StringIO(),
    )
    networked = ProofTarget("analytics", "333333333333", "eu-west-1", TaskNetwork(("subnet-0123456789abcdef0",)))
    wave = Wave("aws", "f", "c", "t", "r", (networked, ProofTarget("other", "555555555555", "eu-west-1")))
    assert Wave.decode(rehearsal._in_default_vpcs(wave.encode())).targets == (
        ProofTarget("analytics", "333333333333", "eu-west-1"),
        ProofTarget("other", "555555555555", "eu-west-1"),
    )
    assert any(
        "The task_network of analytics names subnets the emulated accounts do not have" in n for n in rehearsal.notes
    )
    plain = Wave("aws", "f", "c", "t", "r", (ProofTarget("other", "555555555555", "eu-west-1"),))
    assert rehearsal._in_default_vpcs(plain.encode()) == plain.encode()


# A data lake that already exists: two prefixes of one bucket under its own key, read directly through access points
# by the consumers' roles (one of them its own Athena role), and a dataset of another existing bucket and table
# reached through the source role. Nothing of it is the project's.
LAKE_KEY = "arn:aws:kms:eu-west-1:222222222222:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
EXISTING_ONLY = config_text(
    "lake",
    f"""\
  - name: dev
    source: {{account: "222222222222", region: eu-west-1}}
    datasets:
      - {{name: raw, bucket: {{existing: corp-lake, prefix: raw/, kms_key: "{LAKE_KEY}", access: access-point}}}}
      - name: curated
        bucket: {{existing: corp-lake, prefix: curated/, kms_key: "{LAKE_KEY}", access: access-point}}
        catalog: {{format: csv, columns: {{id: string, amount: double}}}}
      - {{name: ledger, bucket: {{existing: corp-finance, prefix: ledger/}}, table: {{existing: finance-ledger}}}}
    consumers:
      - name: analytics
        account: "333333333333"
        region: eu-west-1
        roles: [service-role/athena-analyst]
        grants: {{raw: read, curated: read-write, ledger: read}}
      - {{name: bi, account: "444444444444", region: eu-west-1, grants: {{curated: read}}}}
""",
)


@pytest.mark.e2e
def test_a_config_of_existing_data_only_passes_with_stand_ins_access_points_and_key_grants(tmp_path):
    from moto.kms.models import kms_backends
    from moto.s3.models import s3_backends
    from moto.s3control import s3control_backends

    code, out, rehearsal = _rehearse(tmp_path, EXISTING_ONLY)
    assert code == EXIT_OK, out
    assert (
        # ledger is reached through the source role: the rest of its owner's bucket is the owner's to grant.
        "PASS  analytics (function): raw read (its prefix only), curated read-write (its prefix only) and queried, "
        "ledger read\n" in out
    )
    # Refused the datasets it was not given, with IAM enforced: the access points' policies decide.
    assert "PASS  bi (task): curated read (its prefix only) and queried; refused ledger, raw" in out
    assert "the rehearsal created stand-ins before the first deploy (key 1a2b3c4d-" in out
    assert "policy of corp-lake: delegation to the account's access points" in out
    # The key-grants stacks deploy in the consumers' stages, after their consumer stacks, in the source account.
    deployed = " ".join(_steps(rehearsal, "deploy"))
    assert "dev-analytics/Consumer + dev-analytics/KeyGrants" in deployed
    # One grant per consumer role and dataset, of the operations its access needs; nothing else on the key.
    key = kms_backends["222222222222"]["eu-west-1"].keys[LAKE_KEY.rsplit("/", 1)[-1]]
    grants = {(g.grantee_principal, tuple(g.operations)) for g in key.grants.values()}
    role = "arn:aws:iam::{}:role/lake-dev-{}"
    assert grants == {
        (role.format("333333333333", "consumer-function"), ("Decrypt",)),
        (role.format("333333333333", "consumer-task"), ("Decrypt",)),
        ("arn:aws:iam::333333333333:role/service-role/athena-analyst", ("Decrypt",)),
        (role.format("333333333333", "consumer-function"), ("Decrypt", "GenerateDataKey")),
        (role.format("333333333333", "consumer-task"), ("Decrypt", "GenerateDataKey")),
        ("arn:aws:iam::333333333333:role/service-role/athena-analyst", ("Decrypt", "GenerateDataKey")),
        (role.format("444444444444", "consumer-function"), ("Decrypt",)),
        (role.format("444444444444", "consumer-task"), ("Decrypt",)),
    }
    points = s3control_backends["222222222222"]["aws"].access_points["222222222222"]
    assert {name: point.bucket for name, point in points.items()} == {
        "lake-dev-raw": "corp-lake",
        "lake-dev-curated": "corp-lake",
    }
    assert "athena-analyst" in points["lake-dev-raw"].policy
    # Each consumer's table over curated/ names the access point's alias, read from the source account at deploy.
    from moto.glue.models import glue_backends

    for account in ("333333333333", "444444444444"):
        table = glue_backends[account]["eu-west-1"].get_table("lake_dev", "curated")
        assert table.as_dict()["StorageDescriptor"]["Location"] == f"s3://{points['lake-dev-curated'].alias}/curated/"
    # The bucket's policy is still only its owner's statement (the stand-in's), and the proof wrote nothing that stayed.
    bucket = s3_backends["222222222222"]["aws"].buckets["corp-lake"]
    assert [s["Sid"] for s in json.loads(bucket.policy)["Statement"]] == ["DelegateToTheAccessPointsOfLake"]
    assert sorted(bucket.keys) == ["curated/stand-in.csv", "raw/stand-in.csv"]


FLEET = Path(__file__).parents[2] / "config" / "fleet.yaml"


@pytest.mark.e2e
def test_the_fleet_rolls_its_stack_set_out_to_every_account_of_its_units_and_to_an_account_that_joins(tmp_path):
    """make local CONFIG=config/fleet.yaml: the emulated organization, the StackSet made by the groups' stack as the
    delegated administrator, its instances in each account of the units and of the units under them, each proven
    with IAM enforced (aws:PrincipalOrgPaths decided from the organization); then an account moved into a unit gets
    its stack by itself and passes the group's test step."""
    out = io.StringIO()
    rehearsal = Rehearsal(config=load_config(FLEET), config_path=str(FLEET), outdir=tmp_path / "cdk.out",
                          approve=True, destroy=False, out=out, accounts_per_unit=2)  # fmt: skip
    code = rehearsal.run()
    text = out.getvalue()
    assert code == EXIT_OK, text
    assert "organize  o-exampleorg1: 4 accounts in ou-ab12-11111111, ou-ab12-22222222" in text
    # 2 accounts a unit, one of them in the unit under it: 4 stacks, each account's function proven.
    assert "fleetshare-prod-branches: 4 stack instances (4 SUCCEEDED)" in text
    assert "PASS  700000000001 eu-west-1: sales read, reference read; refused events" in text  # under a unit
    assert "branches: 4 of 4 accounts proved their datasets from their function; 0 failed" in text
    assert re.search(r"join +account 700000000004 moved into ou-ab12-11111111 +fleetshare-prod-branches .* its stack: "
                     r"eu-west-1 SUCCEEDED", text)  # fmt: skip
    assert "branches: 1 of 1 accounts proved their datasets from their function; 0 failed" in text.split("joined")[-1]
    assert "PASS  700000000004 eu-west-1: sales read, reference read; refused events" in text
    # The grants' aws:PrincipalOrgPaths was decided from each account's path, never absent from the request.
    assert "aws:PrincipalOrgPaths" not in text.split("Summary", 1)[1].split("Note:", 1)[0]
    assert GROUPS_NOTE in text


def test_with_grants_by_organization_every_account_of_the_config_is_a_member_of_it(tmp_path):
    """The enforcement decides aws:PrincipalOrgID by the emulated organization: the config's, holding its accounts."""
    from tests.conftest import ORGANIZATION_CONFIG

    config = parse_config(ORGANIZATION_CONFIG)
    rehearsal = Rehearsal(config=config, config_path="org.yaml", outdir=tmp_path, approve=True, destroy=False)
    members = rehearsal._organizations()
    assert members == dict.fromkeys(["111111111111", "222222222222", "333333333333", "444444444444"], "o-abcdefghij")
    assert Rehearsal(config=load_config(EXAMPLE), config_path="x", outdir=tmp_path, approve=True,
                     destroy=False)._organizations() == {}  # fmt: skip
    # Its consumer group is not rehearsed (the emulator skips StackSets): the rehearsal says so, and of no other config.
    assert GROUPS_NOTE in rehearsal.notes
    assert GROUPS_NOTE not in Rehearsal(config=load_config(EXAMPLE), config_path="x", outdir=tmp_path, approve=True,
                                        destroy=False).notes  # fmt: skip
