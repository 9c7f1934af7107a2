"""Finding the processes a test started, by what their environment says (for orphan checks), and the
sockets a tree of processes listens on (for the loopback-only promise of SECURITY.md)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass


def live_processes_whose_environment(matches: Callable[[dict[str, str]], bool]) -> list[str]:
    """``"PID command"`` of every live (not zombie) process whose environment ``matches``."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if matches(process.environ()) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{process.pid} {' '.join(process.info['cmdline'] or [])[:120]}")
        except (psutil.Error, OSError):
            continue
    return found


@dataclass(frozen=True)
class Listener:
    """A socket a process accepts connections or datagrams on."""

    pid: int
    command: str
    protocol: str  # "tcp" or "udp"
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        ip = ipaddress.ip_address(self.address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.is_loopback

    def __str__(self) -> str:
        where = f"[{self.address}]" if ":" in self.address else self.address
        return f"pid {self.pid} ({self.command}) listens on {where}:{self.port}/{self.protocol}"


def process_tree(pids: Iterable[int]) -> list[int]:
    """The given live processes and all their descendants, each once."""
    import psutil

    found: dict[int, None] = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            found[root.pid] = None
            for child in root.children(recursive=True):
                found[child.pid] = None
        except psutil.NoSuchProcess:
            continue
    return list(found)


def listeners(pids: Iterable[int]) -> list[Listener]:
    """Every listening TCP socket and every unconnected (receiving) UDP socket of the given processes."""
    import psutil

    found = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            command = " ".join(" ".join(process.cmdline()).split())[:100] or process.name()
            parent = process.parent()
            if parent is not None:
                command += f", child of {' '.join(' '.join(parent.cmdline()).split())[:60]}"
            connections = process.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue  # ended while we looked
        for c in connections:
            tcp = c.type == socket.SOCK_STREAM
            if (tcp and c.status == psutil.CONN_LISTEN) or (not tcp and not c.raddr):
                found.append(Listener(pid, command, "tcp" if tcp else "udp", c.laddr.ip, c.laddr.port))
    return found
