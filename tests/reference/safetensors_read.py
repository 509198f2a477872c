#!/usr/bin/env python3
"""Read a safetensors file the way another program would and print what it holds as JSON.

    python3 tests/reference/safetensors_read.py FILE [--library]

Without --library: the standard library and numpy only (struct, json, numpy.frombuffer), straight
from the format's description. Prints {"metadata": {...}, "tensors": {name: {"dtype", "shape",
"sum", "first"}}}. With --library: the same through the `safetensors` package
(`safetensors.numpy.load_file`, and `safetensors.torch.load_file` when torch is there too), exit 3
when the package is not importable. Used by tests/unit/checkpoint-python.test.ts.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "I32": "<i4", "F64": "<f8", "I64": "<i8", "F16": "<f2", "U8": "u1", "I8": "i1"}


def describe(name, arr):
    flat = arr.reshape(-1)
    # Sums in float64 so the test can compare them with its own; `first` is exact.
    return {
        "dtype": str(arr.dtype),
        "shape": list(arr.shape),
        "sum": float(flat.astype(np.float64).sum()),
        "first": flat[:4].tolist(),
    }


def read_plain(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n :]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        tensors[name] = describe(name, arr)
    return {"header_length": n, "metadata": metadata, "tensors": tensors}


def read_library(path):
    try:
        from safetensors import safe_open
        from safetensors.numpy import load_file
    except ImportError:
        print("the safetensors package is not importable", file=sys.stderr)
        sys.exit(3)
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata()
    out = {"metadata": metadata, "tensors": {k: describe(k, v) for k, v in load_file(path).items()}}
    try:
        import torch  # noqa: F401
        from safetensors.torch import load_file as torch_load
    except ImportError:
        out["torch"] = None
    else:
        out["torch"] = {k: {"dtype": str(v.dtype), "shape": list(v.shape), "sum": float(v.double().sum())} for k, v in torch_load(path).items()}
    return out


def main():
    args = sys.argv[1:]
    library = "--library" in args
    paths = [a for a in args if a != "--library"]
    if len(paths) != 1:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out = read_library(paths[0]) if library else read_plain(paths[0])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
