"""One config lives in one partition (aws, aws-cn, aws-us-gov): names, ARNs and condition values are that
partition's, and the access report holds there as it does in aws."""

from __future__ import annotations

import json
from pathlib import Path

import cfnlint
import pytest

from access_report.engine import evaluate
from access_report.inputs import Inputs
from access_report.matrix import build
from config.loader import ConfigError, parse_config
from config.model import WITHOUT_PIPELINE_NOTIFICATIONS
from config.regions import known_regions
from pipeline.app import Synthesized, synthesize
from tests.templates import resources

CONFIG = """
project: part
tooling: {{account: "111111111111", region: {home}}}
repository: {{codecommit_repository: data-sharing}}
consumer_image: public.ecr.aws/example/consumer:1.0
environments:
  - name: prod
    approval: true
    source: {{account: "222222222222", region: {home}}}
    consumers:
      - {{name: analytics, account: "333333333333", region: {home}, grants: {{data: read}}}}
      - {{name: reporting, account: "444444444444", region: {other}, grants: {{data: read-write}}}}
    datasets: [{{name: data, bucket: {{}}, table: {{}}}}]
  - name: dev
    source: {{account: "555555555555", region: {home}}}
    consumers:
      - {{name: analytics, account: "666666666666", region: {home}, grants: {{data: read}}}}
    datasets: [{{name: data, bucket: {{}}, table: {{access: resource-policy}}}}]
"""
PARTITIONS = {
    "aws-cn": ("cn-north-1", "cn-northwest-1", "amazonaws.com.cn"),
    "aws-us-gov": ("us-gov-west-1", "us-gov-east-1", "amazonaws.com"),
}


@pytest.fixture(scope="module", params=sorted(PARTITIONS))
def synthesized(request, tmp_path_factory) -> tuple[str, Synthesized]:
    home, other, _ = PARTITIONS[request.param]
    config = parse_config(CONFIG.format(home=home, other=other))
    return request.param, synthesize(config, tmp_path_factory.mktemp(request.param))


def _templates(synthesized: Synthesized) -> list[str]:
    stacks = [synthesized.pipeline]
    for environment in synthesized.config.environments:
        stacks.append(synthesized.sharing(environment.name))
        stacks += [synthesized.consumer(environment.name, i) for i in range(len(environment.consumers))]
    return [json.dumps(synthesized.template_json(stack)) for stack in stacks]


def test_arns_and_service_names_are_the_partitions(synthesized):
    partition, built = synthesized
    home, _, suffix = PARTITIONS[partition]
    texts = _templates(built)
    assert not [t for t in texts if '"arn:aws:' in t]  # no ARN of the commercial partition, in any template
    assert any(f'"arn:{partition}:s3:::part-prod-data-222222222222-{home}' in t for t in texts)
    keys = [
        key
        for e in ("prod", "dev")
        for key in resources(built.template_json(built.sharing(e)), "AWS::KMS::Key").values()
    ]
    via = {
        value
        for key in keys
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        for value in statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService", [])
    }
    assert via == {f"{service}.{home}.{form}" for service in ("s3", "dynamodb") for form in {suffix, "amazonaws.com"}}


def test_the_access_report_holds_in_the_partition(synthesized):
    _, built = synthesized
    verdicts = evaluate(build(Inputs.from_synthesized(built)))
    assert [v.cell.name for v in verdicts if not v.as_expected] == []
    assert {v.actual for v in verdicts} == {"allow", "deny"}


def test_no_notifications_rule_where_cloudformation_has_none(synthesized):
    _, built = synthesized
    rules = resources(built.template_json(built.pipeline), "AWS::CodeStarNotifications::NotificationRule")
    assert rules == {}  # neither partition has the resource type


def test_the_regions_without_notifications_are_those_cloudformation_lacks_them_in():
    providers = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"
    schemas = {region: providers / f"{region}.json" for region in known_regions()}
    lacking = {
        region
        for region, schema in schemas.items()
        if schema.exists() and "AWS::CodeStarNotifications::NotificationRule" not in schema.read_text()
    }
    assert lacking == WITHOUT_PIPELINE_NOTIFICATIONS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("region: {other}, grants", "region: eu-west-1, grants"),
            "environments[prod].consumers[reporting].region: 'eu-west-1' is in partition aws, the tooling account's "
            "region "
            "'cn-north-1' is in aws-cn: accounts, roles and keys do not cross partitions",
        ),
        (
            (
                'source: {{account: "555555555555", region: {home}}}',
                'source: {{account: "555555555555", region: us-gov-west-1}}',
            ),
            "environments[dev].source.region: 'us-gov-west-1' is in partition aws-us-gov",
        ),
        (
            (
                "repository: {{codecommit_repository: data-sharing}}",
                "repository: {{codecommit_repository: data-sharing}}\nnotifications: {{emails: [a@example.com]}}",
            ),
            "notifications.emails: CodeStar Notifications, which e-mails the pipeline's failures and approvals, is "
            "not available in cn-north-1",
        ),
        (
            (
                "repository: {{codecommit_repository: data-sharing}}",
                "repository: {{connection_arn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/"
                "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', repository: o/r}}",
            ),
            "repository.connection_arn: is in partition aws, the tooling account's region 'cn-north-1' is in aws-cn",
        ),
    ],
)
def test_a_config_across_partitions_is_one_line_naming_both(change, message):
    text = CONFIG.replace(*change).format(home="cn-north-1", other="cn-northwest-1")
    with pytest.raises(ConfigError) as raised:
        parse_config(text)
    assert message in str(raised.value) and "\n" not in str(raised.value)
