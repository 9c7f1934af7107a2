"""The home's control credentials: one AWS-style key pair that every client of the control API sends.

``HOME/credentials`` is in the AWS shared-credentials format (profile ``default``), so the SageMaker-API
edge can later verify SigV4 signatures made with the same pair (and boto3 can read the file through
``AWS_SHARED_CREDENTIALS_FILE``). It is created once, on first use by the control process or a client,
with mode 0600 from the start (a temporary file of its own, linked into place: never world-readable,
and two first users cannot end up with different pairs). A file that group or others can read, or that
another user owns, is refused with an error saying how to fix it.

For now a client sends ``Authorization: MLOPS-SECRET-KEY ACCESS_KEY_ID:SECRET_ACCESS_KEY`` and the
control process compares both halves in constant time (:meth:`ControlCredentials.check`).
"""

from __future__ import annotations

import base64
import configparser
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from mlops.core.errors import MlopsError
from mlops.core.home import Home
from mlops.hosting.store import create_exclusive

PROFILE = "default"
SCHEME = "MLOPS-SECRET-KEY"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # AWS access key ids: upper-case base32


class CredentialsError(MlopsError):
    """The credentials file cannot be used (unsafe permissions, another owner, malformed)."""


class AuthCheck(Enum):
    OK = "ok"
    MISSING = "missing"  # no Authorization header, or not our scheme
    WRONG = "wrong"  # our scheme, but not this home's key pair


@dataclass(frozen=True)
class ControlCredentials:
    """AWS's names: an access key id (public, says which key) and its secret access key."""

    AccessKeyId: str
    SecretAccessKey: str = field(repr=False)
    path: Path | None = field(default=None, compare=False)

    @classmethod
    def generate(cls) -> ControlCredentials:
        key_id = "AKIA" + "".join(secrets.choice(_ALPHABET) for _ in range(16))
        secret = base64.b64encode(secrets.token_bytes(30)).decode()  # 40 characters, as AWS's
        return cls(key_id, secret)

    @classmethod
    def for_home(cls, home: Path) -> ControlCredentials:
        """The home's key pair, created (mode 0600) if the home has none yet."""
        path = Home(home).credentials
        if not path.exists():
            fresh = cls.generate()
            create_exclusive(path, fresh.file_text())  # False: another process created it first; read theirs
        return cls.read(path)

    @classmethod
    def read(cls, path: Path) -> ControlCredentials:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise CredentialsError(f"{path} does not exist; start the control process (`mlops router`)") from None
        with os.fdopen(fd) as f:
            info = os.fstat(f.fileno())
            if info.st_uid != os.getuid():
                raise CredentialsError(
                    f"{path} is owned by uid {info.st_uid}, not by you (uid {os.getuid()}); "
                    f"refusing to use another user's credentials: remove it and run again to create your own"
                )
            if info.st_mode & 0o077:
                raise CredentialsError(
                    f"{path} can be read or written by group or others (mode {stat.S_IMODE(info.st_mode):04o}); "
                    f"run `chmod 600 {path}`"
                )
            text = f.read()
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text, source=str(path))
        except configparser.Error as e:
            raise CredentialsError(f"{path} is not an AWS credentials file: {e}") from None
        if not parser.has_section(PROFILE):
            raise CredentialsError(f"{path} has no [{PROFILE}] profile")
        values = []
        for key in ("aws_access_key_id", "aws_secret_access_key"):
            value = parser.get(PROFILE, key, fallback="").strip()
            if not value:
                raise CredentialsError(f"{path}: [{PROFILE}] has no {key}")
            values.append(value)
        return cls(values[0], values[1], path)

    def file_text(self) -> str:
        return (
            "# The control API's credentials for this mlops home. Keep them private (mode 0600).\n"
            f"[{PROFILE}]\n"
            f"aws_access_key_id = {self.AccessKeyId}\n"
            f"aws_secret_access_key = {self.SecretAccessKey}\n"
        )

    def authorization(self) -> str:
        """The ``Authorization`` header value a client sends."""
        return f"{SCHEME} {self.AccessKeyId}:{self.SecretAccessKey}"

    def check(self, header: bytes | None) -> AuthCheck:
        """Whether an ``Authorization`` header value holds this key pair (constant-time comparisons)."""
        if not header:
            return AuthCheck.MISSING
        scheme, _, rest = header.strip().partition(b" ")
        if scheme.upper() != SCHEME.encode():
            return AuthCheck.MISSING
        key_id, sep, secret = rest.strip().partition(b":")
        same_id = hmac.compare_digest(key_id, self.AccessKeyId.encode())
        same_secret = hmac.compare_digest(secret, self.SecretAccessKey.encode())
        return AuthCheck.OK if sep and same_id and same_secret else AuthCheck.WRONG
