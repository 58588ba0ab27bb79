"""Invoking a consumer's Lambda function in the emulator, which cannot run Lambda code (no Docker engine):
the same chain of credentials as in AWS up to the invoke, then the function's handler runs in a separate
local Python process with the function's configuration (handler, environment) and its role's credentials."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from cdk_constructs.inline_code import HANDLER as INLINE_HANDLER
from toolchain import RUNTIME_DIR
from tools.rehearsal.emulator import Credentials, Emulator, runtime_path
from tools.rehearsal.enforcement import Caller
from tools.rehearsal.iam_requests import lambda_invoke

RUNTIME = RUNTIME_DIR

_RUN_HANDLER = """
import importlib, json, sys
module, _, name = sys.argv[1].rpartition(".")
print(json.dumps(getattr(importlib.import_module(module), name)(json.loads(sys.argv[2]), None), default=str))
"""


class LocalInvoker:
    def __init__(self, emulator: Emulator, step_credentials: Credentials) -> None:
        self._emulator = emulator
        self._step = step_credentials  # the pipeline test step's role in the tooling account

    def __call__(self, function_name: str, region: str, role_arn: str, payload: dict[str, Any]) -> dict[str, Any]:
        session_name = "pipeline-consumer-proof"
        self._emulator.credentials(role_arn, session_name=session_name, via=self._step)  # as the step does (AssumeRole)
        # moto's Lambda would run the function in Docker: the invoke is decided here, and its handler run below.
        account = role_arn.split(":")[4]
        configuration = (
            self._emulator.administrator(account)
            .session(region)
            .client("lambda")
            .get_function_configuration(FunctionName=function_name)
        )
        enforcer = self._emulator.enforcer
        if enforcer is not None:
            refusal = enforcer.decide(Caller(role_arn, session_name), lambda_invoke(configuration["FunctionArn"]))
            if refusal is not None:
                raise RuntimeError(f"AccessDeniedException: {refusal.message()}")
        function_role = self._emulator.credentials(configuration["Role"], session_name=function_name)
        path = runtime_path()
        if configuration["Handler"] == INLINE_HANDLER:
            # Code inside the template (a consumer group's stack): its index.py, as Lambda would unpack it.
            path = os.pathsep.join((_unpacked(account, region, function_name), path))
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **configuration.get("Environment", {}).get("Variables", {}),
            **function_role.environment(),
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ENDPOINT_URL": self._emulator.endpoint,
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "PYTHONPATH": path,
        }
        result = subprocess.run(
            [sys.executable, "-c", _RUN_HANDLER, configuration["Handler"], json.dumps(payload)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"function error: {last}")
        answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return answer


def _unpacked(account: str, region: str, function_name: str) -> str:
    """The function's code as the emulator holds it (moto zips inline code as index.py), unpacked in a folder of its
    own (one per code: the same code is unpacked once)."""
    from moto.awslambda.models import lambda_backends

    code: bytes = lambda_backends[account][region].get_function(function_name).code_bytes
    folder = Path(tempfile.gettempdir()) / f"rehearsal-code-{hashlib.sha256(code).hexdigest()[:16]}"
    if not folder.is_dir():
        partial = Path(tempfile.mkdtemp(prefix="rehearsal-code-"))
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(partial)
        with contextlib.suppress(OSError):  # another invoke unpacked it first
            partial.rename(folder)
    return str(folder)
