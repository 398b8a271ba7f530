"""The Firehose JSON API over HTTP, locally: a boto3 `firehose` client or the aws CLI pointed at
`--endpoint-url http://127.0.0.1:PORT` works unchanged (`analytics serve firehose`)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ingestion.firehose import (
    DeliveryStream,
    InvalidArgument,
    decode_api_records,
    decode_data,
    put_decoded,
)

TARGET_PREFIX = "Firehose_20150804."
ACCOUNT = "000000000000"


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _stream(streams: dict[str, DeliveryStream], request: dict) -> DeliveryStream:
    name = request.get("DeliveryStreamName")
    if name not in streams:
        raise ApiError(
            "ResourceNotFoundException",
            f"Firehose {name} under account {ACCOUNT} not found (serving: {', '.join(streams)})",
        )
    return streams[name]


def _put_record(streams: dict[str, DeliveryStream], request: dict) -> dict:
    stream = _stream(streams, request)
    result = stream.put_record(decode_data((request.get("Record") or {}).get("Data")))
    if result.record_id is None:  # PutRecord has no per-record results: the call fails
        raise ApiError(result.error_code or "InvalidArgumentException", result.error_message or "")
    return {"RecordId": result.record_id, "Encrypted": False}


def _put_record_batch(streams: dict[str, DeliveryStream], request: dict) -> dict:
    stream = _stream(streams, request)
    return put_decoded(stream, decode_api_records(request.get("Records"))).as_api()


def _list(streams: dict[str, DeliveryStream], request: dict) -> dict:
    return {"DeliveryStreamNames": sorted(streams), "HasMoreDeliveryStreams": False}


def _describe(streams: dict[str, DeliveryStream], request: dict) -> dict:
    stream = _stream(streams, request)
    return {
        "DeliveryStreamDescription": {
            "DeliveryStreamName": stream.name,
            "DeliveryStreamARN": f"arn:aws:firehose:local:{ACCOUNT}:deliverystream/{stream.name}",
            "DeliveryStreamStatus": "ACTIVE",
            "DeliveryStreamType": "DirectPut",
            "VersionId": "1",
            "Destinations": [],
            "HasMoreDestinations": False,
        }
    }


ACTIONS = {
    "PutRecord": _put_record,
    "PutRecordBatch": _put_record_batch,
    "ListDeliveryStreams": _list,
    "DescribeDeliveryStream": _describe,
}


def handle(streams: dict[str, DeliveryStream], target: str, body: bytes) -> tuple[int, dict]:
    """One API call: (HTTP status, JSON response), errors in the shape botocore reads."""
    try:
        action = target.removeprefix(TARGET_PREFIX)
        if not target.startswith(TARGET_PREFIX) or action not in ACTIONS:
            raise ApiError("UnknownOperationException", f"unsupported operation {target!r}")
        try:
            request = json.loads(body or b"{}")
        except json.JSONDecodeError:
            raise ApiError("SerializationException", "the request body is not JSON") from None
        if not isinstance(request, dict):
            raise ApiError("SerializationException", "the request body is not a JSON object")
        return 200, ACTIONS[action](streams, request)
    except InvalidArgument as error:
        return 400, {"__type": error.code, "message": str(error)}
    except ApiError as error:
        return error.status, {"__type": error.code, "message": str(error)}


class FirehoseServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], streams: dict[str, DeliveryStream]) -> None:
        self.streams = streams
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop accepting calls, then deliver every stream's buffer: nothing accepted is lost."""
        self.shutdown()
        self.server_close()
        for stream in self.streams.values():
            stream.close()


class _Handler(BaseHTTPRequestHandler):
    server: FirehoseServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        status, payload = handle(
            self.server.streams, self.headers.get("X-Amz-Target", ""), self.rfile.read(length)
        )
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        if status != 200:
            self.send_header("x-amzn-ErrorType", payload["__type"])
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass
