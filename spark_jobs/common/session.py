"""One Spark session per process: tuned for local mode, or as spark-submit configured it.

Under spark-submit (EMR Serverless, EMR on EC2) the cluster owns the session: its master, memory
and file systems (EMR reads s3:// through EMRFS), and only the job's SQL settings are added.
Started from plain Python (the local runner, a Batch container), the session is local[N], with
the jobs' Java functions compiled into the jar cache on first use (spark-submit is given their
jar by the job run: orchestration.aws.spark_runtime); with an s3:// lake it gets Hadoop's S3A
connector, resolved once per machine from Maven Central into the
project's jar cache (a folder lake loads none of it)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

from orchestration.core.class_data import archive_path, java_executable
from orchestration.core.jars import cached_functions_jar, spark_jars_folder
from orchestration.core.settings import Settings
from spark_jobs.common.functions import register_functions

_lock = threading.Lock()
LOG4J2 = Path(__file__).with_name("log4j2.properties")
IVY_SETTINGS = Path(__file__).with_name("ivysettings.xml")


def under_spark_submit(env: Mapping[str, str] = os.environ) -> bool:
    """Whether this Python process is the driver spark-submit started (it passes the gateway)."""
    return "PYSPARK_GATEWAY_PORT" in env


def bundled_hadoop_version() -> str:
    """The Hadoop version pyspark ships (its hadoop-client-api jar): hadoop-aws must match it."""
    jars = spark_jars_folder()
    for jar in sorted(jars.glob("hadoop-client-api-*.jar")):
        return jar.stem.removeprefix("hadoop-client-api-")
    raise RuntimeError(f"no hadoop-client-api jar in {jars}: is pyspark installed completely?")


def jar_cache(configured: str | None = None, env: Mapping[str, str] = os.environ) -> Path:
    """Where Ivy keeps the jars of `spark.jars.packages`: the configured folder, else one per
    machine and user in the user's cache folder, shared by every checkout."""
    if configured:
        return Path(configured)
    base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "analytics-platform" / "ivy"


def ivy_conf(cache: Path, hadoop_version: str) -> dict[str, str]:
    """Resolve the connector with Ivy, from Maven Central only, into `cache`."""
    return {
        "spark.jars.packages": f"org.apache.hadoop:hadoop-aws:{hadoop_version}",
        "spark.jars.ivy": str(cache),
        "spark.jars.ivySettings": str(IVY_SETTINGS),
    }


def _resolved_list(cache: Path, hadoop_version: str) -> Path:
    return cache / f"resolved-hadoop-aws-{hadoop_version}.txt"


def resolved_s3a_jars(cache: Path, hadoop_version: str) -> list[str] | None:
    """The connector's jars as a session resolved them into `cache` (remember_s3a_jars), if
    every one is still there; else None (they are resolved again)."""
    listed = _resolved_list(cache, hadoop_version)
    if not listed.is_file():
        return None
    jars = listed.read_text(encoding="utf-8").split()
    if not jars or not all(Path(jar).is_file() for jar in jars):
        return None
    return jars


def remember_s3a_jars(spark: SparkSession, cache: Path, hadoop_version: str) -> list[str]:
    """Write down the jars Ivy resolved for the session's `spark.jars.packages`, so that later
    sessions put them on the driver's class path instead of resolving again (Ivy took ~1.3 s of
    every JVM's start: docs/aws.md)."""
    jars = [
        jar.removeprefix("file://")
        for jar in spark.sparkContext.getConf().get("spark.jars", "").split(",")
        if jar
    ]
    if jars:
        listed = _resolved_list(cache, hadoop_version)
        partial = listed.with_name(f".{listed.name}.{os.getpid()}")
        partial.write_text("\n".join(jars) + "\n", encoding="utf-8")
        partial.replace(listed)
    return jars


def s3a_conf(
    region: str,
    hadoop_version: str,
    cache: Path | None = None,
    env: Mapping[str, str] = os.environ,
    reuse_resolved: bool = True,
) -> dict:
    """Spark settings that give a local session the S3A connector for s3:// paths: its jars
    from the cache where an earlier session resolved them (unless not `reuse_resolved`), else
    resolved by Ivy from Maven Central into the cache.

    Resolved jars go on the driver's class path, where the JVM opens them in place. Named in
    `spark.jars`, a local session's executor fetched each one through Spark's file server into
    its temporary folder at its first task: 616 MiB for the AWS SDK bundle, 2-3 s, every JVM.

    The endpoint and credentials are the AWS SDK's own: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL
    (an S3-compatible endpoint, then addressed path-style) and the default credential chain
    (environment, profile, web identity, container or instance role)."""
    cache = cache or jar_cache(env=env)
    resolved = resolved_s3a_jars(cache, hadoop_version) if reuse_resolved else None
    jars = (
        {"spark.driver.extraClassPath": os.pathsep.join(resolved)}
        if resolved
        else ivy_conf(cache, hadoop_version)
    )
    conf = {
        **jars,
        # s3:// is what the lake's paths say; EMR maps it to EMRFS, locally it is S3A.
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.AbstractFileSystem.s3.impl": "org.apache.hadoop.fs.s3a.S3A",
        "spark.hadoop.fs.s3a.aws.credentials.provider": (
            "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"
        ),
        "spark.hadoop.fs.s3a.endpoint.region": region,
        # No directory marker objects left behind: a folder is its objects' common prefix, as
        # for every other reader of the lake (Athena, Glue, EMRFS).
        "spark.hadoop.fs.s3a.directory.marker.retention": "delete",
    }
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(
            endpoint.startswith("https://")
        ).lower()
    return conf


def sql_conf(settings: Settings, local: bool) -> dict[str, str]:
    """What every session of the project sets, wherever it runs."""
    conf = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.adaptive.enabled": "true",
        "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
        "spark.sql.parquet.compression.codec": "snappy",
    }
    # A cluster keeps Spark's own partition count (adaptive execution coalesces it) unless the
    # job was told one; a local session uses few, for small machines.
    if local or "spark_shuffle_partitions" in settings.model_fields_set:
        conf["spark.sql.shuffle.partitions"] = str(settings.spark_shuffle_partitions)
    return conf


# The JIT's second tier (C2) compiles a method after 100,000 calls (or 1,000,000 loop turns)
# rather than 5,000 (40,000): a fresh JVM then compiles Spark's per-row code, which reaches those
# counts within a second, and little of the rest. Both notification jobs at 1M lines in a fresh
# process: C2's threads 6.5-7.4 CPU-s against 12-13, the JVM 38-46 CPU-s against 44-54, the jobs
# faster in 8 of 10 alternating runs (docs/benchmarks.md). Options given in SPARK_JAVA_OPTIONS
# come after these and win.
COLD_JIT_OPTIONS = (
    "-XX:Tier4InvocationThreshold=100000 -XX:Tier4CompileThreshold=150000 "
    "-XX:Tier4BackEdgeThreshold=1000000"
)


def driver_classpath(settings: Settings) -> tuple[list[str], list[str], dict[str, str]]:
    """What a local session puts on its driver's class path (a local session's executors are the
    driver's JVM): first the jobs' Java functions (compiled into the jar cache on first use), then
    Spark's own jars, then on an s3:// lake the S3 connector's jars; and the connector's other
    settings. The connector comes after Spark (Spark's launcher appends SPARK_DIST_CLASSPATH), so
    the class path of a folder lake's session begins every session's class path, and the one
    class-data archive made for it serves both (the JVM maps an archive whose class path begins
    its own). Returned: the jars before Spark's, those after, the settings."""
    cache = jar_cache(settings.spark_jars_cache)
    classpath = [str(cached_functions_jar(cache))]
    if settings.is_local:
        return classpath, [], {}
    s3a = s3a_conf(settings.aws_region, bundled_hadoop_version(), cache)
    appended = [p for p in s3a.pop("spark.driver.extraClassPath", "").split(os.pathsep) if p]
    return classpath, appended, s3a


def class_archive(settings: Settings, classpath: list[str] | None = None) -> Path | None:
    """Where the class-data archive of a local session with these settings is (or would be)
    kept: one per JVM and class path up to Spark's own jars (orchestration.core.class_data), the
    same for a folder and an s3:// lake; None without Java."""
    if classpath is None:
        classpath, _, _ = driver_classpath(settings)
    spark_jars = spark_jars_folder()
    jars = [Path(p) for p in classpath] + sorted(spark_jars.glob("*.jar"))
    return archive_path(jar_cache(settings.spark_jars_cache), jars, java_executable(), spark_jars)


def dumps_class_archive(java_options: str) -> bool:
    """Whether these JVM options make the JVM write an archive (then it maps none)."""
    return "-XX:ArchiveClassesAtExit=" in java_options


def local_conf(settings: Settings) -> dict[str, str]:
    """A local[N] session's own settings (a cluster's come from spark-submit)."""
    memory = settings.spark_driver_memory
    classpath, _, s3a = driver_classpath(settings)
    archive = class_archive(settings, classpath)
    # The classes a fresh JVM would load and verify, mapped from the archive `analytics
    # spark-archive` made (`make setup` runs it): a session starts ~2 s sooner, and a cold
    # 1M-line daily run is ~3 s shorter (docs/benchmarks.md). Without one the JVM runs as usual.
    sharing = ""
    if archive and archive.is_file() and not dumps_class_archive(settings.spark_java_options):
        sharing = f"-XX:SharedArchiveFile={archive}"
    return {
        "spark.master": settings.spark_master,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": memory,
        # The heap starts at its full size: growing it under the first big job costs full GCs.
        # The throughput collector: these are batch jobs, pauses do not matter, and the
        # attempts job at 10M lines ran ~10 % faster than with G1 (118-121 s vs 129-136 s).
        "spark.driver.extraJavaOptions": " ".join(
            f"-Xms{memory} -XX:+UseParallelGC -Dlog4j2.configurationFile=file:{LOG4J2} "
            f"{sharing} {COLD_JIT_OPTIONS} {settings.spark_java_options}".split()
        ),
        "spark.driver.extraClassPath": os.pathsep.join(classpath),
        **s3a,
    }


def session_conf(settings: Settings, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Every setting the process's session is built with."""
    local = not under_spark_submit(env)
    return {**sql_conf(settings, local), **(local_conf(settings) if local else {})}


DIST_CLASSPATH = "SPARK_DIST_CLASSPATH"


@contextmanager
def appended_classpath(
    jars: list[str], env: MutableMapping[str, str] = os.environ
) -> Iterator[None]:
    """`jars` after Spark's own on the class path of the JVM launched within (Spark's launcher
    appends SPARK_DIST_CLASSPATH, after any the user set); the variable as it was afterwards."""
    if not jars:
        yield
        return
    before = env.get(DIST_CLASSPATH)
    env[DIST_CLASSPATH] = os.pathsep.join([*([before] if before else []), *jars])
    try:
        yield
    finally:
        if before is None:
            env.pop(DIST_CLASSPATH, None)
        else:
            env[DIST_CLASSPATH] = before


def get_spark(settings: Settings) -> SparkSession:
    """Return the process's Spark session, creating it on first use."""
    with _lock:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        conf = session_conf(settings)
        if "spark.master" in conf:
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            if conf["spark.master"].startswith("local"):
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = SparkSession.builder.appName("analytics")
        for key, value in conf.items():
            builder = builder.config(key, value)
        appended = driver_classpath(settings)[1] if "spark.master" in conf else []
        with appended_classpath(appended):
            spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        register_functions(spark)
        if "spark.jars.packages" in conf:
            remember_s3a_jars(spark, jar_cache(settings.spark_jars_cache), bundled_hadoop_version())
        return spark


def release_spark(env: Mapping[str, str] = os.environ) -> bool:
    """End the process's local session and the JVM it started (a later get_spark starts
    another); False if there was none, or under spark-submit (the cluster owns that JVM).

    For a process with no Spark work left (`analytics run` once its pipeline's Spark tasks are
    done): the JVM's memory (the driver's heap starts at its full size) is free for what runs
    next, and its shutdown (~0.5 s) is over before the process ends rather than after."""
    from pyspark import SparkContext

    with _lock:
        if under_spark_submit(env) or SparkContext._gateway is None:
            return False
        session = SparkSession.getActiveSession()
        if session is not None:
            session.stop()
        elif SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()
        gateway, SparkContext._gateway, SparkContext._jvm = SparkContext._gateway, None, None
        process = getattr(gateway, "proc", None)  # set by pyspark when it launched the JVM
        gateway.shutdown()
        if process is not None and process.stdin is not None:
            process.stdin.close()  # Spark's gateway server ends its JVM when its input closes
            process.wait(timeout=60)
        return True


def prefetch_s3a_jars(settings: Settings) -> list[str]:
    """Resolve the S3A connector into the jar cache now (CI, a new machine, the image) rather
    than in the first run on an s3:// lake, and write down what it resolved to; returns the
    cached jars. Downloads only what is missing."""
    builder = SparkSession.builder.appName("analytics-prefetch").master("local[1]")
    cache = jar_cache(settings.spark_jars_cache)
    version = bundled_hadoop_version()
    # Resolved every time here: a jar missing from the cache comes back.
    conf = s3a_conf(settings.aws_region, version, cache, reuse_resolved=False)
    for key, value in conf.items():
        builder = builder.config(key, value)
    builder = builder.config("spark.ui.enabled", "false")
    spark = builder.getOrCreate()
    try:
        return sorted(remember_s3a_jars(spark, cache, version))
    finally:
        spark.stop()
