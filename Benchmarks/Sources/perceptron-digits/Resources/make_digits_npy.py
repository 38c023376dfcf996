#!/usr/bin/env python3
"""Converts digits.csv.gz into the two .npy files that perceptron-digits reads.

digits.csv.gz is the UCI handwritten-digits set as published (see README.md):
1797 rows of 64 integer pixels in 0..16 and a label in 0..9. This writes, beside
itself and in the same row order:

    digits-features.npy   float32, shape (1797, 64): the pixels, row by row
    digits-labels.npy     float32, shape (1797,):    the digit of each row

The labels are stored as floats because Perceptron's .npy reader takes only
'<f4' and '<f8' files; every value is an exact whole number, and the example
checks that each is one in 0...9 before it converts it to Int.

Usage: python3 make_digits_npy.py   (needs numpy; the output is the same bytes every run)
"""
import gzip
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    with gzip.open(os.path.join(HERE, "digits.csv.gz"), "rt") as source:
        table = np.loadtxt(source, delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape[1] != 65:
        raise SystemExit(f"expected 65 columns (64 pixels and a label), found {table.shape[1]}")
    features, labels = table[:, :64], table[:, 64]
    if features.min() < 0 or features.max() > 16:
        raise SystemExit(f"pixels outside 0..16: {features.min()}..{features.max()}")
    if labels.min() < 0 or labels.max() > 9:
        raise SystemExit(f"labels outside 0..9: {labels.min()}..{labels.max()}")
    # Small whole numbers: float32 holds every one exactly.
    np.save(os.path.join(HERE, "digits-features.npy"), features.astype("<f4"))
    np.save(os.path.join(HERE, "digits-labels.npy"), labels.astype("<f4"))
    print(f"wrote digits-features.npy {features.shape} and digits-labels.npy {labels.shape}")


if __name__ == "__main__":
    main()
