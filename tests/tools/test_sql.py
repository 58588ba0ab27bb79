"""The rehearsal's SQL engine: Athena's queries run by DuckDB over the objects Athena would read."""

from __future__ import annotations

import pytest

from config.model import DatasetCatalog
from tools.rehearsal import sql

QUERY = 'SELECT * FROM "datashare_prod"."events" LIMIT 1'


def _table(serde: str, columns: dict[str, str], partition_keys: dict[str, str] | None = None, **parameters: str):
    return {
        "Name": "events",
        "Parameters": parameters,
        "PartitionKeys": [{"Name": k, "Type": t} for k, t in (partition_keys or {}).items()],
        "StorageDescriptor": {
            "Location": "s3://bucket/raw/events/",
            "Columns": [{"Name": k, "Type": t} for k, t in columns.items()],
            "SerdeInfo": {"SerializationLibrary": serde},
        },
    }


JSON = "org.openx.data.jsonserde.JsonSerDe"
CSV = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
PARQUET = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def _values(result_set):
    return [[cell.get("VarCharValue") for cell in row["Data"]] for row in result_set["Rows"]]


def test_athena_reads_only_the_objects_under_the_location_outside_underscore_and_dot_folders_and_loaded_partitions():
    keys = [
        "raw/events/dt=2026-12-01/a.json",
        "raw/events/dt=2026-12-02/b.json",
        "raw/events/__consumer-self-check__/canary",  # the self-check's: Athena skips folders named _...
        "raw/events/dt=2026-12-01/.hidden",
        "raw/events/dt=2026-12-01/_SUCCESS",
        "raw/events/",  # a folder marker
        "raw/other/c.json",
    ]
    assert sql.read_by_athena("s3://bucket/raw/events/", keys, None) == ["dt=2026-12-01/a.json", "dt=2026-12-02/b.json"]
    loaded = ["s3://bucket/raw/events/dt=2026-12-01/"]
    assert sql.read_by_athena("s3://bucket/raw/events/", keys, loaded) == ["dt=2026-12-01/a.json"]
    assert sql.read_by_athena("s3://bucket/raw/events/", keys, []) == []  # partitioned, none loaded: no rows


def test_a_partitioned_json_table_answers_its_rows_typed_with_the_partition_from_the_path():
    table = _table(JSON, {"event_id": "string", "occurred_at": "timestamp"}, {"dt": "string"})
    body = b'{"event_id": "e-1", "occurred_at": "2026-12-01 10:00:00"}\n'
    result = sql.run(QUERY, {("datashare_prod", "events"): (table, {"dt=2026-12-01/a.json": body})})
    assert _values(result) == [["event_id", "occurred_at", "dt"], ["e-1", "2026-12-01 10:00:00", "2026-12-01"]]
    assert [c["Name"] for c in result["ResultSetMetadata"]["ColumnInfo"]] == ["event_id", "occurred_at", "dt"]


def test_a_table_without_objects_answers_its_header_and_no_rows():
    table = _table(JSON, {"event_id": "string"}, {"dt": "string"})
    assert _values(sql.run(QUERY, {("datashare_prod", "events"): (table, {})})) == [["event_id", "dt"]]


def test_a_csv_table_skips_its_header_line_and_a_value_of_the_wrong_type_fails_the_query():
    table = _table(CSV, {"id": "string", "amount": "double"}, **{"skip.header.line.count": "1"})
    objects = {"a.csv": b"id,amount\nx,1.5\n"}
    assert _values(sql.run(QUERY, {("datashare_prod", "events"): (table, objects)}))[1:] == [["x", "1.5"]]
    with pytest.raises(sql.QueryError):
        sql.run(QUERY, {("datashare_prod", "events"): (table, {"a.csv": b"id,amount\nx,not-a-number\n"})})


def test_a_parquet_table_over_an_object_of_another_format_fails_as_athena_would():
    table = _table(PARQUET, {"id": "string"})
    with pytest.raises(sql.QueryError, match=r"(?i)parquet"):
        sql.run(QUERY, {("datashare_prod", "events"): (table, {"a.csv": b"id\nx\n"})})


@pytest.mark.parametrize(("fmt", "serde"), [("parquet", PARQUET), ("csv", CSV), ("json", JSON)])
def test_a_stand_in_object_is_one_row_of_the_tables_format_and_types(fmt, serde):
    columns = {"customer_id": "string", "revenue": "double", "day": "date", "seen": "timestamp", "n": "bigint"}
    catalog = DatasetCatalog(format=fmt, columns=columns, partition_keys={"region": "string"})
    key, body = sql.stand_in_object(catalog)
    assert key == f"region=stand-in/stand-in.{fmt}"
    parameters = {"skip.header.line.count": "1"} if fmt == "csv" else {}
    table = _table(serde, columns, {"region": "string"}, **parameters)
    rows = _values(sql.run(QUERY, {("datashare_prod", "events"): (table, {key: body})}))
    assert rows == [
        [*columns, "region"],
        ["stand-in", "1.5", "2026-12-01", "2026-12-01 00:00:00", "1", "stand-in"],
    ]


def test_an_object_whose_key_holds_a_quote_is_read():
    table = _table(JSON, {"event_id": "string"})
    objects = {"it's/a.json": b'{"event_id": "e-1"}\n'}
    assert _values(sql.run(QUERY, {("datashare_prod", "events"): (table, objects)}))[1:] == [["e-1"]]
