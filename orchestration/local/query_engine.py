"""The local stand-in for Athena's asynchronous queries: `start` returns an id at once and runs the
query on the dbt `local` DuckDB database in the background; `status` reports QUEUED / RUNNING /
SUCCEEDED / FAILED and, once done, where the CSV result is (`<query_results>/<id>.csv`, the layout
Athena uses in its output location)."""

from __future__ import annotations

import csv
import os
import threading
import uuid
from dataclasses import dataclass
from typing import Literal

import duckdb

from orchestration.core.lake import Lake

QueryState = Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]


@dataclass(frozen=True)
class QueryStatus:
    state: QueryState
    output: str | None = None  # the result file, once SUCCEEDED
    reason: str | None = None  # why it FAILED


class LocalQueryEngine:
    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self._statuses: dict[str, QueryStatus] = {}
        self._lock = threading.Lock()

    def start(self, sql: str, parameters: list[str]) -> str:
        query_id = str(uuid.uuid4())
        self._set(query_id, QueryStatus("QUEUED"))
        threading.Thread(
            target=self._execute, args=(query_id, sql, parameters), daemon=True
        ).start()
        return query_id

    def status(self, query_id: str) -> QueryStatus:
        with self._lock:
            try:
                return self._statuses[query_id]
            except KeyError:
                raise ValueError(f"no query {query_id}") from None

    def _set(self, query_id: str, status: QueryStatus) -> None:
        with self._lock:
            self._statuses[query_id] = status

    def _execute(self, query_id: str, sql: str, parameters: list[str]) -> None:
        self._set(query_id, QueryStatus("RUNNING"))
        path = os.path.join(self.lake.query_results, f"{query_id}.csv")
        try:
            if not os.path.exists(self.lake.analytics_db):
                raise FileNotFoundError(
                    f"{self.lake.analytics_db} does not exist: build the models first "
                    "(analytics run usage_daily --date ...)"
                )
            with duckdb.connect(self.lake.analytics_db, read_only=True) as con:
                cursor = con.execute(sql, parameters)
                header = [column[0] for column in cursor.description]
                rows = cursor.fetchall()
            os.makedirs(self.lake.query_results, exist_ok=True)
            with open(path + ".tmp", "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(["" if v is None else v for v in row] for row in rows)
            os.replace(path + ".tmp", path)
        except Exception as exc:  # reported as the query's FAILED state, as Athena does
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            self._set(query_id, QueryStatus("FAILED", reason=reason))
            return
        self._set(query_id, QueryStatus("SUCCEEDED", output=path))
