#!/usr/bin/env python3
"""Converts digits.csv.gz into the two .npy files that perceptron-digits reads.

digits.csv.gz is the UCI handwritten-digits set as published (see README.md):
1797 rows of 64 integer pixels in 0..16 and a label in 0..9. This writes, beside
itself and in the same row order:

    digits-features.npy   float32, shape (1797, 64): the pixels, row by row
    digits-labels.npy     int64, shape (1797,):      the digit of each row

The example reads the features as a Tensor<Float> and the labels as [Int],
both with Perceptron's .npy reader, and checks their ranges.

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
    np.save(os.path.join(HERE, "digits-labels.npy"), labels.astype("<i8"))
    print(f"wrote digits-features.npy {features.shape} and digits-labels.npy {labels.shape}")


if __name__ == "__main__":
    main()
