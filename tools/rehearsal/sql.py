"""Athena's queries in the rehearsal, run by DuckDB over the emulated objects.

moto's Athena runs no SQL. The emulator hands a query here: each table it names is read as the consumer account's
Glue catalog describes it (location, format, columns, partition keys), from the objects moto's S3 holds there, as
Athena would read them: only objects under the table's location, none under a folder or file whose name starts with
`_` or `.`, and, for a partitioned table, only the partitions loaded into the catalog. DuckDB then runs the query.

What this proves: the table's description fits its objects (the format, each column's type, the partitions' layout)
and the query runs over them. What it does not: Athena's engine (its SQL dialect, its SerDes' edge cases, the bytes
scanned limit), Lake Formation, and any permission (the emulator enforces none)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

# FROM "database"."table" as the self-check writes it (runtime/consumer_app/queries.py).
TABLE_REFERENCE = re.compile(r'FROM "([a-z0-9_]+)"\."([a-z0-9_]+)"')
# Hive's scalar types as DuckDB names them; a complex type (array<...>, map<...>, struct<...>) is read as text.
_TYPES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
}
# A value of each type, for the stand-in objects of an existing table.
_SAMPLES = {
    "VARCHAR": "'stand-in'",
    "TINYINT": "1",
    "SMALLINT": "1",
    "INTEGER": "1",
    "BIGINT": "1",
    "FLOAT": "1.5",
    "DOUBLE": "1.5",
    "BOOLEAN": "true",
    "DATE": "DATE '2026-12-01'",
    "TIMESTAMP": "TIMESTAMP '2026-12-01 00:00:00'",
    "BLOB": "'stand-in'",
}


class QueryError(Exception):
    """What Athena would fail the query with (its reason), as DuckDB found it."""


def duckdb_type(hive: str) -> str:
    hive = hive.strip().lower()
    if hive.startswith("decimal"):
        return hive.upper()
    if hive.startswith(("varchar", "char")):
        return "VARCHAR"
    return _TYPES.get(hive, "VARCHAR")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run(query: str, tables: dict[tuple[str, str], tuple[dict[str, Any], dict[str, bytes]]]) -> dict[str, Any]:
    """Runs the query over the tables it names: for each (database, table), its Glue description (as GetTable answers)
    and its objects (key relative to the table's location → body), the ones Athena would read. Returns Athena's
    ResultSet (a header row first, then the rows, every value as text)."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="rehearsal-sql-") as directory:
        connection = duckdb.connect()
        try:
            for (database, name), (table, objects) in tables.items():
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_quoted(database)}")
                source = _source(Path(directory) / database / name, table, objects)
                connection.execute(f"CREATE VIEW {_quoted(database)}.{_quoted(name)} AS {source}")
            cursor = connection.execute(query)
            columns = [c[0] for c in cursor.description or []]
            rows = cursor.fetchall()
        except duckdb.Error as error:
            raise QueryError(f"{type(error).__name__}: {str(error).splitlines()[0]}") from None
        finally:
            connection.close()
    text: list[list[str | None]] = [[None if v is None else str(v) for v in row] for row in rows]
    header: list[str | None] = list(columns)
    return {
        "Rows": [{"Data": [{"VarCharValue": v} if v is not None else {} for v in row]} for row in [header, *text]],
        "ResultSetMetadata": {"ColumnInfo": [{"Name": c, "Label": c, "Type": "varchar"} for c in columns]},
    }


def _literal(text: str) -> str:
    """A SQL string literal: an object's key may hold a quote (S3 prefixes may, and the config allows it)."""
    return "'" + text.replace("'", "''") + "'"


def _source(directory: Path, table: dict[str, Any], objects: dict[str, bytes]) -> str:
    """The SELECT that reads the table's objects (written under directory) as Athena would: its columns in order,
    typed, then its partition keys from the objects' paths."""
    storage = table.get("StorageDescriptor", {})
    columns = [(c["Name"], duckdb_type(c["Type"])) for c in storage.get("Columns", [])]
    keys = [(c["Name"], duckdb_type(c["Type"])) for c in table.get("PartitionKeys", [])]
    listed = ", ".join(f"CAST({_quoted(n)} AS {t}) AS {_quoted(n)}" for n, t in [*columns, *keys])
    if not objects:
        empty = ", ".join(f"CAST(NULL AS {t}) AS {_quoted(n)}" for n, t in [*columns, *keys])
        return f"SELECT {empty} WHERE false"
    files = []
    for key, body in sorted(objects.items()):
        path = directory / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        files.append(str(path))
    file_list = "[" + ", ".join(_literal(f) for f in files) + "]"
    spec = "{" + ", ".join(f"'{n}': '{t}'" for n, t in columns) + "}"
    hive = ", hive_partitioning = true, hive_types = {" + ", ".join(f"'{n}': '{t}'" for n, t in keys) + "}"
    partitioning = hive if keys else ", hive_partitioning = false"
    parameters = table.get("Parameters", {})
    serde = storage.get("SerdeInfo", {}).get("SerializationLibrary", "")
    if "Parquet" in serde:
        reader = f"read_parquet({file_list}{partitioning})"
    elif "JsonSerDe" in serde:
        reader = f"read_json({file_list}, format = 'newline_delimited', columns = {spec}{partitioning})"
    else:  # LazySimpleSerDe, comma-separated
        header = int(parameters.get("skip.header.line.count", "0")) > 0
        reader = (
            f"read_csv({file_list}, delim = ',', quote = '', header = {str(header).lower()}, columns = {spec}"
            f"{partitioning})"
        )
    return f"SELECT {listed} FROM {reader}"


def read_by_athena(location: str, keys: list[str], partitions: list[str] | None) -> list[str]:
    """The keys under location (s3://BUCKET/PREFIX/) that Athena reads, relative to it: not under a folder or file
    named `_...` or `....`, not a folder marker; of a partitioned table (partitions: the loaded partitions' locations),
    only those under a loaded partition."""
    prefix = location.removeprefix("s3://").split("/", 1)[1] if "/" in location.removeprefix("s3://") else ""
    found = []
    for key in keys:
        if not key.startswith(prefix) or key.endswith("/"):
            continue
        relative = key[len(prefix) :]
        if any(part.startswith(("_", ".")) for part in relative.split("/")):
            continue
        if partitions is not None and not any(f"{location.rstrip('/')}/{relative}".startswith(p) for p in partitions):
            continue
        found.append(relative)
    return found


def stand_in_object(catalog: Any) -> tuple[str, bytes]:
    """An object of a stand-in for an existing table's data: one row, of a value of each column's type, in the table's
    format (its key, relative to the dataset's prefix: under a partition of each key, if it has any)."""
    import duckdb

    columns = [(name, duckdb_type(hive)) for name, hive in catalog.columns.items()]
    values = ", ".join(f"CAST({_SAMPLES.get(t, 'NULL')} AS {t}) AS {_quoted(n)}" for n, t in columns)
    partition = "".join(f"{name}=stand-in/" for name in catalog.partition_keys)
    suffix = {"parquet": "parquet", "csv": "csv", "json": "json"}[catalog.format]
    options = {
        "parquet": "FORMAT parquet",
        "csv": f"FORMAT csv, HEADER {str(catalog.header is not False).lower()}, QUOTE ''",
        "json": "FORMAT json",
    }[catalog.format]
    with tempfile.TemporaryDirectory(prefix="rehearsal-stand-in-") as directory:
        path = Path(directory) / f"stand-in.{suffix}"
        connection = duckdb.connect()
        try:
            connection.execute(f"COPY (SELECT {values}) TO {_literal(str(path))} ({options})")
        finally:
            connection.close()
        return f"{partition}stand-in.{suffix}", path.read_bytes()
