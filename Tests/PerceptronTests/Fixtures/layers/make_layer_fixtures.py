#!/usr/bin/env python3
"""Writes layers.json: LayerNorm, GELU, SiLU and BCEWithLogits cases computed by numpy, for the Swift tests.

There is no PyTorch here: each case applies the formulas PyTorch documents for
torch.nn.LayerNorm, torch.nn.GELU (approximate='none'), torch.nn.SiLU and
torch.nn.BCEWithLogitsLoss (reduction='mean', no weight, no pos_weight),
written out in numpy in float64. Inputs, parameters and output gradients are
drawn at random with a fixed seed and rounded to the case's dtype first, so a
Float run starts from exactly the numbers the float64 reference used.

LayerNorm over the last dimension (n features), per row x:
    mean = sum(x) / n                  var = sum((x - mean)^2) / n   (biased)
    xhat = (x - mean) / sqrt(var + eps)
    y    = xhat * weight + bias        (y = xhat without affine parameters)
  and, for an output gradient g, the gradients of sum(g * y), written from the
  chain rule through mean and var (not the closed form the library uses):
    gh      = g * weight                                  (g without affine)
    dvar    = sum(gh * (x - mean)) * (-1/2) * (var + eps)^(-3/2)
    dmean   = -sum(gh) / sqrt(var + eps) + dvar * (-2/n) * sum(x - mean)
    dx      = gh / sqrt(var + eps) + dvar * 2 (x - mean) / n + dmean / n
    dweight = sum over rows of g * xhat       dbias = sum over rows of g

GELU:  y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))     dx = g (Phi(x) + x phi(x)),
       phi(x) = exp(-x^2 / 2) / sqrt(2 pi); erf from Python's math module.
SiLU:  y = x sigmoid(x)                                  dx = g sigmoid(x)(1 + x (1 - sigmoid(x))),
       sigmoid(x) = 1 / (1 + exp(-x)) for every x, accurate in float64 for
       both signs (not the library's form, which splits on the sign of x).
BCEWithLogitsLoss, mean over all N elements, from PyTorch's definition
    l = -[t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))]
  rewritten without overflow as t softplus(-z) + (1 - t) softplus(z), with
  softplus(u) = log(1 + e^u) = np.logaddexp(0, u) (exact in float64 for +-1e4,
  where the literal formula gives log 0); gradient dz = (sigmoid(z) - t) / N.

Every expected value comes with a "*_magnitude": a first-order bound on the
rounding error a correct implementation in the case's dtype may make, in
units of (terms + 2) * epsilon, where the Swift test supplies "terms" (n, the
number of features, for LayerNorm; a constant for the elementwise cases). It
is the sum, over the intermediate values of the computation, of
|d output / d intermediate| * |intermediate| (each rounding, or each libm call
good to an ulp, perturbs its value by at most epsilon relative); the
expressions are written out where they are computed below. In particular
LayerNorm's bound includes (1/sigma) * mean|x|, because the row mean is
rounded relative to |x|, not to x - mean, and GELU's includes
0.5 |x| (1 + |erf|), because 1 + erf(x / sqrt 2) cancels for negative x.

Values are written with repr() (json), which round-trips float64 exactly.
Run from this folder:  python3 make_layer_fixtures.py   (numpy required)
"""
import json
import math

import numpy as np

SQRT_2_OVER_PI = 2.0 / math.sqrt(math.pi)

LAYER_NORM_CASES = [
    # name, input shape, affine, epsilon, offset added to the inputs, dtype
    ("rank 1", [5], True, 1e-5, 0.0, "float64"),
    ("batch", [4, 6], True, 1e-5, 0.0, "float32"),
    ("rank 3", [2, 3, 8], True, 1e-5, 0.0, "float32"),
    ("rank 3 without affine", [2, 3, 4], False, 1e-5, 0.0, "float64"),
    ("without affine", [3, 7], False, 1e-5, 0.0, "float32"),
    ("offset rows", [3, 16], True, 1e-5, 50.0, "float32"),
    ("one feature", [4, 1], True, 1e-5, 0.0, "float64"),
    ("larger epsilon", [2, 5], True, 1e-2, 0.0, "float64"),
    ("wide rows", [2, 2, 33], True, 1e-5, 0.0, "float64"),
]

# name, shape, dtype: inputs are a grid over -8..8 (both signs, 0 and the
# tails where erf and the sigmoid saturate) followed by random values.
ELEMENTWISE_CASES = [
    ("grid and random", [3, 23], "float32"),
    ("grid and random", [3, 23], "float64"),
    ("rank 3", [2, 3, 4], "float32"),
]

# name, shape, dtype, special logits placed first
BCE_CASES = [
    ("soft and hard targets", [4, 6], "float32"),
    ("soft and hard targets", [4, 6], "float64"),
    ("rank 3", [2, 3, 3], "float32"),
    ("single element", [1], "float64"),
]

# Logits of every magnitude, against each of the targets 0, 0.3 and 1.
SPECIAL_LOGITS = [1e4, -1e4, 30.0, -30.0, 0.0, 2.5]


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def rounded(a, dtype):
    """a rounded to dtype, returned in float64 (exactly)."""
    return np.asarray(a).astype(dtype).astype(np.float64)


def layer_norm_case(rng, name, shape, affine, eps, offset, dtype):
    n = shape[-1]
    x = rounded(rng.uniform(-2, 2, shape) + offset, dtype)
    weight = rounded(rng.uniform(0.5, 1.5, n), dtype) if affine else None
    bias = rounded(rng.uniform(-1, 1, n), dtype) if affine else None
    g = rounded(rng.uniform(-1, 1, shape), dtype)
    # eps as the Swift test passes it: rounded to the case's dtype.
    e = float(np.asarray(eps).astype(dtype))

    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred ** 2).mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(var + e)
    xhat = centred * inv
    w = weight if affine else np.ones(n)
    b = bias if affine else np.zeros(n)
    y = xhat * w + b

    gh = g * w
    dvar = (gh * centred).sum(axis=-1, keepdims=True) * -0.5 * (var + e) ** -1.5
    dmean = -gh.sum(axis=-1, keepdims=True) * inv + dvar * (-2.0 / n) * centred.sum(axis=-1, keepdims=True)
    dx = gh * inv + dvar * 2.0 * centred / n + dmean / n
    rows = g.reshape(-1, n)
    dweight = (rows * xhat.reshape(-1, n)).sum(axis=0)
    dbias = rows.sum(axis=0)

    # Error bounds, in units of (n + 2) eps (terms = n). X bounds xhat's own
    # error: |xhat| for the centring, scaling and 1/sigma, plus (1/sigma) mean|x|
    # for the rounded mean.
    X = np.abs(xhat) + inv * np.abs(x).mean(axis=-1, keepdims=True)
    y_magnitude = np.abs(w) * 2 * X + np.abs(b)
    ghX = (np.abs(gh) * X).mean(axis=-1, keepdims=True)
    dx_magnitude = inv * (np.abs(gh) + np.abs(gh).mean(axis=-1, keepdims=True) + 3 * X * ghX)
    # The parameter sums add one term per row as well: the test uses n + rows terms for them.
    dweight_magnitude = (np.abs(rows) * 2 * X.reshape(-1, n)).sum(axis=0)
    dbias_magnitude = np.abs(rows).sum(axis=0)

    return {
        "name": name, "dtype": dtype, "shape": shape, "affine": affine, "epsilon": eps,
        "x": flat(x), "weight": flat(weight) if affine else None, "bias": flat(bias) if affine else None,
        "g": flat(g),
        "y": flat(y), "y_magnitude": flat(y_magnitude),
        "dx": flat(dx), "dx_magnitude": flat(dx_magnitude),
        "dweight": flat(dweight) if affine else None, "dweight_magnitude": flat(dweight_magnitude),
        "dbias": flat(dbias) if affine else None, "dbias_magnitude": flat(dbias_magnitude),
    }


def elementwise_inputs(rng, shape, dtype):
    count = int(np.prod(shape))
    grid = np.array([-8, -6, -4.5, -3, -2, -1.25, -0.5, -1e-3, 0, 1e-3, 0.5, 1.25, 2, 3, 4.5, 6, 8])
    values = np.concatenate([grid, rng.uniform(-5, 5, max(count - grid.size, 0))])[:count]
    return rounded(values.reshape(shape), dtype)


def gelu_case(rng, name, shape, dtype):
    x = elementwise_inputs(rng, shape, dtype)
    g = rounded(rng.uniform(-1, 1, shape), dtype)
    erf = np.vectorize(math.erf)(x / math.sqrt(2))
    u = x / math.sqrt(2)
    derf = SQRT_2_OVER_PI * np.exp(-u * u)          # erf'(u)
    cdf = 0.5 * (1 + erf)
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    y = x * cdf
    dx = g * (cdf + x * pdf)
    h = 0.5 * np.abs(x)
    # y = (0.5 x) * (1 + erf(x c)): the product, the sum 1 + erf, erf itself, and
    # x c (with c's own rounding) through erf'.
    y_magnitude = 2 * np.abs(y) + h * (np.abs(erf) + 2 * derf * np.abs(u))
    # dx = g (Phi + x phi): the product and sum; Phi's 1 + erf, erf and x c; and
    # x phi's product, k * exp, k, exp, and x*x, whose relative error reaches
    # exp's argument x^2/2.
    xpdf = np.abs(x * pdf)
    dx_magnitude = np.abs(g) * (2 * np.abs(cdf + x * pdf) + cdf + 0.5 * np.abs(erf) + derf * np.abs(u)
                                + xpdf * (4 + 0.5 * x * x))
    return {
        "name": name, "dtype": dtype, "shape": shape, "x": flat(x), "g": flat(g),
        "y": flat(y), "y_magnitude": flat(y_magnitude), "dx": flat(dx), "dx_magnitude": flat(dx_magnitude),
    }


def sigmoid(x):
    """1 / (1 + e^-x) for every x: accurate to a few ulps in float64 on both
    sides (for x << 0, e^-x is large and nothing cancels; it overflows to inf,
    giving 0, only below -709). Not the library's split form, and not
    (1 + tanh(x/2))/2, whose 1 + tanh cancels for negative x."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def silu_case(rng, name, shape, dtype):
    x = elementwise_inputs(rng, shape, dtype)
    g = rounded(rng.uniform(-1, 1, shape), dtype)
    s = sigmoid(x)
    y = x * s
    d = s * (1 + x * (1 - s))
    dx = g * d
    # The sigmoid's own error: exp, 1 + e and the division, s (2 + (1 - s)).
    s_magnitude = s * (3 - s)
    y_magnitude = np.abs(y) + np.abs(x) * s_magnitude
    # dx = g (s (1 + x (1 - s))): the products and sums, and s's error through
    # d(d)/ds = 1 + x - 2 x s.
    dx_magnitude = np.abs(g) * (3 * np.abs(d) + 2 * np.abs(s * x * (1 - s))
                                + np.abs(1 + x - 2 * x * s) * s_magnitude)
    return {
        "name": name, "dtype": dtype, "shape": shape, "x": flat(x), "g": flat(g),
        "y": flat(y), "y_magnitude": flat(y_magnitude), "dx": flat(dx), "dx_magnitude": flat(dx_magnitude),
    }


def bce_case(rng, name, shape, dtype):
    count = int(np.prod(shape))
    special = [(z, t) for z in SPECIAL_LOGITS for t in (0.0, 0.3, 1.0)]
    z = np.concatenate([[p[0] for p in special], rng.uniform(-6, 6, count)])[:count]
    t = np.concatenate([[p[1] for p in special], rng.choice([0.0, 0.3, 1.0, -1.0], count)])[:count]
    # -1 stands for a target drawn uniformly from [0, 1].
    t = np.where(t < 0, rng.uniform(0, 1, count), t)
    z, t = rounded(z.reshape(shape), dtype), rounded(t.reshape(shape), dtype)

    softplus = lambda u: np.logaddexp(0.0, u)
    terms = t * softplus(-z) + (1 - t) * softplus(z)
    loss = terms.mean()
    s = sigmoid(z)
    dz = (s - t) / count
    # Each term max(z, 0) - z t + log1p(exp(-|z|)) and its roundings; the sum
    # over N elements is the test's N terms.
    log_part = np.log1p(np.exp(-np.abs(z)))
    loss_magnitude = (np.maximum(z, 0) + np.abs(z * t) + 2 * log_part).sum() / count
    # (sigma(z) - t) / N: the sigmoid's error, the difference, 1/N and the product.
    dz_magnitude = (s * (3 - s) + 3 * np.abs(s - t)) / count
    return {
        "name": name, "dtype": dtype, "shape": shape, "z": flat(z), "t": flat(t),
        "loss": float(loss), "loss_magnitude": float(loss_magnitude),
        "dz": flat(dz), "dz_magnitude": flat(dz_magnitude),
    }


def main():
    rng = np.random.default_rng(20260503)
    document = {
        "generator": "make_layer_fixtures.py",
        "numpy": np.__version__,
        "layer_norm": [layer_norm_case(rng, *c) for c in LAYER_NORM_CASES],
        "gelu": [gelu_case(rng, *c) for c in ELEMENTWISE_CASES],
        "silu": [silu_case(rng, *c) for c in ELEMENTWISE_CASES],
        "bce_with_logits": [bce_case(rng, *c) for c in BCE_CASES],
    }
    with open("layers.json", "w") as out:
        json.dump(document, out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
