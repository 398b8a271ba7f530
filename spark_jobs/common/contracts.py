"""Raw data contracts of DESIGN §4, declared once and checked by one validator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["string", "timestamp", "enum"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind = "string"
    required: bool = True
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contract:
    """A raw JSON-lines dataset: its fields, its duplicate key and which copy of a duplicate wins."""

    dataset: str
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...]
    keep_first_by: tuple[str, ...]


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
