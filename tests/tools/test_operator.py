"""Operator commands against emulated accounts, with the real CDK CLI doing the bootstrapping."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from config.loader import parse_config
from config.naming import Bootstrap, access_records_bucket, execution_policy_names
from tests.configs import config_text
from tools.operator import __main__ as operator
from tools.rehearsal.cdk_cli import CLI, CdkCli
from tools.rehearsal.emulator import Emulator

CONFIG = config_text(
    "ops",
    """\
  - name: dev
    source: {account: "222222222222", region: eu-west-1}
    consumers:
      - {name: analytics, account: "333333333333", region: eu-west-1}
      - {name: reporting, account: "444444444444", region: eu-west-1}
""",
)
OPS = Bootstrap.of(parse_config(CONFIG))
# Appended to CONFIG: the environment's datasets, one of them an existing bucket of the source account.
EXISTING_DATASET = """    datasets:
      - {name: data, bucket: {}, table: {}}
      - {name: lake, bucket: {existing: corp-lake, prefix: raw/}}
"""


def _with_existing_dataset() -> str:
    text = CONFIG + EXISTING_DATASET
    for account in ("333333333333", "444444444444"):
        text = text.replace(
            f'"{account}", region: eu-west-1}}', f'"{account}", region: eu-west-1, grants: {{data: read, lake: read}}}}'
        )
    return text


pytestmark = pytest.mark.usefixtures("configs_outside_the_repository")


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "ops.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def emulator(tmp_path):
    with Emulator() as emulator:
        emulator.cdk = CdkCli(endpoint=emulator.endpoint, assembly=tmp_path)
        emulator.sessions = lambda account, region: emulator.administrator(account).session(region)
        emulator.sessions("111111111111", "eu-west-1").client("codecommit").create_repository(
            repositoryName="data-sharing"
        )
        yield emulator


def _run(command: list[str], emulator, config_file) -> tuple[int, str]:
    out = io.StringIO()
    code = operator.main([command[0], "--config", str(config_file), *command[1:]], sessions=emulator.sessions, out=out)
    return code, out.getvalue()


@pytest.mark.e2e
def test_doctor_names_each_account_that_is_not_ready_and_how_to_fix_it(emulator, config_file):
    cdk, admin = emulator.cdk, emulator.administrator
    cdk.bootstrap(admin("111111111111"), "eu-west-1", trust=None, bootstrap=OPS)
    cdk.bootstrap(admin("222222222222"), "eu-west-1", trust="111111111111", bootstrap=OPS)
    cdk.bootstrap(admin("333333333333"), "eu-west-1", trust="999999999999", bootstrap=OPS)  # trusts the wrong account
    code, out = _run(["doctor"], emulator, config_file)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("OK    111111111111 eu-west-1 (tooling): bootstrap version 33")
    assert "source repository reachable" in lines[0]
    assert lines[1].startswith("FAIL  222222222222 eu-west-1 (source of dev)")
    assert "the permissions boundary ops-permissions-boundary is missing" in lines[1]
    # The hint carries the config the user gave: copied as printed, it acts on these accounts.
    assert lines[1].endswith(
        f'-> make bootstrap CONFIG={config_file} ARGS="--yes" (it creates the project\'s policies, and skips what is '
        "bootstrapped)"
    )
    assert lines[2].startswith("FAIL  333333333333 eu-west-1 (consumer analytics of dev)")
    assert "trusts 999999999999, not the tooling account 111111111111" in lines[2]
    assert f"-> make bootstrap CONFIG={config_file} (it runs: " in lines[2] and "--trust 111111111111" in lines[2]
    assert lines[3].startswith("FAIL  444444444444 eu-west-1 (consumer reporting of dev): not bootstrapped")
    assert lines[4] == "1 of 4 accounts ready"


def test_doctor_finds_a_missing_repository_and_credentials_in_the_wrong_account(emulator, config_file, tmp_path):
    emulator.cdk.bootstrap(emulator.administrator("111111111111"), "eu-west-1", trust=None, bootstrap=OPS)
    other = tmp_path / "other.yaml"
    other.write_text(CONFIG.replace("codecommit_repository: data-sharing", "codecommit_repository: missing"))
    # A grant that ends within 14 days is a warning (AWS ends it by itself), one that ends later a line.
    soon, later = date.today() + timedelta(days=3), date.today() + timedelta(days=40)
    other.write_text(
        CONFIG.replace("codecommit_repository: data-sharing", "codecommit_repository: missing")
        .replace(
            '{name: reporting, account: "444444444444", region: eu-west-1}',
            '{name: reporting, account: "444444444444", region: eu-west-1, grants: '
            f"{{data: {{access: read, until: {soon}}}}}}}",
        )
        .replace(
            '{name: analytics, account: "333333333333", region: eu-west-1}',
            f'{{name: analytics, account: "333333333333", region: eu-west-1, grants: {{data: {{access: read, until: '
            f"{later}}}}}}}",
        )
    )
    code, out = _run(["doctor"], emulator, other)
    assert code == 1
    assert "FAIL  111111111111 eu-west-1 (tooling): CodeCommit repository missing not found" in out
    ends = f"{soon + timedelta(days=1)}T00:00:00Z"
    (warning,) = [line for line in out.splitlines() if "reporting's grant" in line]
    assert re.fullmatch(
        rf"dev: WARNING: ends in 3\.\d days: reporting's grant of data \(read\) ends at {ends}: renew it \(a later "
        r"until\) or let it end; then take it out of the config",
        warning,
    ), warning
    assert f"dev: analytics's grant of data (read) ends at {later + timedelta(days=1)}T00:00:00Z" in out
    # The last daily proof, as its run recorded it in the tooling account.
    assert "dev: no daily proof yet (the pipeline stack is not deployed)" in out
    bucket = access_records_bucket(parse_config(CONFIG))
    s3 = emulator.sessions("111111111111", "eu-west-1").client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert "dev: no daily proof yet (the schedule runs cron(0 6 * * ? *), UTC)" in _run(["doctor"], emulator, other)[1]
    at = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    failed = {"ok": False, "at": at, "failing": ["FAIL  reporting (function): sales: read-object"]}
    s3.put_object(Bucket=bucket, Key="proof-results/dev.json", Body=json.dumps(failed).encode())
    assert (
        f"dev: daily proof FAILED at {at}: FAIL  reporting (function): sales: read-object"
        in _run(["doctor"], emulator, other)[1]
    )
    # A result older than two of the schedule's periods: the runs stopped recording (a build that fails to start).
    old = {"ok": True, "at": "2026-01-01T06:00:41Z"}
    s3.put_object(Bucket=bucket, Key="proof-results/dev.json", Body=json.dumps(old).encode())
    assert re.search(
        r"dev: the daily proof last ran at 2026-01-01T06:00:41Z, \d+ hours ago: see its project's builds "
        r"\(ops-dev-daily-proof\) in the tooling account",
        _run(["doctor"], emulator, other)[1],
    )
    out_wrong = io.StringIO()
    same = emulator.administrator("111111111111")
    operator.main(["doctor", "--config", str(config_file)], sessions=lambda a, r: same.session(r), out=out_wrong)
    # One cause of three accounts: said once, then the accounts.
    assert "FAIL  3 accounts: the credentials act in 111111111111" in out_wrong.getvalue()
    assert "\n      222222222222 eu-west-1 (source of dev)\n" in out_wrong.getvalue()


def test_bootstrap_prints_commands_with_the_projects_execution_policy(emulator, config_file):
    code, out = _run(["bootstrap"], emulator, config_file)
    assert code == 0
    # The project's own bootstrap: never the account's default (CDKToolkit), which other CDK apps use.
    assert "cdk bootstrap aws://111111111111/eu-west-1 --qualifier ops --toolkit-stack-name CDKToolkit-ops\n" in out
    assert (
        "cdk bootstrap aws://333333333333/eu-west-1 --qualifier ops --toolkit-stack-name CDKToolkit-ops --trust "
        "111111111111 --cloudformation-execution-policies "
        + ",".join(f"arn:aws:iam::333333333333:policy/{n}" for n in execution_policy_names(parse_config(CONFIG), 4))
    ) in out
    assert "# first, in 333333333333: the policies ops-cdk-execution, ops-cdk-execution-2, " in out
    code, out = _run(["bootstrap", "--admin"], emulator, config_file)
    assert out.startswith("warning: --admin")
    assert "--cloudformation-execution-policies arn:aws:iam::aws:policy/AdministratorAccess" in out


@pytest.mark.e2e
def test_bootstrap_yes_runs_what_is_missing_skips_what_is_ready_and_doctor_then_passes(
    emulator, config_file, monkeypatch, capsys
):
    assert CLI.exists()
    emulator.cdk.bootstrap(emulator.administrator("111111111111"), "eu-west-1", trust=None, bootstrap=OPS)
    code, out = _run(["bootstrap", "--yes"], emulator, config_file)
    assert code == 0, out
    assert out.splitlines()[0].startswith("skip  111111111111 eu-west-1 (tooling): already bootstrapped")
    assert [line.split()[1] for line in out.splitlines() if line.startswith("done")] == [
        "222222222222",
        "333333333333",
        "444444444444",
    ]
    iam = emulator.sessions("333333333333", "eu-west-1").client("iam")
    names = {p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]}
    assert names >= {"ops-cdk-execution", "ops-cdk-execution-4", "ops-permissions-boundary"}
    code, out = _run(["doctor"], emulator, config_file)
    assert code == 0, out
    assert "4 of 4 accounts ready" in out.splitlines()
    assert out.splitlines()[-1] == "dev: no daily proof yet (the pipeline stack is not deployed)"
    code, out = _run(["bootstrap", "--yes"], emulator, config_file)
    assert code == 0 and out.count("skip") == 4  # nothing is bootstrapped twice
    # A dataset of an existing bucket changes the boundary (the source roles must reach that bucket): doctor says so,
    # and bootstrap writes the boundary's new version where it differs.
    config_file.write_text(_with_existing_dataset())
    s3 = emulator.sessions("222222222222", "eu-west-1").client("s3")
    s3.create_bucket(Bucket="corp-lake", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    code, out = _run(["doctor"], emulator, config_file)
    assert code == 1
    assert "the project's policies ops-permissions-boundary are not this config's" in out
    code, out = _run(["bootstrap", "--yes"], emulator, config_file)
    assert code == 0, out
    assert out.count("the project's policies now match this config") == 3  # no second `cdk bootstrap`
    document = iam.get_policy_version(
        PolicyArn="arn:aws:iam::333333333333:policy/ops-permissions-boundary", VersionId="v2"
    )["PolicyVersion"]["Document"]
    assert "arn:aws:s3:::corp-lake/raw/*" in json.dumps(document)
    code, out = _run(["doctor"], emulator, config_file)
    assert code == 0, out
    # A resource type added for an extension changes the execution policy: the same, for it.
    import bootstrap.policies as policies

    # (A queue's policy: its actions fit the four execution policies, whose number a re-bootstrap on the emulator
    # cannot change: moto's CloudFormation fails that update of the bootstrap stack.)
    monkeypatch.setattr(policies, "STACK_RESOURCE_TYPES", (*policies.STACK_RESOURCE_TYPES, "AWS::SQS::QueuePolicy"))
    # Not before its service is kept to the project's resources: one line, nothing written.
    code, out = _run(["bootstrap", "--yes"], emulator, config_file)
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and not out and len(err) == 1 and "call sqs, which bootstrap/policies.py does not keep" in err[0]
    monkeypatch.setitem(policies.FENCES, "sqs", ("arn:{partition}:sqs:*:{account}:{project}-*",))
    code, out = _run(["doctor"], emulator, config_file)
    # (Which of the execution policies change depends on how the statements pack: at least one does.)
    assert code == 1 and re.search(
        r"the project's policies ops-cdk-execution[-a-z0-9, ]* are not this config's", out
    ), out
    code, out = _run(["bootstrap", "--yes"], emulator, config_file)
    assert code == 0 and out.count("the project's policies now match this config") == 3, out
    assert _run(["doctor"], emulator, config_file)[0] == 0
    # An image of a private repository of the tooling account: doctor names the consumer accounts its policy does not
    # let pull, with the statement to add.
    image = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/consumer:1.0"
    config_file.write_text(config_file.read_text().replace("public.ecr.aws/example/consumer:1.0", image))
    ecr = emulator.sessions("111111111111", "eu-west-1").client("ecr")
    ecr.create_repository(repositoryName="consumer")
    code, out = _run(["doctor"], emulator, config_file)
    assert code == 1 and "repository consumer does not let 333333333333, 444444444444 pull it" in out, out
    pulls = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    roots = ["arn:aws:iam::333333333333:root", "arn:aws:iam::444444444444:root"]
    statement = {"Sid": "Consumers", "Effect": "Allow", "Principal": {"AWS": roots}, "Action": pulls}
    ecr.set_repository_policy(
        repositoryName="consumer", policyText=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    # The boundary names the image's repository too: bootstrap writes its new version.
    assert _run(["bootstrap", "--yes"], emulator, config_file)[0] == 0
    code, out = _run(["doctor"], emulator, config_file)
    assert code == 0 and "consumer image pullable from consumer" in out, out


@pytest.mark.e2e
def test_doctor_names_stacks_the_config_no_longer_has_and_roles_a_new_stack_could_not_create(emulator, config_file):
    """CDK Pipelines never deletes a removed stage's stacks: a consumer renamed in place leaves its old stack, whose
    roles have the names the new stack needs (and a consumer moved to another region leaves them in the old one)."""
    assert _run(["bootstrap", "--yes"], emulator, config_file)[0] == 0
    assert _run(["doctor"], emulator, config_file)[0] == 0
    cloudformation = emulator.sessions("333333333333", "eu-west-1").client("cloudformation")
    template = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    for name in ("ops-dev-bi", "dev-old-Consumer", "someone-elses"):  # removed; an earlier version's; not ours
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    code, out = _run(["doctor"], emulator, config_file)
    (line,) = [line for line in out.splitlines() if line.startswith("FAIL  333333333333")]
    assert code == 1 and "stacks of the project the config no longer has: dev-old-Consumer, ops-dev-bi" in line
    assert "aws cloudformation delete-stack --stack-name ops-dev-bi --region eu-west-1" in line
    assert "someone-elses" not in line
    for name in ("ops-dev-bi", "dev-old-Consumer"):
        cloudformation.delete_stack(StackName=name)
    iam = emulator.sessions("333333333333", "eu-west-1").client("iam")
    iam.create_role(RoleName="ops-dev-consumer-task", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    code, out = _run(["doctor"], emulator, config_file)
    assert code == 1 and "the role ops-dev-consumer-task exists but is not the stack ops-dev-analytics's" in out, out
    iam.delete_role(RoleName="ops-dev-consumer-task")
    # A role of the project's name without its boundary (made by hand, or before the project): the execution
    # policy could pass it to a function, and nothing would bound what it does.
    iam.create_role(RoleName="ops-legacy-admin", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    code, out = _run(["doctor"], emulator, config_file)
    assert code == 1 and "roles named as the project's do not carry its permissions boundary: ops-legacy-admin" in out


def test_deploy_refuses_until_doctor_passes(emulator, config_file):
    code, out = _run(["deploy"], emulator, config_file)
    assert code == 1
    assert "error: doctor found accounts that are not ready" in out
    assert "not bootstrapped" in out


def test_doctor_reports_a_connection_that_is_not_available():
    import boto3
    from botocore.stub import Stubber

    from config import load_config
    from tests.conftest import EXAMPLE
    from tools.operator.doctor import _source_status

    config = load_config(EXAMPLE)
    client = boto3.client("codeconnections", region_name="eu-west-1")
    session = type("Session", (), {"client": lambda self, service: client})()
    with Stubber(client) as stub:
        stub.add_response(
            "get_connection",
            {"Connection": {"ConnectionStatus": "PENDING"}},
            {"ConnectionArn": config.repository.connection_arn},
        )
        problem, fix = _source_status(config, session)
    assert problem == f"connection {config.repository.connection_arn} is PENDING"
    assert "handshake" in fix
    with Stubber(client) as stub:
        stub.add_response(
            "get_connection",
            {"Connection": {"ConnectionStatus": "AVAILABLE"}},
            {"ConnectionArn": config.repository.connection_arn},
        )
        assert _source_status(config, session) is None


def test_the_tooling_account_is_bootstrapped_in_every_region_the_pipeline_deploys_to():
    from config import load_config
    from tests.conftest import EXAMPLE
    from tools.operator.accounts import operated_accounts

    found = {(t.account, t.region): t.roles for t in operated_accounts(load_config(EXAMPLE))}
    assert found[("111111111111", "eu-west-1")] == ("tooling",)
    assert found[("111111111111", "eu-central-1")] == ("pipeline artifacts",)  # prod's reporting consumer's region
    assert found[("666666666666", "eu-central-1")] == ("consumer reporting of prod",)
    assert len(found) == 8  # 7 accounts, the tooling one in two regions


def test_doctor_says_where_each_consumer_task_will_run_and_what_is_missing():
    import boto3
    from moto import mock_aws

    from pipeline_steps.prove_consumers import assumed_session
    from tools.operator.accounts import operated_accounts
    from tools.operator.doctor import _task_network_status

    def account(number: str):
        return assumed_session(boto3.Session(region_name="eu-west-1"), f"arn:aws:iam::{number}:role/admin", "eu-west-1")

    with mock_aws():
        analytics, reporting = account("333333333333"), account("444444444444")
        ec2 = reporting.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
        other_vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
        elsewhere = ec2.create_security_group(GroupName="elsewhere", Description="x", VpcId=other_vpc)["GroupId"]

        def status(network: str, session):
            config = parse_config(
                CONFIG.replace(
                    '{name: reporting, account: "444444444444", region: eu-west-1}',
                    f'{{name: reporting, account: "444444444444", region: eu-west-1, task_network: {network}}}',
                )
            )
            targets = {t.account: t for t in operated_accounts(config)}
            return _task_network_status(
                config, targets[session.client("sts").get_caller_identity()["Account"]], session
            )

        assert status(f"{{subnets: [{subnet}]}}", analytics)[0].startswith("analytics's task in default VPC vpc-")
        (default_group,) = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"]
        assert status(f"{{subnets: [{subnet}]}}", reporting) == (
            f"reporting's task in {vpc} (1 subnet, {default_group['GroupId']})",
            "",
        )
        problem, fix = status("{subnets: [subnet-0123456789abcdef0]}", reporting)
        assert problem.startswith("consumer reporting: ") and "subnet-0123456789abcdef0" in problem
        assert fix == "correct environments[dev].consumers[reporting].task_network"
        problem, fix = status(f"{{subnets: [{subnet}], security_groups: [{elsewhere}]}}", reporting)
        assert problem == (
            "consumer reporting: the subnets and security groups of its task_network are in 2 VPCs "
            f"({', '.join(sorted([vpc, other_vpc]))})"
        )
        # A default security group closed to all traffic (as CIS benchmarks ask): the task could not pull its image.
        ec2.revoke_security_group_egress(
            GroupId=default_group["GroupId"], IpPermissions=default_group["IpPermissionsEgress"]
        )
        assert status(f"{{subnets: [{subnet}]}}", reporting) == (
            f"consumer reporting: the security groups of its task ({default_group['GroupId']}) allow no outbound "
            "traffic, so the task could not pull its image or reach AWS",
            f"allow outbound HTTPS in {default_group['GroupId']}, or name security groups that do in "
            "environments[dev].consumers[reporting].task_network",
        )
        # Without a default VPC, analytics' task has nowhere to run: the fix names its place in the config.
        default = analytics.client("ec2")
        (vpc_of_analytics,) = default.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        for item in default.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_of_analytics["VpcId"]]}])[
            "Subnets"
        ]:
            default.delete_subnet(SubnetId=item["SubnetId"])
        default.delete_vpc(VpcId=vpc_of_analytics["VpcId"])
        assert status(f"{{subnets: [{subnet}]}}", analytics) == (
            "consumer analytics: account 333333333333 eu-west-1 has no default VPC to run the task in",
            "name subnets in environments[dev].consumers[analytics].task_network of the config, or create one "
            "(aws ec2 create-default-vpc --region eu-west-1)",
        )


def test_doctor_asks_for_exactly_the_bootstraps_the_synthesized_stacks_deploy_with(example):
    # Every stack, the pipeline's and its stages', deploys through a bootstrap deploy role of its account and region;
    # doctor and bootstrap ask for those and for nothing else.
    import json
    import re
    from pathlib import Path

    from tools.operator.accounts import operated_accounts

    def roles(directory: Path) -> set[tuple[str, str]]:
        found = set()
        manifest = json.loads((directory / "manifest.json").read_text())
        for artifact in manifest["artifacts"].values():
            if artifact["type"] == "cdk:cloud-assembly":
                found |= roles(directory / artifact["properties"]["directoryName"])
            role = artifact.get("properties", {}).get("assumeRoleArn", "")
            match = re.search(r"role/cdk-datashare-deploy-role-(\d{12})-([a-z0-9-]+)$", role)
            if match:
                found.add(match.groups())
        return found

    needed = roles(Path(example.assembly.directory))
    assert {(t.account, t.region) for t in operated_accounts(example.config)} == needed
    assert ("111111111111", "eu-central-1") in needed  # the pipeline's artifacts in the reporting consumer's region


def test_doctor_finds_existing_buckets_and_tables_missing_elsewhere_or_with_an_unnamed_key():
    import boto3
    from moto import mock_aws

    from pipeline_steps.prove_consumers import assumed_session
    from tools.operator.accounts import operated_accounts
    from tools.operator.doctor import _existing_data_status

    text = _with_existing_dataset().replace(
        "      - {name: lake, bucket: {existing: corp-lake, prefix: raw/}}\n",
        "      - {name: lake, bucket: {existing: corp-lake, prefix: raw/}, table: {existing: ledger}}\n",
    )
    with mock_aws():
        source = assumed_session(
            boto3.Session(region_name="eu-west-1"), "arn:aws:iam::222222222222:role/a", "eu-west-1"
        )
        (target,) = [t for t in operated_accounts(parse_config(text)) if t.account == "222222222222"]

        def status(config_text: str = text) -> tuple[str, str]:
            return _existing_data_status(parse_config(config_text), target, source)

        assert "corp-lake does not exist" in status()[0]
        elsewhere = source.client("s3", region_name="eu-central-1")
        elsewhere.create_bucket(Bucket="corp-lake", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        assert "corp-lake is in eu-central-1, the source is eu-west-1" in status()[0]
        elsewhere.delete_bucket(Bucket="corp-lake")
        s3 = source.client("s3")
        s3.create_bucket(Bucket="corp-lake", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        assert "ledger is not a table of this account and region" in status()[0]
        source.client("dynamodb").create_table(
            TableName="ledger",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        assert status() == ("existing bucket corp-lake, table ledger found, keys as configured", "")
        # Its objects under a customer-managed key the config does not name: the source roles could not decrypt.
        key = source.client("kms").create_key()["KeyMetadata"]["Arn"]
        s3.put_bucket_encryption(
            Bucket="corp-lake",
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
            },
        )
        problem, fix = status()
        assert (
            "environments[dev].datasets[lake].bucket.kms_key: corp-lake is encrypted with the customer-managed key "
            f"{key}" in problem
        )
        assert fix == f"set environments[dev].datasets[lake].bucket.kms_key: {key} in the config"
        named = text.replace("prefix: raw/}", f"prefix: raw/, kms_key: '{key}'}}")
        assert status(named)[1] == ""
        # Given read-write, the self-check would write there: not into a bucket with Object Lock, nor a table with a
        # stream, unless the config asks for a proof of the reads only.
        writer = named.replace('"444444444444", region: eu-west-1, grants: {data: read, lake: read}',
                               '"444444444444", region: eu-west-1, grants: {data: read, lake: read-write}')  # fmt: skip
        assert status(writer)[1] == ""
        source.client("dynamodb").update_table(
            TableName="ledger", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
        )
        problem, fix = status(writer)
        assert "ledger has a stream: every item the test step's self-check writes" in problem
        assert (
            fix == "set proof: read-only in environments[dev].datasets[lake] (the test step then proves the reads only)"
        )
        read_only = writer.replace("table: {existing: ledger}}", "table: {existing: ledger}, proof: read-only}")
        assert status(read_only)[1] == ""
        s3.create_bucket(
            Bucket="corp-locked", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
            ObjectLockEnabledForBucket=True,
        )  # fmt: skip
        locked = writer.replace(
            "existing: corp-lake, prefix: raw/, kms_key", "existing: corp-locked, prefix: raw/, kms_key"
        )
        problem, fix = status(locked.replace(", table: {existing: ledger}", ""))
        assert "corp-locked has Object Lock: every object the test step's self-check writes" in problem, problem


def test_doctor_fails_an_access_point_dataset_whose_bucket_does_not_delegate_and_prints_the_statement():
    import boto3
    from moto import mock_aws

    from config.actions import access_point_delegation
    from pipeline_steps.prove_consumers import assumed_session
    from tools.operator.accounts import operated_accounts
    from tools.operator.doctor import _existing_data_status

    text = _with_existing_dataset().replace(
        "{existing: corp-lake, prefix: raw/}", "{existing: corp-lake, prefix: raw/, access: access-point}"
    )
    with mock_aws():
        source = assumed_session(
            boto3.Session(region_name="eu-west-1"), "arn:aws:iam::222222222222:role/a", "eu-west-1"
        )
        (target,) = [t for t in operated_accounts(parse_config(text)) if t.account == "222222222222"]
        s3 = source.client("s3")
        s3.create_bucket(Bucket="corp-lake", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        problem, fix = _existing_data_status(parse_config(text), target, source)
        assert "the policy of corp-lake does not delegate access control to this account's access points" in problem
        statement = access_point_delegation("corp-lake", "222222222222", "eu-west-1", "ops")
        assert fix.endswith(json.dumps(statement, separators=(",", ":")))
        # Another account's access points, or reads only, are not the delegation the consumers need.
        for wrong in (
            {**statement, "Condition": {"StringEquals": {"s3:DataAccessPointAccount": "999999999999"}}},
            # Another project's access points, or none named.
            {
                **statement,
                "Condition": {"StringLike": {"s3:DataAccessPointArn": "arn:aws:s3:*:222222222222:accesspoint/x-*"}},
            },
            {**statement, "Condition": {}},
            {**statement, "Action": ["s3:GetObject", "s3:ListBucket"]},
            # Without the bucket's location, which Athena asks through the access point before it reads.
            {**statement, "Action": ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]},
            {**statement, "Resource": "arn:aws:s3:::corp-lake/*"},
        ):
            s3.put_bucket_policy(Bucket="corp-lake", Policy=json.dumps({"Version": "2012-10-17", "Statement": [wrong]}))
            assert _existing_data_status(parse_config(text), target, source)[1], wrong
        # The project's statement, and the S3 guide's (every access point of the account), both delegate.
        guide = {**statement, "Condition": {"StringEquals": {"s3:DataAccessPointAccount": "222222222222"}}}
        for right in (statement, guide):
            s3.put_bucket_policy(Bucket="corp-lake", Policy=json.dumps({"Version": "2012-10-17", "Statement": [right]}))
            assert _existing_data_status(parse_config(text), target, source) == (
                "existing bucket corp-lake found, keys as configured",
                "",
            )
        assert statement["Condition"]["StringLike"] == {
            "s3:DataAccessPointArn": "arn:aws:s3:eu-west-1:222222222222:accesspoint/ops-*"
        }
        # An access point of the bucket named like the project's that no dataset makes (a project "ops-x" in the same
        # account) is admitted by PROJECT-*: named, with the statement that names the project's access points exactly.
        s3.put_bucket_policy(Bucket="corp-lake", Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
        s3control = source.client("s3control")
        for name in ("ops-dev-lake", "ops-x-dev-lake", "owners-own"):
            s3control.create_access_point(AccountId="222222222222", Name=name, Bucket="corp-lake")
        problem, fix = _existing_data_status(parse_config(text), target, source)
        foreign = "arn:aws:s3:eu-west-1:222222222222:accesspoint/ops-x-dev-lake"
        assert problem.startswith(f"the policy of corp-lake delegates to {foreign}, which no dataset of this config")
        exact = access_point_delegation(
            "corp-lake", "222222222222", "eu-west-1", "ops",
            access_points=["arn:aws:s3:eu-west-1:222222222222:accesspoint/ops-dev-lake"],
        )  # fmt: skip
        assert fix.endswith(f"{json.dumps(exact, separators=(',', ':'))}, or delete that access point")
        s3.put_bucket_policy(Bucket="corp-lake", Policy=json.dumps({"Version": "2012-10-17", "Statement": [exact]}))
        assert _existing_data_status(parse_config(text), target, source)[1] == ""
        # The S3 guide's statement delegates to every access point of the account: the one named like ours is named.
        s3.put_bucket_policy(Bucket="corp-lake", Policy=json.dumps({"Version": "2012-10-17", "Statement": [guide]}))
        assert foreign in _existing_data_status(parse_config(text), target, source)[0]
        s3control.delete_access_point(AccountId="222222222222", Name="ops-x-dev-lake")
        assert _existing_data_status(parse_config(text), target, source)[1] == ""
        # The role path needs no delegation (the source role reaches the bucket by its identity policy).
        s3.delete_bucket_policy(Bucket="corp-lake")
        assert _existing_data_status(parse_config(_with_existing_dataset()), target, source)[1] == ""


def test_doctor_fails_a_consumer_table_left_on_the_alias_of_an_access_point_created_again():
    """S3 gives an access point deleted and created again under its name a new alias; the consumer's table keeps the
    old one (its stack reads the alias only when it makes it) and answers no query."""
    import boto3
    from moto import mock_aws

    from pipeline_steps.prove_consumers import assumed_session
    from tools.operator.accounts import operated_accounts
    from tools.operator.doctor import _table_aliases_status

    text = _with_existing_dataset().replace(
        "{existing: corp-lake, prefix: raw/}",
        "{existing: corp-lake, prefix: raw/, access: access-point}, catalog: {format: json, columns: {a: string}}",
    )
    config = parse_config(text)
    with mock_aws():
        base = boto3.Session(region_name="eu-west-1")

        def sessions(account: str, region: str) -> boto3.Session:
            return assumed_session(base, f"arn:aws:iam::{account}:role/operator", region)

        (target,) = [t for t in operated_accounts(config) if t.account == "333333333333"]
        consumer, s3control = sessions("333333333333", "eu-west-1"), sessions("222222222222", "eu-west-1")
        s3control = s3control.client("s3control")
        assert _table_aliases_status(config, target, consumer, sessions) == ("", "")  # not deployed yet
        s3control.create_access_point(AccountId="222222222222", Name="ops-dev-lake", Bucket="corp-lake")
        alias = s3control.get_access_point(AccountId="222222222222", Name="ops-dev-lake")["Alias"]
        glue = consumer.client("glue")
        glue.create_database(DatabaseInput={"Name": "ops_dev"})
        glue.create_table(
            DatabaseName="ops_dev",
            TableInput={"Name": "lake", "StorageDescriptor": {"Location": f"s3://{alias}/raw/"}},
        )
        assert _table_aliases_status(config, target, consumer, sessions) == (
            "tables on their access points' current aliases: 1",
            "",
        )
        s3control.delete_access_point(AccountId="222222222222", Name="ops-dev-lake")
        detail, fix = _table_aliases_status(config, target, consumer, sessions)
        assert detail.startswith("the access point ops-dev-lake of 222222222222 could not be read")
        s3control.create_access_point(AccountId="222222222222", Name="ops-dev-lake", Bucket="corp-lake")
        new = s3control.get_access_point(AccountId="222222222222", Name="ops-dev-lake")["Alias"]
        assert new != alias
        detail, fix = _table_aliases_status(config, target, consumer, sessions)
        assert detail == (
            f"the table ops_dev.lake reads s3://{alias}/raw/, but the access point ops-dev-lake is now "
            f"s3://{new}/raw/: it was created again (a new alias), and the table answers no query"
        )
        assert fix.startswith("take lake out of environments[dev].consumers[analytics].grants and release the pipeline")


def test_doctor_fails_a_consumer_role_that_lost_its_key_grant_once_the_grants_are_deployed():
    """KMS ties a grant to the role it was made for: a role created again under its name has none, and no deploy
    makes it again. Before the key-grants stack is deployed, nothing is expected."""
    import boto3
    from moto import mock_aws

    from config import actions
    from config.naming import Names
    from pipeline_steps.prove_consumers import assumed_session
    from tools.operator.accounts import operated_accounts
    from tools.operator.doctor import _key_grants_status

    with mock_aws():
        source = assumed_session(
            boto3.Session(region_name="eu-west-1"), "arn:aws:iam::222222222222:role/a", "eu-west-1"
        )
        kms = source.client("kms")
        key = kms.create_key()["KeyMetadata"]["Arn"]
        text = _with_existing_dataset().replace(
            "{existing: corp-lake, prefix: raw/}",
            f"{{existing: corp-lake, prefix: raw/, kms_key: '{key}', access: access-point}}",
        )
        config = parse_config(text)
        (target,) = [t for t in operated_accounts(config) if t.account == "222222222222"]
        assert _key_grants_status(config, target, source) == ("", "")  # not deployed yet
        template = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
        for consumer in ("analytics", "reporting"):
            source.client("cloudformation").create_stack(
                StackName=f"ops-dev-{consumer}-key-grants", TemplateBody=json.dumps(template)
            )
        environment = config.environments[0]
        names = Names.of(config, environment)
        lost = "arn:aws:iam::444444444444:role/ops-dev-consumer-task"  # reporting's task role, created again
        for consumer in environment.consumers:
            for role in names.consumer_role_arns(consumer):
                name = names.grant_name("lake", consumer, role, actions.grant_operations("read"))
                if role != lost:
                    kms.create_grant(KeyId=key, GranteePrincipal=role, Operations=["Decrypt"], Name=name)
        detail, fix = _key_grants_status(config, target, source)
        assert f"to {lost} is missing: {lost} cannot decrypt dataset lake" in detail
        assert fix.startswith("delete the stack ops-dev-reporting-key-grants in this account")
        reporting = environment.consumers[1]
        grant = names.grant_name("lake", reporting, lost, ["Decrypt"])
        # The role deleted since: KMS names the grantee by the old role's unique id.
        made = kms.create_grant(KeyId=key, GranteePrincipal="AROAEXAMPLEOLDROLE1", Operations=["Decrypt"], Name=grant)
        detail, fix = _key_grants_status(config, target, source)
        assert f"{grant} of {key} names AROAEXAMPLEOLDROLE1, not {lost}: the role was deleted" in detail
        assert (
            "run make doctor again in a few minutes" in fix and "delete the stack ops-dev-reporting-key-grants" in fix
        )
        kms.revoke_grant(KeyId=key, GrantId=made["GrantId"])
        kms.create_grant(KeyId=key, GranteePrincipal=lost, Operations=["Decrypt"], Name=grant)
        assert _key_grants_status(config, target, source) == ("4 KMS grants of existing keys held", "")


def test_doctor_says_a_bucket_of_another_account_and_a_key_its_account_cannot_grant_are_the_findings():
    # Neither is the operator's fault (moto enforces neither an expected owner nor key policies: stand-ins answer).
    from botocore.exceptions import ClientError

    from tools.operator.doctor import _bucket_region, _key_problem

    class Refusing:
        def __init__(self, code: str, status: int) -> None:
            self.error = ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")

        def head_bucket(self, **_):
            raise self.error

        def describe_key(self, **_):
            raise self.error

    problem, fix = _bucket_region(Refusing("403", 403), "corp-lake", "222222222222")
    assert problem == "is not a bucket of 222222222222, or its policy refuses this operator"
    assert fix.startswith("name a bucket of the source account")
    key = "arn:aws:kms:eu-west-1:222222222222:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    found = _key_problem(
        Refusing("AccessDeniedException", 400), key, None, "environments[dev].datasets[lake].bucket", "x"
    )
    assert found is not None
    assert "does not let this account's IAM policies use it: the source roles could not either" in found[0]
    assert "principal arn:aws:iam::222222222222:root" in found[1]


def test_doctor_names_an_execution_role_with_administrator_access_or_other_policies():
    from tools.operator.doctor import execution_role_problem

    ours = [
        "arn:aws:iam::333333333333:policy/ops-cdk-execution",
        "arn:aws:iam::333333333333:policy/ops-cdk-execution-2",
    ]
    assert execution_role_problem(ours, ours) is None
    admin = execution_role_problem(["arn:aws:iam::aws:policy/AdministratorAccess"], ours)
    assert admin and "has AdministratorAccess: whoever can change the tooling account's pipeline" in admin
    by_hand = execution_role_problem([*ours, "inline:more"], ours)
    assert (
        by_hand and "has arn:aws:iam::333333333333:policy/ops-cdk-execution, " in by_hand and "inline:more" in by_hand
    )
    fewer = execution_role_problem(ours[:1], ours)
    assert fewer and fewer.endswith("not the project's ops-cdk-execution, ops-cdk-execution-2")


def test_doctor_says_which_consumer_accounts_the_images_repository_does_not_let_pull():
    from tools.operator.doctor import image_pull_refused

    accounts = ["333333333333", "444444444444"]
    pulls = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    one = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::333333333333:root"}, "Action": pulls}]}
    assert image_pull_refused(one, accounts, None) == ["444444444444"]
    assert image_pull_refused({"Statement": []}, accounts, None) == accounts
    partial = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "333333333333"}, "Action": "ecr:BatchGetImage"}]}
    assert image_pull_refused(partial, accounts, None) == accounts  # a layer download is refused
    everything = {
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["333333333333", "444444444444"]}, "Action": "ecr:*"}]
    }
    assert image_pull_refused(everything, accounts, None) == []
    organization = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": pulls,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
            }
        ]
    }
    assert image_pull_refused(organization, accounts, "o-abcdefghij") == []
    assert image_pull_refused(organization, accounts, "o-other00000") == accounts


def test_doctor_expects_every_role_the_stacks_of_each_account_create(example):
    """Doctor finds a role that exists before the stack that will create it (a left-over stack's, one made by hand):
    it must know every role each stack of the account makes, the tables' alias readers too."""
    import aws_cdk as cdk

    from tools.operator.accounts import OperatedAccount
    from tools.operator.doctor import _expected_stacks

    made: dict[tuple[str, str], set[str]] = {}
    for stage in example.app.node.children:
        if not isinstance(stage, cdk.Stage):
            continue
        for stack in stage.node.children:
            if isinstance(stack, cdk.Stack):
                template = example.template_json(stack)
                roles = {
                    r["Properties"]["RoleName"]
                    for r in template["Resources"].values()
                    if r["Type"] == "AWS::IAM::Role" and "RoleName" in r.get("Properties", {})
                }
                made.setdefault((stack.account, stack.region), set()).update(roles)
    assert "datashare-prod-locate-analytics" in made[("444444444444", "eu-west-1")]
    assert "datashare-prod-locate" in made[("555555555555", "eu-west-1")]
    for (account, region), roles in made.items():
        expected = _expected_stacks(example.config, OperatedAccount(account, region, ()))
        assert {r for listed in expected.values() for r in listed} == roles, (account, region)


def test_doctor_refuses_an_aws_managed_key_for_a_bucket_consumers_read_through_an_access_point():
    """aws/s3 admits the account's own roles only, and its policy can be neither changed nor granted: the source roles
    read through it, consumers' own roles from other accounts cannot (S3 User Guide, SSE-KMS cross-account)."""
    from tools.operator.doctor import _key_problem

    arn = "arn:aws:kms:eu-west-1:222222222222:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

    class AwsManaged:
        def describe_key(self, **_):
            return {"KeyMetadata": {"Arn": arn, "KeyManager": "AWS"}}

    where = "environments[dev].datasets[lake].bucket"
    assert _key_problem(AwsManaged(), "alias/aws/s3", None, where, "corp-lake") is None  # through the source role
    problem, fix = _key_problem(AwsManaged(), "alias/aws/s3", None, where, "corp-lake", across_accounts=True)
    assert problem.startswith(f"{where}: corp-lake is encrypted with the AWS managed key {arn}, which no other")
    assert f"set {where}.kms_key, or set {where}.access: role" in fix


def test_doctor_says_what_a_fleet_needs_of_the_organization():
    """From the tooling account: the organization, StackSets' delegated administrator and trusted access, the units
    (which a member account may not describe: not checked, said so), each a line; what is missing, with its fix."""
    from tests.conftest import EXAMPLE, ORGANIZATION_CONFIG
    from tools.operator.doctor import fleet_lines
    from tools.rehearsal.organization import EmulatedOrganization

    config = parse_config(ORGANIZATION_CONFIG)
    with Emulator() as emulator:
        sessions = lambda account, region: emulator.administrator(account).session(region)  # noqa: E731
        organization = EmulatedOrganization.build(config, accounts_per_unit=1)
        lines = fleet_lines(config, sessions)
        assert all(ok for ok, _ in lines), lines
        assert [line for _, line in lines][:3] == [
            "fleet: the tooling account is in organization o-abcdefghij",
            "fleet: the tooling account is a delegated administrator of StackSets",
            "fleet: StackSets' trusted access with Organizations is enabled",
        ]
        assert "fleet: organizational unit ou-ab12-11111111 not checked" in lines[3][1]
        organization.backend.services.clear()  # trusted access off
        assert (False, "fleet: StackSets' trusted access with Organizations is DISABLED: from the management account, "
                       "aws cloudformation activate-organizations-access") in fleet_lines(config, sessions)  # fmt: skip
        organization.backend.admins.clear()  # no delegated administrator
        (ok, line) = fleet_lines(config, sessions)[-1]
        assert not ok and line.startswith("fleet: the tooling account is not a delegated administrator of StackSets")
        assert "register-delegated-administrator --account-id 111111111111 --service-principal " in line
    other = parse_config(ORGANIZATION_CONFIG.replace("o-abcdefghij", "o-zzzzzzzzzz"))
    with Emulator() as emulator:
        sessions = lambda account, region: emulator.administrator(account).session(region)  # noqa: E731
        EmulatedOrganization.build(config, accounts_per_unit=1)
        assert fleet_lines(other, sessions) == [
            (False, "fleet: the tooling account is in organization o-abcdefghij, the config names o-zzzzzzzzzz: "
                    "correct organization_id")
        ]  # fmt: skip
        assert fleet_lines(parse_config(EXAMPLE.read_text()), sessions) == []  # no groups: nothing asked


def test_bootstrap_says_what_a_fleet_needs_instead_of_bootstrapping_its_accounts():
    from tests.conftest import ORGANIZATION_CONFIG
    from tools.operator.bootstrap import fleet_lines

    lines = fleet_lines(parse_config(ORGANIZATION_CONFIG))
    assert lines[0].startswith("# consumer groups (branches): their accounts are not bootstrapped")
    assert lines[1:] == [
        "#   aws cloudformation activate-organizations-access",
        "#   aws organizations register-delegated-administrator --account-id 111111111111 --service-principal "
        "member.org.stacksets.cloudformation.amazonaws.com",
    ]
