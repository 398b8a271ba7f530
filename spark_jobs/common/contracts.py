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

# --- ticketing, users and social datasets (§4, §5.2) ------------------------------------------

TICKETING_EVENTS = Contract(
    dataset="ticketing/events",
    fields=(
        FieldSpec("event_id", "integer", minimum=1),
        FieldSpec("brand_id", "integer", minimum=1),
        FieldSpec("name", required=False),
        FieldSpec("starts_at", "timestamp"),
    ),
    key=("event_id",),
    keep_first_by=("-starts_at",),
)

TICKETING_ORDERS = Contract(
    dataset="ticketing/orders",
    fields=(
        FieldSpec("order_id"),
        FieldSpec("event_id", "integer", minimum=1),
        FieldSpec("user_id"),
        FieldSpec("quantity", "integer", minimum=1, maximum=100),
        FieldSpec("status", "enum", values=("paid", "refunded")),
        FieldSpec("ordered_at", "timestamp"),
    ),
    key=("order_id",),
    # A refund landing with its payment on the same day wins (it happened after).
    keep_first_by=("-status",),
)

USERS = Contract(
    dataset="users",
    fields=(
        FieldSpec("user_id"),
        FieldSpec("gender", "enum", required=False, values=("female", "male", "other")),
        FieldSpec("birth_year", "integer", required=False, minimum=1900, maximum=2100),
        FieldSpec("country", required=False),
    ),
    key=("user_id",),
    keep_first_by=("gender", "birth_year", "country"),
)

SOCIAL_LIKES = Contract(
    dataset="social/likes",
    fields=(
        FieldSpec("user_id"),
        FieldSpec("page_id"),
        FieldSpec("page_name", required=False),
        FieldSpec("category", required=False),
    ),
    key=("user_id", "page_id"),
    keep_first_by=("page_name", "category"),
)

SOCIAL_LISTENS = Contract(
    dataset="social/listens",
    fields=(
        FieldSpec("user_id"),
        FieldSpec("artist_id"),
        FieldSpec("artist_name", required=False),
        FieldSpec("genre", required=False),
        FieldSpec("play_count", "integer", required=False, minimum=0),
    ),
    key=("user_id", "artist_id"),
    keep_first_by=("-play_count", "artist_name", "genre"),
)

SOCIAL_CONTRACTS = (TICKETING_EVENTS, TICKETING_ORDERS, USERS, SOCIAL_LIKES, SOCIAL_LISTENS)
