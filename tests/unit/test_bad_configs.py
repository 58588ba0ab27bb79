"""A corpus of configs nobody here would write: each is refused in one line that names the field or the place,
with exit 2, no traceback and nothing written, by the loader and by the app's own entry (in process: neither
starts the CDK for a bad config). One subprocess test per command lives with each command's tests."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path

import pytest

import pipeline_app
from config.loader import MAX_CONFIG_BYTES, MAX_LINE, ConfigError, load_config
from tests.configs import config_text
from tests.conftest import EXAMPLE

GOOD = EXAMPLE.read_text()


GRANTS = (
    "        region: eu-west-1\n"
    "        grants: {sales: read-write}   # dataset: read | read-write; a dataset not named here is refused"
)
KEY = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _overlap(path: Path) -> None:
    """Two datasets of one existing bucket, one prefix under the other, granted differently."""
    text = GOOD.replace(
        "      - name: reference       #",
        "      - {name: old, bucket: {existing: corp-lake, prefix: raw/}}\n"
        "      - {name: new, bucket: {existing: corp-lake, prefix: raw/events/}}\n"
        "      - name: reference       #",
    )
    text = text.replace(
        "lake-curated: read, orders: read}",
        "lake-curated: read, orders: read, old: read, new: read}",
    )
    path.write_text(
        text.replace(
            "grants: {events: read-write, orders: read-write}",
            "grants: {events: read-write, orders: read-write, new: read}",
        )
    )


def _replace(old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        assert old in GOOD, old
        path.write_text(GOOD.replace(old, new, count))

    return write


def _text(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text)


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _append(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(GOOD + text)


def _line_of(text: str) -> int:
    """The number of the example's first line that is this text."""
    return GOOD.splitlines().index(text) + 1


def _task_network(network: str) -> Callable[[Path], None]:
    """The example's second prod consumer, with this task_network."""
    return _replace(
        "        region: eu-central-1\n", f"        region: eu-central-1\n        task_network: {network}\n"
    )


INGEST = "        grants: {events: read-write, orders: read-write}\n"
IMAGE = "# consumer_image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/consumer:1.0 "
ORDERS = GOOD[GOOD.index("      - name: orders  ") : GOOD.index("      # - name: finance")]
ORGANIZATION = "# organization_id: o-exampleorg1 "


def _group(group: str, *, organization: bool = True, image: bool = True, api: bool = False) -> Callable[[Path], None]:
    """The example's prod with a consumer group (a YAML flow mapping); its organization_id and consumer_image, and
    without its API dataset, unless told otherwise."""

    def write(path: Path) -> None:
        assert INGEST in GOOD and ORGANIZATION in GOOD and IMAGE in GOOD
        text = GOOD.replace(INGEST, f"{INGEST}    consumer_groups:\n      - {group}\n")
        text = (
            text.replace(IMAGE, "consumer_image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/consumer:1.0 ")
            if image
            else text
        )
        text = (
            text
            if api
            else text.replace(ORDERS, "").replace(", orders: read}", "}").replace(", orders: read-write}", "}")
        )
        path.write_text(text.replace(ORGANIZATION, "organization_id: o-exampleorg1 ") if organization else text)

    return write


def _directory(path: Path) -> None:
    path.mkdir()


def _broken_link(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere.yaml")


def _nothing(path: Path) -> None:
    pass


def _huge(path: Path) -> None:
    path.write_text(GOOD + "#" * MAX_CONFIG_BYTES)


def _nested(depth: int) -> str:
    return "project: " + "[" * depth + "]" * depth + "\n"


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 "lol"']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def _anchor_and_alias(path: Path) -> None:
    _replace('    source:\n      account: "444444444444"', '    source: &src\n      account: "444444444444"')(path)
    path.write_text(path.read_text() + "unused: *src\n")


def _two_stages_of_one_name(path: Path) -> None:
    # dev's consumer a-reporting and dev-a's consumer reporting are both the stage dev-a-reporting.
    text = GOOD.replace("      - name: analytics", "      - name: a-reporting", 1).replace(
        "  - name: prod", "  - name: dev-a"
    )
    path.write_text(text)


@dataclass(frozen=True)
class Bad:
    name: str
    write: Callable[[Path], None]
    says: str


CORPUS = [
    # Types
    Bad("project is a number", _replace("project: datashare", "project: 42"), "project: 42 must be a string"),
    Bad("project is a list", _replace("project: datashare", "project: [a, b]"), "project: ['a', 'b'] must be a string"),
    Bad(
        "tooling is a string",
        _replace(
            'tooling:                      # where the pipeline lives\n  account: "111111111111"\n  region: eu-west-1',
            "tooling: here",
        ),
        "tooling: 'here' must be a mapping",
    ),
    Bad(
        "unquoted account",
        _replace('account: "111111111111"', "account: 111111111111"),
        "tooling.account: 111111111111 must be a string (quote it in YAML)",
    ),
    Bad(
        "region is a number",
        _replace("  region: eu-west-1\n\nrepository", "  region: 1\n\nrepository"),
        "tooling.region: 1 must be a string",
    ),
    Bad(
        "approval is a word",
        _replace("approval: false", 'approval: "no"'),
        "environments[dev].approval: 'no' must be true or false",
    ),
    Bad(
        "consumers is a mapping",
        _replace(
            '    consumers:\n      - name: analytics\n        account: "333333333333"\n' + GRANTS,
            "    consumers: {name: analytics}",
        ),
        "environments[dev].consumers: {'name': 'analytics'} must be a list",
    ),
    Bad(
        "unknown access",
        _replace("grants: {sales: read-write}", "grants: {sales: write}"),
        "environments[dev].consumers[analytics].grants.sales: 'write' must be 'read' or 'read-write'",
    ),
    Bad(
        "trust quota not offered",
        _append("trust_policy_quota: 3000\n"),
        "trust_policy_quota: 3000 must be 2048 or 4096",
    ),
    Bad(
        "table access unknown",
        _replace("access: resource-policy", "access: both"),
        "environments[prod].datasets[reference].table.access: 'both' must be 'role' or 'resource-policy'",
    ),
    # Datasets and grants
    Bad(
        "the old share block",
        _replace(
            "    datasets:                 # a small", "    share: {bucket: read}\n    datasets:                 # a"
        ),
        "environments[prod].share: was replaced by datasets",
    ),
    Bad(
        "grant of an unknown dataset",
        _replace("          reference:   ", "          referense:   "),
        "environments[prod].consumers[reporting].grants.referense: no dataset 'referense' in the environment (did you "
        "mean 'reference'? its datasets: events, lake-curated, lake-raw, orders, reference, sales)",
    ),
    Bad(
        "dataset nobody is granted",
        _replace(
            "      - name: reference       #", "      - {name: spare, bucket: {}}\n      - name: reference       #"
        ),
        "environments[prod].datasets[spare].name: 'spare' is granted to no consumer",
    ),
    Bad(
        "consumer given nothing",
        _replace("grants: {events: read-write, orders: read-write}", "grants: {}"),
        "environments[prod].consumers[ingest].grants: 'ingest' is given no dataset",
    ),
    Bad(
        "dataset twice",
        _replace("      - name: reference       #", "      - name: sales       #"),
        "environments[prod].datasets[2].name: 'sales' is used twice in the environment",
    ),
    Bad(
        "dataset of nothing",
        _replace(
            "      - name: reference       # a table shared by its own resource policy: consumers reach it directly\n"
            "        table:\n          access: resource-policy",
            "      - name: reference",
        ),
        "environments[prod].datasets[reference].bucket: a dataset shares a bucket, a table, or an API",
    ),
    Bad(
        "prefix without its slash",
        _replace("prefix: raw/events/ ", "prefix: raw/events "),
        "environments[prod].datasets[events].bucket.prefix: 'raw/events' does not end in '/' (a prefix 'sales' would "
        "also cover 'sales-archive/'): write raw/events/",
    ),
    Bad(
        "prefix with a wildcard",
        _replace("prefix: raw/events/ ", "prefix: 'raw/*/' "),
        "environments[prod].datasets[events].bucket.prefix: 'raw/*/' is not an S3 prefix the grants can name",
    ),
    Bad(
        "prefix with a dot segment",
        _replace("prefix: raw/events/ ", "prefix: raw/../ "),
        "environments[prod].datasets[events].bucket.prefix: 'raw/../' has a '.' or '..' segment",
    ),
    Bad(
        "prefix of the self-check",
        _replace("prefix: raw/events/ ", "prefix: __consumer-self-check__/x/ "),
        "is under __consumer-self-check__/, where the consumers' self-check writes",
    ),
    Bad(
        "existing table by resource policy",
        _replace(
            "        table:\n          access: resource-policy",
            "        table:\n          existing: ref-codes\n          access: resource-policy",
        ),
        "environments[prod].datasets[reference].table.access: 'resource-policy' would write the policy of a table the "
        "project "
        "does not own",
    ),
    Bad(
        "existing bucket of the project's prefix",
        _replace("existing: corp-data-lake\n          prefix: raw/", "existing: datashare-raw\n          prefix: raw/"),
        "environments[prod].datasets[lake-raw].bucket.existing: 'datashare-raw' starts with the project's prefix "
        "datashare-",
    ),
    Bad(
        "existing bucket's key in another account",
        _replace(
            "prefix: raw/\n          kms_key: arn:aws:kms:eu-west-1:444444444444:",
            "prefix: raw/\n          kms_key: arn:aws:kms:eu-west-1:999999999999:",
        ),
        "environments[prod].datasets[lake-raw].bucket.kms_key: 'arn:aws:kms:eu-west-1:999999999999:key/1a2b3c4d-"
        "5e6f-4a7b-8c9d-0e1f2a3b4c5d' is not in the source account 444444444444",
    ),
    Bad(
        "a table over an existing bucket reached through the source role",
        _replace(
            "        bucket:\n          prefix: raw/events/",
            "        bucket:\n          existing: corp-raw\n          access: role\n          prefix: raw/events/",
        ),
        "environments[prod].datasets[events].catalog: a table over an existing bucket is read with the consumers' own "
        "roles, which reach it through an access point only: give the bucket access: access-point",
    ),
    Bad(
        "a table over a folder Athena skips",
        _replace("prefix: raw/events/", "prefix: raw/_events/"),
        "environments[prod].datasets[events].catalog: Athena reads nothing under a folder named '_events' (it skips "
        "folders starting with _ or .): give the table a prefix without such a folder",
    ),
    Bad(
        "a catalog column Athena cannot name",
        _replace("columns: {event_id: string", "columns: {EventId: string"),
        "environments[prod].datasets[events].catalog.columns.EventId: 'EventId' is not a name Athena queries",
    ),
    Bad(
        "a catalog column of no Hive type",
        _replace("event_id: string", "event_id: text"),
        "environments[prod].datasets[events].catalog.columns.event_id: 'text' is not a column type Athena reads",
    ),
    Bad(
        "a partition key that is also a column",
        _replace("partition_keys: {dt: string}", "partition_keys: {kind: string}"),
        "environments[prod].datasets[events].catalog.partition_keys: 'kind' is also a column",
    ),
    Bad(
        "a csv header on json",
        _replace("          format: json ", "          header: false\n          format: json "),
        "environments[prod].datasets[events].catalog.header: is for format csv, not json",
    ),
    Bad(
        "two tables of one name in a consumer's catalog",
        _replace(
            "      - name: sales           # objects and a table, each created for the dataset\n        bucket: {}\n",
            "      - name: sales           # objects and a table, each created for the dataset\n        bucket: {}\n"
            "        catalog: {table: events, format: json, columns: {a: string}}\n",
        ),
        "environments[prod].datasets[events].catalog and environments[prod].datasets[sales].catalog both make the Glue "
        "table datashare_prod.events: rename one of them",
    ),
    Bad(
        "a catalog without a bucket",
        _replace(
            "          access: resource-policy\n",
            "          access: resource-policy\n        catalog: {format: json, columns: {a: string}}\n",
        ),
        "environments[prod].datasets[reference].catalog: describes the objects of a dataset's bucket",
    ),
    Bad(
        "key for a new bucket",
        _replace(
            "        bucket:\n          prefix: raw/events/",
            f"        bucket:\n          kms_key: arn:aws:kms:eu-west-1:444444444444:key/{KEY}\n"
            "          prefix: raw/events/",
        ),
        "environments[prod].datasets[events].bucket.kms_key: is for an existing bucket",
    ),
    Bad(
        "an access point for a new bucket",
        _replace(
            "        bucket:\n          prefix: raw/events/",
            "        bucket:\n          access: access-point\n          prefix: raw/events/",
        ),
        "environments[prod].datasets[events].bucket.access: is for an existing bucket",
    ),
    Bad(
        "an access point name S3 reserves",
        _replace(
            "      - name: reference       #",
            "      - {name: raw-s3alias, bucket: {existing: corp-lake, access: access-point}}\n"
            "      - name: reference       #",
        ),
        "environments[prod].datasets[raw-s3alias].name: an access point's name cannot end in -s3alias",
    ),
    Bad(
        "an unknown way to an existing bucket",
        _replace(
            "        bucket:\n          prefix: raw/events/",
            "        bucket:\n          existing: corp-lake\n          access: bucket-policy\n"
            "          prefix: raw/events/",
        ),
        "environments[prod].datasets[events].bucket.access",
    ),
    Bad(
        "overlapping prefixes granted differently",
        _overlap,
        "environments[prod].datasets[new].bucket.prefix: 'raw/events/' of corp-lake overlaps dataset 'old' (raw/), and "
        "'ingest' gets read on one and nothing on the other",
    ),
    Bad(
        "environments is a mapping",
        _replace("environments:                 # deployed in this order\n", "environments: {}\nunused:\n"),
        "environments: {} must be a list",
    ),
    # Missing fields
    Bad("no project", _replace("project: datashare ", "# project: datashare "), "project: required field is missing"),
    Bad(
        "no tooling region",
        _replace("  region: eu-west-1\n\nrepository", "\nrepository"),
        "tooling.region: required field is missing",
    ),
    Bad(
        "no repository",
        _replace("repository:                   #", "unused_repository:                   #"),
        "repository: required field is missing",
    ),
    Bad(
        "no consumer account",
        _replace('      - name: analytics\n        account: "333333333333"\n', "      - name: analytics\n"),
        "environments[dev].consumers[analytics].account: required field is missing",
    ),
    Bad(
        "no environments",
        lambda p: p.write_text(GOOD.split("environments:")[0]),
        "environments: required field is missing",
    ),
    Bad(
        "empty consumers",
        _replace(
            '    consumers:\n      - name: analytics\n        account: "333333333333"\n' + GRANTS,
            "    consumers: []",
        ),
        "environments[dev].consumers: the environment has none: list consumer accounts or consumer_groups",
    ),
    # Values and references
    Bad(
        "11-digit account",
        _replace('"333333333333"', '"33333333333"'),
        "environments[dev].consumers[analytics].account: '33333333333' is not a 12-digit AWS account id",
    ),
    Bad(
        "account with letters",
        _replace('"222222222222"', '"22222222222x"'),
        "environments[dev].source.account: '22222222222x' is not a 12-digit",
    ),
    Bad(
        "unknown region",
        _replace("region: eu-central-1", "region: eu-middle-9"),
        "environments[prod].consumers[reporting].region: 'eu-middle-9' is not an AWS region name",
    ),
    Bad(
        "environment named twice",
        _replace("  - name: prod", "  - name: dev"),
        "environments[1].name: 'dev' is used twice",
    ),
    Bad(
        "consumer named twice",
        _replace("      - name: reporting", "      - name: analytics"),
        "environments[prod].consumers[1].name: 'analytics' is used twice",
    ),
    Bad(
        "consumer is its source",
        _replace('"333333333333"', '"222222222222"'),
        "environments[dev].consumers[analytics].account: '222222222222' is the source account",
    ),
    Bad(
        "account twice in one environment",
        _replace('"666666666666"', '"555555555555"'),
        "environments[prod].consumers[reporting].account: '555555555555' is used twice",
    ),
    Bad(
        "bad connection ARN",
        _replace("connection/0a1b2c3d", "connection/zz"),
        "repository.connection_arn: 'arn:aws:codeconnections",
    ),
    Bad(
        "bad e-mail",
        _replace("platform-team@example.com", "platform-team"),
        "notifications.emails[0]: 'platform-team' is not an e-mail address",
    ),
    Bad(
        "bad branch",
        _replace("  branch: main\n  # For", "  branch: 'a b'\n  # For"),
        "repository.branch: 'a b' is not a git branch name",
    ),
    Bad(
        "project too long",
        _replace("project: datashare", "project: datasharingproject"),
        "project: 'datasharingproject' must be 1-12",
    ),
    Bad(
        "upper-case environment",
        _replace("  - name: dev", "  - name: Dev"),
        "environments[Dev].name: 'Dev' must be 1-10 lower-case",
    ),
    Bad(
        "bad image",
        _replace("# consumer_image: 123456789012", "consumer_image: 'Not An Image' # 123456789012"),
        "consumer_image: 'Not An Image' is not a container image reference",
    ),
    Bad(
        "bad organization id",
        _replace("# organization_id: o-exampleorg1", "organization_id: org-1"),
        "organization_id: 'org-1' is not an AWS Organizations id",
    ),
    Bad("unknown key", _append("colour: blue\n"), "colour: unknown key"),
    Bad(
        "misspelt nested key",
        _replace("          access: resource-policy", "          acess: resource-policy"),
        "environments[prod].datasets[reference].table.acess: unknown key",
    ),
    # Names AWS or the CDK refuse
    Bad(
        "consumer named sharing",
        _replace("      - name: reporting", "      - name: sharing"),
        "environments[prod].consumers[sharing].name: makes the stage 'prod-sharing', as environments[prod].name does",
    ),
    Bad(
        "two stages of one name",
        _two_stages_of_one_name,
        "environments[dev-a].consumers[reporting].name: makes the stage 'dev-a-reporting', as "
        "environments[dev].consumers[a-reporting].name does",
    ),
    Bad(
        "project aws",
        _replace("project: datashare", "project: aws"),
        "project: 'aws' would name the project's KMS aliases alias/aws/",
    ),
    Bad(
        "project xn--",
        _replace("project: datashare", "project: xn--data"),
        "project: 'xn--data' would start every bucket name with a prefix S3 reserves",
    ),
    Bad(
        "project sthree",
        _replace("project: datashare", "project: sthree"),
        "would start every bucket name with a prefix S3 reserves",
    ),
    Bad(
        "project amzn-s3-demo",
        _replace("project: datashare", "project: amzn-s3-demo"),
        "would start every bucket name with a prefix S3 reserves",
    ),
    # Partitions
    Bad(
        "consumer in China",
        _replace("region: eu-central-1", "region: cn-north-1"),
        "environments[prod].consumers[reporting].region: 'cn-north-1' is in partition aws-cn, the tooling account's "
        "region "
        "'eu-west-1' is in aws",
    ),
    Bad(
        "source in GovCloud",
        _replace(
            '      account: "444444444444"\n      region: eu-west-1',
            '      account: "444444444444"\n      region: us-gov-west-1',
        ),
        "environments[prod].source.region: 'us-gov-west-1' is in partition aws-us-gov",
    ),
    Bad(
        "connection of another partition",
        _replace("arn:aws:codeconnections", "arn:aws-cn:codeconnections"),
        "repository.connection_arn: is in partition aws-cn",
    ),
    Bad(
        "e-mails where there are no notifications",
        _replace("  region: eu-west-1\n\nrepository", "  region: eu-south-1\n\nrepository"),
        "notifications.emails: CodeStar Notifications",
    ),
    # YAML
    Bad(
        "tab indentation",
        _replace('  account: "111111111111"', '\taccount: "111111111111"'),
        "YAML syntax error at line",
    ),
    Bad("unclosed bracket", _text("project: [datashare\n"), "YAML syntax error"),
    Bad("missing colon", _replace("project: datashare", "project datashare"), "YAML syntax error"),
    Bad("unclosed quote", _replace('account: "111111111111"', 'account: "111111111111'), "YAML syntax error"),
    Bad("key given twice", _append("project: other\n"), "key 'project' given twice (line"),
    Bad(
        "an alias",
        _anchor_and_alias,
        # The alias is on the line after the example's last.
        f"YAML alias *src at line {len(GOOD.splitlines()) + 1}, column 9: aliases are not accepted",
    ),
    Bad("billion laughs", _text(_laughs(9)), "aliases are not accepted"),
    Bad("merge key", _text("base: &base {account: '1'}\ntooling:\n  <<: *base\n"), "YAML alias *base"),
    Bad("top-level list", _text("- project: x\n"), "expected a mapping of settings at the top level, got list"),
    Bad("top-level scalar", _text("datashare\n"), "expected a mapping of settings at the top level, got str"),
    Bad("empty file", _text(""), "expected a mapping of settings at the top level, got NoneType"),
    Bad("only comments", _text("# nothing here\n"), "expected a mapping of settings at the top level, got NoneType"),
    Bad("python tag", _text("project: !!python/object/apply:os.system ['true']\n"), "YAML syntax error"),
    Bad(
        "integer beyond conversion",
        _replace("project: datashare", "project: " + "9" * 5000),
        "a YAML value cannot be read",
    ),
    Bad("nested 100,000 deep", _text(_nested(100_000)), "YAML nested too deeply"),
    Bad("two documents", _text(GOOD + "---\nproject: again\n"), "YAML syntax error"),
    Bad("key with a newline", _append('? "a\\nb"\n: 1\n'), "['a\\nb']: unknown key"),
    Bad("very long key", _append("k" * 100_000 + ": 1\n"), "YAML syntax error"),
    Bad("very long value", _replace("project: datashare", "project: " + "x" * 100_000), "project: 'xxxxxxxx"),
    Bad(
        "a date for a name",
        _replace("project: datashare", "project: 2026-11-28"),
        "project: 2026-11-28 must be a string",
    ),
    # A consumer's own roles
    Bad(
        "an own role name with a space",
        _replace("        region: eu-central-1\n", "        region: eu-central-1\n        roles: [glue etl]\n"),
        "environments[prod].consumers[reporting].roles[0]: 'glue etl' is not an IAM role name",
    ),
    Bad(
        "an own role of the project's prefix",
        _replace(
            "        region: eu-central-1\n", "        region: eu-central-1\n        roles: [glue, datashare-etl]\n"
        ),
        "environments[prod].consumers[reporting].roles[1]: 'datashare-etl' starts with the project's prefix "
        "datashare-, which "
        "names roles the pipeline manages or deploys with",
    ),
    Bad(
        "an own role twice, in another case and path",
        _replace(
            "        region: eu-central-1\n", "        region: eu-central-1\n        roles: [Glue, service-role/glue]\n"
        ),
        "environments[prod].consumers[reporting].roles: ['Glue', 'service-role/glue'] lists the role 'glue' twice",
    ),
    Bad(
        "a CDK bootstrap role as an own role",
        _replace(
            "        region: eu-central-1\n",
            "        region: eu-central-1\n        roles: [cdk-hnb659fds-cfn-exec-role-666666666666-eu-central-1]\n",
        ),
        "starts with the CDK bootstrap's prefix cdk-",
    ),
    Bad(
        "an own role name outside ASCII",
        _replace("        region: eu-central-1\n", "        region: eu-central-1\n        roles: [glüe]\n"),
        "environments[prod].consumers[reporting].roles[0]: 'glüe' is not an IAM role name",
    ),
    Bad(
        "an own role path past IAM's 512 characters",
        _replace(
            "        region: eu-central-1\n",
            "        region: eu-central-1\n        roles: [" + "p" * 70 + "/" + ("q" * 70 + "/") * 7 + "glue]\n",
        ),
        "a path of 569 characters, IAM allows 512",
    ),
    Bad(
        "an own role twice",
        _replace("        region: eu-central-1\n", "        region: eu-central-1\n        roles: [glue, glue]\n"),
        "environments[prod].consumers[reporting].roles: ['glue', 'glue'] lists the role 'glue' twice",
    ),
    # YAML mistakes: the line, shown, and what it usually means
    Bad(
        "a key indented too far",
        _replace(
            '  account: "111111111111"\n  region: eu-west-1\n', '  account: "111111111111"\n    region: eu-west-1\n'
        ),
        f"YAML syntax error at line {_line_of('  region: eu-west-1')}, column 5 '    region: eu-west-1': expected "
        "<block end>, but found "
        "'<block mapping start>' (hint: the indentation of this line does not match the lines around it",
    ),
    Bad(
        "a tab",
        _replace("    approval: false\n", "\tapproval: false\n"),
        "'\\tapproval: false': found character '\\t' that cannot start any token (hint: YAML indents with spaces only",
    ),
    Bad(
        "a key without its colon",
        _replace("    approval: false\n", "    approval false\n"),
        "could not find expected ':' (hint: a key is missing its colon (key: value), or a quote is not closed, on this "
        f"line or line {_line_of('    approval: false')} '    approval false')",
    ),
    Bad(
        "an unclosed list",
        _replace("emails: [platform-team@example.com]", "emails: [platform-team@example.com"),
        "expected ',' or ']', but got '<stream end>' (hint: a [list] is not closed with ])",
    ),
    # Where the test step runs a consumer's task
    Bad(
        "a subnet id that is not one",
        _task_network("{subnets: [subnet-123]}"),
        "environments[prod].consumers[reporting].task_network.subnets[0]: 'subnet-123' is not a subnet id (subnet-...)",
    ),
    Bad(
        "no subnets",
        _task_network("{subnets: []}"),
        "environments[prod].consumers[reporting].task_network.subnets: must list at least one entry",
    ),
    Bad(
        "a subnet twice",
        _task_network("{subnets: [subnet-01234567, subnet-01234567]}"),
        "task_network.subnets: ['subnet-01234567', 'subnet-01234567'] lists 'subnet-01234567' twice",
    ),
    Bad(
        "more subnets than RunTask takes",
        _task_network("{subnets: [" + ", ".join(f"subnet-{n:08x}" for n in range(17)) + "]}"),
        "environments[prod].consumers[reporting].task_network.subnets: lists 17 entries, at most 16 are allowed",
    ),
    Bad(
        "more security groups than RunTask takes",
        _task_network(
            "{subnets: [subnet-01234567], security_groups: [" + ", ".join(f"sg-{n:08x}" for n in range(6)) + "]}"
        ),
        "task_network.security_groups: lists 6 entries, at most 5 are allowed",
    ),
    Bad(
        "a security group id that is not one",
        _task_network("{subnets: [subnet-01234567], security_groups: [sg-1]}"),
        "task_network.security_groups[0]: 'sg-1' is not a security group id (sg-...)",
    ),
    Bad(
        "security groups without subnets",
        _task_network("{security_groups: [sg-01234567]}"),
        "environments[prod].consumers[reporting].task_network.subnets: required field is missing",
    ),
    Bad(
        "a misspelt public ip",
        _task_network("{subnets: [subnet-01234567], public_ip: true}"),
        "environments[prod].consumers[reporting].task_network.public_ip: unknown key",
    ),
    # Physical names two parts of the config would both make
    Bad(
        "a dataset named shared beside the default one",
        _text(
            config_text(
                "shop",
                """  - name: dev
    source: {account: "222222222222", region: eu-west-1}
    datasets: [{name: data, bucket: {}, table: {}}, {name: shared, table: {}}]
    consumers: [{name: a, account: "333333333333", region: eu-west-1, grants: {data: read, shared: read}}]
""",
            )
        ),
        "environments[dev].datasets[shared] (dev/shared) and environments[dev].datasets[data] (dev/data) both make "
        "the table "
        "shop-dev-shared: rename one of them",
    ),
    Bad(
        "a dataset named shared-data beside the default one",
        _text(
            config_text(
                "shop",
                """  - name: dev
    source: {account: "222222222222", region: eu-west-1}
    datasets: [{name: data, bucket: {}, table: {}}, {name: shared-data, bucket: {}}]
    consumers: [{name: a, account: "333333333333", region: eu-west-1, grants: {data: read, shared-data: read}}]
""",
            )
        ),
        "both make the key alias alias/shop/dev/shared-data",
    ),
    Bad(
        "an API whose function's role is a consumer's source role",
        _text(
            config_text(
                "shop",
                """  - name: dev
    source: {account: "222222222222", region: eu-west-1}
    datasets: [{name: source-x, api: {}}, {name: t, table: {}}]
    consumers: [{name: x-api, account: "333333333333", region: eu-west-1, grants: {source-x: read, t: read}}]
""",
            )
        ),
        "environments[dev].consumers[x-api] (dev/x-api) and environments[dev].datasets[source-x] (dev/source-x) "
        "both make the role shop-dev-source-x-api: rename one of them",
    ),
    Bad(
        "an API's table beside a dataset's",
        _text(
            config_text(
                "shop",
                """  - name: dev
    source: {account: "222222222222", region: eu-west-1}
    datasets: [{name: data, bucket: {}, table: {}}, {name: shared, api: {}}]
    consumers: [{name: a, account: "333333333333", region: eu-west-1, grants: {data: read, shared: read}}]
""",
            )
        ),
        "environments[dev].datasets[shared] (dev/shared) and environments[dev].datasets[data] (dev/data) both make "
        "the table shop-dev-shared: rename one of them",
    ),
    Bad(
        "two environments of one source account making one bucket",
        _text(
            config_text(
                "shop",
                """  - name: a
    source: {account: "222222222222", region: eu-west-1}
    datasets: [{name: b-c, bucket: {}}]
    consumers: [{name: x, account: "333333333333", region: eu-west-1, grants: {b-c: read}}]
  - name: a-b
    source: {account: "222222222222", region: eu-west-1}
    datasets: [{name: c, bucket: {}}]
    consumers: [{name: x, account: "333333333333", region: eu-west-1, grants: {c: read}}]
""",
            )
        ),
        "environments[a-b].datasets[c] (a-b/c) and environments[a].datasets[b-c] (a/b-c) both make the bucket "
        "shop-a-b-c-222222222222-eu-west-1",
    ),
    Bad(
        "a read-only proof of a dataset the project creates",
        _replace(
            "      - name: sales\n        bucket: {}            #",
            "      - name: sales\n        proof: read-only\n        bucket: {}            #",
        ),
        "environments[dev].datasets[sales].proof: 'read-only' is for a dataset of an existing bucket or table",
    ),
    Bad(
        "a consumer in the tooling account",
        _replace('account: "777777777777"', 'account: "111111111111"'),
        "environments[prod].consumers[ingest].account: '111111111111' is the tooling account, which runs the pipeline "
        "and is no target of it",
    ),
    Bad("a project named cdk", _replace("project: datashare", "project: cdk-data"), "project: 'cdk-data' would name"),
    # Mistakes with an obvious fix: the line says it
    Bad(
        "a key one level off",
        _replace("      - name: events          #", "      - name: events\n        kms_key: x\n#"),
        "environments[prod].datasets[events].kms_key: unknown key: it belongs under bucket: or table:",
    ),
    Bad(
        "a misspelt key",
        _replace("          prefix: raw/events/ ", "          prefx: raw/events/ "),
        "environments[prod].datasets[events].bucket.prefx: unknown key: did you mean prefix?",
    ),
    Bad(
        "a role ARN where its name goes",
        _replace(
            "        region: eu-central-1\n",
            "        region: eu-central-1\n        roles: [arn:aws:iam::666666666666:role/service-role/athena]\n",
        ),
        "environments[prod].consumers[reporting].roles[0]: 'arn:aws:iam::666666666666:role/service-role/athena' is a "
        "role ARN: name the role, with its path if it has one ('service-role/athena')",
    ),
    # Consumer groups (organizational units)
    Bad(
        "a group without organization_id",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], grants: {sales: read}}",
            organization=False,
        ),
        "environments[prod].consumer_groups[branches].organizational_units: a group of organizational units needs "
        "organization_id",
    ),
    Bad(
        "a group naming an account, not a unit",
        _group("{name: branches, organizational_units: ['888888888888'], regions: [eu-west-1], grants: {sales: read}}"),
        "environments[prod].consumer_groups[branches].organizational_units[0]: '888888888888' is not an "
        "organizational unit id",
    ),
    Bad(
        "a group's units under two roots",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111, ou-cd34-22222222], regions: [eu-west-1], "
            "grants: {sales: read}}"
        ),
        "consumer_groups[branches].organizational_units[1]: 'ou-cd34-22222222' is under root r-cd34, "
        "environments[prod].consumer_groups[branches].organizational_units[0] under r-ab12",
    ),
    Bad(
        "a group of a consumer's name",
        _group("{name: ingest, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], grants: {sales: read}}"),
        "environments[prod].consumers[ingest].name: 'ingest' is used twice in the environment (consumers and "
        "consumer_groups share their names)",
    ),
    Bad(
        "a group given an existing key's access point",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], grants: {lake-raw: read}}"
        ),
        "environments[prod].consumer_groups[branches].grants.lake-raw: dataset 'lake-raw' is read through an access "
        "point under the existing key kms_key",
    ),
    Bad(
        "a group without regions",
        _group("{name: branches, organizational_units: [ou-ab12-11111111], regions: [], grants: {sales: read}}"),
        "environments[prod].consumer_groups[branches].regions",
    ),
    Bad(
        "a group's region of another partition",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [cn-north-1], grants: {sales: read}}"
        ),
        "environments[prod].consumer_groups[branches].regions[0]: 'cn-north-1' is in partition aws-cn",
    ),
    Bad(
        "a group of an undefined dataset",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], grants: {sale: read}}"
        ),
        "environments[prod].consumer_groups[branches].grants.sale: no dataset 'sale' in the environment (did you "
        "mean 'sales'?",
    ),
    Bad(
        "a group's own role of the project's name",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], "
            "roles: [datashare-x], grants: {sales: read}}"
        ),
        "environments[prod].consumer_groups[branches].roles[0]: 'datashare-x' starts with the project's prefix",
    ),
    Bad(
        "a group of two regions",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1, eu-central-1], "
            "grants: {sales: read}}"
        ),
        "environments[prod].consumer_groups[branches].regions: ['eu-west-1', 'eu-central-1'] lists 2 regions: a group "
        "has one for now",
    ),
    Bad(
        "two groups of one unit",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], grants: {sales: read}}"
            "\n      - {name: shops, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], "
            "grants: {sales: read}}"
        ),
        "environments[prod].consumer_groups[shops].organizational_units[0]: 'ou-ab12-11111111' reaches accounts that "
        "ou-ab12-11111111 of environments[prod].consumer_groups[branches] reaches too",
    ),
    Bad(
        "a group of the whole organization beside another group",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], grants: {sales: read}}"
            "\n      - {name: everyone, organizational_units: [r-ab12], regions: [eu-west-1], grants: {sales: read}}"
        ),
        "environments[prod].consumer_groups[everyone].organizational_units[0]: 'r-ab12' reaches accounts that",
    ),
    Bad(
        "a group without consumer_image",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], grants: {sales: read}}",
            image=False,
        ),
        "environments[prod].consumer_groups[branches]: a group's stacks are deployed by a StackSet, which cannot build "
        "the task's image: set consumer_image",
    ),
    Bad(
        "a group in an environment with an API",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], grants: {sales: read}}",
            api=True,
        ),
        "environments[prod].consumer_groups[branches]: the environment shares the API 'orders', whose id a group's "
        "stacks cannot read yet",
    ),
    Bad(
        "a group given a dataset with a catalog",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], grants: {events: read}}"
        ),
        "environments[prod].consumer_groups[branches].grants.events: dataset 'events' has a catalog",
    ),
    Bad(
        "a group's rollout tolerating more failures than it deploys at once",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], grants: {sales: read}, "
            "rollout: {max_concurrent_percentage: 10, failure_tolerance_percentage: 20}}"
        ),
        "environments[prod].consumer_groups[branches].rollout.failure_tolerance_percentage: 20 is above "
        "max_concurrent_percentage 10",
    ),
    Bad(
        "a group's rollout of no accounts at once",
        _group(
            "{name: branches, organizational_units: [ou-ab12-11111111], regions: [eu-west-1], grants: {sales: read}, "
            "rollout: {max_concurrent_percentage: 0}}"
        ),
        "environments[prod].consumer_groups[branches].rollout.max_concurrent_percentage",
    ),
    # Encodings
    Bad("latin-1 bytes", _bytes(GOOD.replace("my-org", "my-\u00f6rg").encode("latin-1")), "not UTF-8 text (byte"),
    Bad("UTF-16", _bytes(GOOD.encode("utf-16")), "not UTF-8 text"),
    Bad("a NUL byte", _bytes(GOOD.encode() + b"\x00\n"), "YAML syntax error"),
    Bad("a control character", _replace("project: datashare", "project: data\x07share"), "YAML syntax error"),
    # Size and files that cannot be read
    Bad("over a megabyte", _huge, f"bytes, more than a config can be ({MAX_CONFIG_BYTES:,})"),
    Bad("missing file", _nothing, "file not found"),
    Bad("a directory", _directory, "is a directory, not a config file"),
    Bad("a broken link", _broken_link, "file not found"),
]


def test_the_corpus_is_large_and_names_are_unique():
    assert len(CORPUS) >= 60
    assert len({bad.name for bad in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("bad", CORPUS, ids=[bad.name for bad in CORPUS])
def test_the_loader_says_one_bounded_line(tmp_path, bad):
    path = tmp_path / "config.yaml"
    bad.write(path)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert "\n" not in message and len(message) <= MAX_LINE
    assert bad.says in message, message


@pytest.mark.parametrize("bad", CORPUS, ids=[bad.name for bad in CORPUS])
def test_the_app_exits_2_with_one_line_and_writes_nothing(tmp_path, monkeypatch, bad):
    path = tmp_path / "config.yaml"
    bad.write(path)
    outdir = tmp_path / "cdk.out"
    monkeypatch.setenv("CDK_CONTEXT_JSON", f'{{"config": "{path}"}}')
    monkeypatch.setenv("CDK_OUTDIR", str(outdir))
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        code = pipeline_app.main()
    lines = stderr.getvalue().splitlines()
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in lines[0]
    assert not outdir.exists()
    assert os.listdir(tmp_path) in (["config.yaml"], [])
