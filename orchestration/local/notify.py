"""Notifiers: where a finished report is announced. SNS in AWS; locally (the default) an outbox
folder with one e-mail file (.eml) per notification, readable by any mail client."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings

SNS_SUBJECT_MAX = 100  # SNS refuses longer subjects


@dataclass(frozen=True)
class Notification:
    subject: str
    message: str


class Notifier(Protocol):
    def send(self, notification: Notification) -> str:
        """Send it; return where it went (a file or a message id)."""
        ...


class OutboxNotifier:
    def __init__(self, folder: str, sender: str = "analytics@localhost") -> None:
        self.folder = folder
        self.sender = sender

    def send(self, notification: Notification) -> str:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = "report-recipients@localhost"
        email["Subject"] = notification.subject
        email["Date"] = dt.datetime.now(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        email.set_content(notification.message)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        slug = re.sub(r"[^A-Za-z0-9]+", "-", notification.subject).strip("-")[:60]
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, f"{stamp}-{slug}-{uuid.uuid4().hex[:6]}.eml")
        with open(path + ".tmp", "wb") as handle:
            handle.write(bytes(email))
        os.replace(path + ".tmp", path)
        return path


class SnsNotifier:
    def __init__(self, topic_arn: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sns")
        self.topic_arn = topic_arn
        self.client = client

    def send(self, notification: Notification) -> str:
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Subject=notification.subject[:SNS_SUBJECT_MAX],
            Message=notification.message,
        )
        return response["MessageId"]


def notifier_for(settings: Settings, lake: Lake) -> Notifier:
    if settings.report_topic_arn:
        return SnsNotifier(settings.report_topic_arn)
    return OutboxNotifier(lake.outbox)
