"""The two bare servers the API benchmark measures next to Sesame and moto.

    python bench/baseline.py raw  --port P    a uvloop protocol that answers every
                                              request with fixed bytes: the ceiling
                                              of the load generator on this machine
    python bench/baseline.py asgi --port P    a minimal ASGI app under uvicorn with
                                              the settings `sesame serve` uses: the
                                              floor of any app on that stack

Both answer every request with the same small JSON 200 (keep-alive), whatever the
method, path or body. Both read request bodies, so a PUT costs what it costs.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, cast

import httptools
import uvicorn
import uvloop

BODY = b'{"ConfigurationSetName":"bench","Tags":[]}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class RawProtocol(asyncio.Protocol):
    """Parses requests with httptools (as uvicorn does) and writes fixed bytes."""

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_complete(self) -> None:
        if self.transport is not None:
            self.transport.write(RESPONSE)


async def serve_raw(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(RawProtocol, host, port, backlog=1024)
    async with server:
        await server.serve_forever()


async def lifespan(receive: Any, send: Any) -> None:
    """Answer an ASGI lifespan: nothing to start, nothing to stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The smallest ASGI app that reads the body and answers a fixed 200."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


def serve_asgi(host: str, port: int) -> None:
    from sesame.server import config

    # The uvicorn Config `sesame serve` uses, so the difference to Sesame is Sesame.
    uvicorn.Server(config(app, host, port)).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("raw", "asgi"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.kind == "raw":
        uvloop.run(serve_raw(args.host, args.port))
    else:
        serve_asgi(args.host, args.port)


if __name__ == "__main__":
    main()
