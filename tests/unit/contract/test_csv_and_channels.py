from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlops.contract import ChannelDataError, Layout
from mlops.contract.channels import read_channel
from mlops.contract.config import ChannelConfig, HyperParameters, read_hyperparameters, read_input_data_config
from mlops.contract.csv_format import read_csv
from mlops.contract.errors import AlgorithmError
from mlops.contract.metrics import log_metric, metric_regex, step_of


def test_csv_label_first_and_missing_values() -> None:
    data = read_csv(io.BytesIO(b"1,0.5,2\n0,,3\n"), "train", "a.csv")
    assert data.y.tolist() == [1.0, 0.0]
    assert data.X.shape == (2, 2) and np.isnan(data.X[1, 0])
    assert data.X.dtype == np.float32


def test_csv_without_label() -> None:
    data = read_csv(io.BytesIO(b"0.5,2\n"), "x", "body", label_size=0)
    assert data.y is None and data.X.tolist() == [[0.5, 2.0]]


@pytest.mark.parametrize(
    ("body", "line", "text"),
    [
        (b"1,2,3\n0,4,5\n1,oops,6\n", 3, "field 2 is not a number: 'oops'"),
        (b"1,2,3\n0,4,5,6\n", 2, "expected 3 fields, found 4"),
        (b"1,2\n,3\n", 2, "the label (first column) is missing"),
        (b"1,2,3\n0,4\n1,5,6\n", 2, "expected 3 fields, found 2"),
    ],
)
def test_bad_rows_name_file_and_line(body: bytes, line: int, text: str) -> None:
    with pytest.raises(ChannelDataError) as info:
        read_csv(io.BytesIO(body), "train", "part-0.csv")
    assert info.value.line == line
    assert str(info.value).startswith(f"channel 'train', file part-0.csv, line {line}: ")
    assert text in str(info.value)


def _layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "opt" / "ml").create()


def test_file_mode_reads_every_file_of_a_channel(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    folder = layout.channel_dir("train")
    folder.mkdir()
    (folder / "b.csv").write_text("0,3,4\n")
    (folder / "a.csv").write_text("1,1,2\n")
    (folder / ".hidden").write_text("garbage")
    data = read_channel(layout, ChannelConfig("train", "text/csv", "File"))
    assert data.y.tolist() == [1.0, 0.0]  # sorted by file name


def test_empty_channel_is_an_error(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    (layout.channel_dir("train")).mkdir()
    (layout.channel_dir("train") / "empty.csv").write_text("")
    with pytest.raises(ChannelDataError, match="channel 'train'.*channel is empty"):
        read_channel(layout, ChannelConfig("train", "text/csv", "File"))


def test_pipe_mode_reads_the_fifo(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    fifo = layout.pipe_path("train", 0)
    os.mkfifo(fifo)
    writer = subprocess.Popen([sys.executable, "-c", f"open({str(fifo)!r}, 'w').write('1,2\\n0,3\\n')"])
    data = read_channel(layout, ChannelConfig("train", "text/csv", "Pipe"))
    writer.wait(timeout=10)
    assert data.X.tolist() == [[2.0], [3.0]]


def test_config_files(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    layout.hyperparameters_file.write_text(json.dumps({"eta": "0.1", "n": 3, "flag": "true"}))
    layout.input_data_config_file.write_text(json.dumps({"train": {"ContentType": "text/csv;label_size=1"}}))
    hp = HyperParameters(read_hyperparameters(layout))
    assert hp.float("eta") == 0.1 and hp.int("n") == 3 and hp.bool("flag") is True and hp.int("missing", 7) == 7
    with pytest.raises(AlgorithmError, match="hyperparameter eta: '0.1' is not an integer"):
        hp.int("eta")
    channels = read_input_data_config(layout)
    assert channels["train"].base_content_type == "text/csv" and channels["train"].input_mode == "File"


def test_layout_is_relocatable_and_import_has_no_side_effects(tmp_path: Path) -> None:
    assert Layout.from_env({"MLOPS_CONTRACT_ROOT": str(tmp_path)}).model_dir == tmp_path / "model"
    assert Layout.from_env({}).failure_file == Path("/opt/ml/output/failure")
    code = (
        "import mlops.contract, mlops.contract.serving, mlops.contract.channels, os; print(os.path.exists('/opt/ml'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(Path("/opt/ml").exists())


def test_metric_lines_match_their_definitions(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    log_metric("validation:auc", 0.91234567, step=12)
    line = capsys.readouterr().out.strip()
    match = re.search(metric_regex("validation:auc"), line)
    assert match and float(match.group(1)) == pytest.approx(0.912346)
    assert step_of(line) == 12
    assert not re.search(metric_regex("train:auc"), line)
