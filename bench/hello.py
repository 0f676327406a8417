"""The ceiling: a raw ASGI app that reads the request body and answers a small JSON body.

Run on the same stack as tokenrevoke (uvicorn with tokenrevoke's httptools protocol, uvloop,
one process: `python -m bench.hello --port N`), it is the most requests per second any
Python server can answer here.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from tokenrevoke.web.protocol import HttpProtocol

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY = b'{"active":false}'
START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
        (b"cache-control", b"no-store"),
    ],
}
RESPONSE: Message = {"type": "http.response.body", "body": BODY}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:  # read the whole body, as a real endpoint must
        message = await receive()
        more = message.get("more_body", False)
    await send(START)
    await send(RESPONSE)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hello")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(
        app, host=args.host, port=args.port, http=HttpProtocol, loop="uvloop", workers=1,
        access_log=False, server_header=False, log_level="warning", lifespan="on",
    )  # fmt: skip
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
