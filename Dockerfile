# syntax=docker/dockerfile:1
# The image every AWS Batch job runs (DESIGN §6): dbt and the Python tasks on Fargate, and the
# Spark tasks of the manual submit_batch_jobs path in local mode. Built and pushed by
# `make image` (docs/aws.md); the build runs the same install script as `make setup` and CI.

# --- build: the locked dependencies and the project, in one virtual environment ---------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHON=/usr/local/bin/python3.11
# Debian's Java development kit, for the Spark jobs' Java functions (spark_jobs/jvm); the
# runtime stage has only the Java runtime. Not pinned, as below (hadolint DL3008).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends default-jdk-headless \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml requirements-image.lock README.md ./
COPY scripts/install.sh scripts/install.sh
COPY orchestration orchestration
COPY spark_jobs spark_jobs
COPY ingestion ingestion
COPY infra infra
# The locked dependencies and the project; then the jobs' functions compiled into the jar cache,
# where a session looks for them (the runtime stage has no compiler).
RUN scripts/install.sh /opt/venv requirements-image.lock package \
    && /opt/venv/bin/python -c "from pathlib import Path; \
from orchestration.core.jars import cached_functions_jar; print(cached_functions_jar(Path('/opt/ivy')))"
COPY dbt_project dbt_project

# --- runtime: Python, a Java runtime for Spark, the environment and the dbt project ------------
FROM python:3.11-slim AS runtime
# Debian's Java runtime for local-mode Spark (Spark 4.1 runs on Java 17 and 21). Not pinned to
# a version: the slim image's Debian release decides it (hadolint DL3008, see docs/aws.md).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends default-jre-headless \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 analytics \
    && useradd --system --uid 10001 --gid analytics --create-home analytics
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src/dbt_project /opt/analytics/dbt_project
COPY --from=build /opt/ivy /opt/ivy
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DBT_PROJECT_DIR=/opt/analytics/dbt_project \
    SPARK_JARS_CACHE=/opt/ivy \
    JAVA_HOME=/usr/lib/jvm/default-java
# The S3 connector's jars for the Spark tasks of the manual path, resolved at build time from
# Maven Central into the image (a container cannot download 640 MB at every start).
RUN python -c "from orchestration.core.settings import Settings; \
from spark_jobs.common.session import prefetch_s3a_jars; prefetch_s3a_jars(Settings())"
USER 10001:10001
WORKDIR /home/analytics
ENTRYPOINT ["analytics"]
CMD ["--help"]
