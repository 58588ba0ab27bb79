"""The consumer's data access and self-check, run against moto in two accounts."""

from __future__ import annotations

import json

import pytest

from consumer_app import __main__ as task_main
from consumer_app import handler as lambda_handler
from consumer_app.self_check import run
from consumer_app.settings import Settings, SettingsError
from consumer_app.shared_data import SharedData
from tests.runtime.conftest import BUCKET, CONSUMER, SOURCE, TABLE
from tools.rehearsal.emulator import mend_tables_by_arn


def _data(accounts, **overrides) -> SharedData:
    return SharedData(Settings.from_environment(accounts.environment(**overrides)), own_session=accounts.consumer)


def _checks(result) -> dict[str, dict]:
    return {check["name"]: check for check in result["checks"]}


def test_self_check_passes_on_an_empty_bucket_by_proving_object_reads(accounts):
    result = run(_data(accounts))
    assert result["ok"] is True, result
    checks = _checks(result)
    assert list(checks) == ["list-bucket", "read-object", "assume-source-role", "describe-table", "read-table"]
    assert "404" in checks["read-object"]["detail"]
    assert f":{SOURCE}:assumed-role/datashare-prod-table-access/" in checks["assume-source-role"]["detail"]


def test_self_check_reads_a_real_object_when_there_is_one(accounts):
    accounts.source.client("s3").put_object(Bucket=BUCKET, Key="reports/2026.csv", Body=b"a,b\n1,2\n")
    checks = _checks(run(_data(accounts)))
    assert checks["read-object"] == {
        "name": "read-object",
        "ok": True,
        "detail": "read the first 8 bytes of reports/2026.csv",
    }


def test_self_check_reads_only_the_first_kilobyte_of_a_large_object(accounts):
    # A 256 MB, 30 s function must not fetch a user's 10 GB object to prove it may.
    accounts.source.client("s3").put_object(Bucket=BUCKET, Key="big.bin", Body=b"x" * 3_000_000)
    checks = _checks(run(_data(accounts)))
    assert checks["read-object"]["detail"] == "read the first 1024 bytes of big.bin"


def test_a_read_write_share_proves_its_writes_and_a_read_share_tries_none(accounts):
    result = run(_data(accounts, BUCKET_ACCESS="read-write", TABLE_ACCESS="read-write"))
    checks = _checks(result)
    assert result["ok"] is True, result
    assert checks["write-object"]["detail"] == "wrote and read back __consumer-self-check__/analytics"
    assert checks["write-table"]["detail"] == "wrote and read back item written-by-analytics"
    # Written in the source account's bucket and table, under the self-check's own key; run twice, still one.
    run(_data(accounts, BUCKET_ACCESS="read-write", TABLE_ACCESS="read-write"))
    keys = [o["Key"] for o in accounts.source.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["__consumer-self-check__/analytics"]
    assert set(_checks(run(_data(accounts)))) == {
        "list-bucket", "read-object", "assume-source-role", "describe-table", "read-table",
    }  # fmt: skip


def test_self_check_fails_and_names_the_check_when_the_bucket_is_wrong(accounts):
    result = run(_data(accounts, SHARED_BUCKET="no-such-bucket-anywhere"))
    assert result["ok"] is False
    checks = _checks(result)
    assert checks["list-bucket"]["ok"] is False and "NoSuchBucket" in checks["list-bucket"]["detail"]
    assert checks["describe-table"]["ok"] is True


def test_self_check_fails_when_the_table_is_not_in_the_assumed_account(accounts):
    # A role in the wrong account (here the consumer's own): the table is not there.
    result = run(_data(accounts, SOURCE_ROLE_ARN=f"arn:aws:iam::{CONSUMER}:role/datashare-prod-table-access"))
    checks = _checks(result)
    assert result["ok"] is False
    assert checks["assume-source-role"]["ok"] is False
    assert checks["describe-table"]["ok"] is False and "ResourceNotFound" in checks["describe-table"]["detail"]


def test_write_and_read_back_through_the_source_role(accounts):
    data = _data(accounts)
    item = {"pk": {"S": "customer#1"}, "sk": {"S": "profile"}, "name": {"S": "Ada"}}
    data.put_item(item)
    assert data.get_item({"pk": {"S": "customer#1"}, "sk": {"S": "profile"}}) == item
    # The item landed in the source account's table, not in a table of the consumer's own account.
    stored = accounts.source.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": "customer#1"}, "sk": {"S": "profile"}}
    )
    assert stored["Item"]["name"] == {"S": "Ada"}


def test_objects_are_read_and_written_with_the_consumers_own_credentials(accounts):
    data = _data(accounts)
    data.write_object("in/from-consumer.txt", b"hello")
    assert data.read_object("in/from-consumer.txt") == b"hello"
    assert data.list_keys(prefix="in/") == ["in/from-consumer.txt"]
    assert data.s3.meta.region_name == "eu-west-1"


def test_own_account_client_is_separate_from_the_source_role(accounts):
    data = _data(accounts)
    assert data.own_client("sts").get_caller_identity()["Account"] == CONSUMER
    assert data.source_session.client("sts").get_caller_identity()["Account"] == SOURCE


def test_resource_policy_mode_addresses_the_table_by_arn_with_own_credentials(accounts):
    data = _data(accounts, SOURCE_ROLE_ARN="")
    assert data.source_session is None
    assert data.table_id == f"arn:aws:dynamodb:eu-west-1:{SOURCE}:table/{TABLE}"
    # DynamoDB serves a table named by its ARN from the ARN's account; moto needs the rehearsal's mend for it (it
    # looked the table up in the caller's account). The resource policy itself is not evaluated.
    mend_tables_by_arn()
    seen = {}
    data.dynamodb.meta.events.register(
        "provide-client-params.dynamodb.GetItem", lambda params, **_: seen.update(params)
    )
    data.get_item({"pk": {"S": "a"}, "sk": {"S": "b"}})  # reaches the source account's table: no ResourceNotFound
    assert seen["TableName"] == data.table_id
    checks = [check["name"] for check in run(data)["checks"]]
    assert "assume-source-role" not in checks


def test_missing_environment_is_one_clear_error():
    with pytest.raises(SettingsError, match="missing environment variables: SHARED_BUCKET, SHARED_TABLE"):
        Settings.from_environment({"CONSUMER_NAME": "x", "SHARED_TABLE_ARN": "arn", "SOURCE_REGION": "eu-west-1"})


@pytest.fixture
def lambda_environment(accounts, monkeypatch):
    for name, value in accounts.environment().items():
        monkeypatch.setenv(name, value)
    credentials = accounts.consumer.get_credentials().get_frozen_credentials()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials.token)
    lambda_handler.shared_data.cache_clear()
    yield accounts
    lambda_handler.shared_data.cache_clear()


def test_lambda_handler_actions(lambda_environment):
    accounts = lambda_environment
    accounts.source.client("s3").put_object(Bucket=BUCKET, Key="k.txt", Body=b"data")
    assert lambda_handler.handler({})["ok"] is True  # self-check is the default action
    assert lambda_handler.handler({"action": "read-object", "key": "k.txt"})["body"] == "data"
    key = {"pk": {"S": "p"}, "sk": {"S": "s"}}
    assert lambda_handler.handler({"action": "put-item", "item": key}) == {"written": True}
    assert lambda_handler.handler({"action": "get-item", "key": key}) == {"item": key}
    with pytest.raises(ValueError, match="unknown action 'drop-table'"):
        lambda_handler.handler({"action": "drop-table"})


def test_ecs_entry_point_prints_the_result_and_exits_by_it(lambda_environment, capsys):
    assert task_main.main([]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert task_main.main(["bogus"]) == 2


def test_ecs_entry_point_exits_non_zero_when_the_check_fails(lambda_environment, monkeypatch, capsys):
    monkeypatch.setenv("SHARED_BUCKET", "missing-bucket-name")
    assert task_main.main(["self-check"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False


CANARY = "__consumer-self-check__/canary"
CANARY_ITEM = '{"pk":{"S":"__consumer-self-check__"},"sk":{"S":"canary"}}'


def test_the_self_check_reads_the_sharing_stages_canary_whatever_users_stored(accounts):
    source = accounts.source
    source.client("s3").put_object(Bucket=BUCKET, Key=CANARY, Body=b"the canary\n")
    source.client("dynamodb").put_item(
        TableName=TABLE, Item={"pk": {"S": "__consumer-self-check__"}, "sk": {"S": "canary"}}
    )
    source.client("s3").put_object(Bucket=BUCKET, Key="a-user-file.csv", Body=b"x" * 10)
    checks = _checks(run(_data(accounts, CANARY_KEY=CANARY, CANARY_ITEM=CANARY_ITEM)))
    assert checks["read-object"]["detail"] == f"read the canary {CANARY} (11 bytes, decrypted through S3)"
    assert checks["read-table"]["detail"] == "read the canary item"


def test_a_missing_canary_fails_the_self_check(accounts):
    result = run(_data(accounts, CANARY_KEY=CANARY, CANARY_ITEM=CANARY_ITEM))
    checks = _checks(result)
    assert result["ok"] is False
    assert checks["read-object"]["ok"] is False and "NoSuchKey" in checks["read-object"]["detail"]
    assert checks["read-table"]["detail"] == "the canary item the sharing stage writes is not in the table"
