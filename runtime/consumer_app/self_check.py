"""The self-check that the pipeline's test step runs in every consumer: proof, from inside the consumer
account, that it can list and read the shared bucket and reach the shared table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from consumer_app.shared_data import SharedData

# A key that never exists: reading it proves the permission even in an empty bucket (see _read_object).
ABSENT_KEY = "__consumer-self-check__/absent"
ABSENT_ITEM = {"pk": {"S": "__consumer-self-check__"}, "sk": {"S": "absent"}}
# Where a read-write consumer proves its writes: one object and one item of its own, overwritten by each run, so
# the proof needs no delete permission and never touches what users stored.
PROOF_PREFIX = "__consumer-self-check__/"
# Reads fetch at most this much: the proof is that S3 returned (and KMS decrypted) bytes, not the bytes.
READ_BYTES = 1024


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run(data: SharedData) -> dict[str, Any]:
    checks = [
        _attempt("list-bucket", lambda: _list_bucket(data)),
        _attempt("read-object", lambda: _read_object(data)),
    ]
    if data.source_session is not None:
        checks.append(_attempt("assume-source-role", lambda: _assume_source_role(data)))
    if data.settings.bucket_access == "read-write":
        checks.append(_attempt("write-object", lambda: _write_object(data)))
    checks += [
        _attempt("describe-table", lambda: f"table status {data.describe_table()['TableStatus']}"),
        _attempt("read-table", lambda: _read_table(data)),
    ]
    if data.settings.table_access == "read-write":
        checks.append(_attempt("write-table", lambda: _write_table(data)))
    return {
        "consumer": data.settings.consumer,
        "ok": all(check.ok for check in checks),
        "checks": [asdict(check) for check in checks],
    }


def _attempt(name: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name, True, probe())
    except _CheckFailed as failure:
        return Check(name, False, str(failure))
    except ClientError as error:
        return Check(name, False, f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}")
    except BotoCoreError as error:
        return Check(name, False, f"{type(error).__name__}: {error}")


class _CheckFailed(Exception):
    pass


def _list_bucket(data: SharedData) -> str:
    keys = data.list_keys(limit=1)
    return f"bucket {data.settings.bucket} listed ({'empty' if not keys else 'not empty'})"


def _read_object(data: SharedData) -> str:
    if data.settings.canary_key:
        # The sharing stage's canary, encrypted with the shared key: reading it proves s3:GetObject and, through
        # S3, kms:Decrypt, whatever users have stored.
        key = data.settings.canary_key
        body = data.read_object(key, first_bytes=READ_BYTES)
        return f"read the canary {key} ({len(body)} bytes, decrypted through S3)"
    keys = data.list_keys(limit=1)
    if keys:
        # A real object proves s3:GetObject and, through S3, kms:Decrypt with the source account's key; its first
        # kilobyte is enough, whatever its size.
        body = data.read_object(keys[0], first_bytes=READ_BYTES)
        return f"read the first {len(body)} bytes of {keys[0]}"
    try:
        data.read_object(ABSENT_KEY)
    except ClientError as error:
        # S3 answers 404 for a missing key only to a caller allowed s3:GetObject (and s3:ListBucket);
        # anyone else gets 403 AccessDenied, whether or not the key exists.
        if error.response["Error"].get("Code") in {"NoSuchKey", "404"}:
            return "bucket is empty: a missing key answered 404, so s3:GetObject is allowed"
        raise
    raise _CheckFailed(f"{ABSENT_KEY} exists, which the self-check does not expect")


def _assume_source_role(data: SharedData) -> str:
    assert data.source_session is not None
    identity = data.source_session.client("sts").get_caller_identity()
    # The table's ARN names the account that owns the data; the assumed role must act there.
    source_account = data.settings.table_arn.split(":")[4]
    if identity["Account"] != source_account:
        raise _CheckFailed(f"assumed identity {identity['Arn']} is not in the source account {source_account}")
    return f"acting as {identity['Arn']}"


def _read_table(data: SharedData) -> str:
    if data.settings.canary_item:
        if data.get_item(data.settings.canary_item) is None:
            raise _CheckFailed("the canary item the sharing stage writes is not in the table")
        return "read the canary item"
    item = data.get_item(ABSENT_ITEM)
    return "GetItem answered" + (" (probe item present)" if item else "")


def _write_object(data: SharedData) -> str:
    """s3:PutObject and, through S3, kms:GenerateDataKey; then the same object read back (kms:Decrypt)."""
    key = f"{PROOF_PREFIX}{data.settings.consumer}"
    body = f"written by {data.settings.consumer}'s self-check\n".encode()
    data.write_object(key, body)
    if data.read_object(key, first_bytes=READ_BYTES) != body:
        raise _CheckFailed(f"{key} read back differs from what was written")
    return f"wrote and read back {key}"


def _write_table(data: SharedData) -> str:
    item = {"pk": ABSENT_ITEM["pk"], "sk": {"S": f"written-by-{data.settings.consumer}"}}
    data.put_item({**item, "note": {"S": "the consumer's self-check"}})
    if data.get_item(item) is None:
        raise _CheckFailed("the item written is not there")
    return f"wrote and read back item {item['sk']['S']}"
