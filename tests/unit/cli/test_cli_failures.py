"""The one line an unexpected failure gets (without --debug): it names the file, the URL or the field."""

from __future__ import annotations

import io
import json
import urllib.error
from email.message import Message
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel

from mlops.cli.failures import describe_failure, failure_line


def caught(action) -> BaseException:  # type: ignore[no-untyped-def]
    try:
        action()
    except Exception as e:
        return e
    raise AssertionError("nothing was raised")


def test_an_os_error_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    e = caught(missing.read_text)
    assert describe_failure(e) == f"{missing}: No such file or directory"
    assert failure_line(e) == f"error: {missing}: No such file or directory (run with --debug for the traceback)"
    e = caught(lambda: (tmp_path / "a").rename(tmp_path / "b"))
    assert describe_failure(e) == f"{tmp_path / 'a'} -> {tmp_path / 'b'}: No such file or directory"


def test_an_http_error_names_the_url_and_keeps_the_servers_message() -> None:
    body = io.BytesIO(b"each row needs 22 features;\n got 9")
    e = urllib.error.HTTPError("http://127.0.0.1:8080/invocations", 400, "Bad Request", Message(), body)
    assert describe_failure(e) == (
        "http://127.0.0.1:8080/invocations answered HTTP 400 Bad Request: each row needs 22 features; got 9"
    )
    silent = urllib.error.HTTPError("http://h/x", 503, "Service Unavailable", Message(), io.BytesIO(b""))
    assert describe_failure(silent) == "http://h/x answered HTTP 503 Service Unavailable"


def test_a_pydantic_error_names_the_model_and_the_field() -> None:
    class Endpoint(BaseModel):
        name: str
        weight: float

    e = caught(lambda: Endpoint.model_validate({"name": "a", "weight": "heavy"}))
    text = describe_failure(e)
    assert text.startswith("Endpoint.weight: Input should be a valid number") and "(got 'heavy')" in text
    both = caught(lambda: Endpoint.model_validate({}))
    assert describe_failure(both).endswith("and 1 more")


def test_parser_errors_are_one_line() -> None:
    e = caught(lambda: pd.read_csv(io.StringIO("1,2\n1,2,3\n"), header=None))
    assert describe_failure(e) == "ParserError: Error tokenizing data. C error: Expected 2 fields in line 2, saw 3"
    e = caught(lambda: json.loads('{"a": 1,\n}'))
    assert describe_failure(e).startswith("not valid JSON at line 2 column 1: ")


def test_a_long_message_is_cut() -> None:
    text = describe_failure(RuntimeError("x" * 1000))
    assert len(text) <= 300 and text.endswith("…") and "\n" not in text
    assert describe_failure(KeyError()) == "KeyError"


@pytest.mark.parametrize("reason", [ConnectionRefusedError(111, "Connection refused"), "timed out"])
def test_a_url_error_says_what_the_network_said(reason: object) -> None:
    assert describe_failure(urllib.error.URLError(reason)).startswith("network request failed: ")  # type: ignore[arg-type]
