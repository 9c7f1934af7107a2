"""HTTP limits of the control process: uvicorn's httptools protocol with the timeouts and caps it lacks.

uvicorn 0.49 with httptools arms a timer only after a response (``timeout_keep_alive``): a connection
that sends half a request head, or dribbles a body, is held for as long as the client likes, and a
request head of any size is accepted. This protocol adds, per connection:

- a **head timeout**: from the connection's (or the next request's) first byte, the request line and
  headers must arrive within ``header_timeout`` seconds, else 408 and the connection is closed;
- a **body timeout**: once the head is in, the body must arrive within ``body_timeout`` seconds;
- a **head size cap**: a request head over ``max_header_bytes`` gets 431 (its bytes are counted as they
  arrive, never buffered past the cap);
- a **connection cap**: past ``max_connections`` open connections a new one gets 503 and is closed.

Idle keep-alive connections still close after uvicorn's ``timeout_keep_alive``.

Timeouts are deadlines on the connection (setting one is a float assignment on the request path, not a
timer), checked by one sweep per server every ``SWEEP_SECONDS``: a timeout fires at most that late.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

LINGER_SECONDS = 2.0  # after refusing a head that is too large: read and drop what the client still sends
SWEEP_SECONDS = 0.25
_swept: weakref.WeakSet[ServerState] = weakref.WeakSet()


def _sweep(loop: asyncio.AbstractEventLoop, state: ServerState) -> None:
    now = loop.time()
    for connection in list(state.connections):
        if isinstance(connection, LimitedHttpToolsProtocol):
            connection.check_deadline(now)
    if state.connections:
        loop.call_later(SWEEP_SECONDS, _sweep, loop, state)
    else:
        _swept.discard(state)  # the next connection starts the sweeps again


@dataclass(frozen=True)
class HttpLimits:
    header_timeout: float = 5.0
    body_timeout: float = 30.0
    keep_alive_timeout: int = 5
    max_header_bytes: int = 64 * 1024
    max_connections: int = 1024


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    limits: ClassVar[HttpLimits] = HttpLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: float | None = None
        self._on_deadline: Callable[[], None] = self._head_timed_out
        self._in_head = True  # the next bytes belong to a request head
        self._head_bytes = 0
        self._heads = 0
        self._refused = False

    @classmethod
    def with_limits(cls, limits: HttpLimits) -> type[LimitedHttpToolsProtocol]:
        return type("LimitedHttpToolsProtocol", (cls,), {"limits": limits})

    # --- deadlines ---------------------------------------------------------------------------------

    def _expect(self, seconds: float, then: Callable[[], None]) -> None:
        self._deadline = self.loop.time() + seconds
        self._on_deadline = then

    def check_deadline(self, now: float) -> None:
        if self._deadline is not None and now >= self._deadline:
            self._deadline = None
            self._on_deadline()

    def _head_timed_out(self) -> None:
        self._refuse(408, f"the request head did not arrive within {self.limits.header_timeout:g}s")

    def _body_timed_out(self) -> None:
        self._refuse(408, f"the request body did not arrive within {self.limits.body_timeout:g}s")

    def _refuse(self, status: int, message: str, linger: float = 0.0) -> None:
        """Answer ``status`` (unless a response is already under way) and close the connection."""
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not cycle.response_started:
            body = message.encode()
            reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (status, reason.get(status, b""), len(body), body)
            )
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True  # the application sees the client gone; its own answer goes nowhere
                cycle.message_event.set()
        if linger and self.transport.can_write_eof():
            self.transport.write_eof()  # the client reads the answer, then sees EOF; what it still sends is dropped
            self._expect(linger, self.transport.close)
        else:
            self._deadline = None
            self.transport.close()

    # --- the connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.server_state not in _swept:
            _swept.add(self.server_state)
            self.loop.call_later(SWEEP_SECONDS, _sweep, self.loop, self.server_state)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503, f"the server holds {self.limits.max_connections} connections already; try again later")
            return
        self._expect(self.limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering after a refusal: drop
        if not self._in_head:
            super().data_received(data)
            return
        if self._deadline is None:
            self._expect(self.limits.header_timeout, self._head_timed_out)
        room = self.limits.max_header_bytes - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        heads = self._heads
        self._head_bytes += room
        if room > 0:
            super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self._heads == heads:  # the head is still not complete: too large
            self._refuse(
                431, f"the request head is over the {self.limits.max_header_bytes}-byte limit", linger=LINGER_SECONDS
            )
            return
        self.data_received(data[room:])

    # --- parser callbacks --------------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._heads += 1
        self._deadline = None
        super().on_headers_complete()
        queued = bool(self.pipeline) and self.pipeline[0][0] is self.cycle
        if not queued:  # a pipelined request's body is read once the requests before it are answered
            self._expect(self.limits.body_timeout, self._body_timed_out)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
        self._deadline = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self._in_head and self._deadline is None and not self.transport.is_closing():
            self._expect(self.limits.body_timeout, self._body_timed_out)  # a queued request now reads its body
