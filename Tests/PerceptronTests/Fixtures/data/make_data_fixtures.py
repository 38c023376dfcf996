#!/usr/bin/env python3
"""Writes the fixtures of the data tests (DataFixtureTests.swift), with numpy.

    standardizer.json      cases for Standardizer: inputs, and the mean and scale
                           of scikit-learn's StandardScaler (defaults: with_mean,
                           with_std, ddof 0), computed here with numpy by the
                           formulas scikit-learn uses (scikit-learn itself is not
                           needed): float64 accumulation, the corrected two-pass
                           variance, and its constant-feature test.
    orders.json            the row orders MiniBatches draws for a few seeds:
                           xoshiro256** seeded by SplitMix64, Lemire's bounded
                           integers and Fisher-Yates, re-implemented here from
                           their published descriptions, independently of Swift.
    labels.json            the values and dtypes of the label files below.
    labels_*.npy           integer label arrays of every dtype the reader takes,
                           and ones it must refuse (big-endian, float, bool,
                           overflowing, rank 0 and 2).
    fortran_*.npy          Fortran-order (fortran_order: True) float arrays of
                           rank 2 and 3, each with its C-order twin c_*.npy.

The generated files are committed, so the tests never need Python.
Run from this folder:  python3 make_data_fixtures.py   (numpy required)
"""
import json

import numpy as np

MASK = (1 << 64) - 1

# MARK: - StandardScaler


def standard_scaler(x):
    """mean_ and scale_ of sklearn.preprocessing.StandardScaler().fit(x), for
    rows x[..., :] (all leading axes are samples), as scikit-learn computes
    them in _incremental_mean_and_var and _is_constant_feature."""
    x = x.reshape(-1, x.shape[-1])
    n = x.shape[0]
    mean = np.sum(x, axis=0, dtype=np.float64) / n
    deviations = x.astype(np.float64) - mean
    correction = np.sum(deviations, axis=0)
    variance = (np.sum(deviations**2, axis=0) - correction**2 / n) / n
    eps = np.finfo(np.float64).eps
    constant = variance <= n * eps * variance + (n * mean * eps) ** 2
    scale = np.where(constant, 1.0, np.sqrt(variance))
    return mean, scale


def standardizer_cases():
    rng = np.random.default_rng(20240611)
    cases = []

    def add(name, x):
        mean, scale = standard_scaler(x)
        dtype = x.dtype
        # The transform in the file's dtype from the rounded statistics, as the
        # Swift code computes it; the test allows a few ulps either way.
        transformed = (x - mean.astype(dtype)) / scale.astype(dtype)
        cases.append({
            "name": name,
            "dtype": str(dtype),
            "shape": list(x.shape),
            "x": [float(v) for v in x.ravel()],
            "mean": [float(v) for v in mean],
            "scale": [float(v) for v in scale],
            "transformed": [float(v) for v in transformed.ravel()],
        })

    for dtype in ("float32", "float64"):
        add(f"gaussian_{dtype}", (rng.normal(size=(50, 4)) * [1, 10, 0.1, 3] + [0, -5, 2, 100]).astype(dtype))
        # A column that never varies (scale 1), and one of a single value that
        # is not exact in binary, whose computed variance is rounding noise.
        columns = np.column_stack([rng.normal(size=40), np.full(40, 7.0), np.full(40, 0.1), rng.uniform(size=40)])
        add(f"constant_columns_{dtype}", columns.astype(dtype))
        # A large offset with a small spread: a one-pass E[x²] − E[x]² would cancel.
        add(f"large_offset_{dtype}", (1e4 + rng.normal(size=(64, 2)) * 1e-2).astype(dtype))
        add(f"rank3_{dtype}", rng.normal(size=(4, 5, 3)).astype(dtype))
        add(f"one_row_{dtype}", rng.normal(size=(1, 3)).astype(dtype))
    return cases


# MARK: - MiniBatches' orders


class Xoshiro256StarStar:
    def __init__(self, seed):
        state = seed

        def split_mix():
            nonlocal state
            state = (state + 0x9E3779B97F4A7C15) & MASK
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            return z ^ (z >> 31)

        self.s = [split_mix() for _ in range(4)]

    @staticmethod
    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK

    def next(self):
        s = self.s
        result = (self.rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self.rotl(s[3], 45)
        return result

    def below(self, bound):
        """Lemire's nearly divisionless method: a uniform integer in [0, bound)."""
        product = self.next() * bound
        if product & MASK < bound:
            threshold = ((1 << 64) - bound) % bound
            while product & MASK < threshold:
                product = self.next() * bound
        return product >> 64


def orders(seed, rows, passes):
    generator = Xoshiro256StarStar(seed)
    result = []
    for _ in range(passes):
        order = list(range(rows))
        for i in range(rows - 1, 0, -1):
            j = generator.below(i + 1)
            order[i], order[j] = order[j], order[i]
        result.append(order)
    return result


# MARK: - Label files


def save(name, array):
    np.save(name, array, allow_pickle=False)


def label_files():
    entries = []
    base = [3, 0, 9, 1, 7]
    for dtype in ("<i8", "<i4", "<i2", "|i1", "|u1", "<u2", "<u4", "<u8"):
        info = np.iinfo(np.dtype(dtype))
        # The extremes check sign extension and the widest values that fit Int.
        values = base + [int(info.min), min(int(info.max), 2**63 - 1)]
        name = f"labels_{np.dtype(dtype).name}"
        array = np.array(values, dtype=dtype)
        assert array.dtype.str == dtype, (array.dtype.str, dtype)
        save(f"{name}.npy", array)
        entries.append({"name": name, "descr": dtype, "values": values})
    save("labels_column.npy", np.array([[2], [0], [1]], dtype="<i8"))
    entries.append({"name": "labels_column", "descr": "<i8", "values": [2, 0, 1]})
    # Files the reader must refuse; the tests name the reasons.
    save("labels_uint64_overflow.npy", np.array([1, 2**63], dtype="<u8"))
    save("labels_big_endian.npy", np.array([1, 2], dtype=">i4"))
    save("labels_float32.npy", np.array([1, 2], dtype="<f4"))
    save("labels_bool.npy", np.array([True, False]))
    save("labels_rank0.npy", np.array(4, dtype="<i8"))
    save("labels_matrix.npy", np.arange(6, dtype="<i8").reshape(2, 3))
    return entries


# MARK: - Fortran order


def fortran_files():
    for dtype in ("float32", "float64"):
        for label, shape in (("rank2", (3, 4)), ("rank3", (2, 3, 4))):
            count = int(np.prod(shape))
            c_order = ((np.arange(count, dtype=np.float64) * 0.5 - 1) / 3).astype(dtype).reshape(shape)
            fortran = np.asfortranarray(c_order)
            assert fortran.flags.f_contiguous and not fortran.flags.c_contiguous
            save(f"fortran_{dtype}_{label}.npy", fortran)
            save(f"c_{dtype}_{label}.npy", c_order)
            with open(f"fortran_{dtype}_{label}.npy", "rb") as f:
                assert b"'fortran_order': True" in f.read(128)


def write_json(name, document):
    with open(name, "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")


write_json("standardizer.json", {"cases": standardizer_cases()})
write_json("orders.json", {"cases": [
    {"seed": seed, "rows": rows, "orders": orders(seed, rows, 3)}
    for seed, rows in ((0, 10), (7, 1), (42, 2), (2**64 - 1, 33), (123456789, 100))
]})
write_json("labels.json", {"files": label_files()})
fortran_files()
