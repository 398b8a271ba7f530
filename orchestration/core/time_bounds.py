"""The years every timestamp and date of the raw contracts (DESIGN §4) falls in, shared by the
Spark validation and by ingestion."""

from __future__ import annotations

import datetime as dt

# Every timestamp and date of these datasets falls in this century; a value outside it is a
# sentinel or a unit mistake (`out_of_range:<field>`), not data.
EARLIEST_TIME = dt.datetime(2000, 1, 1)
LATEST_TIME = dt.datetime(2100, 1, 1)
PLAUSIBLE_YEARS = f"{EARLIEST_TIME:%Y}-{LATEST_TIME.year - 1}"


def is_plausible_time(value: dt.datetime) -> bool:
    """Whether a naive UTC time falls in the years every dataset's times fall in."""
    return EARLIEST_TIME <= value < LATEST_TIME
