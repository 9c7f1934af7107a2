"""Raw HTTP/1.1 over a socket, for fuzzing servers with requests no client library would send."""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass

from hypothesis import strategies as st

from mlops.contract.payloads import REQUEST_TYPES, RESPONSE_TYPES
from tests.fuzz.formats import JSON_TOKENS, csv_files, json_documents, jsonlines_files, libsvm_files, recordio_files
from tests.fuzz.mutations import mutated


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: the server closed the connection without answering
    headers: dict[str, str]
    body: bytes


class Hang(AssertionError):
    """The server neither answered nor closed the connection in time."""


def exchange(port: int, request: bytes, timeout: float = 5.0, head: bool = False) -> Answer:
    """Send ``request`` on a new connection and read one answer (Content-Length framed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the server gave up on us early
            sock.sendall(request)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            if b"\r\n\r\n" not in data:
                if data:
                    raise AssertionError(f"a partial answer, then the connection closed: {data[:200]!r}")
                return Answer(None, {}, b"")
            head_part, _, body = data.partition(b"\r\n\r\n")
            lines = head_part.decode("latin-1").split("\r\n")
            version, _, rest = lines[0].partition(" ")
            assert version in ("HTTP/1.0", "HTTP/1.1"), lines[0]
            status = int(rest.split(" ", 1)[0])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = 0 if head else int(headers.get("content-length", "0"))
            while len(body) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    raise AssertionError(f"the answer's body ended after {len(body)} of {length} bytes")
                body += chunk
            return Answer(status, headers, body[:length])
        except TimeoutError:
            raise Hang(f"no answer within {timeout} s to {request[:200]!r}") from None
        except ConnectionResetError:
            return Answer(None, {}, b"")


# ---------------------------------------------------------------------------------------------- strategies

token_chars = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=" ")
tokens = st.text(token_chars, min_size=1, max_size=12)
header_values = st.binary(max_size=64).map(
    lambda b: bytes(c for c in b if c not in b"\r\n\0").strip()
)  # what a header may carry on the wire: any byte but CR, LF and NUL
methods = st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "HEAD", "DELETE", "OPTIONS"]) | tokens
versions = st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0"]) | st.sampled_from(["HTTP/2.0", "HTTP/1.1x", "HTTX"])


def content_lengths(size: int) -> st.SearchStrategy[list[bytes]]:
    """The Content-Length headers for a body of ``size`` bytes: usually right, sometimes hostile."""
    right = str(size).encode()
    return st.one_of(
        st.just([right]),
        st.just([right]),
        st.just([right]),
        st.sampled_from(
            [
                [],
                [b"-1"],
                [b"-" + right],
                [b"abc"],
                [b"1e3"],
                [b"+" + right],
                [b"0x10"],
                [right, right],
                [right, b"7"],
                [b"9" * 30],
                [b"9" * 5000],
                [b" " + right + b" "],
                [right + b", " + right],
                [b"\xd9\xa3"],  # an Arabic-Indic digit, which Python's int() reads
            ]
        ),
    )


def request_bytes(method: str, target: str, version: str, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    head = f"{method} {target} {version}\r\n".encode("utf-8", errors="surrogateescape")
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return head + b"\r\n" + body


SAGEMAKER_HEADERS = [
    b"X-Amzn-SageMaker-Custom-Attributes",
    b"X-Amzn-SageMaker-Target-Variant",
    b"X-Amzn-SageMaker-Inference-Id",
    b"X-Amzn-SageMaker-Enable-Explanations",
]
bodies = st.one_of(
    csv_files().map(lambda f: f[0]),
    libsvm_files().map(lambda f: f[0]),
    jsonlines_files(),
    json_documents(),
    recordio_files,
    mutated(json_documents(), JSON_TOKENS),
    st.binary(max_size=128),
)
content_types = st.sampled_from([*REQUEST_TYPES, "text/csv; charset=utf-8", "image/png", ""]) | header_values.map(
    lambda b: b.decode("latin-1")
)
accepts = st.sampled_from([*RESPONSE_TYPES, "*/*", "", "text/libsvm", "image/png"]) | header_values.map(
    lambda b: b.decode("latin-1")
)
extra_headers = st.lists(
    st.tuples(
        st.sampled_from([*SAGEMAKER_HEADERS, b"Connection", b"Expect", b"Host"])
        | tokens.map(str.encode),
        header_values,
    ),
    max_size=4,
)


@st.composite
def requests(draw: st.DrawFn, targets: st.SearchStrategy[str]) -> tuple[bytes, str]:
    """(raw request, method): a request line, headers (Content-Type, Accept, Content-Length and others,
    each maybe hostile, in any order) and a body of any request type, maybe mutated."""
    method = draw(methods)
    target = draw(targets | tokens.map("/".__add__))
    body = draw(bodies)
    headers = [(b"Host", b"127.0.0.1")]
    if draw(st.booleans()):
        headers.append((b"Content-Type", draw(content_types).encode("latin-1")))
    if draw(st.booleans()):
        headers.append((b"Accept", draw(accepts).encode("latin-1")))
    headers += [(b"Content-Length", v) for v in draw(content_lengths(len(body)))]
    headers += draw(extra_headers)
    if draw(st.integers(0, 20)) == 0:
        headers.append((b"Transfer-Encoding", b"chunked"))
    return request_bytes(method, target, draw(versions), draw(st.permutations(headers)), body), method
