"""`analytics spark-archive`: the class-data archive local Spark sessions start from.

A training run (the Spark tasks of `ace_daily` on a small generated day, in a JVM told to write
its classes out when it exits) leaves the archive a session maps at its start
(spark_jobs.common.session.local_conf; orchestration.core.class_data says why and where). Made
once per machine, JVM and class path: `make setup` runs this, the bench before its cold runs."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from orchestration.core.class_data import stale_archives
from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from orchestration.pipelines import ACE_DAILY

TRAINING_DAY = dt.date(2026, 1, 1)
# The training day: the Spark tasks of `ace_daily` on it load the classes a daily run loads. Its
# attempts: enough for every code path of the jobs (bad lines, duplicates, late receipts) to
# run; more only lengthens the run, the classes are the same.
TRAINING_SCALE = 2000


class ArchiveError(RuntimeError):
    """The training run wrote no archive (its output says why)."""


@dataclass(frozen=True)
class ArchiveResult:
    path: Path
    built: bool  # False: it was there already
    seconds: float


def ensure_archive(settings: Settings, force: bool = False) -> ArchiveResult | None:
    """The archive of a local session on a folder lake with these settings, made by a training
    run unless it is there (or `force`); None where no Java is found (sessions cannot start).
    Archives left from a replaced JVM or class path are removed."""
    from spark_jobs.common.session import class_archive

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="analytics-cds-") as scratch:
        lake_root = str(Path(scratch, "lake"))
        archive = class_archive(settings.model_copy(update={"lake_root": lake_root}))
        if archive is None:
            return None
        if archive.is_file() and not force:
            return ArchiveResult(archive, built=False, seconds=time.perf_counter() - started)
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_name(f".{archive.name}.{os.getpid()}")
        _train(settings, lake_root, partial)
    for stale in stale_archives(archive):
        stale.unlink(missing_ok=True)
    partial.replace(archive)
    return ArchiveResult(archive, built=True, seconds=time.perf_counter() - started)


def _train(settings: Settings, lake_root: str, partial: Path) -> None:
    """Run the training day in a fresh process whose JVM writes its classes to `partial`."""
    from orchestration.devtools.generate import GenerateOptions, generate

    generate(Lake(lake_root), GenerateOptions(TRAINING_DAY, days=1, scale=TRAINING_SCALE))
    options = f"{settings.spark_java_options} -XX:ArchiveClassesAtExit={partial}".strip()
    env = {**os.environ, "LAKE_ROOT": lake_root, "SPARK_JAVA_OPTIONS": options}
    if settings.spark_jars_cache:  # the class path the archive is named for: these settings'
        env["SPARK_JARS_CACHE"] = settings.spark_jars_cache
    command = [sys.executable, "-m", __name__, TRAINING_DAY.isoformat()]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        output = (done.stdout + done.stderr).strip().splitlines()[-20:]
        raise ArchiveError(
            f"the training run wrote no class-data archive (exit {done.returncode}):\n"
            + "\n".join(output)
        )


def main(argv: list[str] | None = None) -> int:
    """The training run itself (in the process `_train` starts): the Spark tasks of `ace_daily`
    on one day, one after the other, in this process's one JVM."""
    from orchestration.core.settings import get_settings
    from orchestration.local.context import TaskContext

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("date")
    args = parser.parse_args(argv)
    settings = get_settings()
    lake = Lake.from_settings(settings)
    for task in (t for t in ACE_DAILY.tasks if t.kind == "spark"):
        context = TaskContext(
            settings, lake, {"date": args.date}, log_path=os.devnull, task=task.name
        )
        try:
            task.run(context)
        except Exception as error:  # the output is read by ensure_archive: the cause, in short
            print(f"{task.name} failed: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
