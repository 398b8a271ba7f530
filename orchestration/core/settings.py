"""The one typed settings object: every setting the platform reads, from the environment."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from orchestration.core.shards import IdRange, Shard

Target = Literal["local", "athena", "redshift", "postgres"]

# Local runs hash with a fixed, documented salt so demos are reproducible; production must set one.
LOCAL_PII_SALT = "local-development-salt"


class Settings(BaseSettings):
    """Settings read once from environment variables, with local defaults."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    lake_root: str = Field(default="./.lake", validation_alias="LAKE_ROOT")
    target: Target = Field(default="local", validation_alias="ANALYTICS_TARGET")
    pii_salt: str = Field(default=LOCAL_PII_SALT, validation_alias="PII_SALT")
    # On AWS the salt stays in Secrets Manager: the Spark tasks get this secret's name or ARN
    # and read the salt when they start (orchestration.aws.spark_entry).
    pii_salt_secret_id: str | None = Field(default=None, validation_alias="PII_SALT_SECRET_ID")
    warehouse_url: str | None = Field(default=None, validation_alias="WAREHOUSE_URL")
    redshift_url: str | None = Field(default=None, validation_alias="REDSHIFT_URL")
    redshift_iam_role: str | None = Field(default=None, validation_alias="REDSHIFT_IAM_ROLE")
    aws_region: str = Field(default="eu-west-1", validation_alias="AWS_REGION")
    lake_bucket: str | None = Field(default=None, validation_alias="LAKE_BUCKET")
    code_bucket: str | None = Field(default=None, validation_alias="CODE_BUCKET")
    # Reports are sent to this SNS topic; without one they go to the local outbox folder.
    report_topic_arn: str | None = Field(default=None, validation_alias="REPORT_TOPIC_ARN")
    # What the Lambda handlers submit to (set by the stack on each function that needs them).
    batch_job_queue: str | None = Field(default=None, validation_alias="BATCH_JOB_QUEUE")
    batch_job_definition: str | None = Field(default=None, validation_alias="BATCH_JOB_DEFINITION")
    emr_service_role: str | None = Field(default=None, validation_alias="EMR_SERVICE_ROLE")
    emr_job_flow_role: str | None = Field(default=None, validation_alias="EMR_JOB_FLOW_ROLE")
    emr_log_uri: str | None = Field(default=None, validation_alias="EMR_LOG_URI")
    state_machine_arn: str | None = Field(default=None, validation_alias="STATE_MACHINE_ARN")
    # The dbt project (None: dbt_project/ of the checkout; the image sets its copy's path).
    dbt_project_dir: str | None = Field(default=None, validation_alias="DBT_PROJECT_DIR")
    # dbt's athena target (profiles.yml): where query results and model data go, which
    # workgroup runs the queries, the Glue databases of the models and of the lake's sources.
    athena_staging_dir: str | None = Field(default=None, validation_alias="ATHENA_STAGING_DIR")
    athena_data_dir: str | None = Field(default=None, validation_alias="ATHENA_DATA_DIR")
    athena_workgroup: str = Field(default="analytics", validation_alias="ATHENA_WORKGROUP")
    athena_schema: str = Field(default="analytics", validation_alias="ATHENA_SCHEMA")
    lake_schema: str = Field(default="lake", validation_alias="LAKE_SCHEMA")
    spark_master: str = Field(default="local[2]", validation_alias="SPARK_MASTER")
    spark_driver_memory: str = Field(default="2g", validation_alias="SPARK_DRIVER_MEMORY")
    # JVM options added to a local session's driver (e.g. `-XX:TieredStopAtLevel=1`, which
    # `make demo` sets: on tiny days the JIT's second tier costs more than it gains).
    spark_java_options: str = Field(default="", validation_alias="SPARK_JAVA_OPTIONS")
    # Where a local session on an s3:// lake keeps the S3 connector's jars (None: the user's
    # cache folder, ~/.cache/analytics-platform/ivy, shared by every checkout).
    spark_jars_cache: str | None = Field(default=None, validation_alias="SPARK_JARS_CACHE")
    spark_shuffle_partitions: int = Field(
        default=4, ge=1, validation_alias="SPARK_SHUFFLE_PARTITIONS"
    )
    # The social statistics job reads its inputs as one partition when their tables' files total
    # at most this many bytes: no shuffle between its stages (spark_jobs/common/plans.py).
    spark_one_partition_bytes: int = Field(
        default=32 * 2**20, ge=0, validation_alias="SPARK_ONE_PARTITION_BYTES"
    )
    # How long a superseded version of an S3 partition stays after a rerun replaced it
    # (orchestration.core.publishing): longer than any query or job that read the old one runs.
    publish_retention_hours: float = Field(
        default=24, ge=0, validation_alias="PUBLISH_RETENTION_HOURS"
    )
    max_record_bytes: int = Field(default=65536, ge=1024, validation_alias="MAX_RECORD_BYTES")
    task_retries: int = Field(default=1, ge=0, validation_alias="TASK_RETRIES")
    parallelism: int = Field(default=2, ge=1, validation_alias="PARALLELISM")
    # A sharded task's share of the work (DESIGN §5.2, 1-based): CURRENT_SHARD of NUM_SHARDS, as
    # submit_batch_jobs sets them, or an AWS Batch array child's AWS_BATCH_JOB_ARRAY_INDEX + 1 (as
    # the Step Functions definitions submit them). Unset: a local run runs every shard.
    num_shards: int | None = Field(default=None, ge=1, le=1000, validation_alias="NUM_SHARDS")
    current_shard: int | None = Field(default=None, ge=1, validation_alias="CURRENT_SHARD")
    batch_array_index: int | None = Field(
        default=None, ge=0, validation_alias="AWS_BATCH_JOB_ARRAY_INDEX"
    )
    # Which ids the social analytics job computes (§5.2): START <= id <= END, END optional.
    event_id_start: int | None = Field(default=None, ge=0, validation_alias="EVENT_ID_START")
    event_id_end: int | None = Field(default=None, ge=0, validation_alias="EVENT_ID_END")
    brand_id_start: int | None = Field(default=None, ge=0, validation_alias="BRAND_ID_START")
    brand_id_end: int | None = Field(default=None, ge=0, validation_alias="BRAND_ID_END")
    # ANALYTICS_DEBUG=1: the CLI shows the traceback of any failure, a user's mistake included.
    debug: bool = Field(default=False, validation_alias="ANALYTICS_DEBUG")

    @model_validator(mode="after")
    def _shard_in_range(self) -> Settings:
        if self.current_shard is None and self.batch_array_index is not None:
            self.current_shard = self.batch_array_index + 1
        if self.current_shard is not None:
            if self.num_shards is None:
                raise ValueError("CURRENT_SHARD needs NUM_SHARDS (how many shards there are)")
            Shard(self.current_shard, self.num_shards)  # raises if out of range
        IdRange(self.event_id_start, self.event_id_end)
        IdRange(self.brand_id_start, self.brand_id_end)
        return self

    @field_validator("debug", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return value or False

    @field_validator("lake_root")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/") or "/"

    @model_validator(mode="after")
    def _salt_required_outside_local(self) -> Settings:
        if (self.target != "local" or not self.is_local) and self.pii_salt == LOCAL_PII_SALT:
            raise ValueError(
                "PII_SALT must be set to a secret value outside local mode "
                "(ANALYTICS_TARGET other than local, or an s3:// LAKE_ROOT)"
            )
        return self

    @field_validator("warehouse_url", "redshift_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql://user@host:port/database URL")
        return value or None

    @model_validator(mode="after")
    def _redshift_needs_role(self) -> Settings:
        if self.redshift_url and not self.redshift_iam_role:
            raise ValueError("REDSHIFT_IAM_ROLE is required with REDSHIFT_URL (COPY/UNLOAD use it)")
        return self

    @model_validator(mode="after")
    def _athena_needs_its_locations(self) -> Settings:
        if self.target != "athena":
            return self
        for name, value in (
            ("ATHENA_STAGING_DIR", self.athena_staging_dir),
            ("ATHENA_DATA_DIR", self.athena_data_dir),
        ):
            if not (value or "").startswith("s3://"):
                raise ValueError(f"ANALYTICS_TARGET=athena needs {name} (an s3:// prefix)")
        return self

    @property
    def shard(self) -> Shard | None:
        """The one shard this process runs, when it was told (else None: every shard)."""
        if self.current_shard is None or self.num_shards is None:
            return None
        return Shard(self.current_shard, self.num_shards)

    @property
    def publish_retention(self) -> timedelta:
        return timedelta(hours=self.publish_retention_hours)

    @property
    def event_ids(self) -> IdRange:
        return IdRange(self.event_id_start, self.event_id_end)

    @property
    def brand_ids(self) -> IdRange:
        return IdRange(self.brand_id_start, self.brand_id_end)

    @property
    def is_local(self) -> bool:
        return not self.lake_root.startswith("s3://")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read from the environment once)."""
    return Settings()
