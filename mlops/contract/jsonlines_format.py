"""application/jsonlines: one JSON instance per line, in SageMaker's shapes.

A line is one instance in any of SageMaker's shapes (``instances.py``): ``{"features": [1.5, 2.0],
"label": 1}``, a bare array ``[1.5, 2.0]`` (features only), the protocol-buffers equivalent, dense or
sparse ``{"features": {"keys": [3, 17], "shape": [100], "values": [1.0, 2.5]}}``; any of the object
forms may be wrapped as ``{"data": {...}}``. ``null`` features become NaN. The label is a number or a list
of numbers (y gets shape (n, k) then); y is None when no line has a label or label_size=0.
"""

from __future__ import annotations

import json
from typing import BinaryIO

import numpy as np

from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError
from mlops.contract.instances import RowStack, add_instance, numbers


def read_jsonlines(stream: BinaryIO, channel: str, file: str, label_size: int = 1) -> LabeledData:
    stack = RowStack()
    labels: list[np.ndarray] = []
    missing_label: int | None = None
    for number, line in enumerate(stream.read().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            label = add_instance(stack, json.loads(line))
            if not label_size:
                continue
            if label is None:
                missing_label = missing_label or number
            else:
                values = numbers(label if isinstance(label, list) else [label], '"label"')
                if labels and len(values) != len(labels[0]):
                    raise ValueError(f"label has {len(values)} values, earlier labels have {len(labels[0])}")
                labels.append(values)
        except json.JSONDecodeError as e:
            raise ChannelDataError(channel, file, f"not valid JSON: {e.msg} (column {e.colno})", number) from None
        except (ValueError, UnicodeDecodeError) as e:
            raise ChannelDataError(channel, file, str(e), number) from None
        except RecursionError:
            raise ChannelDataError(channel, file, "JSON nested too deeply", number) from None
        if labels and missing_label is not None:
            raise ChannelDataError(channel, file, 'no "label", while other lines have one', missing_label)
    y = None
    if labels:
        y = np.stack(labels)
        if y.shape[1] == 1:
            y = y[:, 0].copy()
    return LabeledData(stack.matrix(), y)
