"""The self-check's Athena query: one row at most, in the consumer's workgroup, waited for within a bound, its
results deleted after; Athena's reason when it fails."""

from __future__ import annotations

from typing import Any

import pytest

from consumer_app.queries import QueryFailed, delete_results, first_row_sql, run_query


class Athena:
    """Athena as the self-check sees it: a query that is RUNNING for `running` polls, then ends in `state`."""

    def __init__(self, state: str = "SUCCEEDED", running: int = 2, rows: int = 1, reason: str = "") -> None:
        self.state, self.running, self.rows, self.reason = state, running, rows, reason
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def start_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("start", kwargs))
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.running -= 1
        state = "RUNNING" if self.running >= 0 else self.state
        status = {"State": state, **({"StateChangeReason": self.reason} if self.reason else {})}
        return {
            "QueryExecution": {
                "Status": status,
                "ResultConfiguration": {"OutputLocation": "s3://results-bucket/q-1.csv"},
            }
        }

    def get_query_results(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("results", kwargs))
        return {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": "event_id"}]}] * (1 + self.rows)}}

    def stop_query_execution(self, **kwargs: Any) -> None:
        self.calls.append(("stop", kwargs))


def test_a_query_runs_in_the_workgroup_and_says_how_many_rows_came_back():
    athena = Athena(rows=1)
    sql = first_row_sql("datashare_prod", "events")
    assert sql == 'SELECT * FROM "datashare_prod"."events" LIMIT 1'
    result = run_query(athena, sql=sql, workgroup="datashare-prod-queries", sleep=lambda s: None)
    assert athena.calls[0] == ("start", {"QueryString": sql, "WorkGroup": "datashare-prod-queries"})
    assert (result.rows, result.output_location) == (1, "s3://results-bucket/q-1.csv")
    assert run_query(Athena(rows=0), sql=sql, workgroup="w", sleep=lambda s: None).rows == 0


def test_a_failed_query_raises_with_athenas_reason():
    athena = Athena(state="FAILED", reason="Insufficient permissions to execute the query. Access Denied")
    with pytest.raises(QueryFailed, match=r"q-1 FAILED: Insufficient permissions .* Access Denied"):
        run_query(athena, sql="SELECT 1", workgroup="w", sleep=lambda s: None)


def test_a_query_still_running_at_the_timeout_is_stopped():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    athena = Athena(running=10**6)
    with pytest.raises(QueryFailed, match=r"still RUNNING after 120 s: stopped"):
        run_query(athena, sql="SELECT 1", workgroup="w", sleep=sleep, clock=lambda: now[0])
    assert ("stop", {"QueryExecutionId": "q-1"}) in athena.calls
    assert 120 <= now[0] <= 125  # polls back off to 2 s, not past the bound


def test_the_results_and_their_metadata_are_deleted():
    deleted: list[tuple[str, str]] = []

    class S3:
        def delete_object(self, Bucket: str, Key: str) -> None:
            deleted.append((Bucket, Key))

    assert delete_results(S3(), "s3://results-bucket/q-1.csv") == ["q-1.csv", "q-1.csv.metadata"]
    assert deleted == [("results-bucket", "q-1.csv"), ("results-bucket", "q-1.csv.metadata")]
    assert delete_results(S3(), None) == []  # the emulator gives no location
