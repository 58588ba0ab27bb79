"""python -m tools.validate [--deployable] CONFIG: what the app checks before the CDK loads (the config, and what
the config alone tells of the pipeline's size), so that `make synth` says a bad config in one line before the CDK
CLI starts. With --deployable, also what the pipeline needs to read the same config: a file of the repository,
committed, by a plain path (make deploy, make doctor and the pipeline's own synth step ask this).

Exit codes: 0 good, 2 bad config."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from config import DEFAULT_CONFIG, ConfigError, load_config_or_report
from pipeline.preflight import preflight
from toolchain import ROOT, NotInRepository, repository_path

# A path the Makefile and the synth step's shell take as it is.
PLAIN_PATH = re.compile(r"[A-Za-z0-9._/-]+")


def deployable(config_path: str, root: Path | None = None) -> str | None:
    """Why the pipeline could not read this config in its synth step, or None. CodePipeline hands the synth step a
    zip of the commit, without .git: there, a file that is present was committed."""
    root = root or ROOT
    try:
        path = repository_path(config_path, root)
    except NotInRepository as error:
        return str(error)
    if not PLAIN_PATH.fullmatch(path):
        return (
            f"{config_path}: the pipeline's synth step runs `make pipeline-synth CONFIG={path}`: use a path of "
            "letters, digits, '.', '_', '-' and '/'"
        )
    if not (root / ".git").exists():
        return None  # the pipeline's own copy of the commit: the file is there because it was committed
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "--", path], cwd=root, capture_output=True, check=False
        )
    except FileNotFoundError:
        return f"{config_path}: git is not installed, so whether the file is committed cannot be told"
    if listed.returncode != 0:
        return (
            f"{config_path}: not in git (git ls-files does not list {path}): the pipeline's synth step reads the "
            "config from the repository; git add, commit and push it first"
        )
    return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.validate", description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", default=DEFAULT_CONFIG)
    parser.add_argument("--deployable", action="store_true", help="also what the pipeline needs to read it")
    args = parser.parse_args(argv)
    config = load_config_or_report(args.config)
    if config is None:
        return 2
    try:
        checked = list(preflight(config))
    except ConfigError as error:
        print(f"error: {args.config}: {error}", file=sys.stderr)
        return 2
    if args.deployable:
        problem = deployable(args.config)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        checked.append("a file the pipeline reads: committed in the repository, by a plain path")
    consumers = sum(len(environment.consumers) for environment in config.environments)
    groups = sum(len(environment.consumer_groups) for environment in config.environments)
    datasets = sum(len(environment.datasets) for environment in config.environments)
    print(
        f"ok: {args.config}: {len(config.environments)} environments, {consumers} consumers, "
        + (f"{groups} consumer groups, " if groups else "")
        + f"{datasets} datasets",
        *(f"  {check}" for check in checked),
        sep="\n",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
