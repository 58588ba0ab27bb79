"""The daily proof: the test step's checks for every wave of an environment, its result kept for make doctor, and a
failure (drift) published to the notification topic with the consumer and the failing check named."""

from __future__ import annotations

import io
import json
import re

import boto3
import pytest
from moto import mock_aws

from config.loader import ConfigError, parse_config
from pipeline_steps import daily_proof
from tests.conftest import EXAMPLE
from tests.pipeline_steps.test_prove_consumers import PASSING, WAVE, FakeTasks


class Topic:
    def __init__(self):
        self.calls = []

    def publish(self, **kwargs):
        self.calls.append(("publish", kwargs))


ENVIRON = {
    daily_proof.ENVIRONMENT_VARIABLE: "prod",
    daily_proof.RECORDS_VARIABLE: "records-bucket",
    daily_proof.TOPIC_VARIABLE: "arn:aws:sns:eu-west-1:111111111111:topic",
}


@pytest.fixture
def s3():
    """The records bucket, with what prod's last test step recorded: two waves, at commit abc..."""
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket="records-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        recorded = json.dumps([WAVE.encode(), WAVE.encode()]).encode()
        client.put_object(Bucket="records-bucket", Key="deployed/prod.waves.json", Body=recorded,
                          Metadata={"commit": "abc1234567890"})  # fmt: skip
        yield client


def _result(s3) -> dict:
    return json.loads(s3.get_object(Bucket="records-bucket", Key="proof-results/prod.json")["Body"].read())


def test_nothing_deployed_yet_is_nothing_to_prove(s3):
    out = io.StringIO()
    environ = {**ENVIRON, daily_proof.ENVIRONMENT_VARIABLE: "dev"}
    assert daily_proof.main(environ, invoke=None, tasks=FakeTasks(), s3=s3, sns=Topic(), out=out) == 0
    assert out.getvalue() == "daily proof of dev: nothing recorded as deployed yet, nothing to prove\n"


def test_every_wave_deployed_is_proven_and_a_pass_is_recorded_without_a_message(s3):
    invoked = []

    def invoke(function, region, role, payload):
        invoked.append(role)
        return PASSING

    sns, out = Topic(), io.StringIO()
    assert daily_proof.main(ENVIRON, invoke=invoke, tasks=FakeTasks(), s3=s3, sns=sns, out=out) == 0
    assert len(invoked) == 4  # two waves of two consumers
    result = _result(s3)
    assert (result["environment"], result["ok"], result["failing"], result["commit"]) == (
        "prod", True, [], "abc1234567890"
    )  # fmt: skip
    assert sns.calls == []
    assert out.getvalue().splitlines()[-1].startswith("daily proof of prod: passed (")


def test_drift_fails_naming_the_consumer_and_check_and_tells_the_topic_where_to_look(s3):
    def invoke(function, region, role, payload):
        if region == "eu-central-1":  # reporting: its bucket's policy was edited by hand
            return {"ok": False, "checks": [{"name": "read-object", "ok": False, "detail": "AccessDenied: no",
                                             "dataset": "sales"}]}  # fmt: skip
        return PASSING

    sns = Topic()
    assert daily_proof.main(ENVIRON, invoke=invoke, tasks=FakeTasks(), s3=s3, sns=sns, out=io.StringIO()) == 1
    result = _result(s3)
    assert result["ok"] is False and result["failing"] and all("reporting" in line for line in result["failing"])
    ((called, message),) = sns.calls
    assert called == "publish"
    assert message["Subject"] == "Daily proof of prod FAILED: 2 consumer proof(s) failed"  # reporting, in each wave
    assert len(message["Subject"]) <= daily_proof.SUBJECT_LIMIT
    assert "CloudTrail" in message["Message"] and "re-applies the project's own policies" in message["Message"]
    assert "read-object" in message["Message"] and "reporting" in message["Message"]


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        ('"cron(*/5 * * * ? *)"', "runs more than once an hour"),
        ('"rate(5 minutes)"', "is not cron(MIN HOUR DAY MONTH WEEKDAY YEAR) or rate(N hours) or rate(N days)"),
        ('"rate(1 days)"', "takes a singular unit for 1 and a plural one above"),
        ('"cron(0 6 * * 1 *)"', "needs ? as its day of month or its day of week"),
    ],
)
def test_a_schedule_more_often_than_hourly_or_not_eventbridges_is_one_line(schedule, says):
    text = EXAMPLE.read_text().replace("notifications:", f"proof_schedule: {schedule}\nnotifications:", 1)
    with pytest.raises(ConfigError, match=rf"proof_schedule: .*{re.escape(says)}"):
        parse_config(text)
    assert parse_config(text.replace(schedule, "null")).proof_schedule is None


def test_an_environments_consumer_groups_are_proven_daily_as_their_stack_sets_list_them_now(s3):
    """A group is proven as its test step proves it: the accounts its stack set lists at that moment, an account that
    joined since included; a failing account is drift like a consumer's, named and published."""
    from pipeline_steps.prove_group import Instance
    from tests.pipeline_steps.test_prove_group import FAILING, GROUP

    environ = {**ENVIRON, daily_proof.ENVIRONMENT_VARIABLE: "dev", daily_proof.GROUPS_VARIABLE: json.dumps(
        [json.loads(GROUP.encode())])}  # fmt: skip
    listed = [Instance("700000000001", "eu-west-1", "SUCCEEDED"), Instance("700000000002", "eu-west-1", "SUCCEEDED")]
    invoked: list[str] = []

    def invoke(function, region, role, payload):
        invoked.append(role.split(":")[4])
        return FAILING if role.split(":")[4] == "700000000002" else PASSING

    sns, out = Topic(), io.StringIO()
    # dev recorded no waves (nothing listed deployed): its group is proven all the same.
    code = daily_proof.main(environ, invoke=invoke, tasks=FakeTasks(), s3=s3, sns=sns, instances=lambda g: listed,
                            out=out)  # fmt: skip
    assert code == 1 and invoked == ["700000000001", "700000000002"]
    result = json.loads(s3.get_object(Bucket="records-bucket", Key="proof-results/dev.json")["Body"].read())
    assert result["failing"] == ["FAIL  700000000002 eu-west-1: sales: read-object: AccessDenied"]
    assert "700000000002" in sns.calls[0][1]["Message"]
