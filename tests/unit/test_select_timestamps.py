"""Selection (``_select``): the timestamp tolerance over the selected objects."""

from __future__ import annotations

import datetime as dt

import pytest

from aio_s3_ingest import TimestampToleranceError
from aio_s3_ingest._models import WantedFile
from aio_s3_ingest._select import check_timestamps
from tests._selection import T0, wanted


def spread(*offsets: dt.timedelta) -> list[WantedFile]:
    """Wanted files modified at T0 + each offset, named f0, f1, ..."""
    return [wanted(f"f{i}", when=T0 + off) for i, off in enumerate(offsets)]


def test_check_timestamps_off_with_minus_one() -> None:
    """Tolerance -1 disables the check, however far apart the objects are."""
    check_timestamps(spread(dt.timedelta(0), dt.timedelta(days=3650)), -1)


def test_check_timestamps_single_object_and_empty() -> None:
    """One object (or none) has no spread, even at tolerance 0."""
    check_timestamps(spread(dt.timedelta(0)), 0)
    check_timestamps([], 0)


def test_check_timestamps_equal_times_pass_at_zero() -> None:
    """Objects modified at the same instant pass a tolerance of 0 hours."""
    check_timestamps(spread(dt.timedelta(0), dt.timedelta(0), dt.timedelta(0)), 0)


def test_check_timestamps_spread_equal_to_tolerance_passes() -> None:
    """The tolerance is inclusive: a spread of exactly the tolerance is accepted."""
    check_timestamps(spread(dt.timedelta(0), dt.timedelta(hours=2)), 2)
    check_timestamps(spread(dt.timedelta(0), dt.timedelta(minutes=30)), 0.5)


def test_check_timestamps_spread_beyond_tolerance_raises() -> None:
    """A spread one second over the tolerance raises, naming the oldest and newest objects."""
    items = spread(dt.timedelta(hours=1), dt.timedelta(0), dt.timedelta(hours=2, seconds=1))
    with pytest.raises(TimestampToleranceError) as info:
        check_timestamps(items, 2)
    message = str(info.value)
    assert "'data/f1'" in message  # oldest
    assert "'data/f2'" in message  # newest
    assert "'data/f0'" not in message


def test_check_timestamps_fractional_hours() -> None:
    """Fractional tolerances count in hours: 0.5 h refuses a 31-minute spread."""
    with pytest.raises(TimestampToleranceError):
        check_timestamps(spread(dt.timedelta(0), dt.timedelta(minutes=31)), 0.5)


def test_check_timestamps_zero_refuses_one_second() -> None:
    """A tolerance of 0 refuses objects modified one second apart."""
    with pytest.raises(TimestampToleranceError):
        check_timestamps(spread(dt.timedelta(seconds=1), dt.timedelta(0)), 0)


def test_check_timestamps_compares_instants_across_time_zones() -> None:
    """The same instant written in two time zones is no spread at all."""
    plus_two = dt.timezone(dt.timedelta(hours=2))
    items = [wanted("a", when=T0), wanted("b", when=T0.astimezone(plus_two))]
    check_timestamps(items, 0)
