"""Bad input: one clear line naming the field and the value, a non-zero exit, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config import load_config
from config.loader import ConfigError, parse_config
from config.model import Config
from config.naming import Names
from pipeline.app import ROOT, cdk_json_context
from tests.conftest import EXAMPLE


def _example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def _mutated(change) -> str:
    data = _example()
    change(data)
    return yaml.safe_dump(data)


def _set(path: str, value):
    def change(data):
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return change


_DELETE = object()

BAD = [
    (
        "account id too short",
        _set("tooling.account", "12345"),
        "tooling.account: '12345' is not a 12-digit AWS account id",
    ),
    (
        "account id unquoted",
        _set("environments.0.source.account", 222222222222),
        "environments[dev].source.account: 222222222222 must be a string (quote it in YAML)",
    ),
    (
        "account id with letters",
        _set("environments.1.consumers.0.account", "55555555555a"),
        "environments[prod].consumers[analytics].account: '55555555555a' is not a 12-digit AWS account id",
    ),
    (
        "unknown region",
        _set("environments.1.consumers.1.region", "eu-centrl-1"),
        "environments[prod].consumers[reporting].region: 'eu-centrl-1' is not an AWS region name",
    ),
    ("unknown top-level key", _set("pipline", {}), "pipline: unknown key"),
    (
        "unknown nested key",
        _set("environments.0.datasets.0.bucket.prefixes", "a/"),
        "environments[dev].datasets[sales].bucket.prefixes: unknown key",
    ),
    ("missing field", _set("tooling", _DELETE), "tooling: required field is missing"),
    (
        "missing consumer region",
        _set("environments.0.consumers.0.region", _DELETE),
        "environments[dev].consumers[analytics].region: required field is missing",
    ),
    ("duplicate environment", _set("environments.1.name", "dev"), "environments[1].name: 'dev' is used twice"),
    (
        "duplicate consumer name",
        lambda d: d["environments"][1]["consumers"][1].update(name="analytics"),
        "environments[prod].consumers[1].name: 'analytics' is used twice in the environment",
    ),
    (
        "account twice in one environment",
        lambda d: d["environments"][1]["consumers"][1].update(account="555555555555"),
        "environments[prod].consumers[reporting].account: '555555555555' is used twice in the environment",
    ),
    (
        "consumer is its source",
        _set("environments.0.consumers.0.account", "222222222222"),
        "environments[dev].consumers[analytics].account: '222222222222' is the source account of the environment",
    ),
    (
        "no consumers",
        _set("environments.0.consumers", []),
        "environments[dev].consumers: the environment has none: list consumer accounts or consumer_groups",
    ),
    ("no environments", _set("environments", []), "environments: must list at least one entry (got [])"),
    (
        "bad access level",
        _set("environments.1.consumers.0.grants.sales", "write"),
        "environments[prod].consumers[analytics].grants.sales: 'write' must be 'read' or 'read-write'",
    ),
    (
        "workload named like another environment's roles",
        _set("environments.1.consumers.0.workloads", ["consumer-function"]),
        "environments[prod].consumers[analytics].workloads[0]: 'consumer-function' starts with consumer-, which could "
        "name a "
        "role of another environment",
    ),
    (
        "workload twice",
        _set("environments.1.consumers.0.workloads", ["export", "export"]),
        "environments[prod].consumers[analytics].workloads: ['export', 'export'] lists 'export' twice",
    ),
    (
        "bad table access",
        _set("environments.1.datasets.0.table.access", "policy"),
        "environments[prod].datasets[sales].table.access: 'policy' must be 'role' or 'resource-policy'",
    ),
    (
        "dataset name too long for its bucket",
        lambda d: (
            d["environments"][1]["datasets"][0].update(name="s" * 20),
            d["environments"][1]["consumers"][0]["grants"].update({"s" * 20: "read"}),
            d["environments"][1]["consumers"][1]["grants"].pop("sales"),
            d["environments"][1]["consumers"][0]["grants"].pop("sales"),
            d.update(project="a" * 12),
            d["environments"][1].update(name="b" * 10),
        ),
        "environments[bbbbbbbbbb].datasets[ssssssssssssssssssss].name: 'ssssssssssssssssssss' makes the bucket name "
        "aaaaaaaaaaaa-bbbbbbbbbb-ssssssssssssssssssss-444444444444-eu-west-1 of 67 characters, S3 allows 63: "
        "shorten it",
    ),
    (
        "approval not a boolean",
        _set("environments.1.approval", "yes please"),
        "environments[prod].approval: 'yes please' must be true or false",
    ),
    (
        "bad organization id",
        _set("organization_id", "org-123"),
        "organization_id: 'org-123' is not an AWS Organizations id (o-...)",
    ),
    (
        "bad connection arn",
        _set("repository.connection_arn", "arn:aws:codeconnections:eu-west-1:111111111111:connection/nope"),
        "repository.connection_arn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/nope' "
        "is not a CodeConnections connection ARN",
    ),
    (
        "bad repository",
        _set("repository.repository", "just-a-name"),
        "repository.repository: 'just-a-name' is not an owner/repository name",
    ),
    (
        "project with capitals",
        _set("project", "DataShare"),
        "project: 'DataShare' must be 1-12 lower-case letters, digits or hyphens, starting with a letter",
    ),
    (
        "project too long",
        _set("project", "a-very-long-project"),
        "project: 'a-very-long-project' must be 1-12 lower-case letters",
    ),
    (
        "environment name with underscore",
        _set("environments.0.name", "my_dev"),
        "environments[my_dev].name: 'my_dev' must be 1-10 lower-case letters",
    ),
    (
        "consumers not a list",
        _set("environments.0.consumers", "analytics"),
        "environments[dev].consumers: 'analytics' must be a list",
    ),
    ("organization id not a string", _set("organization_id", 1234), "organization_id: 1234 must be a string"),
    (
        "branch with a space",
        _set("repository.branch", "my branch"),
        "repository.branch: 'my branch' is not a git branch name",
    ),
    (
        "bad image",
        _set("consumer_image", "Not An Image"),
        "consumer_image: 'Not An Image' is not a container image reference",
    ),
    ("trust quota not a quota", _set("trust_policy_quota", 3000), "trust_policy_quota: 3000 must be 2048 or 4096"),
    (
        "environment not a mapping",
        _set("environments.0", "dev"),
        "environments[0]: 'dev' must be a mapping of settings",
    ),
    ("project missing", _set("project", _DELETE), "project: required field is missing"),
    (
        "connection and codecommit both",
        _set("repository.codecommit_repository", "repo"),
        "repository.connection_arn: unknown key",
    ),
    (
        "source not a mapping",
        _set("environments.0.source", "222222222222"),
        "environments[dev].source: '222222222222' must be a mapping of settings",
    ),
]


@pytest.mark.parametrize(("change", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_config_is_one_line_naming_field_and_value(change, message):
    with pytest.raises(ConfigError) as raised:
        parse_config(_mutated(change))
    text = str(raised.value)
    assert "\n" not in text
    assert message in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("project: [unclosed", "YAML syntax error at line 1"),
        ("- just\n- a list\n", "expected a mapping of settings at the top level, got list"),
        ("", "expected a mapping of settings at the top level, got NoneType"),
        ("project: a\nproject: b\n", "key 'project' given twice .line 2, column 1."),
        ("environments:\n  - name: dev\n    name: prod\n", "key 'name' given twice .line 3"),
    ],
)
def test_unreadable_yaml_is_one_line(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


def test_missing_and_unreadable_files(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"project: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(binary)
    # root reads any file whatever its mode, so the permission error is simulated.
    locked = tmp_path / "locked.yaml"
    locked.write_text("project: x\n")

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(ConfigError, match=r"locked\.yaml: permission denied"):
        load_config(locked)


def test_example_config_is_valid_and_frozen():
    config = load_config(EXAMPLE)
    assert isinstance(config, Config)
    assert [e.name for e in config.environments] == ["dev", "prod"]
    with pytest.raises(Exception, match="frozen"):
        config.project = "other"  # type: ignore[misc]


def test_longest_allowed_names_fit_aws_limits():
    data = _example()
    data["project"] = "a" * 12
    data["environments"][0]["name"] = "b" * 10
    data["environments"][0]["source"]["region"] = "ap-southeast-5"
    config = parse_config(yaml.safe_dump(data))
    names = Names.of(config, config.environments[0])
    assert all(len(str(names.dataset(d).bucket)) <= 63 for d in config.environments[0].datasets)
    consumer = config.environments[0].consumers[0].model_copy(update={"name": "c" * 20})
    for role in (names.source_role(consumer), names.function_role, names.task_role, names.proof_role):
        assert len(role) <= 64


def _run_app(config_path: Path, outdir: Path) -> subprocess.CompletedProcess:
    # As the CDK CLI runs it: cdk.json's context (its feature flags) and the config.
    context = json.dumps({**cdk_json_context(), "config": str(config_path)})
    environment = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": context}
    return subprocess.run(
        [sys.executable, "pipeline_app.py"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            lambda: _mutated(_set("tooling.account", "12345")),
            "tooling.account: '12345' is not a 12-digit AWS account id",
        ),
        (lambda: "project: [", "YAML syntax error"),
        (None, "file not found"),
        (
            lambda: _mutated(lambda d: d["environments"][0]["consumers"][0].update(workloads=["unregistered"])),
            "analytics's workloads list 'unregistered', but no extension of that name is registered",
        ),
    ],
    ids=["bad account", "bad yaml", "missing file", "a workload no extension adds"],
)
def test_app_exits_non_zero_with_one_line_and_writes_nothing(tmp_path, content, message):
    config_path = tmp_path / "config.yaml"
    if content is not None:
        config_path.write_text(content())
    outdir = tmp_path / "cdk.out"
    result = _run_app(config_path, outdir)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not outdir.exists() or not any(outdir.iterdir())


def test_a_key_with_a_newline_is_named_on_one_line():
    # Found by hypothesis: YAML allows any string as a key, and the error named it as it was.
    text = EXAMPLE.read_text().replace("  emails: [platform-team@example.com]", "  ? '\n\n    '\n  : null")
    with pytest.raises(ConfigError) as raised:
        parse_config(text)
    message = str(raised.value)
    assert "\n" not in message
    assert "notifications[" in message and "unknown key" in message


def test_the_app_reads_the_config_path_from_the_cli_context_and_its_overflow_file(tmp_path, monkeypatch):
    import pipeline_app

    overflow = tmp_path / "context-overflow.json"
    overflow.write_text('{"config": "from-overflow.yaml"}')
    monkeypatch.setenv("CDK_CONTEXT_JSON", '{"config": "from-variable.yaml", "other": 1}')
    assert pipeline_app.cli_context()["config"] == "from-variable.yaml"
    # The CLI moves what does not fit in the environment to a file and names it.
    monkeypatch.setenv("CDK_CONTEXT_JSON", '{"other": 1}')
    monkeypatch.setenv("CONTEXT_OVERFLOW_LOCATION_ENV", str(overflow))
    assert pipeline_app.cli_context() == {"other": 1, "config": "from-overflow.yaml"}


def test_the_app_reads_and_checks_the_config_before_the_cdk_loads():
    # jsii starts a Node.js process when aws_cdk is imported (2 s or more): a bad config is reported before it.
    probe = "import sys, pipeline_app; print(sorted({'aws_cdk', 'jsii'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_the_example_config_documents_every_field():
    # Every key of the model appears in config/example.yaml, set or in a comment, so that it can be adapted.
    import re
    import typing

    from pydantic import BaseModel

    from config.model import Config
    from tests.conftest import EXAMPLE

    text = EXAMPLE.read_text()

    def fields(model: type[BaseModel]) -> set[str]:
        found = set()
        for name, info in model.model_fields.items():
            found.add(name)
            pending = [info.annotation]
            while pending:
                annotation = pending.pop()
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    found |= fields(annotation)
                pending += list(typing.get_args(annotation))
        return found

    missing = sorted(name for name in fields(Config) if not re.search(rf"^\s*#?\s*-?\s*{name}:", text, re.M))
    assert missing == []


def test_a_groups_org_paths_name_each_unit_anywhere_under_the_root_and_the_root_as_the_whole_organization():
    from config.model import ConsumerGroup, root_of

    group = ConsumerGroup.model_validate(
        {"name": "g", "organizational_units": ["ou-ab12-11111111", "r-ab12"], "regions": ["eu-west-1"],
         "grants": {"data": "read"}}
    )  # fmt: skip
    assert group.org_paths("o-exampleorg1") == ["o-exampleorg1/*/ou-ab12-11111111/*", "o-exampleorg1/r-ab12/*"]
    assert root_of("ou-ab12-11111111") == root_of("r-ab12") == "r-ab12"
    member = group.member("700000000001", "eu-west-1")
    assert (member.name, member.account, member.access_to("data")) == ("g", "700000000001", "read")
