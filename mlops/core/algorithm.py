"""Algorithm specifications, shaped after SageMaker's CreateAlgorithm (TrainingSpecification and
InferenceSpecification), and the hyperparameter check that runs before any job starts."""

from __future__ import annotations

import difflib
import math
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlops.core.errors import ValidationError
from mlops.core.training import MetricDefinition, TrainingInputMode

# Fields carry SageMaker's names, which are also the names of their types; the `<Name>T` aliases
# after a class let an annotation name the type where a field of the same name shadows it.


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class ParameterType(StrEnum):
    Integer = "Integer"
    Continuous = "Continuous"
    Categorical = "Categorical"
    FreeText = "FreeText"


class NumericRangeSpecification(_Spec):
    MinValue: str
    MaxValue: str


class CategoricalRangeSpecification(_Spec):
    Values: tuple[str, ...]


class ParameterRange(_Spec):
    IntegerParameterRangeSpecification: NumericRangeSpecification | None = None
    ContinuousParameterRangeSpecification: NumericRangeSpecification | None = None
    CategoricalParameterRangeSpecification: CategoricalRangeSpecification | None = None


class HyperParameterSpecification(_Spec):
    Name: str
    Description: str = ""
    Type: ParameterType
    Range: ParameterRange | None = None
    IsTunable: bool = True
    IsRequired: bool = False
    DefaultValue: str | None = None
    # Our extension: literal values accepted besides the numeric range, e.g. "auto".
    SpecialValues: tuple[str, ...] = ()

    def describe_range(self) -> str:
        r = self.Range
        if r is None:
            return "any value" if self.Type is ParameterType.FreeText else f"any {self.Type.value.lower()}"
        if r.CategoricalParameterRangeSpecification is not None:
            text = "one of " + ", ".join(r.CategoricalParameterRangeSpecification.Values)
        else:
            numeric = r.IntegerParameterRangeSpecification or r.ContinuousParameterRangeSpecification
            assert numeric is not None
            kind = "an integer" if self.Type is ParameterType.Integer else "a number"
            text = f"{kind} in [{numeric.MinValue}, {numeric.MaxValue}]"
        if self.SpecialValues:
            text += " or " + ", ".join(repr(v) for v in self.SpecialValues)
        return text


class ChannelSpecification(_Spec):
    Name: str
    Description: str = ""
    IsRequired: bool = False
    SupportedContentTypes: tuple[str, ...]
    SupportedCompressionTypes: tuple[str, ...] = ("None",)
    SupportedInputModes: tuple[TrainingInputMode, ...] = (TrainingInputMode.File,)


class ObjectiveType(StrEnum):
    Maximize = "Maximize"
    Minimize = "Minimize"


class TuningObjective(_Spec):
    Type: ObjectiveType
    MetricName: str


class TrainingSpecification(_Spec):
    SupportedHyperParameters: tuple[HyperParameterSpecification, ...] = ()
    MetricDefinitions: tuple[MetricDefinition, ...] = ()
    TrainingChannels: tuple[ChannelSpecification, ...] = ()
    SupportedTuningJobObjectiveMetrics: tuple[TuningObjective, ...] = ()


TrainingSpecificationT = TrainingSpecification


class ResponseFormat(_Spec):
    """Our extension: what the model server answers in one response MIME type, for people
    (``mlops algorithms describe``) and checked against the real server by a test."""

    MIMEType: str
    Answer: str  # in words, for each kind of model the algorithm trains
    # Each row's fields in order (JSON keys, CSV columns, RecordIO label keys), for a binary classifier.
    Fields: tuple[str, ...]
    Example: str | None = None  # a binary classifier's answer to two rows (text types only)


class InferenceSpecification(_Spec):
    SupportedContentTypes: tuple[str, ...]
    SupportedResponseMIMETypes: tuple[str, ...]
    # Our extensions: the answer type of a request with no Accept header (None: the request's own
    # content type) and what each response type holds.
    DefaultResponseMIMEType: str | None = None
    ResponseFormats: tuple[ResponseFormat, ...] = ()
    # Ours: the files a model.tar.gz of this algorithm holds at its top (checked when a model is created).
    ModelArtifactFiles: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _documented_types_are_supported(self) -> InferenceSpecification:
        documented = [f.MIMEType for f in self.ResponseFormats]
        if self.DefaultResponseMIMEType is not None:
            documented.append(self.DefaultResponseMIMEType)
        unknown = [t for t in documented if t not in self.SupportedResponseMIMETypes]
        if unknown:
            raise ValueError(f"{unknown} not in SupportedResponseMIMETypes {list(self.SupportedResponseMIMETypes)}")
        return self


InferenceSpecificationT = InferenceSpecification


class AlgorithmSpec(_Spec):
    AlgorithmName: str
    AlgorithmVersion: str = "1"
    AlgorithmDescription: str = ""
    TrainingSpecification: TrainingSpecificationT
    InferenceSpecification: InferenceSpecificationT
    # Our extension: the hyperparameter that counts a job's steps (num_round, epochs), which Hyperband sets.
    TuningResourceHyperParameter: str | None = None
    # Where the algorithm's folder lives (set by the catalog when loading, never in the file).
    Folder: str | None = Field(default=None, exclude=True)

    def hyperparameter(self, name: str) -> HyperParameterSpecification | None:
        for hp in self.TrainingSpecification.SupportedHyperParameters:
            if hp.Name == name:
                return hp
        return None

    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.Name for m in self.TrainingSpecification.MetricDefinitions)


def _check_value(hp: HyperParameterSpecification, value: str) -> None:
    field = f"hyperparameter {hp.Name}"
    if value in hp.SpecialValues or (hp.Type is ParameterType.FreeText and hp.Range is None):
        return
    r = hp.Range
    if hp.Type is ParameterType.Categorical:
        if r is not None and r.CategoricalParameterRangeSpecification is not None:
            allowed = r.CategoricalParameterRangeSpecification.Values
            if value not in allowed:
                raise ValidationError(field, f"{value!r} is not allowed; valid: {hp.describe_range()}")
        return
    if hp.Type is ParameterType.Integer:
        try:
            number: float = int(value)
        except ValueError:
            raise ValidationError(field, f"{value!r} is not an integer; valid: {hp.describe_range()}") from None
    else:
        try:
            number = float(value)
        except ValueError:
            raise ValidationError(field, f"{value!r} is not a number; valid: {hp.describe_range()}") from None
        if math.isnan(number):
            raise ValidationError(field, f"NaN is not allowed; valid: {hp.describe_range()}")
    numeric = None
    if r is not None:
        numeric = r.IntegerParameterRangeSpecification or r.ContinuousParameterRangeSpecification
    if numeric is not None and not float(numeric.MinValue) <= number <= float(numeric.MaxValue):
        raise ValidationError(field, f"{value} is out of range; valid: {hp.describe_range()}")


def check_hyperparameter(spec: AlgorithmSpec, name: str, value: str) -> None:
    """Refuse an unknown name, a wrong type or an out-of-range value, naming the parameter."""
    hp = spec.hyperparameter(name)
    if hp is None:
        known = [h.Name for h in spec.TrainingSpecification.SupportedHyperParameters]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValidationError(
            f"hyperparameter {name}",
            f"unknown to algorithm {spec.AlgorithmName!r}{hint} Known: {', '.join(sorted(known))}",
        )
    if not isinstance(value, str):
        raise ValidationError(f"hyperparameter {name}", "values are passed as strings")
    _check_value(hp, value)


def validate_hyperparameters(spec: AlgorithmSpec, given: dict[str, str]) -> dict[str, str]:
    """Refuse unknown names, wrong types, out-of-range values and missing required ones.

    Returns the hyperparameters as given (strings, as SageMaker passes them); defaults stay the
    algorithm's business, as in SageMaker.
    """
    for name, value in given.items():
        check_hyperparameter(spec, name, value)
    for hp in spec.TrainingSpecification.SupportedHyperParameters:
        if hp.IsRequired and hp.Name not in given:
            raise ValidationError(f"hyperparameter {hp.Name}", f"is required; valid: {hp.describe_range()}")
    return dict(given)


def validate_channels(spec: AlgorithmSpec, channels: dict[str, str]) -> None:
    """``channels`` maps channel name to content type. Refuse unknown or missing required channels."""
    specs = {c.Name: c for c in spec.TrainingSpecification.TrainingChannels}
    for name, content_type in channels.items():
        cs = specs.get(name)
        if cs is None:
            raise ValidationError(
                f"channel {name}",
                f"unknown to algorithm {spec.AlgorithmName!r}; known: {', '.join(specs) or 'none'}",
            )
        base_type = content_type.split(";")[0].strip()
        if base_type not in cs.SupportedContentTypes:
            raise ValidationError(
                f"channel {name}",
                f"content type {content_type!r} not supported; supported: {', '.join(cs.SupportedContentTypes)}",
            )
    for cs in specs.values():
        if cs.IsRequired and cs.Name not in channels:
            raise ValidationError(f"channel {cs.Name}", "is required but was not given")
