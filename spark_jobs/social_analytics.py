"""social_analytics: statistics per event and per brand over their attendees (DESIGN §5.2), for one
shard → lake/social_event_stats and lake/social_brand_stats (partition dt=<as of>/shard=K-of-N).
The task that runs it makes the frontend's documents and brand pages from what it published
(orchestration.outputs.social_documents).

Definitions (the README's "Social analytics" section says the same for readers of the output):
- attendees of an event: distinct users with at least one paid order for it (a refunded order is
  not paid: the latest version of each order, by landing day, counts); tickets: the quantity of
  those paid orders. A brand's attendees: distinct users attending any of its events.
- age at the event date: year of the event's start − birth year (for a brand, at the user's latest
  event of the brand), bucketed <18, 18-24, 25-34, 35-44, 45-54, 55+, unknown (no birth year).
- gender: female, male, other, unknown (missing).
- top 10 liked pages, page categories, artists and genres: attendees who like the page (listen to
  the artist; like any page of the category; listen to any artist of the genre). Ties are broken by
  the id (the name for categories and genres), ascending.
- every count comes with its share of the attendees (null when there are none).

Inputs are the curated tables of social_curation, every landing day up to the as-of date; for each
id the latest landing wins (a user's profile, an order's status, an event's details).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid
from dataclasses import dataclass

from pydantic import ValidationError
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from orchestration.core.lake import Lake
from orchestration.core.locks import waiting_lock
from orchestration.core.settings import Settings
from orchestration.core.shards import ALL_IDS, UNSHARDED, IdRange, Shard
from spark_jobs.common.job import iso_date, report
from spark_jobs.common.partitions import (
    MissingInputError,
    is_published,
    publish_partition,
    published_subpartitions,
    read_published,
    read_published_table,
    unpublish_partition,
)
from spark_jobs.common.plans import fits_one_partition, gathered
from spark_jobs.common.session import get_spark

EVENT_STATS = "social_event_stats"
BRAND_STATS = "social_brand_stats"
TOP_N = 10
# The shards of a day publish one at a time (their rewrites of the day's partitions would race):
# each holds the day's publishing lock for seconds; a dead holder's lock expires after PUBLISH_TTL.
PUBLISH_TTL = dt.timedelta(minutes=10)
PUBLISH_WAIT = dt.timedelta(minutes=15)
GENDERS = ("female", "male", "other", "unknown")
AGE_BUCKETS = ("<18", "18-24", "25-34", "35-44", "45-54", "55+", "unknown")
# (dimension, interest table, key column, label column): the top-10 lists.
TOP_LISTS = (
    ("page", "likes", "page_id", "page_name"),
    ("page_category", "likes", "category", "category"),
    ("artist", "listens", "artist_id", "artist_name"),
    ("genre", "listens", "genre", "genre"),
)
# Curated inputs (social_curation) and the key whose latest landing wins.
INPUTS = {
    "events": ("ticketing_events", ("event_id",)),
    "orders": ("ticketing_orders", ("order_id",)),
    "users": ("users", ("user_id",)),
    "likes": ("social_likes", ("user_id", "page_id")),
    "listens": ("social_listens", ("user_id", "artist_id")),
}
STATS_COLUMNS = ("dimension", "rank", "key", "label", "count", "share")


@dataclass(frozen=True)
class Subject:
    """What statistics are grouped by: events or brands."""

    id_column: str
    table: str
    details: tuple[str, ...]  # descriptive columns carried into the output

    @property
    def order(self) -> tuple[str, ...]:
        """The order of the subject's rows in its published file and in the documents."""
        return (self.id_column, "dimension", "rank")


EVENT = Subject("event_id", EVENT_STATS, ("brand_id", "name", "starts_at"))
BRAND = Subject("brand_id", BRAND_STATS, ("events",))


# --- pure transforms ---------------------------------------------------------------------------


def latest(df: DataFrame, key: tuple[str, ...]) -> DataFrame:
    """The latest landing (`dt`) of each key; `dt` is dropped."""
    window = Window.partitionBy(*key).orderBy(F.col("dt").desc())
    return df.withColumn("_n", F.row_number().over(window)).where("_n = 1").drop("_n", "dt")


def in_range(column: str, ids: IdRange) -> Column:
    condition = F.lit(True)
    if ids.start is not None:
        condition &= F.col(column) >= ids.start
    if ids.end is not None:
        condition &= F.col(column) <= ids.end
    return condition


def in_scope(column: str, shard: Shard, ids: IdRange) -> Column:
    """The ids a run of `shard` over `ids` computes: in the shard (`id % total + 1 == current`)
    and in the id range."""
    return ((F.col(column) % shard.total + 1) == shard.current) & in_range(column, ids)


def owned(df: DataFrame, column: str, shard: Shard, ids: IdRange) -> DataFrame:
    """The rows of the ids in the run's scope."""
    return df.where(in_scope(column, shard, ids))


def attendance(events: DataFrame, orders: DataFrame) -> DataFrame:
    """One row per (event, attendee): brand, event date, tickets of the user's paid orders."""
    paid = orders.where(F.col("status") == "paid")
    return (
        paid.join(events.select("event_id", "brand_id", "starts_at"), "event_id")
        .groupBy("event_id", "brand_id", "user_id")
        .agg(
            F.sum("quantity").alias("tickets"),
            F.max(F.to_date("starts_at")).alias("event_date"),
        )
    )


def age_bucket(age: Column) -> Column:
    return (
        F.when(age.isNull(), "unknown")
        .when(age < 18, "<18")
        .when(age <= 24, "18-24")
        .when(age <= 34, "25-34")
        .when(age <= 44, "35-44")
        .when(age <= 54, "45-54")
        .otherwise("55+")
    )


def attendees(attending: DataFrame, users: DataFrame, subject: Subject) -> DataFrame:
    """One row per (subject, attendee): tickets, gender and age bucket (at the latest event of
    the subject the user attends)."""
    per_user = attending.groupBy(subject.id_column, "user_id").agg(
        F.sum("tickets").alias("tickets"), F.max("event_date").alias("event_date")
    )
    profile = users.select("user_id", "gender", "birth_year")
    age = F.year("event_date") - F.col("birth_year")
    return per_user.join(profile, "user_id", "left").select(
        subject.id_column,
        "user_id",
        "tickets",
        F.coalesce(F.col("gender"), F.lit("unknown")).alias("gender"),
        age_bucket(age).alias("age"),
    )


def totals(subjects: DataFrame, people: DataFrame, subject: Subject) -> DataFrame:
    """Every subject (also those nobody attends) with its attendee and ticket counts."""
    sums = people.groupBy(subject.id_column).agg(
        F.count("*").alias("attendees"), F.sum("tickets").alias("tickets")
    )
    return subjects.join(sums, subject.id_column, "left").fillna(0, subset=["attendees", "tickets"])


def _share(count: Column) -> Column:
    return F.when(F.col("attendees") > 0, count / F.col("attendees"))


def interests(likes: DataFrame, listens: DataFrame, one_partition: bool = False) -> DataFrame:
    """Every (user, dimension, key, label) of the top lists, stacked: one join serves them all."""
    sources = {"likes": likes, "listens": listens}
    parts = [
        sources[table].select(
            "user_id",
            F.lit(dimension).alias("dimension"),
            F.col(key).cast("string").alias("key"),
            F.col(label).cast("string").alias("label"),
        )
        for dimension, table, key, label in TOP_LISTS
    ]
    stacked = parts[0]
    for part in parts[1:]:
        stacked = stacked.unionByName(part)
    return gathered(stacked.where(F.col("key").isNotNull()), one_partition)


def bucket_counts(summary: DataFrame, people: DataFrame, subject: Subject):
    """Counts per fixed gender and age bucket, zeros included, ranked in bucket order."""
    fixed = [("gender", rank, key) for rank, key in enumerate(GENDERS, start=1)]
    fixed += [("age", rank, key) for rank, key in enumerate(AGE_BUCKETS, start=1)]
    # Every subject × every bucket: the fixed buckets generated on each subject's row.
    grid = F.array(
        *(
            F.struct(F.lit(d).alias("dimension"), F.lit(r).alias("rank"), F.lit(k).alias("key"))
            for d, r, k in fixed
        )
    )
    pairs = F.array(
        *(F.struct(F.lit(d).alias("dimension"), F.col(d).alias("key")) for d in ("gender", "age"))
    )
    counts = (
        people.select(subject.id_column, F.explode(pairs).alias("p"))
        .groupBy(subject.id_column, "p.dimension", "p.key")
        .agg(F.count("*").alias("count"))
    )
    count = F.coalesce(F.col("count"), F.lit(0)).cast("bigint")
    return (
        summary.select(subject.id_column, "attendees", F.explode(grid).alias("bucket"))
        .select(subject.id_column, "attendees", "bucket.*")
        .join(counts, [subject.id_column, "dimension", "key"], "left")
        .select(
            subject.id_column,
            "dimension",
            "rank",
            "key",
            F.lit(None).cast("string").alias("label"),
            count.alias("count"),
            _share(count).alias("share"),
        )
    )


def top_lists(summary: DataFrame, people: DataFrame, liked: DataFrame, subject: Subject):
    """Per dimension of TOP_LISTS, the TOP_N keys most attendees share; ties by key ascending."""
    counts = (
        people.select(subject.id_column, "user_id")
        .join(liked, "user_id")
        .groupBy(subject.id_column, "dimension", "key")
        .agg(F.countDistinct("user_id").alias("count"), F.min("label").alias("label"))
    )
    order = Window.partitionBy(subject.id_column, "dimension").orderBy(
        F.col("count").desc(), F.col("key")
    )
    ranked = counts.withColumn("rank", F.row_number().over(order)).where(F.col("rank") <= TOP_N)
    return ranked.join(summary.select(subject.id_column, "attendees"), subject.id_column).select(
        subject.id_column,
        "dimension",
        F.col("rank").cast("int").alias("rank"),
        "key",
        "label",
        F.col("count").cast("bigint").alias("count"),
        _share(F.col("count")).alias("share"),
    )


def subject_stats(
    subjects: DataFrame,
    attending: DataFrame,
    users: DataFrame,
    liked: DataFrame,
    subject: Subject,
    one_partition: bool = False,
) -> DataFrame:
    """Long format, one row per (subject, dimension, rank): the subject's details, attendees and
    tickets on every row, then dimension, rank, key, label, count, share."""
    people = attendees(attending, users, subject)
    # Read by both kinds of statistics below: computed once.
    people = people.join(subjects.select(subject.id_column), subject.id_column).cache()
    summary = totals(subjects, people, subject)
    rows = gathered(
        bucket_counts(summary, people, subject).unionByName(
            top_lists(summary, people, liked, subject)
        ),
        one_partition,
    )
    return summary.join(rows, subject.id_column).select(
        subject.id_column,
        *subject.details,
        F.col("attendees").cast("bigint").alias("attendees"),
        F.col("tickets").cast("bigint").alias("tickets"),
        *STATS_COLUMNS,
    )


def event_subjects(events: DataFrame, shard: Shard, ids: IdRange) -> DataFrame:
    return owned(events, "event_id", shard, ids).select("event_id", "brand_id", "name", "starts_at")


def brand_subjects(events: DataFrame, shard: Shard, ids: IdRange) -> DataFrame:
    brands = events.groupBy("brand_id").agg(F.count("*").cast("bigint").alias("events"))
    return owned(brands, "brand_id", shard, ids)


def social_stats(
    inputs: dict[str, DataFrame],
    shard: Shard = UNSHARDED,
    event_ids: IdRange = ALL_IDS,
    brand_ids: IdRange = ALL_IDS,
    one_partition: bool = False,
) -> tuple[DataFrame, DataFrame]:
    """(event stats, brand stats) of one shard from the latest version of each input row;
    `one_partition`: the inputs are in one partition (read_inputs), and so stay the rows."""
    events, users = inputs["events"], inputs["users"]
    attending = attendance(events, inputs["orders"]).cache()
    liked = interests(inputs["likes"], inputs["listens"], one_partition).cache()
    event_rows = subject_stats(
        event_subjects(events, shard, event_ids), attending, users, liked, EVENT, one_partition
    )
    brand_rows = subject_stats(
        brand_subjects(events, shard, brand_ids), attending, users, liked, BRAND, one_partition
    )
    return event_rows, brand_rows


# --- entry point -------------------------------------------------------------------------------


def read_inputs(
    spark: SparkSession, lake: Lake, as_of: dt.date, one_partition_bytes: int = 0
) -> tuple[dict[str, DataFrame], bool]:
    """Every curated landing day up to `as_of` of each input, latest version per key; and
    whether they are read as one partition (the tables' files total at most
    `one_partition_bytes`)."""
    landed = {}
    for name, (table, _) in INPUTS.items():
        path = lake.curated(table)
        days = read_published_table(spark, path)
        if days is None:
            raise MissingInputError(
                f"no curated {table} at {path}: run social_curation_daily (analytics run "
                "social_daily) for the landing days first"
            )
        landed[name] = days.where(F.col("dt") <= F.lit(as_of))
    one = fits_one_partition(landed.values(), one_partition_bytes)
    # Each input is read by several statistics: its latest versions are computed once.
    inputs = {
        name: latest(gathered(df, one), INPUTS[name][1]).cache() for name, df in landed.items()
    }
    return inputs, one


def _without(spark: SparkSession, path: str, scope: Column, schema: StructType) -> DataFrame | None:
    """A published partition's rows outside `scope` (materialized: the partition is about to be
    replaced), or None when none of its rows is in the scope (nothing to rewrite)."""
    published = read_published(spark, path, schema)
    if published.where(scope).isEmpty():
        return None
    return published.where(~scope).localCheckpoint(eager=True)


def publish_shard(
    spark: SparkSession,
    lake: Lake,
    subject: Subject,
    rows: DataFrame,
    as_of: dt.date,
    shard: Shard,
    ids: IdRange,
    retention: dt.timedelta,
) -> str:
    """Publish a run's rows as the day's `shard=K-of-N` partition, changing only the ids in its
    scope (DESIGN §9): that partition's other ids are kept, and the scope's ids are taken out of
    the day's other partitions (written by an earlier run with another shard count), which are
    removed once empty. The day holds each id once, whatever mix of shard counts wrote it.

    Shards run at once (a Batch array job), so the read-and-rewrite of the day's partitions is
    done holding the day's publishing lock, with the rows computed before it is taken."""
    day = lake.curated(subject.table, as_of)
    rows = rows.localCheckpoint(eager=True)
    with waiting_lock(
        lake,
        f"publish_{subject.table}_dt={as_of.isoformat()}",
        run_id=f"shard {shard.label} {uuid.uuid4().hex[:6]}",
        what=f"publishing {subject.table} dt={as_of.isoformat()}",
        wait=PUBLISH_WAIT,
        ttl=PUBLISH_TTL,
    ):
        return _replace_scope(spark, day, subject, rows, shard, ids, retention)


def _replace_scope(
    spark: SparkSession,
    day: str,
    subject: Subject,
    rows: DataFrame,
    shard: Shard,
    ids: IdRange,
    retention: dt.timedelta,
) -> str:
    path = f"{day}/shard={shard.label}"
    scope = in_scope(subject.id_column, shard, ids)
    for name in published_subpartitions(spark, day):
        other = f"{day}/{name}"
        if not name.startswith("shard=") or other == path:
            continue
        kept = _without(spark, other, scope, rows.schema)
        if kept is None:
            continue
        if kept.isEmpty():
            unpublish_partition(spark, other, retention)
        else:
            publish_partition(_one_sorted_file(kept, subject), other, retention)
    if is_published(path):
        kept = read_published(spark, path, rows.schema).where(~scope).localCheckpoint(eager=True)
        rows = kept.unionByName(rows)
    publish_partition(_one_sorted_file(rows, subject), path, retention)
    return path


def _one_sorted_file(rows: DataFrame, subject: Subject) -> DataFrame:
    """The rows as one partition in (id, dimension, rank) order: a partition's single file, the
    same bytes for the same rows. The rows are materialized already, so one task sorts them
    (no range-partitioning pass, no shuffle)."""
    return rows.coalesce(1).sortWithinPartitions(*subject.order)


@dataclass(frozen=True)
class ShardResult:
    """What one shard published: the statistics rows of this run's ids, in id and rank order."""

    event_rows: list[dict]
    brand_rows: list[dict]

    @property
    def events(self) -> int:
        return len({r["event_id"] for r in self.event_rows})

    @property
    def brands(self) -> int:
        return len({r["brand_id"] for r in self.brand_rows})

    def as_dict(self) -> dict[str, int]:
        return {"rows_out": self.events + self.brands}


def run(
    settings: Settings,
    lake: Lake,
    as_of: dt.date,
    shard: Shard | None = None,
) -> ShardResult:
    """Compute and publish one shard (settings' CURRENT_SHARD of NUM_SHARDS, or `shard`) as of
    `as_of`; the result carries what was published, from which the documents are made."""
    shard = shard or settings.shard or UNSHARDED
    spark = get_spark(settings)
    inputs, one_partition = read_inputs(spark, lake, as_of, settings.spark_one_partition_bytes)
    event_rows, brand_rows = social_stats(
        inputs, shard, settings.event_ids, settings.brand_ids, one_partition
    )
    published: dict[str, list[dict]] = {}
    for subject, rows, ids in (
        (EVENT, event_rows, settings.event_ids),
        (BRAND, brand_rows, settings.brand_ids),
    ):
        path = publish_shard(
            spark, lake, subject, rows, as_of, shard, ids, settings.publish_retention
        )
        # What was published (this run's ids only), read back for the documents.
        mine = read_published(spark, path, rows.schema).where(in_range(subject.id_column, ids))
        rows_of = [r.asDict() for r in mine.collect()]
        order = subject.order
        published[subject.id_column] = sorted(rows_of, key=lambda r: tuple(r[k] for k in order))
    return ShardResult(event_rows=published["event_id"], brand_rows=published["brand_id"])


# Flags of the entry point → the environment variables (settings) they override.
FLAGS = {
    "--num-shards": "NUM_SHARDS",
    "--current-shard": "CURRENT_SHARD",
    "--event-id-start": "EVENT_ID_START",
    "--event-id-end": "EVENT_ID_END",
    "--brand-id-start": "BRAND_ID_START",
    "--brand-id-end": "BRAND_ID_END",
}


def parse_args(argv: list[str] | None) -> tuple[Settings, dt.date]:
    """`--date` (as of) and the shard and id flags; a flag wins over its environment variable,
    every other setting comes from the environment. Bad values end in a usage error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--date", required=True, type=iso_date, help="as-of date")
    for flag, env in FLAGS.items():
        parser.add_argument(flag, type=int, dest=env, help=f"overrides {env}")
    args = vars(parser.parse_args(argv))
    overrides = {env: args[env] for env in FLAGS.values() if args[env] is not None}
    try:
        return Settings(**overrides), args["date"]
    except ValidationError as err:
        parser.error("; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors()))


def main(argv: list[str] | None = None) -> int:
    settings, as_of = parse_args(argv)
    return report(lambda: run(settings, Lake.from_settings(settings), as_of))


if __name__ == "__main__":
    sys.exit(main())
