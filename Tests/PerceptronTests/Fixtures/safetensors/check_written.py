#!/usr/bin/env python3
"""Checks, with the `safetensors` package, the files that Perceptron's writer
produced in SafeTensorsTests.swift (writesFilesForThePythonCheck):

    written_float32.safetensors  Tensor<Float>: the fixture formula's tensors
    written_float64.safetensors  Tensor<Double>: the same      (see below)
    written_names.safetensors    Tensor<Float>: names and metadata that need
                                 JSON escapes, non-ASCII, the empty name,
                                 ranks 0 to 4 and empty tensors

For the first two, every array must equal numpy's, bit for bit, and the
whole file must be byte-identical to what `safetensors.numpy.save` writes
for the same arrays and metadata. The third is compared value by value.

    PERCEPTRON_SAFETENSORS_CHECK_DIR=/tmp/st swift test --filter writesFilesForThePythonCheck
    python3 Tests/PerceptronTests/Fixtures/safetensors/check_written.py /tmp/st

Exits 0 when every check passes, 1 otherwise. The tests never need this
script: it is run by hand, to check the writer against the reference.
(numpy and safetensors required: pip install safetensors)
"""
import os
import struct
import sys

import numpy as np
import safetensors
import safetensors.numpy

SHAPES = {"rank0": (), "rank1": (5,), "rank2": (2, 3), "rank3": (2, 3, 4), "empty": (0, 3)}
METADATA = {"format": "pt"}


def formula(dtype):
    """The fixture formula's tensors and specials, as the Swift test builds them."""
    tensors = {}
    for name, shape in SHAPES.items():
        count = int(np.prod(shape, dtype=np.int64))
        tensors[name] = ((np.arange(count, dtype=np.float64) * 0.5 - 1) / 3).astype(dtype).reshape(shape)
    info = np.finfo(dtype)
    tensors["specials"] = np.array(
        [np.inf, -np.inf, np.nan, -0.0, 0.0, info.max, info.smallest_normal, info.smallest_subnormal, -1 / 3, np.pi],
        dtype=np.float64).astype(dtype)
    return tensors


def names_file_expectations():
    """The tensors of written_names.safetensors, from SafeTensorsRoundTripTests.tensors(Float.self)."""
    info = np.finfo(np.float32)
    swift_pi = struct.unpack("<f", struct.pack("<I", 0x40490FDA))[0]  # Float.pi rounds toward zero
    specials = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, info.smallest_subnormal, info.smallest_normal,
                         info.max, np.float32(-1) / np.float32(3), swift_pi, -info.smallest_subnormal],
                        dtype=np.float32)
    shapes = [(), (0,), (1,), (7,), (2, 3), (0, 3), (3, 0), (2, 0, 4), (2, 3, 4), (2, 3, 4, 5), (1, 1, 1, 1)]
    tensors = {}
    for index, shape in enumerate(shapes):
        count = int(np.prod(shape, dtype=np.int64))
        tensors[f"t{index}"] = specials[[(i + index) % len(specials) for i in range(count)]].reshape(shape)
    tensors["layer.0.weight"] = np.array([1, 2], dtype=np.float32)
    tensors["quote\"back\\slash\n\t\x01/"] = np.array([3], dtype=np.float32)
    tensors["ünï😀"] = np.array(4, dtype=np.float32)
    tensors[""] = np.zeros((0,), dtype=np.float32)
    metadata = {"format": "pt", "": "empty key", "note": "ü \"q\" \\ \n\x00\x1f\x7f", "empty": ""}
    return tensors, metadata


failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def same(a, b):
    """Equal shapes and dtypes, and equal values with NaN equal to NaN."""
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def metadata_of(path):
    with safetensors.safe_open(path, framework="np") as f:
        return f.metadata() or {}


def check_formula_file(path, dtype):
    read = safetensors.numpy.load_file(path)
    expected = formula(dtype)
    check(sorted(read) == sorted(expected), f"{path}: names {sorted(read)}")
    for name, array in expected.items():
        got = read.get(name)
        check(got is not None and got.dtype == array.dtype and got.shape == array.shape
              and got.tobytes() == array.tobytes(), f"{path}: tensor {name!r} differs: {got!r}")
    check(metadata_of(path) == METADATA, f"{path}: metadata {metadata_of(path)!r}")
    with open(path, "rb") as f:
        content = f.read()
    check(content == safetensors.numpy.save(expected, metadata=METADATA),
          f"{path}: bytes differ from safetensors.numpy.save's")


def check_names_file(path):
    read = safetensors.numpy.load_file(path)
    expected, metadata = names_file_expectations()
    check(sorted(read) == sorted(expected), f"{path}: names {sorted(read)!r}")
    for name, array in expected.items():
        check(name in read and same(read[name], array), f"{path}: tensor {name!r} differs: {read.get(name)!r}")
    check(metadata_of(path) == metadata, f"{path}: metadata {metadata_of(path)!r}")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    directory = sys.argv[1]
    check_formula_file(os.path.join(directory, "written_float32.safetensors"), np.float32)
    check_formula_file(os.path.join(directory, "written_float64.safetensors"), np.float64)
    check_names_file(os.path.join(directory, "written_names.safetensors"))
    for failure in failures:
        print("FAIL", failure)
    print(f"safetensors {safetensors.__version__}: 3 files, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
