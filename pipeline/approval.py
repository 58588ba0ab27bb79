"""What the person at an environment's approval gate reads: who gains or loses which dataset at which access since
what the environment deployed (tools/access_diff.py, computed by the synth step before `cdk synth` and given to the
app as the access_changes context), in the approval's comment, with a link to the whole list in the tooling
account's access records. The comment is fixed at synth: the self-mutating pipeline shows the commit's own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from config.model import Config, Environment
from config.naming import ACCESS_CHANGES_PREFIX, access_records_bucket

# CodePipeline takes an action configuration value (the approval's comment, CustomData) of at most 1,000 characters;
# the comment keeps to half of it, so that the question and the first changes are read at a glance (and in the
# approval's e-mail), and the review link has the rest.
COMMENT_LIMIT = 500
# The app's context key naming the folder of the synth step's ENV.txt files (Makefile, pipeline-synth).
CONTEXT = "access_changes"
CONSOLE = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


def read_changes(folder: str | Path) -> dict[str, list[str]]:
    """The synth step's changes, per environment, from FOLDER/ENV.txt (none where the folder is missing)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {path.stem: path.read_text().splitlines() for path in sorted(folder.glob("*.txt"))}


def comment(environment: Environment, changes: Sequence[str] | None) -> str:
    """The approval's question, then the access changes (a heading line, then one line a change) in as many whole
    lines as fit in COMMENT_LIMIT; what does not fit is counted, and the review link lists it all."""
    groups = environment.consumer_groups
    question = (
        f"Deploy the {environment.name} share from account {environment.source.account} to "
        f"{len(environment.consumers)} consumer account(s)"
        + (f" and the accounts of consumer group(s) {', '.join(g.name for g in groups)}" if groups else "")
        + "?"
    )
    if not changes:
        return question
    # render()'s lines, less its heading of the environment (the question names it).
    heading, *lines = [line.strip() for line in changes if line.strip() and line != f"{environment.name}:"]
    text = f"{question} {heading}"
    for shown, line in enumerate(lines):
        more = len(lines) - shown - 1
        tail = f" (and {more} more: the review link lists them)" if more else ""
        if len(f"{text} {line};{tail}") > COMMENT_LIMIT:
            return f"{text} (and {len(lines) - shown} more: the review link lists them)"[:COMMENT_LIMIT]
        text += f" {line}" + (";" if more else "")
    return text[:COMMENT_LIMIT]


def review_url(config: Config, environment: Environment) -> str:
    """The whole list in the S3 console: the object the synth step wrote for the environment."""
    host = CONSOLE.get(config.tooling.partition, CONSOLE["aws"])
    bucket, region = access_records_bucket(config), config.tooling.region
    return f"https://{host}/s3/object/{bucket}?region={region}&prefix={ACCESS_CHANGES_PREFIX}{environment.name}.txt"


def comments(config: Config, changes: Mapping[str, Sequence[str]]) -> dict[str, str]:
    return {e.name: comment(e, changes.get(e.name)) for e in config.environments}
