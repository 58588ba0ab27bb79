"""When AWS or the credentials fail, every operator command says so in one line per account, with the command that
fixes it, carrying the user's CONFIG= and ARGS=; never a traceback."""

from __future__ import annotations

import io
import re

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ProfileNotFound
from moto import mock_aws

from pipeline_steps.prove_consumers import assumed_session
from tests.configs import config_text
from tools.operator import __main__ as operator
from tools.operator.failures import Rerun, explain

CONFIG = config_text(
    "ops",
    """\
  - name: dev
    source: {account: "222222222222", region: eu-west-1}
    consumers:
      - {name: analytics, account: "333333333333", region: eu-west-1}
      - {name: capetown, account: "444444444444", region: af-south-1}
""",
)
ACCOUNTS = 5  # tooling, source, two consumers, and the tooling account's artifacts in af-south-1


pytestmark = pytest.mark.usefixtures("configs_outside_the_repository")


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "my accounts.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """A machine with no AWS credentials anywhere: no variables, empty config files, no instance metadata."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _run(argv, **kwargs) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = operator.main(argv, out=out, **kwargs)
    return code, out.getvalue().splitlines()


def _error(code: str, operation: str = "GetCallerIdentity") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} message"}}, operation)


RERUN = Rerun("doctor", "my.yaml", ("--profile", "admin-{account}"))


@pytest.mark.parametrize(
    ("error", "region", "problem", "fix"),
    [
        (
            NoCredentialsError(),
            "eu-west-1",
            "no AWS credentials found",
            'give them: make doctor CONFIG=my.yaml ARGS="--profile admin-{account}" (a profile per account, or a '
            "file of them: --profile profiles.yaml) or "
            'make doctor CONFIG=my.yaml ARGS="--assume-role OrganizationAccountAccessRole" (a role assumed in each); '
            "or sign in first (aws sso login)",
        ),
        (
            ProfileNotFound(profile="admin-333333333333"),
            "eu-west-1",
            "the profile admin-333333333333 is not configured",
            "add it (aws configure sso --profile admin-333333333333), or name profiles you have: "
            'make doctor CONFIG=my.yaml ARGS="--profile NAME-{account}"',
        ),
        (
            _error("ExpiredToken"),
            "eu-west-1",
            "the credentials have expired",
            "renew them (aws sso login --profile admin-333333333333 for an SSO profile, or new keys in profile "
            'admin-333333333333), then: make doctor CONFIG=my.yaml ARGS="--profile admin-{account}"',
        ),
        (
            _error("AccessDenied", "DescribeStacks"),
            "eu-west-1",
            "access denied to DescribeStacks (AccessDenied)",
            'act as an administrator of this account: make doctor CONFIG=my.yaml ARGS="--profile admin-{account}" (a '
            "profile per account, or a file of them: --profile profiles.yaml) or make doctor CONFIG=my.yaml "
            'ARGS="--assume-role OrganizationAccountAccessRole" (a '
            "role assumed in each)",
        ),
        (
            _error("ThrottlingException", "GetParameter"),
            "eu-west-1",
            "AWS throttled GetParameter (ThrottlingException)",
            'wait a minute, then: make doctor CONFIG=my.yaml ARGS="--profile admin-{account}"',
        ),
        (
            _error("InvalidClientTokenId"),
            "af-south-1",
            "af-south-1 may not be enabled in 333333333333 (InvalidClientTokenId)",
            "enable it: aws account enable-region --region-name af-south-1 --profile admin-333333333333 (or, from the "
            "organization's management account, aws account enable-region --account-id 333333333333 --region-name "
            "af-south-1); aws account get-region-opt-status --region-name af-south-1 says ENABLED when it is done; "
            'then: make doctor CONFIG=my.yaml ARGS="--profile admin-{account}"',
        ),
        (
            _error("InvalidClientTokenId"),
            "eu-west-1",
            "the credentials are not valid (InvalidClientTokenId)",
            "renew them (aws sso login --profile admin-333333333333 for an SSO profile, or new keys in profile "
            'admin-333333333333), then: make doctor CONFIG=my.yaml ARGS="--profile admin-{account}"',
        ),
        (
            EndpointConnectionError(endpoint_url="https://sts.eu-west-1.amazonaws.com/"),
            "eu-west-1",
            'cannot reach AWS (Could not connect to the endpoint URL: "https://sts.eu-west-1.amazonaws.com/")',
            'check the network or proxy, then: make doctor CONFIG=my.yaml ARGS="--profile admin-{account}"',
        ),
    ],
    ids=["no credentials", "missing profile", "expired", "denied", "throttled", "region off", "invalid", "offline"],
)
def test_each_failure_is_what_is_wrong_and_the_command_that_fixes_it(error, region, problem, fix):
    assert explain(error, "333333333333", region, RERUN) == (problem, fix)


def test_a_role_that_cannot_be_assumed_names_the_role_and_the_other_way():
    rerun = Rerun("bootstrap", args=("--assume-role", "OrganizationAccountAccessRole"))
    assert explain(_error("AccessDenied", "AssumeRole"), "333333333333", "eu-west-1", rerun) == (
        "cannot assume OrganizationAccountAccessRole in this account (AccessDenied)",
        "make sure OrganizationAccountAccessRole exists in 333333333333 and trusts the credentials you run with, or "
        'use make bootstrap ARGS="--profile admin-{account}"',
    )


@pytest.mark.parametrize("command", [["doctor"], ["bootstrap", "--yes"], ["deploy"]])
def test_without_credentials_each_command_says_so_per_account_without_a_traceback(no_credentials, config_file, command):
    code, lines = _run([command[0], "--config", str(config_file), *command[1:]])
    assert code == 1
    failed = [line for line in lines if line.startswith("FAIL")]
    assert failed and all(": no AWS credentials found -> give them: make " in line for line in failed)
    assert all(f"CONFIG='{config_file}'" in line for line in failed)  # the user's config, quoted for the shell
    if command[0] == "bootstrap":
        assert len(failed) == ACCOUNTS  # a line per account as each is tried
    else:  # doctor and deploy: the cause once, then its accounts
        assert failed == [lines[0]] and lines[0].startswith(f"FAIL  {ACCOUNTS} accounts: no AWS credentials found")
        accounts = lines[1 : ACCOUNTS + 1]
        assert all(re.fullmatch(r" {6}\d{12} [a-z0-9-]+ \(.+\)", line) for line in accounts), accounts
        assert accounts[0] == "      111111111111 eu-west-1 (tooling)"


def test_a_missing_profile_is_named_for_each_account_by_every_command(no_credentials, config_file):
    for command in (["doctor"], ["bootstrap", "--yes"], ["deploy"]):
        code, lines = _run([command[0], "--config", str(config_file), *command[1:], "--profile", "admin-{account}"])
        assert code == 1
        assert (
            "FAIL  333333333333 eu-west-1 (consumer analytics of dev): the profile admin-333333333333 is not "
            in ("\n".join(lines))
            or command[0] == "deploy"
        )
        assert all("Traceback" not in line for line in lines)
    assert any("the profile admin-111111111111 is not configured" in line for line in lines)


def test_bootstrap_prints_the_command_to_run_with_the_users_config_and_credentials(config_file):
    code, lines = _run(["bootstrap", "--config", str(config_file), "--profile", "admin-{account}"])
    assert code == 0
    assert (
        lines[-1]
        == f"# run them with: make bootstrap CONFIG='{config_file}' ARGS=\"--profile admin-{{account}} --yes\""
    )


class _Failing:
    """A session whose every call fails with this error."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def client(self, *_, **__):
        error = self.error

        class Client:
            def __getattr__(self, name):
                def call(*_, **__):
                    raise error

                return call

        return Client()


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (_error("AccessDenied", "DescribeStacks"), "access denied to DescribeStacks (AccessDenied) -> act as an"),
        (_error("ExpiredTokenException"), "the credentials have expired -> renew them"),
        (_error("Throttling", "GetCallerIdentity"), "AWS throttled GetCallerIdentity (Throttling) -> wait a minute"),
        (_error("InvalidClientTokenId"), "af-south-1 may not be enabled in 444444444444 (InvalidClientTokenId)"),
    ],
    ids=["access denied", "expired", "throttled", "region not enabled"],
)
def test_a_failure_in_one_account_is_that_accounts_line_and_the_others_are_checked(config_file, error, says):
    with mock_aws():

        def sessions(account, region):
            if (account, region) == ("444444444444", "af-south-1"):
                return _Failing(error)
            return assumed_session(boto3.Session(region_name=region), f"arn:aws:iam::{account}:role/admin", region)

        code, lines = _run(["doctor", "--config", str(config_file)], sessions=sessions)
    assert code == 1
    (failing,) = [line for line in lines if "444444444444" in line]
    assert failing.startswith("FAIL  444444444444 af-south-1 (consumer capetown of dev): ")
    assert says in failing
    others = [line for line in lines if line.startswith(("OK", "FAIL")) and "444444444444" not in line]
    assert len(others) == ACCOUNTS - 1 and all("not bootstrapped" in line for line in others)


def test_the_commands_own_flags_stay_in_its_hints_and_leave_the_other_commands():
    rerun = Rerun("bootstrap", "my.yaml", ("--profile", "p-{account}"), ("--yes", "--admin"))
    assert rerun.make() == 'make bootstrap CONFIG=my.yaml ARGS="--profile p-{account} --yes --admin"'
    assert rerun.make(command="doctor") == 'make doctor CONFIG=my.yaml ARGS="--profile p-{account}"'
    assert Rerun("doctor").make() == "make doctor"  # the default config needs no CONFIG=


def test_a_server_error_is_one_line_and_a_retry_whatever_the_body():
    error = ClientError(
        {
            "Error": {"Code": "500", "Message": "<!doctype html>\n<title>500</title>"},
            "ResponseMetadata": {"HTTPStatusCode": 500},
        },
        "GetConnection",
    )
    assert explain(error, "111111111111", "eu-west-1", Rerun("doctor")) == (
        "AWS answered GetConnection with a server error (500)",
        "retry in a minute: make doctor",
    )


@pytest.mark.parametrize(
    ("error", "region", "problem"),
    [
        (_error("RegionDisabledException", "AssumeRole"), "eu-west-1", "eu-west-1 may not be enabled in 333333333333"),
        (_error("OptInRequired", "DescribeVpcs"), "eu-west-1", "the account is not subscribed to the service of"),
        (_error("SignatureDoesNotMatch"), "af-south-1", "AWS refused the request's signature (SignatureDoesNotMatch)"),
        (_error("RequestExpired", "DescribeVpcs"), "eu-west-1", "AWS refused the request's signature (RequestExpired)"),
    ],
    ids=["STS region disabled", "not subscribed", "wrong secret in an opt-in region", "clock skew"],
)
def test_region_subscription_and_signature_failures_are_told_apart(error, region, problem):
    found, fix = explain(error, "333333333333", region, Rerun("doctor"))
    assert found.startswith(problem)
    assert ("enable-region" in fix) == problem.endswith("333333333333")


def test_an_assumed_role_in_a_disabled_region_may_be_either_accounts():
    rerun = Rerun("doctor", args=("--assume-role", "OrganizationAccountAccessRole"))
    problem, _ = explain(_error("InvalidClientTokenId", "AssumeRole"), "333333333333", "ap-east-2", rerun)
    assert problem == (
        "ap-east-2 may not be enabled in 333333333333, or in the account you assume the role from, "
        "(InvalidClientTokenId)"
    )


def test_a_profile_pattern_with_other_braces_is_one_line_before_any_account(config_file, capsys):
    code, lines = _run(["doctor", "--config", str(config_file), "--profile", "admin-{region}"])
    assert code == 2 and lines == []
    assert capsys.readouterr().err.strip() == (
        "error: --profile 'admin-{region}': only {account} may stand in it (KeyError: 'region')"
    )


def test_bootstrap_without_the_cdk_cli_fails_its_account_in_one_line(config_file, tmp_path):
    from config.loader import load_config
    from tools.operator import bootstrap

    config = load_config(config_file)
    (tooling, *_) = bootstrap.steps(config, None, admin=False)
    out = io.StringIO()
    sessions = lambda account, region: boto3.Session(  # noqa: E731
        aws_access_key_id="x", aws_secret_access_key="x", region_name=region
    )
    assert bootstrap.run(config, [tooling], sessions, cli=tmp_path / "no-cdk", out=out) == 1
    assert out.getvalue().startswith("FAIL  111111111111 eu-west-1 (tooling): cdk bootstrap aws://111111111111/")
    assert "cannot run the CDK CLI" in out.getvalue() and "run make install" in out.getvalue()


def test_doctor_reports_a_denied_lookup_as_denied_not_as_a_missing_bootstrap(config_file):
    """A lookup that fails for another reason than "not there" is explained, never read as "missing"."""
    with mock_aws():
        from pipeline_steps.prove_consumers import assumed_session

        real = assumed_session(boto3.Session(region_name="eu-west-1"), "arn:aws:iam::111111111111:role/a", "eu-west-1")
        real.client("cloudformation").create_stack(
            StackName="CDKToolkit-ops",  # the project's own bootstrap stack (config.naming.Bootstrap)
            TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}',
        )

        class DeniedParameters:
            def client(self, name, *args, **kwargs):
                client = real.client(name, *args, **kwargs)
                if name == "ssm":

                    def get_parameter(**_):
                        raise _error("AccessDeniedException", "GetParameter")

                    client.get_parameter = get_parameter
                return client

        from config.loader import load_config
        from tools.operator.doctor import diagnose

        (tooling, *_) = diagnose(load_config(config_file), lambda account, region: DeniedParameters())
    assert tooling.line().startswith(
        "FAIL  111111111111 eu-west-1 (tooling): access denied to GetParameter (AccessDeniedException) -> act as"
    )


def test_doctor_checks_each_own_role_exists_with_the_arn_the_grants_name(tmp_path):
    from config.loader import parse_config
    from pipeline_steps.prove_consumers import assumed_session
    from tools.operator.accounts import operated_accounts
    from tools.operator.doctor import _own_roles_status

    def status(roles: str, session):
        config = parse_config(
            CONFIG.replace(
                '{name: analytics, account: "333333333333", region: eu-west-1}',
                f'{{name: analytics, account: "333333333333", region: eu-west-1, roles: {roles}}}',
            )
        )
        (target,) = [t for t in operated_accounts(config) if t.account == "333333333333"]
        return _own_roles_status(config, target, session)

    trust = '{"Version": "2012-10-17", "Statement": []}'
    with mock_aws():
        session = assumed_session(
            boto3.Session(region_name="eu-west-1"), "arn:aws:iam::333333333333:role/a", "eu-west-1"
        )
        iam = session.client("iam")
        iam.create_role(RoleName="glue-etl", AssumeRolePolicyDocument=trust)
        iam.create_role(RoleName="AWSGlueServiceRole-x", Path="/service-role/", AssumeRolePolicyDocument=trust)
        assert status("[glue-etl, athena]", session) == (
            "consumer analytics: its role athena does not exist",
            "create it, or remove it from environments[dev].consumers[analytics].roles[1]",
        )
        # A grant compares the ARN as written: a path left out would admit nothing.
        assert status("[AWSGlueServiceRole-x]", session) == (
            "consumer analytics: its role is arn:aws:iam::333333333333:role/service-role/AWSGlueServiceRole-x, the "
            "grants name arn:aws:iam::333333333333:role/AWSGlueServiceRole-x",
            "list it as service-role/AWSGlueServiceRole-x in environments[dev].consumers[analytics].roles[0]",
        )
        assert status("[glue-etl, service-role/AWSGlueServiceRole-x]", session) == (
            "analytics's own roles glue-etl, service-role/AWSGlueServiceRole-x exist as listed",
            "",
        )


def test_bootstrap_runs_accounts_side_by_side_and_reports_them_in_order(config_file, tmp_path):
    # A stand-in for the CDK CLI that records when each run starts and ends; bootstrap must overlap them.

    from config.loader import load_config
    from pipeline_steps.prove_consumers import assumed_session
    from tools.operator import bootstrap

    log = tmp_path / "runs"
    cli = tmp_path / "cdk"
    cli.write_text(f'#!/bin/sh\necho "start $(date +%s%N)" >> {log}\nsleep 0.5\necho "end $(date +%s%N)" >> {log}\n')
    cli.chmod(0o755)
    config = load_config(config_file)
    steps = bootstrap.steps(config, None, admin=False)
    with mock_aws():

        def sessions(account, region):
            return assumed_session(boto3.Session(region_name=region), f"arn:aws:iam::{account}:role/a", region)

        out = io.StringIO()
        assert bootstrap.run(config, steps, sessions, cli=cli, out=out) == 0
    assert [line.split()[1] for line in out.getvalue().splitlines()] == [s.target.account for s in steps]
    events = sorted((int(stamp), kind) for kind, stamp in (line.split() for line in log.read_text().splitlines()))
    running, most = 0, 0
    for _, kind in events:
        running += 1 if kind == "start" else -1
        most = max(most, running)
    assert most > 1  # more than one bootstrap ran at a time


def test_assume_role_acts_in_each_account_with_the_operators_session_name():
    from tools.operator.accounts import session_factory

    with mock_aws():
        session = session_factory(profile=None, assume_role="OrganizationAccountAccessRole")(
            "333333333333", "eu-west-1"
        )
        identity = session.client("sts").get_caller_identity()
    assert identity["Account"] == "333333333333"
    assert identity["Arn"].endswith(":assumed-role/OrganizationAccountAccessRole/data-sharing-operator")


def test_profiles_named_by_alias_come_from_a_file_of_account_and_profile(no_credentials, config_file, tmp_path):
    """Organizations name their SSO profiles by account alias, not by id: --profile takes a file of them."""
    profiles = tmp_path / "profiles.yaml"
    aliases = {"111111111111": "tooling", "222222222222": "data-prod", "333333333333": "bi", "444444444444": "ops"}
    profiles.write_text("".join(f'"{account}": {alias}\n' for account, alias in aliases.items()))
    code, lines = _run(["doctor", "--config", str(config_file), "--profile", str(profiles)])
    assert code == 1
    text = "\n".join(lines)
    for account, alias in aliases.items():  # each account acts with its own profile, which is not configured here
        assert f"{account} " in text and f"the profile {alias} is not configured" in text
    assert all("Traceback" not in line for line in lines)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('"111111111111": tooling\n', "no profile for 222222222222, 333333333333, 444444444444"),
        ("111111111111: tooling\n", "write one line per account, the account id quoted"),
        ("- tooling\n", "write one line per account, the account id quoted"),
    ],
    ids=["an account missing", "an id unquoted (a number)", "a list"],
)
def test_a_file_of_profiles_the_config_cannot_use_is_one_line(config_file, tmp_path, capsys, text, says):
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(text)
    code, lines = _run(["doctor", "--config", str(config_file), "--profile", str(profiles)])
    (line,) = capsys.readouterr().err.splitlines()
    assert code == 2 and not lines and line.startswith(f"error: --profile {profiles}: ") and says in line
