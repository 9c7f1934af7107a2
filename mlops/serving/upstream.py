"""A lean pooled keep-alive HTTP/1.1 client for the router's calls to model servers.

One ``UpstreamPool`` per model-server instance keeps idle connections; a request takes one (or opens
one), writes the request in a single send, and parses the answer with httptools (Content-Length or
chunked). A connection that was idle in the pool and turns out closed by the server before it
answered anything is retried once on a fresh connection (a stale keep-alive, not a failure of the
request). Everything else surfaces as ``UpstreamError`` (could not connect, reset, bad answer),
``UpstreamTimeout``, or ``UpstreamResponseTooLarge``: an answer over the request's ``max_response_bytes``
(a Content-Length over it, or a chunked body growing past it) is refused as soon as that is known and
its connection closed; it is never buffered whole.

Sockets run with TCP_NODELAY, and when an answer arrives split across segments the client ACKs at
once (TCP_QUICKACK, Linux): a server that writes its head and body in two sends otherwise waits out
the peer's delayed ACK (~40 ms) on every request.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

import httptools

_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
MAX_IDLE_PER_POOL = 256
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # SageMaker's InvokeEndpoint limit


class UpstreamError(Exception):
    """The model server could not be reached or gave no valid answer."""


class UpstreamConnectError(UpstreamError):
    """No connection could be opened: the request never reached the model server."""


class UpstreamTimeout(UpstreamError):
    """The model server did not answer within the timeout."""


class UpstreamResponseTooLarge(UpstreamError):
    """The model server's answer is over the size the caller accepts."""

    def __init__(self, status: int, size: int, declared: bool, limit: int) -> None:
        self.status = status
        self.size = size
        self.declared = declared  # True: its Content-Length said so; False: at least ``size`` bytes arrived
        self.limit = limit
        super().__init__(f"the answer ({status}) holds {self.size_text()}, over the {limit}-byte limit")

    def size_text(self) -> str:
        return f"{self.size} bytes" if self.declared else f"more than {self.size} bytes"


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        lowered = name.lower()
        for k, v in self.headers:
            if k.lower() == lowered:
                return v
        return None


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[UpstreamResponse] | None = None
        self.closed = False
        self.received = False
        self.keep_alive = True
        self.max_body = MAX_RESPONSE_BYTES
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._refused = False
        self._sock: socket.socket | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio's classes
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sock = sock
            except OSError:
                self._sock = None

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(UpstreamError(f"the model server's answer is not valid HTTP: {e}"))
            self.close()
            return
        waiter = self.waiter
        if waiter is not None and not waiter.done() and _QUICKACK is not None and self._sock is not None:
            try:  # noqa: SIM105 - hot path; the rest of the answer is still to come: acknowledge now, not after the delayed-ACK timer
                self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:
                pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(UpstreamError(f"the model server closed the connection{f': {exc}' if exc else ''}"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        for name, value in self._headers:
            if name.lower() == b"content-length" and value.strip().isdigit() and int(value) > self.max_body:
                self._too_large(int(value), declared=True)
                return

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._size += len(body)
        if self._size > self.max_body:
            self._too_large(self.max_body, declared=False)
            return
        self._body.append(body)

    def _too_large(self, size: int, declared: bool) -> None:
        self._refused = True
        self._body = []
        self._fail(UpstreamResponseTooLarge(self.parser.get_status_code(), size, declared, self.max_body))
        self.close()  # the rest of the answer is not read: the connection cannot be reused

    def on_message_complete(self) -> None:
        if self._refused:
            return
        status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        response = UpstreamResponse(status, self._headers, b"".join(self._body))
        self._headers = []
        self._body = []
        self._size = 0
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def _fail(self, error: Exception) -> None:
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def send(
        self, data: bytes, loop: asyncio.AbstractEventLoop, max_body: int = MAX_RESPONSE_BYTES
    ) -> asyncio.Future[UpstreamResponse]:
        assert self.transport is not None
        self.received = False
        self.max_body = max_body
        self.waiter = loop.create_future()
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class UpstreamPool:
    """Keep-alive connections to one model server (``host:port``)."""

    def __init__(self, host: str, port: int, connect_timeout: float = 2.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._idle: list[_Connection] = []
        self._host_header = f"{host}:{port}".encode()

    @classmethod
    def for_url(cls, url: str) -> UpstreamPool:
        rest = url.split("://", 1)[-1].split("/", 1)[0]
        host, _, port = rest.rpartition(":")
        return cls(host or "127.0.0.1", int(port))

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port), self.connect_timeout
            )
        except TimeoutError:
            raise UpstreamTimeout(
                f"could not connect to {self.host}:{self.port} within {self.connect_timeout:g}s"
            ) from None
        except OSError as e:
            raise UpstreamConnectError(f"could not connect to {self.host}:{self.port}: {e.strerror or e}") from None
        return protocol

    def _head(self, method: bytes, path: bytes, headers: list[tuple[bytes, bytes]], length: int) -> bytes:
        lines = [method + b" " + path + b" HTTP/1.1", b"Host: " + self._host_header]
        lines.extend(k + b": " + v for k, v in headers)
        lines.append(b"Content-Length: " + str(length).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def request(
        self,
        method: bytes,
        path: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeout: float,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> UpstreamResponse:
        loop = asyncio.get_running_loop()
        data = self._head(method, path, headers, len(body)) + body
        for attempt in (0, 1):
            reused = False
            conn: _Connection | None = None
            while self._idle:
                candidate = self._idle.pop()
                if not candidate.closed:
                    conn, reused = candidate, True
                    break
            if conn is None:
                conn = await self._open(loop)
            waiter = conn.send(data, loop, max_response_bytes)
            timer = loop.call_later(timeout, _expire, waiter, timeout)
            try:
                response = await waiter
            except (UpstreamTimeout, UpstreamResponseTooLarge):
                conn.close()
                raise
            except UpstreamError:
                conn.close()
                if reused and not conn.received and attempt == 0:
                    continue  # a stale keep-alive connection: the request never reached the server
                raise
            except BaseException:  # cancelled: the connection's state is unknown
                conn.close()
                raise
            finally:
                timer.cancel()
            if conn.keep_alive and not conn.closed and len(self._idle) < MAX_IDLE_PER_POOL:
                self._idle.append(conn)
            else:
                conn.close()
            return response
        raise UpstreamError("unreachable")  # pragma: no cover

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def _expire(waiter: asyncio.Future[UpstreamResponse], timeout: float) -> None:
    if not waiter.done():
        waiter.set_exception(UpstreamTimeout(f"no answer within {timeout:g}s"))
