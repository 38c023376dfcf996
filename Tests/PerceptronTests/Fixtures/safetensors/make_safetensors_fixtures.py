#!/usr/bin/env python3
"""Writes the .safetensors fixtures that SafeTensorsTests.swift reads, with the
`safetensors` package itself (`safetensors.numpy`; torch is not needed).

Every file holds the same tensors, in its own dtype:

    rank0 ()   rank1 (5,)   rank2 (2, 3)   rank3 (2, 3, 4)   empty (0, 3)
        value(i) = (i * 0.5 - 1) / 3 at flat (row-major) index i, computed
        in float64 and rounded once to the file's dtype (dividing by 3 fills
        the whole significand, so a byte out of place cannot go unnoticed);
    specials (12,)
        inf, -inf, nan, -0.0, 0.0, the largest finite value, the smallest
        normal and subnormal (both signs), -1/3, 1.5: the edge cases of a
        conversion, subnormals above all for F16 and BF16.

    float32.safetensors    F32, one metadata pair full of characters JSON
                           escapes (the Swift writer must write the same bytes)
    float64.safetensors    F64, one metadata pair
    float16.safetensors    F16, several metadata pairs
    bfloat16.safetensors   BF16, written byte by byte below (numpy has no
                           bfloat16), then read back with the package, and
                           compared with the package's own writer
    mixed.safetensors      z_f64 (2,) F64, m_f32 (3,) F32, a_f16 (2, 2) F16:
                           the package orders data by dtype size, then name,
                           so offsets are not in name order
    no_tensors.safetensors no tensors and no metadata: the header "{}"

expected.json holds, per file, the metadata and every tensor's dtype, shape
and values as float64 numbers (the value the file's element stands for,
exactly: every F16, BF16 and F32 value is a float64), with "inf", "-inf"
and "nan" as strings, which JSON has no numbers for.

The generated files are committed, so the tests never need Python.
Run from this folder:  python3 make_safetensors_fixtures.py
(numpy and safetensors required: pip install safetensors)
"""
import json
import math
import struct

import numpy as np
import safetensors
import safetensors.numpy

SHAPES = {
    "rank0": (),
    "rank1": (5,),
    "rank2": (2, 3),
    "rank3": (2, 3, 4),
    "empty": (0, 3),
}


def values(shape):
    """The formula's values in float64, flat."""
    count = int(np.prod(shape, dtype=np.int64))
    return (np.arange(count, dtype=np.float64) * 0.5 - 1) / 3


def specials(finfo):
    """The edge cases of dtype `finfo`, as float64."""
    return np.array([
        math.inf, -math.inf, math.nan, -0.0, 0.0, float(finfo.max), float(finfo.smallest_normal),
        float(finfo.smallest_subnormal), -float(finfo.smallest_normal), -float(finfo.smallest_subnormal),
        -1 / 3, 1.5,
    ])


def numpy_tensors(dtype):
    tensors = {label: values(shape).astype(dtype).reshape(shape) for label, shape in SHAPES.items()}
    tensors["specials"] = specials(np.finfo(dtype)).astype(dtype)
    return tensors


# MARK: bfloat16 by hand

def bf16_bits(value):
    """The bfloat16 nearest to `value` (via float32, ties to even), as bits."""
    bits = struct.unpack("<I", struct.pack("<f", np.float32(value)))[0]
    if math.isnan(value):
        return 0x7FC0 | (bits >> 16 & 0x8000)
    return (bits + 0x7FFF + (bits >> 16 & 1)) >> 16


def bf16_value(bits):
    return float(struct.unpack("<f", struct.pack("<I", bits << 16))[0])


BF16_SPECIALS = [0x7F80, 0xFF80, 0x7FC0, 0x8000, 0x0000, 0x7F7F, 0x0080, 0x0001, 0x8080, 0x8001,
                 bf16_bits(-1 / 3), bf16_bits(1.5)]


def bf16_tensors():
    """name -> (shape, list of bits), in the formula's rounding."""
    tensors = {label: (shape, [bf16_bits(v) for v in values(shape)]) for label, shape in SHAPES.items()}
    tensors["specials"] = ((len(BF16_SPECIALS),), BF16_SPECIALS)
    return tensors


def write_bf16_by_hand(path, tensors, metadata):
    """The format, written directly: an 8-byte little-endian header length,
    the JSON header (metadata first, then the tensors by name with their data
    contiguous in that order, no whitespace, as the reference writes it),
    padded with spaces to a multiple of 8, then the little-endian data."""
    header = {"__metadata__": metadata}
    data = bytearray()
    for name in sorted(tensors):
        shape, bits = tensors[name]
        begin = len(data)
        data += struct.pack(f"<{len(bits)}H", *bits)
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [begin, len(data)]}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    content = struct.pack("<Q", len(text)) + text + bytes(data)
    with open(path, "wb") as f:
        f.write(content)
    return content


def check_bf16_file(path, content, tensors, metadata):
    """Reads the hand-written file back with the package, and compares it
    with what the package's own writer makes of the same bits."""
    read = dict(safetensors.deserialize(content))
    assert sorted(read) == sorted(tensors), sorted(read)
    for name, (shape, bits) in tensors.items():
        assert read[name]["dtype"] == "BF16" and list(read[name]["shape"]) == list(shape), read[name]
        assert bytes(read[name]["data"]) == struct.pack(f"<{len(bits)}H", *bits), name
    with safetensors.safe_open(path, framework="np") as f:
        assert f.metadata() == metadata, f.metadata()
        assert sorted(f.keys()) == sorted(tensors)
    arrays = {name: np.array(bits, dtype=np.uint16).reshape(shape) for name, (shape, bits) in tensors.items()}
    specs = {name: safetensors.TensorSpec(dtype="bfloat16", shape=a.shape, data_ptr=a.ctypes.data, data_len=a.nbytes)
             for name, a in arrays.items()}
    # One metadata pair at most, or the reference writes them in no fixed order.
    if len(metadata) <= 1:
        assert bytes(safetensors.serialize(specs, metadata=metadata)) == content, "differs from the package's writer"


# MARK: expected values

def as_json(value):
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def describe(tensors, dtype_name):
    return {name: {"dtype": dtype_name, "shape": list(a.shape), "values": [as_json(v) for v in a.astype(np.float64).ravel()]}
            for name, a in tensors.items()}


expected = {}

files = {
    "float32.safetensors": ("float32", "F32", {"note": "ünïcödé \"quoted\" back\\slash\n\ttab/slash\u0001\u001f\x7f 😀"}),
    "float64.safetensors": ("float64", "F64", {"format": "np"}),
    "float16.safetensors": ("float16", "F16", {"format": "np", "producer": "make_safetensors_fixtures.py", "empty": ""}),
}
for file, (dtype, name, metadata) in files.items():
    tensors = numpy_tensors(dtype)
    safetensors.numpy.save_file(tensors, file, metadata=metadata)
    expected[file] = {"metadata": metadata, "tensors": describe(tensors, name)}

bf16_metadata = {"format": "np"}
bf16 = bf16_tensors()
content = write_bf16_by_hand("bfloat16.safetensors", bf16, bf16_metadata)
check_bf16_file("bfloat16.safetensors", content, bf16, bf16_metadata)
expected["bfloat16.safetensors"] = {
    "metadata": bf16_metadata,
    "tensors": {name: {"dtype": "BF16", "shape": list(shape), "values": [as_json(bf16_value(b)) for b in bits]}
                for name, (shape, bits) in bf16.items()},
}

mixed = {
    "z_f64": np.array([1 / 3, -2.5], dtype=np.float64),
    "m_f32": np.array([1 / 3, -2.5, 1e-40], dtype=np.float32),
    "a_f16": np.array([[1 / 3, -2.5], [6e-8, 65504]], dtype=np.float16),
}
safetensors.numpy.save_file(mixed, "mixed.safetensors")
expected["mixed.safetensors"] = {
    "metadata": {},
    "tensors": {**describe({"z_f64": mixed["z_f64"]}, "F64"), **describe({"m_f32": mixed["m_f32"]}, "F32"),
                **describe({"a_f16": mixed["a_f16"]}, "F16")},
}

safetensors.numpy.save_file({}, "no_tensors.safetensors")
expected["no_tensors.safetensors"] = {"metadata": {}, "tensors": {}}

# Every file reads back with the package (BF16 through deserialize, above).
for file in files:
    read = safetensors.numpy.load_file(file)
    assert sorted(read) == sorted(expected[file]["tensors"]), file

with open("expected.json", "w", encoding="utf-8") as f:
    json.dump(expected, f, indent=1, ensure_ascii=False, sort_keys=True)
    f.write("\n")
print("wrote", len(expected), "files and expected.json")
