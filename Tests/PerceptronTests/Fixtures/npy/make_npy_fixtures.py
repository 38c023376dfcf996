#!/usr/bin/env python3
"""Writes the .npy fixtures that NPYTests.swift reads, with numpy itself.

Every array holds value(i) = (i * 0.5 - 1) / 3 at flat (row-major) index i,
computed in float64 and then rounded to the file's dtype: NPYTests recomputes
the same formula in Swift and compares bit for bit. Dividing by 3 fills the
whole significand, so a byte out of place cannot go unnoticed.

    float32_*.npy, float64_*.npy   ranks 0 to 3, an empty (0, 3) and a rank 14
                                   whose header needs a full block of padding
    float32_v2.npy                 format 2.0 (u32 header length)
    float64_v3.npy                 format 3.0 (UTF-8 header)
    fortran_order.npy              fortran_order True   (read transposed to row-major)
    big_endian.npy                 dtype '>f4'          (must be refused)
    int64.npy                      dtype '<i8'          (must be refused)

The generated files are committed, so the tests never need Python.
Run from this folder:  python3 make_npy_fixtures.py   (numpy required)
"""
import numpy as np

SHAPES = {
    "rank0": (),
    "rank1": (5,),
    "rank2": (2, 3),
    "rank3": (2, 3, 4),
    "empty": (0, 3),
    # A header that already ends on a 64-byte boundary before padding, where
    # numpy pads a whole 64 bytes more: the edge case of its alignment rule.
    "aligned": (3, 1, 10, 10) + (1,) * 10,
}


def values(shape, dtype):
    count = int(np.prod(shape, dtype=np.int64))
    flat = (np.arange(count, dtype=np.float64) * 0.5 - 1) / 3
    return flat.astype(dtype).reshape(shape)


def write(name, array, version=None):
    with open(name, "wb") as f:
        np.lib.format.write_array(f, array, version=version, allow_pickle=False)


for dtype in ("float32", "float64"):
    for label, shape in SHAPES.items():
        # np.save's own output: NPYTests also checks that Swift writes the same bytes.
        np.save(f"{dtype}_{label}.npy", values(shape, dtype), allow_pickle=False)

write("float32_v2.npy", values((2, 3), "float32"), version=(2, 0))
write("float64_v3.npy", values((2, 3), "float64"), version=(3, 0))
np.save("fortran_order.npy", np.asfortranarray(values((2, 3), "float32")))
np.save("big_endian.npy", values((2, 3), ">f4"))
np.save("int64.npy", np.arange(6, dtype="<i8").reshape(2, 3))
