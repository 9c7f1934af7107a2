"""A host-side wheelhouse: the exact wheels an algorithm image installs, downloaded once on the host
with pip (so pip's own configuration applies, e.g. where it finds torch's CPU build) and staged into
the build context, so a ``docker build`` needs no network and installs what requirements.lock pins.

An algorithm names packages (no versions) in its ``requirements.txt``. Versions come from the lock;
the dependency closure comes from each wheel's own metadata, evaluated for the image's Python
(CPython 3.11 on x86_64 Linux: Debian bookworm's python3), so nothing is installed that the
algorithm does not need. CUDA libraries (``nvidia-*``) are left out: the images are CPU-only.
"""

from __future__ import annotations

import email.parser
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from mlops.core.errors import MlopsError, ValidationError

PYTHON_VERSION = (3, 11)
GLIBC_MINOR = 36  # Debian bookworm: glibc 2.36
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(GLIBC_MINOR, 16, -1)] + ["manylinux2014_x86_64"]
MARKER_ENVIRONMENT = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.2",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "python_full_version": "3.11.2",
    "python_version": "3.11",
    "sys_platform": "linux",
}
SKIPPED_PREFIXES = ("nvidia-",)  # CUDA runtime libraries: of no use in a CPU-only image
PINNED_FILE = "requirements.txt"  # written into the staged wheelhouse: one `name==version` a line


class WheelhouseError(MlopsError):
    """The wheels an image needs could not be found or downloaded."""


@dataclass(frozen=True, order=True)
class Pin:
    name: str  # canonical
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Lock:
    """requirements.lock as uv writes it: ``name==version`` lines, each followed by ``# via`` lines."""

    pins: dict[str, str]
    dependents: dict[str, frozenset[str]]  # package -> the packages it is pinned "via"

    @classmethod
    def read(cls, path: Path) -> Lock:
        if not path.is_file():
            raise WheelhouseError(f"{path} not found: images install the versions it pins")
        pins: dict[str, str] = {}
        via: dict[str, set[str]] = {}
        current: str | None = None
        for raw in path.read_text().splitlines():
            line = raw.strip()
            match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)", line)
            if match:
                current = canonicalize_name(match.group(1))
                pins[current] = match.group(2)
                via.setdefault(current, set())
                continue
            if current is None or not line.startswith("#"):
                continue
            text = line.lstrip("#").strip()
            if text.startswith("via"):
                text = text[3:].strip()
            if text and not text.startswith("-"):
                via[current].add(canonicalize_name(text.split()[0]))
        return cls(pins, {k: frozenset(v) for k, v in via.items()})

    def pin(self, name: str, wanted_by: str) -> Pin:
        key = canonicalize_name(name)
        if key not in self.pins:
            raise WheelhouseError(
                f"{name} (needed by {wanted_by}) is not pinned in requirements.lock; add it to requirements.in "
                "and re-lock"
            )
        return Pin(key, self.pins[key])

    def closure(self, roots: Iterable[str]) -> list[Pin]:
        """What the roots may pull in, by the lock's ``# via`` graph alone (no download): a superset of
        what gets installed (extras others asked for count too), cheap enough for an image digest."""
        needs: dict[str, set[str]] = {}
        for package, dependents in self.dependents.items():
            for dependent in dependents:
                needs.setdefault(dependent, set()).add(package)
        seen: set[str] = set()
        todo: list[str] = [canonicalize_name(r) for r in roots]
        while todo:
            name = todo.pop()
            if name in seen or name.startswith(SKIPPED_PREFIXES):
                continue
            seen.add(name)
            todo.extend(needs.get(name, ()))
        return sorted(self.pin(n, "requirements.txt") for n in seen)


def read_requirements(path: Path, lock: Lock) -> list[Requirement]:
    """An algorithm's requirements.txt: package names (extras allowed); a version, if given, must
    agree with the lock, which is where versions come from."""
    if not path.is_file():
        return []
    out: list[Requirement] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as e:
            raise ValidationError(f"{path}, line {number}", f"{line!r} is not a requirement: {e}") from None
        pin = lock.pin(req.name, str(path.name))
        if req.specifier and not req.specifier.contains(Version(pin.version), prereleases=True):
            raise ValidationError(
                f"{path}, line {number}", f"{line!r} disagrees with requirements.lock ({pin}); drop the version"
            )
        out.append(req)
    return out


def supported_tags() -> set[Tag]:
    return set(cpython_tags(PYTHON_VERSION, abis=["cp311"], platforms=PLATFORMS)) | set(
        compatible_tags(PYTHON_VERSION, interpreter="cp311", platforms=PLATFORMS)
    )


def _requires(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        metadata = email.parser.Parser().parsestr(z.read(name).decode("utf-8", errors="replace"))
    return [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]


class Wheelhouse:
    """A folder of wheels on the host, shared by every build (a cache: a second build downloads nothing)."""

    def __init__(self, folder: Path, lock: Lock, log: Callable[[str], None] = print) -> None:
        self.folder = folder
        self.lock = lock
        self.log = log
        self.downloaded = 0
        self._tags = supported_tags()

    def find(self, pin: Pin) -> Path | None:
        if not self.folder.is_dir():
            return None
        version = Version(pin.version)
        for path in sorted(self.folder.glob("*.whl")):
            try:
                name, wheel_version, _, tags = parse_wheel_filename(path.name)
            except ValueError:
                continue
            if name == pin.name and wheel_version == version and tags & self._tags:
                return path
        return None

    def download(self, pins: list[Pin]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log(f"downloading {len(pins)} wheel(s): {' '.join(str(p) for p in pins)}")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet"]
        command += ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
        for platform in PLATFORMS:
            command += ["--platform", platform]
        command += ["--dest", str(self.folder), *(str(p) for p in pins)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise WheelhouseError(
                "pip could not download " + " ".join(str(p) for p in pins) + ":\n" + done.stderr.strip()[-2000:]
            )
        self.downloaded += len(pins)

    def resolve(self, requirements: list[Requirement]) -> list[Path]:
        """The wheels of the requirements and everything they need (per wheel metadata, as pinned)."""
        wheels: dict[str, Path] = {}
        todo: list[tuple[str, frozenset[str], str]] = [
            (canonicalize_name(r.name), frozenset(r.extras), "requirements.txt") for r in requirements
        ]
        extras_seen: dict[str, set[frozenset[str]]] = {}
        while todo:
            level = [t for t in todo if frozenset() != t[1] or t[0] not in wheels]
            todo = []
            pins = {name: self.lock.pin(name, why) for name, _, why in level}
            missing = sorted({p for p in pins.values() if self.find(p) is None})
            if missing:
                self.download(missing)
            for name, extras, _ in level:
                if extras in extras_seen.setdefault(name, set()):
                    continue
                extras_seen[name].add(extras)
                path = self.find(pins[name])
                if path is None:
                    raise WheelhouseError(f"pip reported success but no wheel of {pins[name]} is in {self.folder}")
                wheels[name] = path
                for req in _requires(path):
                    dep = canonicalize_name(req.name)
                    if dep.startswith(SKIPPED_PREFIXES) or not _applies(req.marker, extras):
                        continue
                    todo.append((dep, frozenset(req.extras), name))
        return [wheels[n] for n in sorted(wheels)]


def _applies(marker: Marker | None, extras: frozenset[str]) -> bool:
    if marker is None:
        return True
    return any(marker.evaluate({**MARKER_ENVIRONMENT, "extra": extra}) for extra in (extras or {""}))
