"""Fuzzing a whole training channel (channels.py): every file of a channel in File mode, in any content
type, read into one LabeledData, or a ChannelDataError / UnsupportedContentTypeError naming the channel.

Seeds: the files of every reader's seeds folder, mixed in one channel.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mlops.contract.channels import read_channel, reader_for
from mlops.contract.config import ChannelConfig
from mlops.contract.csv_format import label_size_of
from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError, UnsupportedContentTypeError
from mlops.contract.layout import Layout
from tests.fuzz.formats import JSON_TOKENS, LIBSVM_TOKENS, csv_files, jsonlines_files, libsvm_files, recordio_files
from tests.fuzz.mutations import mutated
from tests.fuzz.rules import check_labeled, counted, examples, parse_or_named, seeds

TYPES = {
    "text/csv": csv_files().map(lambda f: f[0]) | st.sampled_from(seeds("csv")),
    "text/libsvm": libsvm_files().map(lambda f: f[0]) | st.sampled_from(seeds("libsvm")),
    "application/jsonlines": jsonlines_files() | st.sampled_from(seeds("jsonlines")),
    "application/x-recordio-protobuf": recordio_files | st.sampled_from(seeds("recordio")),
}
TOKENS = {"text/libsvm": LIBSVM_TOKENS, "application/jsonlines": JSON_TOKENS}


@st.composite
def channels(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    """A content type (sometimes with parameters, or unknown) and one to three files of that type."""
    content_type = draw(st.sampled_from(sorted(TYPES)))
    files = draw(
        st.lists(
            TYPES[content_type] | mutated(TYPES[content_type], TOKENS.get(content_type, ())), min_size=1, max_size=3
        )
    )
    parameters = draw(
        st.sampled_from(["", ";label_size=0", ";label_size=1", ";label_size=x", ";label_size=-1", ";charset=utf-8"])
    )
    return draw(st.sampled_from([content_type + parameters, content_type.upper(), "image/png"])), files


def read_files(content_type: str, files: list[bytes]) -> LabeledData | Exception:
    with tempfile.TemporaryDirectory() as root:
        layout = Layout(Path(root) / "ml").create()
        folder = layout.channel_dir("train")
        folder.mkdir(parents=True)
        for number, body in enumerate(files):
            (folder / f"part-{number}").write_bytes(body)
        channel = ChannelConfig("train", content_type, "File")
        return parse_or_named(lambda: read_channel(layout, channel), (ChannelDataError, UnsupportedContentTypeError))


@given(channels())
@example(("application/jsonlines", [b'{"features": [1], "label": 1}', b'{"features": [2], "label": [1, 2]}']))  # found: ValueError from np.concatenate
@example(("application/jsonlines", [b'{"features": [1], "label": 1}', b'{"features": [2]}']))  # found: labels of part-0 dropped
@example(("text/csv;label_size=x", [b"1,2\n"]))  # found: the error named channel '?'
@settings(max_examples=examples(0.5))
@counted
def test_a_channel_reads_as_the_sum_of_its_files(channel: tuple[str, list[bytes]]) -> None:
    content_type, files = channel
    result = read_files(content_type, files)
    if isinstance(result, ChannelDataError):
        assert str(result).startswith("channel 'train'"), str(result)
        return
    if isinstance(result, UnsupportedContentTypeError):
        assert "image/png" in str(result)
        return
    check_labeled(result, 1)
    # each file alone reads too, and the channel holds all their rows, labelled alike
    reader = reader_for(content_type)
    parts = [reader(io.BytesIO(body), "train", "f", label_size_of(content_type)) for body in files]
    parts = [p for p in parts if p.rows]
    assert result.rows == sum(p.rows for p in parts)
    if result.y is not None:
        assert all(p.y is not None for p in parts) and len(result.y) == result.rows
        np.testing.assert_array_equal(result.y, np.concatenate([p.y for p in parts]))
    else:
        assert all(p.y is None for p in parts), "labels of some files were dropped"
