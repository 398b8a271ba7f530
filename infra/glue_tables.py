"""The Glue tables of the curated lake (DESIGN §3, §8): the columns each job writes under
`lake/<table>/dt=D/`, read by Athena through partition projection (no crawler, no
`MSCK REPAIR`), and the usage events table Firehose converts JSON records against (§5.4).

What the jobs publish is read through each partition's symlink manifest
(`lake/<table>/_symlink/dt=D/`, orchestration.core.publishing): the manifest is replaced in one
PUT when a rerun publishes a new version, so a query sees the old or the new partition, never
half of it. Firehose only adds objects: its table is read from the data folders directly."""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.tables import CUSTOMERS
from orchestration.core.publishing import MANIFESTS

PROJECTION_START = "2020-01-01"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
# (input format, output format) of a table read from its Parquet folders / through manifests.
PARQUET_FORMATS = (
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
)
MANIFEST_FORMATS = (
    "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat",
    "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
)
# Column types of the warehouse tables (ingestion.tables) as Hive types.
_WAREHOUSE_TYPES = {"text": "string", "bool": "boolean", "timestamp": "timestamp"}


@dataclass(frozen=True)
class GlueTable:
    name: str
    description: str
    columns: tuple[tuple[str, str], ...]  # (name, Hive type)
    partitions: tuple[str, ...] = ("dt",)
    zone: str = "lake"
    # Published as versions behind a manifest per partition (the jobs), or appended in place.
    manifests: bool = True

    @property
    def formats(self) -> tuple[str, str]:
        return MANIFEST_FORMATS if self.manifests else PARQUET_FORMATS

    def read_location(self, location: str) -> str:
        """Where Athena reads the table under `location` (its data prefix): the manifests."""
        return f"{location}/{MANIFESTS}" if self.manifests else location


CURATED = (
    GlueTable(
        "notification_attempts",
        "Validated, deduplicated notification attempts per landing day; destination hashed.",
        (
            ("notification_id", "string"),
            ("client_id", "string"),
            ("customer_id", "string"),
            ("experience_id", "string"),
            ("channel", "string"),
            ("destination_hash", "string"),
            ("attempted_at", "timestamp"),
        ),
    ),
    GlueTable(
        "notification_receipts",
        "Validated delivery receipts per landing day.",
        (
            ("notification_id", "string"),
            ("status", "string"),
            ("reported_at", "timestamp"),
            ("provider", "string"),
        ),
    ),
    GlueTable(
        "experiences",
        "Daily snapshot of experience configuration.",
        (
            ("experience_id", "string"),
            ("client_id", "string"),
            ("experience_name", "string"),
            ("outcome", "string"),
            ("updated_at", "timestamp"),
        ),
    ),
    GlueTable(
        "dim_customer",
        "Daily replication of the warehouse table dim_customer.",
        tuple((c.name, _WAREHOUSE_TYPES[c.kind]) for c in CUSTOMERS.columns),
    ),
    GlueTable(
        "listings_neighbourhood_stats",
        "Weekly listing price statistics per neighbourhood (EMR).",
        (
            ("neighbourhood", "string"),
            ("listings", "bigint"),
            ("min_price", "decimal(12,2)"),
            ("median_price", "double"),
            ("mean_price", "double"),
            ("max_price", "decimal(12,2)"),
            ("mean_availability_365", "double"),
            ("available_share", "double"),
        ),
    ),
)

# The social statistics (DESIGN §5.2), published per day in one folder per shard
# (dt=D/shard=K-of-N/), each with its own manifest in the day's manifest folder. Only `dt` is
# projected: Athena reads every manifest of a day, so a day is the union of its shards (the shard
# count may change from day to day, which a projected `shard` could not follow).
_SOCIAL_STATS = (
    ("attendees", "bigint"),
    ("tickets", "bigint"),
    ("dimension", "string"),
    ("rank", "int"),
    ("key", "string"),
    ("label", "string"),
    ("count", "bigint"),
    ("share", "double"),
)
SOCIAL = (
    GlueTable(
        "social_event_stats",
        "Social statistics per event over its attendees, long format (dimension, rank).",
        (
            ("event_id", "bigint"),
            ("brand_id", "bigint"),
            ("name", "string"),
            ("starts_at", "timestamp"),
            *_SOCIAL_STATS,
        ),
    ),
    GlueTable(
        "social_brand_stats",
        "Social statistics per brand over the attendees of its events, long format.",
        (("brand_id", "bigint"), ("events", "bigint"), *_SOCIAL_STATS),
    ),
)

# Firehose converts each JSON record to Parquet against this table (unknown fields dropped) and
# partitions by the record's event date and hour.
USAGE_EVENTS = GlueTable(
    "usage_events",
    "Usage events delivered by Firehose (JSON converted to Parquet).",
    (
        ("id", "string"),
        ("userid", "string"),
        ("format", "string"),
        ("timestamp", "timestamp"),
        # The record's arrival time (Firehose's approximateArrivalTimestamp, set by the
        # transformation Lambda as the local stream sets it): what source freshness reads.
        ("ingested_at", "timestamp"),
    ),
    partitions=("dt", "hour"),
    manifests=False,
)

TABLES = (*CURATED, *SOCIAL, USAGE_EVENTS)


def projection_parameters(table: GlueTable, location: str) -> dict[str, str]:
    """Athena partition projection: `dt` is a day since PROJECTION_START, `hour` 00-23.
    `location` is the table's S3 prefix; the template keeps Athena's own `${dt}` markers."""
    parameters = {
        "classification": "parquet",
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": f"{PROJECTION_START},NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
    }
    template = f"{table.read_location(location)}/dt=${{dt}}"
    if "hour" in table.partitions:
        parameters.update(
            {
                "projection.hour.type": "integer",
                "projection.hour.range": "0,23",
                "projection.hour.digits": "2",
            }
        )
        template += "/hour=${hour}"
    parameters["storage.location.template"] = template + "/"
    return parameters
