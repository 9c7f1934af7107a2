"""Write recordio-protobuf fixtures with the real sagemaker 2.x SDK (test data for mlops.contract.recordio).

Run it in a separate, throwaway environment, never in the project's own (sagemaker 3.x no longer writes
RecordIO, and the SDK must not become a dependency)::

    python3 -m venv SM2_ENV
    SM2_ENV/bin/pip install 'sagemaker==2.257.7' numpy scipy
    SAGEMAKER_SUPPRESS_V2_WARNING=1 SM2_ENV/bin/python tests/data/recordio/make_fixtures.py

For each fixture it writes ``<name>.rec`` (the SDK's bytes) and ``<name>.npz`` (the exact inputs given to
the SDK: ``X`` dense, or ``data``/``indices``/``indptr``/``shape`` sparse, and ``y`` when labelled; no
pickled objects). ``manifest.json`` lists the fixtures with the SDK and protobuf versions used.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import google.protobuf
import numpy as np
import sagemaker
import scipy.sparse as sp
from sagemaker.amazon.common import read_records, write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor

HERE = Path(__file__).resolve().parent


def dense_fixtures() -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    rng = np.random.default_rng(20240601)
    special = np.array([[0.0, -0.0, np.inf, -np.inf], [np.nan, 1e-38, 3.4e38, -1.5]], dtype=np.float32)
    return {
        # float32 features and labels: Float32Tensor for both; includes NaN, infinities, -0.0
        "dense_float32_labeled": (
            np.vstack([rng.normal(size=(4, 4)).astype(np.float32), special]),
            np.array([0, 1, 1, 0, 2.5, -1], dtype=np.float32),
        ),
        # float64 features (Float64Tensor) and int64 labels (Int32Tensor, a negative one takes 10 bytes)
        "dense_float64_int_labels": (rng.normal(size=(4, 3)), np.array([3, -7, 0, 2**31 - 1])),
        # no labels at all
        "dense_unlabeled": (rng.uniform(-5, 5, size=(5, 3)).astype(np.float32), None),
        # int64 features (Int32Tensor values)
        "dense_int_features": (np.array([[1, -2, 300], [0, 2**31 - 1, -(2**31)], [5, 6, 7]]), None),
    }


def sparse_fixtures() -> dict[str, tuple[sp.csr_matrix, np.ndarray | None]]:
    # row 1 is empty (only a shape is written), row 2 stores an explicit zero and unsorted columns
    small = sp.csr_matrix(
        (
            np.array([1.5, -2.0, 0.0, 4.0, 3.25, 9.0, 1.0], dtype=np.float32),
            np.array([0, 7, 3, 1, 9, 2, 5]),
            np.array([0, 2, 2, 5, 6, 7, 7]),
        ),
        shape=(6, 10),
    )
    rng = np.random.default_rng(7)
    wide = sp.random(4, 300, density=0.03, format="csr", random_state=rng, dtype=np.float64)
    return {
        "sparse_float32_labeled": (small, np.array([1, 0, 1, 1, 0, 0], dtype=np.float32)),
        "sparse_float64_unlabeled": (wide, None),  # column keys above 127 take two varint bytes
    }


def main() -> None:
    manifest: dict[str, object] = {
        "sagemaker": sagemaker.__version__,
        "protobuf": google.protobuf.__version__,
        "numpy": np.__version__,
        "fixtures": [],
    }
    fixtures: list[dict[str, object]] = []
    for name, (X, y) in dense_fixtures().items():
        buffer = io.BytesIO()
        write_numpy_to_dense_tensor(buffer, X, y)
        arrays = {"X": X} if y is None else {"X": X, "y": y}
        fixtures.append(_save(name, buffer.getvalue(), arrays, "write_numpy_to_dense_tensor", X.shape))
    for name, (csr, y) in sparse_fixtures().items():
        buffer = io.BytesIO()
        write_spmatrix_to_sparse_tensor(buffer, csr, y)
        arrays = {"data": csr.data, "indices": csr.indices, "indptr": csr.indptr, "shape": np.array(csr.shape)}
        if y is not None:
            arrays["y"] = y
        fixtures.append(_save(name, buffer.getvalue(), arrays, "write_spmatrix_to_sparse_tensor", csr.shape))
    manifest["fixtures"] = fixtures
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _save(
    name: str, data: bytes, arrays: dict[str, np.ndarray], writer: str, shape: tuple[int, ...]
) -> dict[str, object]:
    (HERE / f"{name}.rec").write_bytes(data)
    np.savez(HERE / f"{name}.npz", **arrays)
    records = read_records(io.BytesIO(data))  # the SDK reads back what it wrote
    assert len(records) == shape[0]
    return {
        "name": name,
        "writer": writer,
        "rows": int(shape[0]),
        "columns": int(shape[1]),
        "labelled": "y" in arrays,
        "dtypes": {key: str(value.dtype) for key, value in arrays.items()},
        "bytes": len(data),
    }


if __name__ == "__main__":
    main()
