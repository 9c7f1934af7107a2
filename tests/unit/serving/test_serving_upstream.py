"""The router's pooled keep-alive client against small real HTTP servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable

import pytest

from mlops.serving.upstream import UpstreamError, UpstreamPool, UpstreamResponseTooLarge, UpstreamTimeout

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return await reader.readexactly(length)


async def serve(handler: Handler) -> tuple[asyncio.Server, int, list[int]]:
    connections: list[int] = []

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        number = 0
        while await read_request(reader) is not None:
            number += 1
            if not await handler(reader, writer, number):
                break
        writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], connections


async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> bool:
    body = f"answer {number}".encode()
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\n\r\n" + body)
    await writer.drain()
    return True


def test_keep_alive_reuses_one_connection() -> None:
    async def main() -> None:
        server, port, connections = await serve(ok)
        pool = UpstreamPool("127.0.0.1", port)
        answers = [await pool.request(b"POST", b"/invocations", [(b"Content-Type", b"text/csv")], b"1,2", 2.0)
                   for _ in range(5)]
        assert [a.body for a in answers] == [f"answer {i}".encode() for i in range(1, 6)]
        assert answers[0].status == 200 and answers[0].header(b"content-type") == b"text/csv"
        assert len(connections) == 1
        pool.close()
        server.close()

    asyncio.run(main())


def test_split_head_and_body_and_chunked_answers() -> None:
    async def split(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> bool:
        if number == 1:  # head and body in two sends, as the contract's stdlib server does
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.01)
            writer.write(b"hello")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        await writer.drain()
        return True

    async def main() -> None:
        server, port, _ = await serve(split)
        pool = UpstreamPool("127.0.0.1", port)
        first = await pool.request(b"POST", b"/invocations", [], b"x", 2.0)
        second = await pool.request(b"POST", b"/invocations", [], b"x", 2.0)
        assert (first.body, second.body) == (b"hello", b"abcde")
        server.close()

    asyncio.run(main())


def test_a_stale_keep_alive_connection_is_retried_once() -> None:
    async def one_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> bool:
        await ok(reader, writer, number)
        return False  # close after answering, without saying Connection: close

    async def main() -> None:
        server, port, connections = await serve(one_per_connection)
        pool = UpstreamPool("127.0.0.1", port)
        for _ in range(3):
            answer = await pool.request(b"POST", b"/invocations", [], b"x", 2.0)
            assert answer.body == b"answer 1"
            await asyncio.sleep(0.05)  # let the close arrive: the pooled connection is now stale
        assert len(connections) == 3
        server.close()

    asyncio.run(main())


def test_timeouts_and_refused_connections_fail_fast() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> bool:
        await asyncio.sleep(30)
        return False

    async def main() -> None:
        server, port, _ = await serve(hang)
        pool = UpstreamPool("127.0.0.1", port)
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout, match="no answer within 0.3s"):
            await pool.request(b"POST", b"/invocations", [], b"x", 0.3)
        assert time.monotonic() - started < 1.0
        server.close()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free = s.getsockname()[1]
        with pytest.raises(UpstreamError, match="could not connect"):
            await UpstreamPool("127.0.0.1", free).request(b"POST", b"/invocations", [], b"x", 1.0)

    asyncio.run(main())


def test_a_server_dying_mid_answer_is_an_error_not_a_hang() -> None:
    async def die(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()
        return False

    async def main() -> None:
        server, port, _ = await serve(die)
        with pytest.raises(UpstreamError, match="closed the connection"):
            await UpstreamPool("127.0.0.1", port).request(b"POST", b"/invocations", [], b"x", 5.0)
        server.close()

    asyncio.run(main())


def test_an_answer_over_the_cap_is_refused_without_being_read_whole() -> None:
    big = b"x" * 10_000
    served: list[int] = []

    async def declared(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> bool:
        served.append(number)
        if len(served) != 2:  # a Content-Length over the cap: refused from the head alone
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.write(big)
        else:  # chunked, growing past the cap
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(10):
                writer.write(b"3e8\r\n" + b"y" * 1000 + b"\r\n")
            writer.write(b"0\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return True

    async def main() -> None:
        server, port, connections = await serve(declared)
        pool = UpstreamPool("127.0.0.1", port)
        started = time.monotonic()
        with pytest.raises(UpstreamResponseTooLarge, match="holds 10000 bytes, over the 4096-byte limit") as e:
            await pool.request(b"POST", b"/invocations", [], b"x", 5.0, max_response_bytes=4096)
        assert e.value.status == 200 and time.monotonic() - started < 0.2  # not waiting for the body
        with pytest.raises(UpstreamResponseTooLarge, match="more than 4096 bytes"):
            await pool.request(b"POST", b"/invocations", [], b"x", 5.0, max_response_bytes=4096)
        assert len(connections) == 2  # a refused answer's connection is not reused
        answer = await pool.request(b"POST", b"/invocations", [], b"x", 5.0, max_response_bytes=20_000)
        assert answer.body == big
        server.close()

    asyncio.run(main())
