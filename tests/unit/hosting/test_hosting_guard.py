"""The Host and Origin checks that keep browser pages (DNS rebinding, cross-site forms) away."""

from __future__ import annotations

import pytest

from mlops.hosting.guard import HostGuard

LOOPBACK = HostGuard.for_bind("127.0.0.1", 8085)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8085", "127.0.0.1", "127.0.0.1:9", "127.1.2.3:8085",
                                  "[::1]", "[::1]:8085"])
def test_loopback_names_and_addresses_pass(host: str) -> None:
    assert LOOPBACK.allows_host(host)


@pytest.mark.parametrize("host", ["rebound.example", "rebound.example:8085", "localhost.evil.example",
                                  "127.0.0.1.evil.example", "localhost:8085:x", "[::2]:8085", "0.0.0.0:8085",
                                  "10.0.0.5:8085", ""])
def test_other_names_are_refused(host: str) -> None:
    assert not LOOPBACK.allows_host(host)
    refusal = LOOPBACK.refusal([(b"host", host.encode())])
    assert refusal is not None and refusal[0] == 421


def test_a_bound_interface_and_configured_names_pass_when_listening_beyond_loopback() -> None:
    guard = HostGuard.for_bind("10.0.0.5", 8085, ["models.internal", " Router.Lan:8085 ", ""])
    for host in ("10.0.0.5:8085", "models.internal", "router.lan:8085", "localhost:8085"):
        assert guard.allows_host(host), host
    assert not guard.allows_host("rebound.example")
    everywhere = HostGuard.for_bind("0.0.0.0", 8085)
    assert everywhere.names == frozenset() and not everywhere.allows_host("0.0.0.0:8085")


@pytest.mark.parametrize("origin,allowed", [
    ("http://localhost:8085", True), ("http://127.0.0.1:8085", True), ("http://[::1]:8085", True),
    ("http://localhost:3000", False), ("http://localhost", False), ("https://localhost:8085", False),
    ("null", False), ("http://attacker.example", False), ("http://localhost:8085/path", False), ("", False),
])
def test_only_the_servers_own_origin_passes(origin: str, allowed: bool) -> None:
    assert LOOPBACK.allows_origin(origin) is allowed
    refusal = LOOPBACK.refusal([(b"host", b"localhost:8085"), (b"origin", origin.encode())])
    assert (refusal is None) is allowed
    if refusal is not None:
        assert refusal[0] == 403


def test_requests_without_host_or_origin_pass() -> None:
    assert LOOPBACK.refusal([(b"content-type", b"text/csv")]) is None
