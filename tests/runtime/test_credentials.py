from __future__ import annotations

import datetime

import pytest

from consumer_app.credentials import MIN_DURATION_SECONDS, AssumeRoleProvider, assumed_role_session
from tests.runtime.conftest import CONSUMER, REGION, SOURCE, SOURCE_ROLE_ARN, TABLE


def _count_assume_role(session) -> list[str]:
    calls: list[str] = []
    session.events.register("before-call.sts.AssumeRole", lambda **kwargs: calls.append("AssumeRole"))
    return calls


def test_assumed_session_acts_in_the_source_account(accounts):
    assumed = assumed_role_session(
        SOURCE_ROLE_ARN, session_name="test", region_name=REGION, base_session=accounts.consumer
    )
    assert accounts.consumer.client("sts").get_caller_identity()["Account"] == CONSUMER
    identity = assumed.client("sts").get_caller_identity()
    assert identity["Account"] == SOURCE
    assert ":assumed-role/datashare-prod-source-analytics/test" in identity["Arn"]
    # The table exists only in the source account: reaching it proves the credentials act there.
    assert assumed.client("dynamodb").describe_table(TableName=TABLE)["Table"]["TableName"] == TABLE
    # The service models the base session read are not read again.
    models = accounts.consumer._session.get_component("data_loader")
    assert assumed._session.get_component("data_loader") is models


def test_building_clients_calls_no_sts_until_the_first_request(accounts):
    calls = _count_assume_role(accounts.consumer)
    assumed = assumed_role_session(
        SOURCE_ROLE_ARN, session_name="consumer", region_name=REGION, base_session=accounts.consumer
    )
    client = assumed.client("dynamodb")
    assert calls == []
    client.describe_table(TableName=TABLE)
    assert calls == ["AssumeRole"]


def test_one_assume_role_for_a_thousand_reads(accounts):
    calls = _count_assume_role(accounts.consumer)
    dynamodb = assumed_role_session(
        SOURCE_ROLE_ARN, session_name="consumer", region_name=REGION, base_session=accounts.consumer
    ).client("dynamodb")
    for index in range(1000):
        dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"k{index}"}, "sk": {"S": "s"}})
    assert len(calls) == 1


class _ClockedSts:
    """STS that issues credentials by the test's clock, so their lifetime can be stepped through
    (moto issues them by real time)."""

    def __init__(self, clock):
        self.clock = clock
        self.calls = 0

    def assume_role(self, RoleArn, RoleSessionName, DurationSeconds):
        self.calls += 1
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{self.calls:016d}",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": self.clock() + datetime.timedelta(seconds=DurationSeconds),
            }
        }


def test_credentials_are_refreshed_once_shortly_before_they_expire():
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    elapsed = datetime.timedelta()

    def clock():
        return start + elapsed

    sts = _ClockedSts(clock)
    credentials = AssumeRoleProvider(
        sts_client=sts, role_arn=SOURCE_ROLE_ARN, session_name="consumer", duration_seconds=3600, clock=clock
    ).load()
    assert sts.calls == 0  # deferred until first use
    first = credentials.get_frozen_credentials().access_key
    for minutes in (1, 20, 44):
        elapsed = datetime.timedelta(minutes=minutes)
        assert credentials.get_frozen_credentials().access_key == first
    assert sts.calls == 1
    # 46 minutes into a 60-minute lifetime: inside botocore's 15-minute advisory window.
    elapsed = datetime.timedelta(minutes=46)
    second = credentials.get_frozen_credentials().access_key
    assert second != first and sts.calls == 2
    for minutes in (47, 80, 90):  # the new credentials expire at minute 106
        elapsed = datetime.timedelta(minutes=minutes)
        assert credentials.get_frozen_credentials().access_key == second
    assert sts.calls == 2


def test_a_lifetime_inside_the_refresh_window_is_refused(accounts):
    with pytest.raises(ValueError, match="refreshes on every call"):
        assumed_role_session(
            SOURCE_ROLE_ARN,
            session_name="consumer",
            region_name=REGION,
            base_session=accounts.consumer,
            duration_seconds=MIN_DURATION_SECONDS - 1,
        )
