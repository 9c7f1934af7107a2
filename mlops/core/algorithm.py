"""Algorithm specifications, shaped after SageMaker's CreateAlgorithm (TrainingSpecification and
InferenceSpecification), and the hyperparameter check that runs before any job starts."""

from __future__ import annotations

import difflib
import math
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from mlops.core.datasets import ProblemType
from mlops.core.errors import ValidationError
from mlops.core.training import MetricDefinition, TrainingInputMode
from mlops.core.tuning import (
    CategoricalParameterRange,
    ContinuousParameterRange,
    IntegerParameterRange,
    ParameterRanges,
)
from mlops.core.tuning import ObjectiveType as ObjectiveType  # its home before core.tuning had one

# Fields carry SageMaker's names, which are also the names of their types; the `<Name>T` aliases
# after a class let an annotation name the type where a field of the same name shadows it.


# An ECR repository name (lower-case components joined by `.`, `_`, `-`, separated by `/`).
ECR_REPOSITORY_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$"


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


class TuningObjective(_Spec):
    Type: ObjectiveType
    MetricName: str


class TrainingSpecification(_Spec):
    SupportedHyperParameters: tuple[HyperParameterSpecification, ...] = ()
    MetricDefinitions: tuple[MetricDefinition, ...] = ()
    TrainingChannels: tuple[ChannelSpecification, ...] = ()
    SupportedTuningJobObjectiveMetrics: tuple[TuningObjective, ...] = ()


TrainingSpecificationT = TrainingSpecification
ProblemTypeT = ProblemType
ParameterRangesT = ParameterRanges


class ProblemTypeSpecification(_Spec):
    """Ours: what the algorithm does for one problem type (Autopilot's ProblemType names): the objective
    tuning optimises unless told otherwise, and the hyperparameters a dataset of that type sets."""

    ProblemType: ProblemTypeT
    DefaultTuningJobObjective: TuningObjective  # SageMaker's HyperParameterTuningJobObjective shape
    HyperParameters: dict[str, str] = Field(default_factory=dict)
    # The hyperparameter set to the dataset's number of classes (num_class, num_classes), if any.
    ClassCountHyperParameter: str | None = None


class DefaultTuning(_Spec):
    """Ours: how the training pipeline tunes the algorithm when its form only names it."""

    StaticHyperParameters: dict[str, str] = Field(default_factory=dict)  # as in SageMaker's TrainingJobDefinition
    ParameterRanges: ParameterRangesT  # SageMaker's shape, as in a HyperParameterTuningJobConfig
    # The hyperparameters of a run without tuning (the pipeline's tuning strategy "none"), over the static ones.
    HyperParametersWithoutTuning: dict[str, str] = Field(default_factory=dict)


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


DefaultTuningT = DefaultTuning


class AlgorithmSpec(_Spec):
    AlgorithmName: str
    AlgorithmVersion: str = "1"
    AlgorithmDescription: str = ""
    TrainingSpecification: TrainingSpecificationT
    InferenceSpecification: InferenceSpecificationT
    # Our extension: the hyperparameter that counts a job's steps (num_round, epochs), which Hyperband sets.
    TuningResourceHyperParameter: str | None = None
    # Ours: the problem types the algorithm trains for, and the training pipeline's default search.
    SupportedProblemTypes: tuple[ProblemTypeSpecification, ...] = ()
    DefaultTuning: DefaultTuningT | None = None
    # Ours: the repositories of SageMaker's built-in images this algorithm stands for (sagemaker-xgboost):
    # a TrainingImage in one of them, in SageMaker's registry of its region, runs this algorithm.
    SageMakerImageRepositories: tuple[
        Annotated[str, StringConstraints(max_length=256, pattern=ECR_REPOSITORY_PATTERN)], ...
    ] = ()
    # Where the algorithm's folder lives (set by the catalog when loading, never in the file).
    Folder: str | None = Field(default=None, exclude=True)

    def hyperparameter(self, name: str) -> HyperParameterSpecification | None:
        for hp in self.TrainingSpecification.SupportedHyperParameters:
            if hp.Name == name:
                return hp
        return None

    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.Name for m in self.TrainingSpecification.MetricDefinitions)

    def problem_type(self, problem: ProblemType | str) -> ProblemTypeSpecification | None:
        for entry in self.SupportedProblemTypes:
            if entry.ProblemType == problem:
                return entry
        return None

    @model_validator(mode="after")
    def _extensions_match_the_training_specification(self) -> AlgorithmSpec:
        _check_resource(self)
        _check_problem_types(self)
        _check_default_tuning(self)
        return self


def _declared(spec: AlgorithmSpec, field: str, name: str, kind: ParameterType | None = None) -> None:
    hp = spec.hyperparameter(name)
    if hp is None:
        raise ValidationError(field, f"{name!r} is not among TrainingSpecification.SupportedHyperParameters")
    if kind is not None and hp.Type is not kind:
        raise ValidationError(field, f"{name!r} is a {hp.Type.value} hyperparameter, not {kind.value}")


def _check_values(spec: AlgorithmSpec, field: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        try:
            check_hyperparameter(spec, name, value)
        except ValidationError as e:
            raise ValidationError(f"{field}.{name}", e.message) from None


def _check_resource(spec: AlgorithmSpec) -> None:
    if spec.TuningResourceHyperParameter is not None:
        _declared(spec, "TuningResourceHyperParameter", spec.TuningResourceHyperParameter, ParameterType.Integer)


def _check_problem_types(spec: AlgorithmSpec) -> None:
    declared = {o.MetricName: o.Type for o in spec.TrainingSpecification.SupportedTuningJobObjectiveMetrics}
    seen: set[str] = set()
    for entry in spec.SupportedProblemTypes:
        field = f"SupportedProblemTypes[{entry.ProblemType.value}]"
        if entry.ProblemType in seen:
            raise ValidationError(field, "the problem type is listed twice")
        seen.add(entry.ProblemType)
        objective = entry.DefaultTuningJobObjective
        if objective.MetricName not in declared:
            raise ValidationError(
                f"{field}.DefaultTuningJobObjective",
                f"{objective.MetricName!r} is not among TrainingSpecification.SupportedTuningJobObjectiveMetrics: "
                + ", ".join(declared),
            )
        direction = declared[objective.MetricName]
        if direction is not objective.Type:
            raise ValidationError(
                f"{field}.DefaultTuningJobObjective",
                f"{objective.MetricName!r} is declared {direction.value}, not {objective.Type.value}",
            )
        _check_values(spec, f"{field}.HyperParameters", entry.HyperParameters)
        if entry.ClassCountHyperParameter is not None:
            _declared(spec, f"{field}.ClassCountHyperParameter", entry.ClassCountHyperParameter, ParameterType.Integer)


_RANGE_KINDS = {
    ContinuousParameterRange: ParameterType.Continuous,
    IntegerParameterRange: ParameterType.Integer,
    CategoricalParameterRange: ParameterType.Categorical,
}


AnyRange = ContinuousParameterRange | IntegerParameterRange | CategoricalParameterRange


def _each(ranges: ParameterRanges) -> tuple[AnyRange, ...]:
    return (*ranges.ContinuousParameterRanges, *ranges.IntegerParameterRanges, *ranges.CategoricalParameterRanges)


def check_ranges(spec: AlgorithmSpec, ranges: ParameterRanges, field: str) -> None:
    """Every range names a hyperparameter the algorithm declares, with bounds (or values) it accepts."""
    for r in _each(ranges):
        where = f"{field} {r.Name}"
        if spec.hyperparameter(r.Name) is None:
            check_hyperparameter(spec, r.Name, "")  # raises with the known names and a suggestion
        values = r.Values if isinstance(r, CategoricalParameterRange) else (r.MinValue, r.MaxValue)
        for value in values:
            try:
                check_hyperparameter(spec, r.Name, value)
            except ValidationError as e:
                raise ValidationError(where, f"bound {value!r} is not valid: {e.message}") from None


def _check_default_tuning(spec: AlgorithmSpec) -> None:
    tuning = spec.DefaultTuning
    if tuning is None:
        return
    if not spec.SupportedProblemTypes:
        raise ValidationError("DefaultTuning", "needs SupportedProblemTypes: their default objectives are tuned")
    field = "DefaultTuning.ParameterRanges"
    ranges = tuning.ParameterRanges
    for name in ranges.names():
        _declared(spec, f"{field} {name}", name)
    check_ranges(spec, ranges, field)
    for r in _each(ranges):
        hp = spec.hyperparameter(r.Name)
        assert hp is not None
        if not hp.IsTunable:
            raise ValidationError(f"{field} {r.Name}", "the hyperparameter is declared IsTunable false")
        if hp.Type is not _RANGE_KINDS[type(r)]:
            raise ValidationError(
                f"{field} {r.Name}", f"a {hp.Type.value} hyperparameter takes no {_RANGE_KINDS[type(r)].value} range"
            )
    _check_values(spec, "DefaultTuning.StaticHyperParameters", tuning.StaticHyperParameters)
    _check_values(spec, "DefaultTuning.HyperParametersWithoutTuning", tuning.HyperParametersWithoutTuning)
    tuned = set(ranges.names()) & set(tuning.StaticHyperParameters)
    if tuned:
        raise ValidationError("DefaultTuning.StaticHyperParameters", f"{', '.join(sorted(tuned))} also tuned")


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
