"""What an algorithm's model server reads and answers, from its ``algorithm.json``.

The algorithm folder (``/opt/program`` in an image) holds ``algorithm.json`` beside the code; its
``InferenceSpecification`` names the request types (``SupportedContentTypes``), the answer types
(``SupportedResponseMIMETypes``) and the answer type of a request without an Accept header
(``DefaultResponseMIMEType``; none: the request's own type). A handler reads it once and hands the
lists to ``payloads.decode_features`` / ``payloads.encode_predictions``, so a type the algorithm does
not declare gets 415 naming the declared ones, and the file is the one place that says it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mlops.contract.errors import AlgorithmError


@dataclass(frozen=True)
class InferenceTypes:
    SupportedContentTypes: tuple[str, ...]
    SupportedResponseMIMETypes: tuple[str, ...]
    DefaultResponseMIMEType: str | None = None

    @classmethod
    def load(cls, path: Path) -> InferenceTypes:
        """``path``: an algorithm.json. An error names the file and the field."""
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))["InferenceSpecification"]
            types = cls(
                tuple(spec["SupportedContentTypes"]),
                tuple(spec["SupportedResponseMIMETypes"]),
                spec.get("DefaultResponseMIMEType"),
            )
        except (OSError, ValueError) as e:
            raise AlgorithmError(f"{path}: {e}") from None
        except (KeyError, TypeError) as e:
            raise AlgorithmError(f"{path}: InferenceSpecification needs {e}") from None
        fields = (*types.SupportedContentTypes, *types.SupportedResponseMIMETypes)
        if (
            not types.SupportedContentTypes
            or not types.SupportedResponseMIMETypes
            or any(not isinstance(t, str) for t in fields)
        ):
            raise AlgorithmError(f"{path}: SupportedContentTypes and SupportedResponseMIMETypes must list types")
        if types.DefaultResponseMIMEType not in (None, *types.SupportedResponseMIMETypes):
            default = types.DefaultResponseMIMEType
            raise AlgorithmError(f"{path}: DefaultResponseMIMEType {default!r} is not in SupportedResponseMIMETypes")
        return types
