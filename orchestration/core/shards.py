"""Sharding of id-keyed work (DESIGN §5.2): which ids a shard owns, and id ranges."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shard:
    """Shard `current` (1-based) of `total`: it owns the ids with `id % total + 1 == current`."""

    current: int
    total: int

    def __post_init__(self) -> None:
        if self.total < 1:
            raise ValueError(f"NUM_SHARDS must be at least 1, not {self.total}")
        if not 1 <= self.current <= self.total:
            raise ValueError(
                f"CURRENT_SHARD {self.current} does not exist: shards are 1..{self.total}"
            )

    def owns(self, entity_id: int) -> bool:
        return entity_id % self.total + 1 == self.current

    @property
    def label(self) -> str:
        """Its partition value in the lake (`shard=2-of-3`): a rerun with another shard count
        never mixes with this one."""
        return f"{self.current}-of-{self.total}"

    @classmethod
    def all_of(cls, total: int) -> list[Shard]:
        return [cls(current, total) for current in range(1, total + 1)]


UNSHARDED = Shard(1, 1)


@dataclass(frozen=True)
class IdRange:
    """`start <= id <= end`; either bound may be open (None)."""

    start: int | None = None
    end: int | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"the id range {self.start}..{self.end} is empty (start > end)")

    def contains(self, entity_id: int) -> bool:
        return (self.start is None or entity_id >= self.start) and (
            self.end is None or entity_id <= self.end
        )

    @property
    def is_all(self) -> bool:
        return self.start is None and self.end is None


ALL_IDS = IdRange()
