"""python -m tools.access_diff --base REF [--config PATH]: who gains or loses which dataset at which access, and whose
roles the source roles trust, between the config at a git ref (a pull request's base) and the config as it is now;
per environment, one line a change.

The change is read from the two configs' grants (what the stacks write from them): the access report
(`make access-report`) proves, for either config, that the policies allow exactly that. A change that only removes
access, or changes nothing, says so in one line. Exit codes: 0 (the difference printed), 2 (a config or the ref
cannot be read: one line)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from config import DEFAULT_CONFIG, ConfigError, load_config
from config.loader import parse_config
from config.model import Config, Environment
from toolchain import ROOT, NotInRepository, repository_path

LEVEL = {None: 0, "read": 1, "read-write": 2}


@dataclass(frozen=True)
class Change:
    environment: str
    line: str
    widens: bool  # gives access (or more of it), or admits a principal


def _grants(environment: Environment | None) -> dict[tuple[str, str], str]:
    if environment is None:
        return {}
    return {(c.name, d): access for c in environment.consumers for d, access in c.grants.items()}


def _roles(environment: Environment | None) -> dict[str, tuple[str, set[str]]]:
    """Each consumer's account and own roles: whom its grants admit besides the project's workloads."""
    if environment is None:
        return {}
    return {c.name: (c.account, set(c.roles)) for c in environment.consumers}


def changes(base: Config, head: Config) -> list[Change]:
    """What the head config gives and takes compared with the base, environment by environment (in the head's order,
    then environments only the base has)."""
    found: list[Change] = []
    before = {e.name: e for e in base.environments}
    after = {e.name: e for e in head.environments}
    for name in [*after, *(n for n in before if n not in after)]:
        old, new = before.get(name), after.get(name)
        if old is None:
            found.append(Change(name, "new environment: its consumers get what the config grants below", True))
        elif new is None:
            found.append(Change(name, "environment removed from the config: its stacks stay until deleted", False))
        old_roles, new_roles = _roles(old), _roles(new)
        for consumer in [c for c in new_roles if c not in old_roles]:
            found.append(Change(name, f"consumer {consumer} added (account {new_roles[consumer][0]})", True))
        for consumer in [c for c in old_roles if c not in new_roles]:
            found.append(Change(name, f"consumer {consumer} removed: it loses every dataset", False))
        for consumer, (account, roles) in new_roles.items():
            if consumer not in old_roles:
                continue
            old_account, old_own = old_roles[consumer]
            if old_account != account:
                found.append(Change(name, f"consumer {consumer} moves from account {old_account} to {account}", True))
            for role in sorted(roles - old_own):
                found.append(Change(name, f"{consumer}'s own role {role} is admitted to its datasets", True))
            for role in sorted(old_own - roles):
                found.append(Change(name, f"{consumer}'s own role {role} is no longer admitted", False))
        old_datasets = {d.name for d in old.datasets} if old else set()
        new_datasets = {d.name for d in new.datasets} if new else set()
        for dataset in sorted(new_datasets - old_datasets):
            found.append(Change(name, f"dataset {dataset} added", True))
        for dataset in sorted(old_datasets - new_datasets):
            found.append(
                Change(name, f"dataset {dataset} removed (a bucket or table of its own stays, retained)", False)
            )
        old_grants, new_grants = _grants(old), _grants(new)
        for consumer, dataset in sorted({*old_grants, *new_grants}):
            was, now = old_grants.get((consumer, dataset)), new_grants.get((consumer, dataset))
            if was == now:
                continue
            if was is None:
                line, widens = f"{consumer} gains {dataset} ({now})", True
            elif now is None:
                line, widens = f"{consumer} loses {dataset} (was {was})", False
            elif LEVEL[now] > LEVEL[was]:
                line, widens = f"{consumer} widens {dataset}: {was} -> {now}", True
            else:
                line, widens = f"{consumer} narrows {dataset}: {was} -> {now}", False
            found.append(Change(name, line, widens))
    return found


def render(found: list[Change]) -> list[str]:
    if not found:
        return ["no access changes: every consumer keeps exactly what it had"]
    lines = []
    if not any(change.widens for change in found):
        lines.append("only removes access: nobody gains a dataset or a wider access")
    environment = None
    for change in found:
        if change.environment != environment:
            environment = change.environment
            lines.append(f"{environment}:")
        lines.append(f"  {'+' if change.widens else '-'} {change.line}")
    return lines


def config_at(ref: str, path: str, root: Path | None = None) -> Config:
    """The config file as committed at a git ref of the repository at root (this one by default)."""
    root = root or ROOT
    try:
        relative = repository_path(path, root)
    except NotInRepository as error:
        raise ConfigError(str(error)) from None
    try:
        shown = subprocess.run(
            ["git", "show", f"{ref}:{relative}"], cwd=root, capture_output=True, text=True, check=False, timeout=60
        )
    except OSError as error:  # no git on this machine
        raise ConfigError(f"{path} at {ref}: cannot run git ({error})") from None
    if shown.returncode != 0:
        why = (shown.stderr.strip().splitlines() or ["git failed"])[-1]
        raise ConfigError(f"{path} at {ref}: {why}")
    return parse_config(shown.stdout, source=f"{path} at {ref}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.access_diff", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the git ref to compare with (a branch, tag or commit)")
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    args = parser.parse_args(argv)
    try:
        base = config_at(args.base, args.config)
        head = load_config(args.config)
    except (ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"access changes of {args.config} since {args.base}:")
    for line in render(changes(base, head)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
