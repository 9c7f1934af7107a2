"""The hosting commands' specs: ``--variant name=blue,model=m1,weight=1,instances=2``, ``--shadow …``,
``--capture sampling=100,dest=DIR`` (endpoint configs) and ``--variant blue=0.8:3`` (weights and
capacities), parsed into hosting records with errors that name the flag."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError as PydanticValidationError

from mlops.core.errors import ValidationError
from mlops.core.hosting import CaptureMode, DataCaptureConfig, ProductionVariant, ShadowProductionVariant
from mlops.core.ids import check_name
from mlops.core.key_value import key_values, parse_number, split_key_value
from mlops.services.hosting import capture_config, pydantic_error
from mlops.settings import Settings

VARIANT_KEYS = ("name", "model", "weight", "instances")
SHADOW_KEYS = ("name", "model", "sampling", "instances")
CAPTURE_KEYS = ("sampling", "dest", "mode", "csv", "json")


def _variant_spec(text: str, flag: str, keys: Sequence[str]) -> dict[str, str]:
    spec = key_values(text, flag, keys)
    if "name" not in spec or "model" not in spec:
        raise ValidationError(flag, f"{text!r} needs name=… and model=…")
    check_name("VariantName", spec["name"])
    return spec


def parse_variant(text: str) -> ProductionVariant:
    """``name=blue,model=churn-v1,weight=1,instances=2``."""
    spec = _variant_spec(text, "--variant", VARIANT_KEYS)
    weight = parse_number("weight", spec.get("weight", "1"), float)
    instances = parse_number("instances", spec.get("instances", "1"), int)
    try:
        return ProductionVariant(
            VariantName=spec["name"], ModelName=spec["model"], InitialVariantWeight=weight,
            InitialInstanceCount=instances,
        )  # fmt: skip
    except PydanticValidationError as e:
        raise pydantic_error("--variant", e) from None


def parse_shadow(text: str) -> ShadowProductionVariant:
    """``name=green,model=churn-v2,sampling=20,instances=1`` (sampling in percent of the requests)."""
    spec = _variant_spec(text, "--shadow", SHADOW_KEYS)
    sampling = parse_number("sampling", spec.get("sampling", "100").rstrip("%"), float)
    instances = parse_number("instances", spec.get("instances", "1"), int)
    try:
        return ShadowProductionVariant(
            VariantName=spec["name"], ModelName=spec["model"], SamplingPercentage=sampling,
            InitialInstanceCount=instances,
        )  # fmt: skip
    except PydanticValidationError as e:
        raise pydantic_error("--shadow", e) from None


def parse_capture(text: str, settings: Settings) -> DataCaptureConfig:
    """``sampling=100,dest=DIR|s3://…,mode=input+output,csv=text/csv,json=application/json``; like the
    SageMaker SDK, CSV and JSON payloads are captured as text (``csv=``/``json=`` name their types)."""
    spec = key_values(text, "--capture", CAPTURE_KEYS)
    modes = []
    for mode in spec.get("mode", "input+output").replace("|", "+").split("+"):
        if mode.strip().lower() not in ("input", "output"):
            raise ValidationError("--capture", f"mode {mode!r}: use input, output or input+output")
        modes.append(CaptureMode(mode.strip().capitalize()))
    return capture_config(
        spec.get("dest") or str(settings.paths.capture),
        parse_number("sampling", spec.get("sampling", "100").rstrip("%"), float),
        modes,
        tuple(t for t in spec.get("csv", "text/csv").split("+") if t),
        tuple(t for t in spec.get("json", "application/json+application/jsonlines").split("+") if t),
    )


def parse_weights(items: Sequence[str]) -> tuple[dict[str, float], dict[str, int]]:
    """``blue=0.8`` (a weight) or ``blue=0.8:3`` / ``blue=:3`` (weight and/or instance count)."""
    weights: dict[str, float] = {}
    counts: dict[str, int] = {}
    for item in items:
        name, value = split_key_value(item, "--variant", f"{item!r} is not VARIANT=WEIGHT[:INSTANCES]")
        weight, _, count = value.partition(":")
        if not weight and not count:
            raise ValidationError(
                "--variant", f"{item!r} gives neither a weight nor an instance count: VARIANT=WEIGHT[:INSTANCES]"
            )
        if weight:
            weights[name] = parse_number("--variant", weight, float)
        if count:
            counts[name] = parse_number("--variant", count, int)
    return weights, counts
