"""python -m tools.operator bootstrap|doctor|deploy [--config PATH] [--profile FORMAT | --assume-role NAME]

  bootstrap [--yes] [--admin]  print the cdk bootstrap command of every account; run them with --yes
  doctor                       check every account: bootstrapped, version, trust, source connection
  deploy                       after doctor passes, deploy the pipeline stack to the tooling account once

Credentials: --profile "admin-{account}" (a profile per account) or --assume-role NAME (assumed in every
account from the current credentials); by default the current credentials for every account.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from config import DEFAULT_CONFIG, load_config_or_report
from config.naming import pipeline_stack_id
from toolchain import CDK_CLI, ROOT
from tools.expiry import expiring_lines

CLI = CDK_CLI

if TYPE_CHECKING:
    from config.model import Config
    from tools.operator.accounts import SessionFactory
    from tools.operator.failures import Rerun


def main(argv: list[str] | None = None, *, sessions: SessionFactory | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    config = load_config_or_report(args.config)
    if config is None:
        return 2
    problem = _refused(config, args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from tools.operator.accounts import session_factory
    from tools.operator.failures import Rerun

    credentials = (*(("--profile", args.profile) if args.profile else ()),)
    credentials += (*(("--assume-role", args.assume_role) if args.assume_role else ()),)
    options = (*(["--yes"] if args.yes else []), *(["--admin"] if args.admin else []))
    rerun = Rerun(args.command, args.config, credentials, options)
    sessions = sessions or session_factory(profile=args.profile, assume_role=args.assume_role)
    command = {"doctor": _doctor, "bootstrap": _bootstrap, "deploy": _deploy}[args.command]
    return command(config, args, sessions, rerun, out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.operator", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["bootstrap", "doctor", "deploy"])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument(
        "--profile", help='a profile name per account, e.g. "admin-{account}", or a YAML file of account: profile'
    )
    parser.add_argument("--assume-role", help="a role to assume in every account, e.g. OrganizationAccountAccessRole")
    parser.add_argument("--yes", action="store_true", help="bootstrap: run the commands")
    parser.add_argument("--admin", action="store_true", help="bootstrap: AdministratorAccess as execution policy")
    return parser


def _refused(config: Config, args: argparse.Namespace) -> str | None:
    """Why the command cannot start, in one line, before any account is asked anything: --profile the config's
    accounts cannot use, bootstrap policies that could not be written, or (doctor, deploy) a config the pipeline
    could not read in its synth step, where it must be this same file."""
    from bootstrap.policies import BoundaryStatementError, UnfencedService, check_fences, extension_boundary
    from tools.operator.accounts import operated_accounts
    from tools.operator.failures import profile_problem
    from tools.validate import deployable

    accounts = list(dict.fromkeys(target.account for target in operated_accounts(config)))
    problem = profile_problem(args.profile, accounts) if args.profile else None
    if problem:
        return problem
    try:
        check_fences(config.tooling.region)
        extension_boundary(config, config.tooling.partition)
    except (UnfencedService, BoundaryStatementError) as error:
        return str(error)
    return deployable(args.config) if args.command in ("doctor", "deploy") else None


def _doctor(config: Config, args: argparse.Namespace, sessions: SessionFactory, rerun: Rerun, out: TextIO) -> int:
    from tools.operator import doctor

    statuses = doctor.diagnose(config, sessions, rerun)
    print(*doctor.lines(statuses), sep="\n", file=out)
    failing = sum(not f.ok for f in statuses)
    print(f"{len(statuses) - failing} of {len(statuses)} accounts ready", file=out)
    # What consumer groups need of the organization (StackSets' delegated administrator, trusted access, the units).
    fleet = doctor.fleet_lines(config, sessions)
    for ok, line in fleet:
        print(line if ok else f"FAIL {line}", file=out)
    failing += sum(not ok for ok, _ in fleet)
    # Grants that end by themselves (a warning, not a failure: AWS ends them with no deploy).
    for environment in config.environments:
        for line in expiring_lines(environment, datetime.now(UTC)):
            print(f"{environment.name}: {line}", file=out)
    # What the scheduled proof last found (drift is the next push's to mend, not a failure of the accounts' set-up).
    for line in doctor.daily_proof_lines(config, sessions):
        print(line, file=out)
    return 1 if failing else 0


def _bootstrap(config: Config, args: argparse.Namespace, sessions: SessionFactory, rerun: Rerun, out: TextIO) -> int:
    from tools.operator import bootstrap

    if args.admin:
        print(bootstrap.ADMIN_WARNING, file=out)
    steps = bootstrap.steps(config, sessions if args.yes else None, admin=args.admin, rerun=rerun)
    for line in bootstrap.fleet_lines(config):
        print(line, file=out)
    if args.yes:
        return bootstrap.run(config, steps, sessions, cli=CLI, out=out, rerun=rerun)
    for step in steps:
        if step.policies:
            print(
                f"# first, in {step.target.account}: the policies {', '.join(step.policies)} "
                "(created or updated by --yes; see bootstrap/policies.py)",
                file=out,
            )
        print(" ".join(step.args), file=out)
    print(f"# run them with: {rerun.make('--yes')}", file=out)
    return 0


def _deploy(config: Config, args: argparse.Namespace, sessions: SessionFactory, rerun: Rerun, out: TextIO) -> int:
    """The one manual cdk deploy of the pipeline stack, with the tooling account's credentials, once doctor passes."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from tools.operator import doctor
    from tools.operator.failures import explain

    statuses = doctor.diagnose(config, sessions, rerun)
    if not all(f.ok for f in statuses):
        print(*doctor.lines([f for f in statuses if not f.ok]), sep="\n", file=out)
        print("error: doctor found accounts that are not ready; fix them before the first deploy", file=out)
        return 1
    tooling = config.tooling
    try:
        credentials_of = sessions(tooling.account, tooling.region).get_credentials()
        if credentials_of is None:
            raise NoCredentialsError()
        frozen = credentials_of.get_frozen_credentials()
    except (ClientError, BotoCoreError) as error:
        problem, fix = explain(error, tooling.account, tooling.region, rerun)
        print(f"FAIL  {tooling.account} {tooling.region} (tooling): {problem} -> {fix}", file=out)
        return 1
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": frozen.access_key,
        "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
        "AWS_REGION": config.tooling.region,
    }
    if frozen.token:
        environment["AWS_SESSION_TOKEN"] = frozen.token
    command = [
        str(CLI),
        "deploy",
        pipeline_stack_id(config),
        "-c",
        f"config={args.config}",
        "--require-approval=broadening",
    ]
    print(" ".join(command), file=out)
    try:
        return subprocess.run(command, cwd=ROOT, env=environment, check=False).returncode
    except OSError as error:  # the CLI is not installed
        print(f"error: cannot run the CDK CLI ({error}): run make install", file=out)
        return 1


if __name__ == "__main__":
    sys.exit(main())
