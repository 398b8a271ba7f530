"""The production Spark runtime, declared once (DESIGN §6): the EMR release every Spark task runs
on (EMR Serverless, and the ephemeral EMR on EC2 cluster of listings_weekly), the Python archive
`analytics package` builds for it, and the spark-submit parameters of one task's run.

A Spark task runs on AWS exactly as `analytics run <pipeline> --<param> <value> --task <task>`
runs it locally: the bundle's one entry point (`jobs/run_task.py`) hands its arguments to the
runner, which runs the task's function. Its settings reach the driver and the executors as
environment variables; the PII salt is read from Secrets Manager when the driver starts."""

from __future__ import annotations

from typing import Any

from orchestration.core.shards import Shard

# emr-spark-8.1.0: Spark 4.1.1 on Python 3.11 (local pyspark is pinned to the same minor version).
RELEASE = "emr-spark-8.1.0"
PYTHON_VERSION = "3.11"
# The application's architecture, and the wheels the packed environment is built from for it.
ARCHITECTURE = "X86_64"
WHEEL_PLATFORM = "x86_64-manylinux_2_28"
# Where the runtime's Python 3.11 lives: the packed environment's interpreter links point there.
RUNTIME_PYTHON_PREFIX = "/usr"
# What the jobs import beyond the standard library and pyspark (the runtime provides pyspark):
# the settings, the runner and the documents writer, with their own dependencies.
ARCHIVE_DISTRIBUTIONS = ("pydantic", "pydantic-settings", "rich", "jinja2", "boto3")
# Published with the bundle under the code prefix (orchestration.aws.package).
CODE_PREFIX = "analytics"
ENTRY_POINT = "jobs/run_task.py"
CODE_ZIP = "analytics.zip"
# The Spark jobs' Java functions (orchestration.core.jars), on every process's class path.
FUNCTIONS_JAR = "analytics-functions.jar"
ARCHIVE = "spark_venv.tar.gz"
# Spark unpacks the archive into this folder of every container's working directory.
ARCHIVE_ALIAS = "environment"
PYTHON = f"./{ARCHIVE_ALIAS}/bin/python"
# The driver's environment variables: EMR Serverless and YARN (EMR on EC2, cluster mode) each
# have their own prefix; executors take spark.executorEnv.* on both.
SERVERLESS_DRIVER_ENV = "spark.emr-serverless.driverEnv."
YARN_DRIVER_ENV = "spark.yarn.appMasterEnv."
EXECUTOR_ENV = "spark.executorEnv."
# Settings read by the driver only: the salt's secret is not copied to the executors.
DRIVER_ONLY = ("PII_SALT_SECRET_ID",)


def code_uri(code_bucket: str, name: str) -> str:
    return f"s3://{code_bucket}/{CODE_PREFIX}/{name}"


def task_environment(
    lake_bucket: str,
    salt_secret: str,
    region: str,
    shard: Shard | None = None,
    retries: int | None = None,
) -> dict[str, str]:
    """The settings (environment variables) of one Spark task's run on AWS."""
    env = {
        "LAKE_ROOT": f"s3://{lake_bucket}",
        "AWS_REGION": region,
        "PII_SALT_SECRET_ID": salt_secret,
    }
    if shard is not None:
        env["CURRENT_SHARD"] = str(shard.current)
        env["NUM_SHARDS"] = str(shard.total)
    if retries is not None:
        env["TASK_RETRIES"] = str(retries)
    return env


def entry_point_arguments(pipeline: str, task: str, param: str, value: str) -> list[str]:
    """What `jobs/run_task.py` is given: the task and the run's parameter."""
    return [pipeline, task, f"--{param}", value]


def submit_conf(
    code_bucket: str,
    environment: dict[str, str],
    driver_env_prefix: str,
    vcpus: int,
    memory_mib: int,
) -> dict[str, str]:
    """The spark-submit settings of one run: the packed environment as every process's Python,
    the code zip on the path, the jobs' Java functions on the class path, the task's settings
    as driver and executor environment, and executors sized as the task declares (the cluster
    sets the master)."""
    conf = {
        "spark.archives": f"{code_uri(code_bucket, ARCHIVE)}#{ARCHIVE_ALIAS}",
        "spark.submit.pyFiles": code_uri(code_bucket, CODE_ZIP),
        "spark.jars": code_uri(code_bucket, FUNCTIONS_JAR),
        f"{driver_env_prefix}PYSPARK_PYTHON": PYTHON,
        f"{driver_env_prefix}PYSPARK_DRIVER_PYTHON": PYTHON,
        f"{EXECUTOR_ENV}PYSPARK_PYTHON": PYTHON,
        "spark.executor.cores": str(vcpus),
        # What the memory overhead (10 %) leaves of the task's memory.
        "spark.executor.memory": f"{memory_mib * 9 // 10 // 1024}g",
        "spark.driver.cores": str(min(vcpus, 4)),
        "spark.driver.memory": f"{min(memory_mib, 16384) * 9 // 10 // 1024}g",
    }
    for name, value in sorted(environment.items()):
        conf[f"{driver_env_prefix}{name}"] = value
        if name not in DRIVER_ONLY:
            conf[f"{EXECUTOR_ENV}{name}"] = value
    return conf


def submit_parameters(conf: dict[str, str]) -> str:
    """`--conf k=v ...` as EMR Serverless's SparkSubmitParameters (values hold no spaces)."""
    for key, value in conf.items():
        if any(c.isspace() for c in key + value):
            raise ValueError(f"spark-submit setting {key}={value!r} contains whitespace")
    return " ".join(f"--conf {key}={value}" for key, value in conf.items())


def submit_args(conf: dict[str, str]) -> list[str]:
    """The same settings as spark-submit command-line arguments (EMR steps)."""
    return [arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")]


def application(name: str, max_vcpus: int = 64, idle_minutes: int = 15) -> dict[str, Any]:
    """The EMR Serverless application (CloudFormation properties): started on the first job run,
    stopped when idle, never beyond its maximum capacity."""
    return {
        "Name": name,
        "ReleaseLabel": RELEASE,
        "Type": "SPARK",
        "Architecture": ARCHITECTURE,
        "AutoStartConfiguration": {"Enabled": True},
        "AutoStopConfiguration": {"Enabled": True, "IdleTimeoutMinutes": idle_minutes},
        "MaximumCapacity": {
            "Cpu": f"{max_vcpus} vCPU",
            "Memory": f"{max_vcpus * 4} GB",
            "Disk": f"{max_vcpus * 20} GB",
        },
    }
