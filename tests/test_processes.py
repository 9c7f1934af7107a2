"""The socket detector the loopback tests rely on: it must see a wildcard listener, tell loopback from
everything else (IPv4, IPv6, IPv4-mapped, scoped addresses) and follow a process's children."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tests.processes import Listener, listeners, process_tree


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.53", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("::ffff:0.0.0.0", False),
        ("::ffff:10.1.2.3", False),
        ("10.1.2.3", False),
        ("fe80::1%eth0", False),
    ],
)
def test_loopback_is_127_0_0_0_8_and_1_only(address: str, loopback: bool) -> None:
    assert Listener(1, "x", "tcp", address, 80).loopback is loopback


def test_an_address_that_is_not_one_is_an_error() -> None:
    with pytest.raises(ValueError):
        _ = Listener(1, "x", "tcp", "localhost", 80).loopback


def _bound(family: socket.AddressFamily, kind: socket.SocketKind, host: str) -> socket.socket:
    s = socket.socket(family, kind)
    s.bind((host, 0))
    if kind == socket.SOCK_STREAM:
        s.listen()
    return s


def test_sees_this_process_s_wildcard_and_loopback_listeners() -> None:
    opened = [
        _bound(socket.AF_INET, socket.SOCK_STREAM, "0.0.0.0"),
        _bound(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1"),
        _bound(socket.AF_INET, socket.SOCK_DGRAM, "0.0.0.0"),
    ]
    if socket.has_ipv6:
        opened.append(_bound(socket.AF_INET6, socket.SOCK_STREAM, "::"))
    connected = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    connected.connect(("127.0.0.1", opened[1].getsockname()[1]))  # a client socket: not a listener
    try:
        seen = {(x.protocol, x.port): x for x in listeners([os.getpid()])}
        wildcard, local, datagram = (s.getsockname()[1] for s in opened[:3])
        assert not seen[("tcp", wildcard)].loopback
        assert seen[("tcp", local)].loopback
        assert not seen[("udp", datagram)].loopback
        assert ("udp", connected.getsockname()[1]) not in seen
        if socket.has_ipv6:
            assert seen[("tcp", opened[3].getsockname()[1])].address == "::"
        assert "0.0.0.0:" in str(seen[("tcp", wildcard)])
    finally:
        for s in [*opened, connected]:
            s.close()


def test_follows_children_and_skips_pids_that_are_gone() -> None:
    code = (
        "import socket,time; s=socket.socket(); s.bind(('0.0.0.0',0)); s.listen();"
        " print(s.getsockname()[1], flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess,sys; subprocess.run([sys.executable,'-c',{code!r}])"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        port = int(parent.stdout.readline())
        tree = process_tree([parent.pid, 2**22 + 1])
        assert parent.pid in tree and len(tree) == 2
        found = [x for x in listeners(tree) if x.port == port]
        assert len(found) == 1 and found[0].pid != parent.pid and not found[0].loopback
        assert "child of" in found[0].command
    finally:
        for pid in reversed(process_tree([parent.pid])):
            os.kill(pid, 9)
        parent.wait()
