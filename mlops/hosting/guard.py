"""Which requests the control process answers at all: the ``Host`` and ``Origin`` checks that keep a web
page in a browser from reaching it (DNS rebinding, cross-site requests).

- ``Host`` must name this machine's loopback (``localhost``, any 127.0.0.0/8 address, ``[::1]``; any
  port), the address the process is bound to when that is not loopback, or one of the configured names
  (``MLOPS_ROUTER_ALLOWED_HOSTS``). A page that rebinds its own name to 127.0.0.1 still sends its own
  name, and is refused. A request without ``Host`` (HTTP/1.0 tools) passes: browsers always send one.
- ``Origin``, when present, must be this process's own origin (``http://`` + an allowed host + its
  port). Browsers send it on cross-origin POSTs (including plain HTML forms, which need no CORS
  preflight); boto3, the CLI and other non-browser clients never do.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

LOOPBACK_NAMES = frozenset({"localhost"})
CACHE_SIZE = 256  # verdicts on header values remembered (parsing an address costs ~10 µs a request)


def _split_host(value: str) -> tuple[str, str | None]:
    """``name[:port]`` or ``[v6][:port]`` → (name lower-cased without brackets, port or None)."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        return name, rest[1:] if rest.startswith(":") else None
    name, sep, port = value.rpartition(":")
    if sep and ":" not in name:
        return name, port
    return value, None


def is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HostGuard:
    """The names this process answers to, and its port (for its own origin)."""

    names: frozenset[str]
    port: int
    _verdicts: dict[tuple[bytes, bytes], tuple[int, str] | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def for_bind(cls, bind_host: str, port: int, allowed: Iterable[str] = ()) -> HostGuard:
        names = {_split_host(a)[0] for a in allowed if a.strip()}
        bound = _split_host(bind_host)[0] if ":" not in bind_host or bind_host.startswith("[") else bind_host.lower()
        if bound not in ("0.0.0.0", "::", "") and not is_loopback(bound):
            names.add(bound)
        return cls(frozenset(names), port)

    def allows_host(self, value: str) -> bool:
        name, _ = _split_host(value)
        return is_loopback(name) or name in self.names

    def allows_origin(self, value: str) -> bool:
        scheme, sep, rest = value.strip().partition("://")
        if not sep or scheme.lower() != "http" or "/" in rest:
            return False  # "null" (sandboxed frames, file://), https://…, anything malformed
        name, port = _split_host(rest)
        return (is_loopback(name) or name in self.names) and (port or "80") == str(self.port)

    def refusal(self, headers: Iterable[tuple[bytes, bytes]]) -> tuple[int, str] | None:
        """(status, message) when the request must be refused, None when it may go on."""
        for key, raw in headers:
            if key == b"host" or key == b"origin":
                try:
                    verdict = self._verdicts[key, raw]
                except KeyError:
                    verdict = self._judge(key, raw)
                    if len(self._verdicts) < CACHE_SIZE:
                        self._verdicts[key, raw] = verdict
                if verdict is not None:
                    return verdict
        return None

    def _judge(self, key: bytes, raw: bytes) -> tuple[int, str] | None:
        value = raw.decode("latin-1")
        if key == b"host":
            if self.allows_host(value):
                return None
            return 421, (
                f"Host {value!r} is not a name of this server (loopback names and addresses"
                f"{', ' + ', '.join(sorted(self.names)) if self.names else ''}); if you reached it "
                "under another name on purpose, add that name to MLOPS_ROUTER_ALLOWED_HOSTS"
            )
        if self.allows_origin(value):
            return None
        return 403, (
            f"requests from the web origin {value!r} are refused: only non-browser clients "
            "(the mlops CLI, boto3, the SageMaker SDK) and this server's own origin may call it"
        )
