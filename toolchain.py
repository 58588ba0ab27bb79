"""Versions pinned in the repository's own files, so the pipeline uses exactly what developers use."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RUNTIME_DIR = ROOT / "runtime"  # the consumer's runtime code, its Dockerfile and requirements
NODE_MODULES = ROOT / "node_modules"  # the Node.js tools pinned in package.json
CDK_CLI = NODE_MODULES / ".bin" / "cdk"


# The Python of the consumer's code, in Lambda and in the ECS image alike (runtime/Dockerfile takes it as a build
# argument): a Lambda runtime the CDK names (aws_lambda.Runtime.PYTHON_3_14) and a python:<version>-slim image.
PYTHON_VERSION = "3.14"
# The one pin of boto3: what the ECS image installs, what the pipeline's test step installs, and (through
# requirements.txt) what the app and the tests use. The Lambda runtime brings its own.
RUNTIME_REQUIREMENTS = "runtime/requirements.txt"


class NotInRepository(ValueError):
    """A config the pipeline cannot read: its synth step runs on a checkout of the repository, nothing else."""


def repository_path(config_path: str | Path, root: Path = ROOT) -> str:
    """The config's path relative to the repository's root, as the pipeline's synth step finds it in its checkout
    (POSIX separators). Raises NotInRepository for a file outside the repository."""
    path = Path(config_path)
    resolved = (path if path.is_absolute() else Path.cwd() / path).resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise NotInRepository(
            f"{config_path}: outside the repository ({root}): the pipeline's synth step reads the config from its "
            "checkout of the repository; move the file into it and commit it"
        ) from None


@cache
def cdk_cli_version() -> str:
    """The CDK CLI version of package.json: the pipeline's cli_version (self-mutation, asset publishing)."""
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    version: str = package["devDependencies"]["aws-cdk"]
    return version


@cache
def pinned_version(requirement: str, file: str = RUNTIME_REQUIREMENTS) -> str:
    for line in (ROOT / file).read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(rf"{re.escape(requirement)}==([\w.]+)", line.strip())
        if match:
            return match.group(1)
    raise KeyError(f"{requirement} is not pinned with == in {file}")
