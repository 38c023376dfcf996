#!/usr/bin/env python3
"""Writes linear.json: Linear-layer cases computed by numpy, for the Swift tests.

Each case holds an input X, weight W, bias b (or null) and output gradient G,
drawn at random and rounded to the case's dtype, and what the seed's formulas
give for them, computed by numpy in float64 from those rounded values:

    Z = X W + b      dW = X^T G      db = column sums of G      dX = G W^T

with, for every element, the sum of the absolute values of its terms
("*_magnitude"), which bounds the rounding error a correct implementation may
make. Values are written with repr(), which round-trips float64 exactly.

Run from this folder:  python3 make_linear_fixtures.py   (numpy required)
"""
import json

import numpy as np

CASES = [
    # name, batch shape, f, m, bias, dtype
    ("single sample", [], 3, 2, True, "float32"),
    ("small batch", [4], 3, 2, True, "float32"),
    ("odd sizes", [7], 11, 5, True, "float64"),
    ("rank 3 input", [2, 3], 5, 4, True, "float32"),
    ("no bias", [6], 4, 3, False, "float64"),
    ("one feature", [5], 1, 6, True, "float32"),
    ("one neuron", [5], 8, 1, False, "float32"),
    ("empty batch", [0], 3, 2, True, "float64"),
    ("wide values", [9], 17, 13, True, "float32"),
]


def main():
    rng = np.random.default_rng(20261126)
    cases = []
    for name, batch, f, m, has_bias, dtype in CASES:
        n = int(np.prod(batch)) if batch else 1
        scale = 100.0 if name == "wide values" else 1.0
        x = (rng.uniform(-1, 1, (n, f)) * scale).astype(dtype)
        w = rng.uniform(-1, 1, (f, m)).astype(dtype)
        b = rng.uniform(-1, 1, m).astype(dtype) if has_bias else None
        g = rng.uniform(-1, 1, (n, m)).astype(dtype)

        x64, w64, g64 = x.astype(np.float64), w.astype(np.float64), g.astype(np.float64)
        b64 = b.astype(np.float64) if has_bias else np.zeros(m)
        z = x64 @ w64 + b64
        dw = x64.T @ g64
        db = g64.sum(axis=0)
        dx = g64 @ w64.T

        def flat(a):
            return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]

        cases.append({
            "name": name,
            "dtype": dtype,
            "input_shape": batch + [f],
            "output_shape": batch + [m],
            "x": flat(x), "w": flat(w), "b": flat(b) if has_bias else None, "g": flat(g),
            "z": flat(z), "z_magnitude": flat(np.abs(x64) @ np.abs(w64) + np.abs(b64)),
            "dw": flat(dw), "dw_magnitude": flat(np.abs(x64).T @ np.abs(g64)),
            "db": flat(db), "db_magnitude": flat(np.abs(g64).sum(axis=0)),
            "dx": flat(dx), "dx_magnitude": flat(np.abs(g64) @ np.abs(w64).T),
        })
    document = {
        "generator": "make_linear_fixtures.py",
        "numpy": np.__version__,
        "cases": cases,
    }
    with open("linear.json", "w") as out:
        json.dump(document, out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
