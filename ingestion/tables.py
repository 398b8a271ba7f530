"""The warehouse tables fed from incoming files (DESIGN §5.3), declared once: their columns, key
and freshness column. Read by the loader, the replication, the Lambda that routes incoming
objects and the Glue catalog of the stack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pyarrow is imported where rows are moved, so the Lambda can do without it
    import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | bool | timestamp
    required: bool = True


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table fed from incoming files: its columns, key and freshness column."""

    name: str
    columns: tuple[Column, ...]
    key: str
    version_column: str

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def arrow_schema(self) -> pa.Schema:
        import pyarrow as pa

        types = {"text": pa.string(), "bool": pa.bool_(), "timestamp": pa.timestamp("us")}
        return pa.schema([(c.name, types[c.kind]) for c in self.columns])


CUSTOMERS = TableSpec(
    name="dim_customer",
    columns=(
        Column("customer_id", "text"),
        Column("client_id", "text"),
        Column("is_test", "bool"),
        Column("segment", "text", required=False),
        Column("created_at", "timestamp"),
        Column("updated_at", "timestamp"),
    ),
    key="customer_id",
    version_column="updated_at",
)

# incoming/<folder>/ → the table its files feed. Adding a table is declaring it here.
TABLES = {"customers": CUSTOMERS}
