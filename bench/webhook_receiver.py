"""A fast local webhook receiver for bench/webhooks.py: records when each event id arrived.

Run: python bench/webhook_receiver.py PORT   (GET /dump returns {"event id": unix time, ...},
GET /count {"count": n})
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import uvicorn

arrivals: dict[str, float] = {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if scope["method"] == "GET":
        # /count is what the bench polls while it waits: cheap, so the receiver leaves the CPU to
        # the worker being measured; /dump is read once at the end.
        body = json.dumps({"count": len(arrivals)} if scope["path"] == "/count" else arrivals).encode()
        if scope["path"] == "/reset":
            arrivals.clear()
    else:
        now = time.time()
        headers = dict(scope["headers"])
        event_id = headers.get(b"webhook-id", b"").decode()
        arrivals.setdefault(event_id, now)
        body = b'{"success":true}'
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
