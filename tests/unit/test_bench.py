"""The bench's choice of the run it reports."""

from __future__ import annotations

import subprocess  # nosec B404: runs this interpreter on a fixed snippet
import sys
import time

from orchestration.devtools.bench import ColdRun, RssSampler, median_run


def _runs(*seconds: float) -> list[ColdRun]:
    return [ColdRun(seconds=s, peak_rss_mib=0.0, tasks={"total": s}) for s in seconds]


def test_the_reported_run_is_the_median_and_of_two_middle_runs_the_faster():
    assert median_run(_runs(7.0)).seconds == 7.0
    assert median_run(_runs(9.0, 4.0, 6.0)).seconds == 6.0
    # Of an even number the lower of the middle two, whichever order they ran in.
    assert median_run(_runs(3.0, 1.0, 2.0, 4.0)).seconds == 2.0
    assert median_run(_runs(5.5, 4.5)).seconds == 4.5


def test_the_reported_run_is_one_of_the_runs_with_its_own_task_times():
    runs = _runs(8.0, 2.0, 5.0)
    assert median_run(runs) is runs[2]


def test_a_run_in_another_process_is_sampled_without_this_process():
    # This process holds 400 MiB more than the child does: none of it may count for the child.
    held = b"x" * (400 * 2**20)
    child = [sys.executable, "-c", "import time; b = b'x' * (200 * 2**20); time.sleep(1.5)"]
    start = time.time()
    with subprocess.Popen(child) as process, RssSampler(interval=0.05, pid=process.pid) as sampler:
        process.wait()
    peak = sampler.peak_mib(start, time.time())
    assert 200 <= peak < 200 + 100, peak  # the child's 200 MiB and its interpreter, nothing more
    assert len(held) == 400 * 2**20
