"""The access change at the approval gate: what each environment deployed is recorded by its last test step once it
passes; the synth step reads it back, writes each environment's changes since, and the approval's comment shows them
(with a link to the whole list) within 500 characters, half of CodePipeline's 1,000."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

from config.loader import parse_config
from pipeline import approval
from pipeline.app import ROOT, cdk_json_context
from pipeline_steps import record_deployed
from tests.conftest import EXAMPLE
from tools import access_diff

BASE = EXAMPLE.read_text()
HEAD = BASE.replace("          sales: read\n", "          sales: read-write\n")  # reporting widens sales
BUCKET = "datashare-access-records-111111111111-eu-west-1"


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def test_nothing_recorded_is_a_first_deployment_and_a_record_is_what_the_next_synth_compares_with(s3, tmp_path):
    head = parse_config(HEAD)
    first = access_diff.changes_since_deployed(head, BUCKET, s3)
    assert first["prod"][:3] == [
        "access changes of prod (nothing deployed yet):",
        "prod:",
        "  + new environment: its consumers get what the config grants below",
    ]
    # prod's last test step passed with the base config deployed, at commit abc...
    config = tmp_path / "example.yaml"
    config.write_text(BASE)
    environ = {
        record_deployed.RECORDS_VARIABLE: BUCKET,
        record_deployed.ENVIRONMENT_VARIABLE: "prod",
        record_deployed.CONFIG_VARIABLE: str(config),
        "CODEBUILD_RESOLVED_SOURCE_VERSION": "abc1234567890def",
    }
    out = io.StringIO()
    assert record_deployed.main(environ, s3, out=out) == 0
    assert out.getvalue() == f"recorded {config} (commit abc123456789) as what prod has deployed\n"
    since = access_diff.changes_since_deployed(head, BUCKET, s3)
    assert since["prod"] == [
        "access changes of prod since the deployed commit abc123456789:",
        "prod:",
        "  + reporting widens sales: read -> read-write",
    ]
    assert since["dev"][0] == "access changes of dev (nothing deployed yet):"  # dev's step recorded nothing


def test_the_synth_steps_command_writes_each_environments_changes_for_the_app_and_the_review_link(s3, tmp_path):
    s3.put_object(Bucket=BUCKET, Key="deployed/prod.yaml", Body=BASE.encode(), Metadata={"commit": "0123456789abcdef"})
    config = tmp_path / "config.yaml"
    config.write_text(HEAD)
    out = tmp_path / "changes"
    assert access_diff.main(["--records", BUCKET, "--config", str(config), "--out", str(out)], s3=s3) == 0
    written = approval.read_changes(out)
    assert written["prod"] == [
        "access changes of prod since the deployed commit 0123456789ab:",
        "prod:",
        "  + reporting widens sales: read -> read-write",
    ]
    linked = s3.get_object(Bucket=BUCKET, Key="access-changes/prod.txt")["Body"].read().decode()
    assert linked.splitlines() == written["prod"]
    # A record this version no longer reads is said, and is no failure of the synth step.
    s3.put_object(Bucket=BUCKET, Key="deployed/dev.yaml", Body=b"project: [")
    assert access_diff.main(["--records", BUCKET, "--config", str(config), "--out", str(out)], s3=s3) == 0
    assert approval.read_changes(out)["dev"][0].startswith("access changes of dev: not known, the record does not read")
    # A bucket that is not there (the pipeline stack not deployed as this commit wants): one line, exit 2.
    assert access_diff.main(["--records", "no-such-records", "--config", str(config), "--out", str(out)], s3=s3) == 2


def test_the_approval_comment_shows_the_changes_in_whole_lines_within_500_characters():
    prod = parse_config(HEAD).environments[1]
    question = "Deploy the prod share from account 444444444444 to 3 consumer account(s)?"
    assert approval.comment(prod, None) == question
    few = ["access changes of prod since the deployed commit 0123456789ab:", "prod:", "  + reporting widens sales"]
    assert approval.comment(prod, few) == (
        f"{question} access changes of prod since the deployed commit 0123456789ab: + reporting widens sales"
    )
    many = [few[0], "prod:", *(f"  + consumer c{i} added (account {i:012d})" for i in range(40))]
    text = approval.comment(prod, many)
    assert len(text) <= approval.COMMENT_LIMIT
    shown = text.count("consumer c")
    assert shown > 5 and text.endswith(f"(and {40 - shown} more: the review link lists them)")
    assert approval.review_url(parse_config(HEAD), prod) == (
        "https://console.aws.amazon.com/s3/object/datashare-access-records-111111111111-eu-west-1?region=eu-west-1"
        "&prefix=access-changes/prod.txt"
    )


def test_the_example_approval_links_to_its_changes(example):
    template = example.template_json(example.pipeline)
    (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    (gate,) = [a for s in pipeline["Properties"]["Stages"] for a in s["Actions"] if a["Name"] == "Approve-prod"]
    assert gate["Configuration"]["ExternalEntityLink"].endswith("&prefix=access-changes/prod.txt")
    assert gate["Configuration"]["CustomData"].startswith("Deploy the prod share")


def test_the_app_puts_the_synth_steps_changes_in_the_approval_as_cdk_synth_runs_it(tmp_path):
    # As `make synth ACCESS_CHANGES=...` runs it in the pipeline's synth step: the CLI's context, the app's process.
    changes = tmp_path / "changes"
    changes.mkdir()
    (changes / "prod.txt").write_text(
        "access changes of prod since the deployed commit 0123456789ab:\nprod:\n  + reporting widens sales: read -> "
        "read-write\n"
    )
    context = json.dumps({**cdk_json_context(), "config": str(EXAMPLE), "access_changes": str(changes)})
    environment = {**os.environ, "CDK_OUTDIR": str(tmp_path / "out"), "CDK_CONTEXT_JSON": context}
    result = subprocess.run(
        [sys.executable, "pipeline_app.py"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "out" / "datashare-pipeline.template.json").read_text())
    (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    (gate,) = [a for s in pipeline["Properties"]["Stages"] for a in s["Actions"] if a["Name"] == "Approve-prod"]
    assert gate["Configuration"]["CustomData"] == (
        "Deploy the prod share from account 444444444444 to 3 consumer account(s)? access changes of prod since the "
        "deployed commit 0123456789ab: + reporting widens sales: read -> read-write"
    )


def test_the_approval_asks_about_the_consumer_groups_too():
    from config import load_config
    from pipeline import approval
    from toolchain import ROOT

    (prod,) = load_config(ROOT / "config" / "fleet.yaml").environments
    assert approval.comment(prod, None) == (
        "Deploy the prod share from account 444444444444 to 1 consumer account(s) and the accounts of consumer "
        "group(s) branches?"
    )
