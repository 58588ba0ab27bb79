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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config import DEFAULT_CONFIG, ConfigError, load_config
from config.actions import aws_time
from config.loader import parse_config
from config.model import Config, Environment
from config.naming import ACCESS_CHANGES_PREFIX
from pipeline_steps.record_deployed import record_key
from toolchain import ROOT, NotInRepository, repository_path

LEVEL = {None: 0, "read": 1, "read-write": 2}


@dataclass(frozen=True)
class Change:
    environment: str
    line: str
    widens: bool  # gives access (or more of it), or admits a principal


def _grants(environment: Environment | None, at: datetime) -> dict[tuple[str, str], tuple[str, datetime | None]]:
    """(consumer, dataset) -> (access, when it ends), of the grants still in force at that instant."""
    if environment is None:
        return {}
    return {
        (c.name, d): (grant.access, grant.until)
        for c in environment.given
        for d, grant in c.grants.items()
        if grant.active(at)
    }


def _until(ends: datetime | None) -> str:
    return f"until {aws_time(ends)}" if ends else "with no end"


def _grant_change(consumer: str, dataset: str, was: tuple[str, datetime | None] | None,
                  now: tuple[str, datetime | None] | None) -> tuple[str, bool]:  # fmt: skip
    """One grant's change as a line, and whether it widens access (more of it, or for longer)."""
    if was is None:
        access, ends = now or ("", None)
        return f"{consumer} gains {dataset} ({access}{', ' + _until(ends) if ends else ''})", True
    if now is None:
        return f"{consumer} loses {dataset} (was {was[0]})", False
    (was_access, was_ends), (now_access, now_ends) = was, now
    if was_access != now_access:
        wider = LEVEL[now_access] > LEVEL[was_access]
        line = f"{consumer} {'widens' if wider else 'narrows'} {dataset}: {was_access} -> {now_access}"
        if was_ends != now_ends:
            line += f", {_until(now_ends)} (was {_until(was_ends)})"
            wider = wider or _later(now_ends, was_ends)
        return line, wider
    if _later(now_ends, was_ends):
        return f"{consumer}'s {dataset} ({now_access}) is extended: {_until(now_ends)} (was {_until(was_ends)})", True
    return f"{consumer}'s {dataset} ({now_access}) now ends sooner: {_until(now_ends)} (was {_until(was_ends)})", False


def _later(ends: datetime | None, than: datetime | None) -> bool:
    """Whether a grant ending at ends lasts longer than one ending at than (None: never ends)."""
    return than is not None and (ends is None or ends > than)


def _roles(environment: Environment | None) -> dict[str, tuple[str, set[str]]]:
    """Each consumer's account (a group's units) and own roles: whom its grants admit besides the project's
    workloads."""
    if environment is None:
        return {}
    found = {c.name: (f"account {c.account}", set(c.roles)) for c in environment.consumers}
    found |= {
        g.name: (f"organizational units {', '.join(g.organizational_units)}", set(g.roles))
        for g in environment.consumer_groups
    }
    return found


def _kind(where: str) -> str:
    return "consumer" if where.startswith("account ") else "consumer group"


def changes(base: Config, head: Config, at: datetime | None = None) -> list[Change]:
    """What the head config gives and takes compared with the base, environment by environment (in the head's order,
    then environments only the base has), as at that instant (default: now): a base grant that has ended by then
    gives nothing."""
    before = {e.name: e for e in base.environments}
    after = {e.name: e for e in head.environments}
    found: list[Change] = []
    for name in [*after, *(n for n in before if n not in after)]:
        found += environment_changes(name, before.get(name), after.get(name), at)
    return found


def environment_changes(
    name: str, old: Environment | None, new: Environment | None, at: datetime | None = None
) -> list[Change]:
    """What one environment's grants give and take, from old (None: never deployed) to new (None: removed)."""
    at = at or datetime.now(UTC)
    found: list[Change] = []
    if old is None:
        found.append(Change(name, "new environment: its consumers get what the config grants below", True))
    elif new is None:
        found.append(Change(name, "environment removed from the config: its stacks stay until deleted", False))
    old_roles, new_roles = _roles(old), _roles(new)
    for consumer in [c for c in new_roles if c not in old_roles]:
        where = new_roles[consumer][0]
        found.append(Change(name, f"{_kind(where)} {consumer} added ({where})", True))
    for consumer in [c for c in old_roles if c not in new_roles]:
        found.append(Change(name, f"{_kind(old_roles[consumer][0])} {consumer} removed: it loses every dataset", False))
    for consumer, (account, roles) in new_roles.items():
        if consumer not in old_roles:
            continue
        old_account, old_own = old_roles[consumer]
        if old_account != account:
            found.append(Change(name, f"{_kind(account)} {consumer} moves from {old_account} to {account}", True))
        for role in sorted(roles - old_own):
            found.append(Change(name, f"{consumer}'s own role {role} is admitted to its datasets", True))
        for role in sorted(old_own - roles):
            found.append(Change(name, f"{consumer}'s own role {role} is no longer admitted", False))
    old_datasets = {d.name for d in old.datasets} if old else set()
    new_datasets = {d.name for d in new.datasets} if new else set()
    for dataset in sorted(new_datasets - old_datasets):
        found.append(Change(name, f"dataset {dataset} added", True))
    for dataset in sorted(old_datasets - new_datasets):
        found.append(Change(name, f"dataset {dataset} removed (a bucket or table of its own stays, retained)", False))
    old_grants, new_grants = _grants(old, at), _grants(new, at)
    for consumer, dataset in sorted({*old_grants, *new_grants}):
        was, now = old_grants.get((consumer, dataset)), new_grants.get((consumer, dataset))
        if was != now:
            found.append(Change(name, *_grant_change(consumer, dataset, was, now)))
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


def deployed(s3: Any, bucket: str, environment: str) -> tuple[Config | None, str]:
    """The config an environment last deployed, as its last test step recorded it (pipeline_steps/record_deployed.py),
    and its commit; (None, "") where nothing is recorded (its first deployment)."""
    key = record_key(environment)
    try:
        record = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        return None, ""
    text = record["Body"].read().decode("utf-8")
    source = f"s3://{bucket}/{key}"
    return parse_config(text, source=source, past_ends_allowed=True), record.get("Metadata", {}).get("commit", "")


def changes_since_deployed(head: Config, bucket: str, s3: Any) -> dict[str, list[str]]:
    """Each environment's access changes since what it deployed: a heading line, then render()'s lines."""
    found = {}
    for environment in head.environments:
        try:
            base, commit = deployed(s3, bucket, environment.name)
        except ConfigError as error:
            # A record of an older version of the project that this one no longer reads: said, and not a failure.
            found[environment.name] = [
                f"access changes of {environment.name}: not known, the record does not read: {error}"
            ]
            continue
        old = next((e for e in base.environments if e.name == environment.name), None) if base else None
        since = f"since the deployed commit {commit[:12]}" if base else "(nothing deployed yet)"
        found[environment.name] = [
            f"access changes of {environment.name} {since}:",
            *render(environment_changes(environment.name, old, environment)),
        ]
    return found


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
    # A config of before may hold grants that have ended since: they give nothing now (changes()), and are no error.
    return parse_config(shown.stdout, source=f"{path} at {ref}", past_ends_allowed=True)


def main(argv: list[str] | None = None, s3: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.access_diff", description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--base", help="the git ref to compare with (a branch, tag or commit)")
    which.add_argument("--records", help="the access records bucket: compare with what each environment deployed")
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--out", default="reports/access-changes", help="with --records: where to write ENV.txt")
    args = parser.parse_args(argv)
    if args.records:
        return _since_deployed(args.records, args.config, Path(args.out), s3)
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


def _since_deployed(bucket: str, config_path: str, out: Path, s3: Any) -> int:
    """The synth step's part: each environment's changes since what it deployed, written to OUT/ENV.txt (the app puts
    them in the approval's comment, pipeline/approval.py) and to the records bucket (the approval's review link)."""
    try:
        head = load_config(config_path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    from botocore.exceptions import BotoCoreError, ClientError  # only here: the rest never calls AWS

    try:
        found = changes_since_deployed(head, bucket, s3)
    except (ClientError, BotoCoreError) as error:  # no such bucket, no permission: the pipeline stack's to mend
        print(f"error: the access records s3://{bucket} cannot be read: {error}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for environment, lines in found.items():
        text = "\n".join(lines) + "\n"
        (out / f"{environment}.txt").write_text(text)
        s3.put_object(
            Bucket=bucket, Key=f"{ACCESS_CHANGES_PREFIX}{environment}.txt", Body=text.encode(), ContentType="text/plain"
        )
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
