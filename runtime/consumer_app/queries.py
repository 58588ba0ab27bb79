"""Queries of the datasets' tables in the consumer's own account: Athena, in the workgroup the consumer stack creates,
over the Glue tables it creates there. Athena reads the objects with the caller's own credentials."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Athena's end states; a query is QUEUED or RUNNING before.
DONE = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
# How long the self-check waits for its one-row query (Athena's queue can hold a query for a while), polling at most
# every POLL_SECONDS.
QUERY_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 2.0


class QueryFailed(Exception):
    pass


@dataclass(frozen=True)
class QueryResult:
    query_id: str
    rows: int  # data rows returned (the header row not counted)
    output_location: str | None  # s3://bucket/key.csv, where Athena wrote the results


def first_row_sql(database: str, table: str) -> str:
    """The self-check's query: one row of the table at most, so that it scans little (LIMIT stops the scan)."""
    return f'SELECT * FROM "{database}"."{table}" LIMIT 1'


def run_query(
    athena: Any,
    *,
    sql: str,
    workgroup: str,
    timeout: float = QUERY_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> QueryResult:
    """Runs one query in the workgroup (whose results location and key are enforced) and waits for it; a query
    still running at the timeout is stopped. Raises QueryFailed with Athena's reason."""
    query_id = athena.start_query_execution(QueryString=sql, WorkGroup=workgroup)["QueryExecutionId"]
    deadline = clock() + timeout
    delay = 0.5
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        status = execution["Status"]
        if status["State"] in DONE:
            break
        if clock() >= deadline:
            athena.stop_query_execution(QueryExecutionId=query_id)
            raise QueryFailed(f"query {query_id} still {status['State']} after {timeout:.0f} s: stopped")
        sleep(delay)
        delay = min(delay * 2, POLL_SECONDS)
    output = execution.get("ResultConfiguration", {}).get("OutputLocation")
    if status["State"] != "SUCCEEDED":
        reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage") or "no reason"
        raise QueryFailed(f"query {query_id} {status['State']}: {reason}")
    rows = athena.get_query_results(QueryExecutionId=query_id, MaxResults=2)["ResultSet"].get("Rows", [])
    return QueryResult(query_id, max(len(rows) - 1, 0), output)


def delete_results(s3: Any, output_location: str | None) -> list[str]:
    """Deletes what Athena wrote for a query: its results and their .metadata file. Returns the keys deleted."""
    if not output_location or not output_location.startswith("s3://"):
        return []
    bucket, key = output_location.removeprefix("s3://").split("/", 1)
    keys = [key, f"{key}.metadata"]
    for each in keys:
        s3.delete_object(Bucket=bucket, Key=each)
    return keys
