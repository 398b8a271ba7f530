"""Raw data contracts of DESIGN §4, declared once and checked by one validator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["string", "timestamp", "enum", "integer", "money", "date"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind = "string"
    required: bool = True
    values: tuple[str, ...] = ()
    minimum: int | None = None  # integer fields
    maximum: int | None = None


@dataclass(frozen=True)
class Contract:
    """A raw dataset (JSON lines, or CSV with its fields as columns in order): its fields, its
    duplicate key and which copy of a duplicate wins."""

    dataset: str
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...]
    keep_first_by: tuple[str, ...]

    @property
    def csv_header(self) -> str:
        return ",".join(f.name for f in self.fields)


NOTIFICATION_ATTEMPTED = Contract(
    dataset="notifications/attempted",
    fields=(
        FieldSpec("notification_id"),
        FieldSpec("client_id"),
        FieldSpec("customer_id"),
        FieldSpec("experience_id"),
        FieldSpec("channel", "enum", values=("sms", "email", "push", "voice")),
        FieldSpec("destination", required=False),
        FieldSpec("attempted_at", "timestamp"),
    ),
    key=("notification_id",),
    keep_first_by=("attempted_at",),
)

NOTIFICATION_DELIVERED = Contract(
    dataset="notifications/delivered",
    fields=(
        FieldSpec("notification_id"),
        FieldSpec("status", "enum", values=("delivered", "failed", "undeliverable")),
        FieldSpec("reported_at", "timestamp"),
        FieldSpec("provider", required=False),
    ),
    key=("notification_id", "status", "reported_at"),
    keep_first_by=("provider",),
)

EXPERIENCES = Contract(
    dataset="experiences",
    fields=(
        FieldSpec("experience_id"),
        FieldSpec("client_id"),
        FieldSpec("experience_name", required=False),
        FieldSpec("outcome"),
        FieldSpec("updated_at", "timestamp"),
    ),
    key=("experience_id",),
    keep_first_by=("-updated_at",),
)

LISTINGS = Contract(
    dataset="listings",
    fields=(
        FieldSpec("id", "integer", minimum=1),
        FieldSpec("name", required=False),
        FieldSpec("host_id", "integer", required=False, minimum=1),
        FieldSpec("neighbourhood"),
        FieldSpec(
            "room_type",
            "enum",
            values=("Entire home/apt", "Private room", "Shared room", "Hotel room"),
        ),
        FieldSpec("price", "money"),
        FieldSpec("minimum_nights", "integer", required=False, minimum=1),
        FieldSpec("number_of_reviews", "integer", required=False, minimum=0),
        FieldSpec("availability_365", "integer", required=False, minimum=0, maximum=365),
        FieldSpec("last_review", "date", required=False),
    ),
    key=("id",),
    # Of two copies of a listing, the one reviewed most recently (then by line text) is kept.
    keep_first_by=("-last_review",),
)
