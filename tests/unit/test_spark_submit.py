"""How a Spark task is submitted on AWS (orchestration.aws.spark_runtime, spark_entry) and how
its session is configured (spark_jobs.common.session): the archive, the entry point, the
environment, the shards; a local session's S3 connector; the salt read from Secrets Manager."""

from __future__ import annotations

import os
import shutil

import boto3
import pytest
from moto import mock_aws

from orchestration.aws import spark_entry, spark_runtime
from orchestration.core.settings import Settings
from orchestration.core.shards import Shard
from spark_jobs.common import session

CODE = "s3://code-bucket/analytics"


def test_submit_conf_gives_every_process_the_packed_python_and_the_task_settings():
    env = spark_runtime.task_environment("lake-bucket", "analytics/pii-salt", "eu-west-1")
    conf = spark_runtime.submit_conf(
        "code-bucket", env, spark_runtime.SERVERLESS_DRIVER_ENV, vcpus=4, memory_mib=16384
    )
    assert conf["spark.archives"] == f"{CODE}/spark_venv.tar.gz#environment"
    assert conf["spark.submit.pyFiles"] == f"{CODE}/analytics.zip"
    assert conf["spark.jars"] == f"{CODE}/analytics-functions.jar"  # the jobs' Java functions
    for key in (
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON",
        "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON",
        "spark.executorEnv.PYSPARK_PYTHON",
    ):
        assert conf[key] == "./environment/bin/python"
    assert conf["spark.emr-serverless.driverEnv.LAKE_ROOT"] == "s3://lake-bucket"
    assert conf["spark.executorEnv.LAKE_ROOT"] == "s3://lake-bucket"
    assert conf["spark.emr-serverless.driverEnv.AWS_REGION"] == "eu-west-1"
    # The salt's secret goes to the driver, which reads the salt; never to the executors.
    assert conf["spark.emr-serverless.driverEnv.PII_SALT_SECRET_ID"] == "analytics/pii-salt"
    assert "spark.executorEnv.PII_SALT_SECRET_ID" not in conf
    assert not [k for k in conf if k.endswith("PII_SALT")]
    # 16 GiB less the 10 % overhead: 14 GiB (whole GiB); 4 cores.
    assert (conf["spark.executor.memory"], conf["spark.executor.cores"]) == ("14g", "4")
    assert "spark.master" not in conf  # the cluster sets the master


def test_yarn_gets_the_settings_through_the_application_master_environment():
    env = spark_runtime.task_environment("lake", "salt", "us-east-1")
    conf = spark_runtime.submit_conf("code", env, spark_runtime.YARN_DRIVER_ENV, 2, 8192)
    assert conf["spark.yarn.appMasterEnv.LAKE_ROOT"] == "s3://lake"
    assert conf["spark.yarn.appMasterEnv.PYSPARK_PYTHON"] == "./environment/bin/python"
    assert conf["spark.executor.memory"] == "7g"  # 8192 MiB * 0.9 = 7372 MiB → 7 GiB
    assert not [k for k in conf if k.startswith("spark.emr-serverless.")]


def test_a_shard_and_retries_become_environment_variables():
    env = spark_runtime.task_environment("lake", "salt", "eu-west-1", Shard(2, 3), retries=0)
    assert (env["CURRENT_SHARD"], env["NUM_SHARDS"], env["TASK_RETRIES"]) == ("2", "3", "0")
    assert "CURRENT_SHARD" not in spark_runtime.task_environment("lake", "salt", "eu-west-1")


def test_submit_parameters_are_conf_flags_and_refuse_whitespace():
    assert spark_runtime.submit_parameters({"a.b": "1", "c": "x=y"}) == "--conf a.b=1 --conf c=x=y"
    assert spark_runtime.submit_args({"a.b": "1"}) == ["--conf", "a.b=1"]
    with pytest.raises(ValueError, match="whitespace"):
        spark_runtime.submit_parameters({"spark.x": "two words"})


def test_entry_point_arguments_name_the_task_and_the_runs_parameter():
    args = spark_runtime.entry_point_arguments("social_daily", "social_analytics", "date", "D")
    assert args == ["social_daily", "social_analytics", "--date", "D"]
    parsed = spark_entry.parse_args(args)
    assert (parsed.pipeline, parsed.task, parsed.date) == ("social_daily", "social_analytics", "D")


def test_the_application_runs_the_production_release_and_stops_when_idle():
    app = spark_runtime.application("analytics-spark")
    assert app["ReleaseLabel"] == "emr-spark-8.1.0"
    assert app["AutoStartConfiguration"] == {"Enabled": True}
    assert app["AutoStopConfiguration"]["Enabled"] is True
    assert app["MaximumCapacity"]["Cpu"] == "64 vCPU"
    assert app["Architecture"] == "X86_64" and spark_runtime.WHEEL_PLATFORM.startswith("x86_64")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope", "t", "--date", "2026-01-01"], "unknown pipeline 'nope'"),
        (["ace_daily", "dbt_build_ace", "--date", "2026-01-01"], "runs Spark tasks"),
        (["ace_daily", "notification_attempted_daily"], "with --date"),
    ],
)
def test_the_entry_point_refuses_what_it_cannot_run(argv, message, capsys):
    assert spark_entry.main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_salt_is_read_from_secrets_manager_once_at_start(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        client.create_secret(Name="analytics/pii-salt", SecretString="s3cr3t-salt")
        env = {"PII_SALT_SECRET_ID": "analytics/pii-salt"}
        spark_entry.resolve_secrets(env, client)
        assert env["PII_SALT"] == "s3cr3t-salt"
        given = {"PII_SALT_SECRET_ID": "analytics/pii-salt", "PII_SALT": "explicit"}
        spark_entry.resolve_secrets(given, client)
        assert given["PII_SALT"] == "explicit"
    nothing: dict[str, str] = {}
    spark_entry.resolve_secrets(nothing)  # no secret named: nothing to read, no client made
    assert nothing == {}


# --- the session -----------------------------------------------------------------------------


def test_a_folder_lake_session_loads_no_s3_connector(tmp_path):
    conf = session.session_conf(Settings(LAKE_ROOT=str(tmp_path)), env={})
    assert conf["spark.master"] == "local[2]"
    assert not [k for k in conf if k.startswith(("spark.jars", "spark.hadoop.fs.s3"))]


@pytest.fixture
def private_cache(tmp_path):
    """A jar cache of the test's own, with no class-data archive in it; the jobs' functions jar
    copied from the machine's cache (not compiled again)."""
    from orchestration.core.jars import cached_functions_jar

    jar = cached_functions_jar(session.jar_cache())
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy2(jar, cache / jar.name)
    return cache


def test_java_options_are_added_to_the_local_driver_after_its_own(
    tmp_path, monkeypatch, private_cache
):
    monkeypatch.delenv("SPARK_JAVA_OPTIONS", raising=False)
    monkeypatch.setenv("SPARK_JARS_CACHE", str(private_cache))
    plain = session.session_conf(Settings(LAKE_ROOT=str(tmp_path)), env={})
    options = plain["spark.driver.extraJavaOptions"].split()
    assert options[:2] == ["-Xms2g", "-XX:+UseParallelGC"]
    assert options[2].startswith("-Dlog4j2.configurationFile=")
    # The second JIT tier waits for 20x more calls than the JVM's default before compiling.
    assert options[3:] == [
        "-XX:Tier4InvocationThreshold=100000",
        "-XX:Tier4CompileThreshold=150000",
        "-XX:Tier4BackEdgeThreshold=1000000",
    ]

    monkeypatch.setenv("SPARK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1 -Xss4m")
    tuned = session.session_conf(Settings(LAKE_ROOT=str(tmp_path)), env={})
    assert tuned["spark.driver.extraJavaOptions"].split() == [
        *options,
        "-XX:TieredStopAtLevel=1",
        "-Xss4m",
    ]


def test_a_local_session_maps_the_class_archive_made_for_its_jvm_and_class_path(
    tmp_path, monkeypatch, private_cache
):
    monkeypatch.delenv("SPARK_JAVA_OPTIONS", raising=False)
    folder_lake = Settings(LAKE_ROOT=str(tmp_path / "lake"), SPARK_JARS_CACHE=str(private_cache))

    def options(settings):
        return session.session_conf(settings, env={})["spark.driver.extraJavaOptions"].split()

    without = options(folder_lake)
    assert not [o for o in without if "SharedArchive" in o]  # none made yet: the JVM as usual
    archive = session.class_archive(folder_lake)
    assert archive.parent == private_cache / "class-data"
    archive.parent.mkdir()
    archive.write_bytes(b"")  # where `analytics spark-archive` leaves it
    # Mapped before the JIT's options and the user's (which can turn it off: -Xshare:off).
    assert options(folder_lake) == [*without[:3], f"-XX:SharedArchiveFile={archive}", *without[3:]]

    # The training run's JVM writes an archive, and maps none.
    training = folder_lake.model_copy(update={"spark_java_options": "-XX:ArchiveClassesAtExit=x"})
    assert not [o for o in options(training) if "SharedArchive" in o]

    # A session on an s3:// lake has the S3 connector's jars after Spark's own: its class path
    # begins with the folder lake's, so it maps the same archive.
    resolved = private_cache / "jars" / "sdk.jar"
    resolved.parent.mkdir()
    resolved.write_bytes(b"PK")
    (private_cache / "resolved-hadoop-aws-3.4.2.txt").write_text(f"{resolved}\n")
    s3_lake = Settings(LAKE_ROOT="s3://b/p", PII_SALT="x", SPARK_JARS_CACHE=str(private_cache))
    assert session.class_archive(s3_lake) == archive
    assert f"-XX:SharedArchiveFile={archive}" in options(s3_lake)


def test_an_s3_lake_session_gets_s3a_for_s3_paths_from_the_standard_variables(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("SPARK_JARS_CACHE", str(tmp_path / "jars"))
    conf = session.session_conf(Settings(LAKE_ROOT="s3://b/p", PII_SALT="x"))
    # pyspark 4.1.1 ships Hadoop 3.4.2: the connector must be that version.
    assert conf["spark.jars.packages"] == "org.apache.hadoop:hadoop-aws:3.4.2"
    assert conf["spark.jars.ivy"] == str(tmp_path / "jars")
    assert conf["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:5000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"].endswith(
        "DefaultCredentialsProvider"
    )


def test_a_local_session_has_the_jobs_functions_first_and_s3a_after_sparks_jars(tmp_path):
    """The functions compiled into the jar cache by the first session (a jar per version of the
    sources) come before Spark's jars; the S3 connector's jars an earlier session resolved come
    after them (so every session's class path begins with the folder lake's)."""
    cache = tmp_path / "cache"
    folder = session.session_conf(
        Settings(LAKE_ROOT=str(tmp_path / "lake"), SPARK_JARS_CACHE=str(cache)), env={}
    )
    [functions] = folder["spark.driver.extraClassPath"].split(":")
    assert functions.startswith(f"{cache}/analytics-functions-") and functions.endswith(".jar")
    assert os.path.isfile(functions)

    resolved = cache / "jars" / "sdk.jar"
    resolved.parent.mkdir()
    resolved.write_bytes(b"PK")
    (cache / "resolved-hadoop-aws-3.4.2.txt").write_text(f"{resolved}\n")
    s3 = session.session_conf(
        Settings(LAKE_ROOT="s3://b/p", PII_SALT="x", SPARK_JARS_CACHE=str(cache)), env={}
    )
    assert s3["spark.driver.extraClassPath"] == functions
    s3_settings = Settings(LAKE_ROOT="s3://b/p", PII_SALT="x", SPARK_JARS_CACHE=str(cache))
    assert session.driver_classpath(s3_settings)[:2] == ([functions], [str(resolved)])
    assert session.driver_classpath(Settings(LAKE_ROOT=str(tmp_path / "lake")))[1] == []


def test_jars_after_sparks_own_are_given_to_the_launch_only():
    """Spark's launcher appends SPARK_DIST_CLASSPATH to the class path: set for the JVM's
    launch, after the user's own entries, and as it was afterwards."""
    env = {"PATH": "/bin"}
    with session.appended_classpath(["/c/a.jar", "/c/b.jar"], env):
        assert env["SPARK_DIST_CLASSPATH"] == "/c/a.jar:/c/b.jar"
    assert env == {"PATH": "/bin"}

    env = {"SPARK_DIST_CLASSPATH": "/hadoop/lib/*"}
    with pytest.raises(RuntimeError), session.appended_classpath(["/c/a.jar"], env):
        assert env["SPARK_DIST_CLASSPATH"] == "/hadoop/lib/*:/c/a.jar"
        raise RuntimeError("the launch failed")
    assert env == {"SPARK_DIST_CLASSPATH": "/hadoop/lib/*"}

    with session.appended_classpath([], env):  # a folder lake: nothing to add
        assert env == {"SPARK_DIST_CLASSPATH": "/hadoop/lib/*"}


def test_jars_an_earlier_session_resolved_go_on_the_class_path_while_all_are_there(tmp_path):
    """No Ivy resolution in every JVM (~1.3 s of its start) once the jars are in the cache, and
    no copy of them either (`spark.jars` made a local executor fetch each into its temporary
    folder); a jar gone from the cache, or no list yet, means resolving again."""
    cache = tmp_path / "ivy"
    (cache / "jars").mkdir(parents=True)
    jars = [cache / "jars" / "org.apache.hadoop_hadoop-aws-3.4.2.jar", cache / "jars" / "sdk.jar"]
    for jar in jars:
        jar.write_bytes(b"PK")
    first = session.s3a_conf("eu-west-1", "3.4.2", cache, env={})
    assert not {"spark.jars", "spark.driver.extraClassPath"} & first.keys()

    (cache / "resolved-hadoop-aws-3.4.2.txt").write_text("\n".join(map(str, jars)) + "\n")
    conf = session.s3a_conf("eu-west-1", "3.4.2", cache, env={})
    assert conf["spark.driver.extraClassPath"] == f"{jars[0]}:{jars[1]}"
    assert not {"spark.jars", "spark.jars.packages", "spark.jars.ivy"} & conf.keys()
    # Another Hadoop version has its own list: resolved.
    other = session.s3a_conf("eu-west-1", "3.4.3", cache, env={})
    assert other["spark.jars.packages"] == "org.apache.hadoop:hadoop-aws:3.4.3"

    jars[1].unlink()
    again = session.s3a_conf("eu-west-1", "3.4.2", cache, env={})
    assert "spark.driver.extraClassPath" not in again
    assert again["spark.jars.packages"] == "org.apache.hadoop:hadoop-aws:3.4.2"
    assert again["spark.jars.ivy"] == str(cache)


def test_the_s3_endpoint_of_the_service_wins_and_none_means_aws():
    both = {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "https://s3.example:9"}
    conf = session.s3a_conf("eu-west-1", "3.4.2", env=both)
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "https://s3.example:9"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "true"
    aws = session.s3a_conf("eu-west-1", "3.4.2", env={})
    assert "spark.hadoop.fs.s3a.endpoint" not in aws
    assert "spark.hadoop.fs.s3a.path.style.access" not in aws
    assert aws["spark.hadoop.fs.s3a.endpoint.region"] == "eu-west-1"


def test_under_spark_submit_the_cluster_owns_master_memory_and_file_systems():
    submitted = {"PYSPARK_GATEWAY_PORT": "41234"}
    conf = session.session_conf(Settings(LAKE_ROOT="s3://b", PII_SALT="x"), env=submitted)
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert not [
        k
        for k in conf
        if k.startswith(("spark.master", "spark.driver", "spark.jars", "spark.hadoop.fs"))
    ]
    # Spark's own partition count on a cluster, unless the job was told one.
    assert "spark.sql.shuffle.partitions" not in conf
    told = Settings(LAKE_ROOT="s3://b", PII_SALT="x", SPARK_SHUFFLE_PARTITIONS=64)
    assert session.session_conf(told, env=submitted)["spark.sql.shuffle.partitions"] == "64"


def test_the_jar_cache_is_one_folder_per_machine_outside_the_checkout(tmp_path):
    assert session.jar_cache(env={"XDG_CACHE_HOME": str(tmp_path)}) == (
        tmp_path / "analytics-platform" / "ivy"
    )
    assert session.jar_cache("/opt/jars", env={"XDG_CACHE_HOME": str(tmp_path)}).as_posix() == (
        "/opt/jars"
    )
