"""A model file's architecture, run in numpy: what make_model_fixtures.py and
check_saved_model.py share. No PyTorch: each layer applies the formula
torch.nn documents for it, in float64, on a state_dict in PyTorch's layout
(an nn.Linear weight is [out, in], so a Linear computes x @ W.T + b).

A layer is the JSON object the architecture format describes (see
make_model_fixtures.py): {"type": "Linear", "in_features": 4, ...}, or
{"type": "Sequential", "layers": [...]}.

forward() returns the output and, per element, a first-order bound on the
rounding error of a correct implementation in a given precision, in units of
that precision's epsilon: |computed - exact| <= eps * bound. Each layer adds
its own rounding to the error it receives through its Jacobian:

    error_out = |J| error_in + own

    Linear       |W| error_in + (f + 3) (sum_k |x_k W_jk| + |b_j|)   f products, the bias, and 2
    ReLU         error_in                                             (1-Lipschitz; exact itself)
    LeakyReLU    max(1, |slope|) error_in + |y|                       one product
    Tanh         (1 - y^2) error_in + 4 |y|                           libm, to an ulp or two
    Sigmoid      y (1 - y) error_in + 4 (y (1 - y) |x| + 2 y)         exp, 1 + e, the division
    Softmax      |diag(y) - y y^T| error_in + (n + 4) y               n exps summed, the division
    GELU         |Phi + x phi| error_in + 4 (2 |y| + |x|/2 (|erf| + 2 erf'(u) |u|))
    SiLU         |s (1 + x (1 - s))| error_in + 4 (|y| + |x| s (3 - s))
    LayerNorm    |J| error_in + (n + 2) (2 |w| X + |b|),  X = |xhat| + mean|x| / sigma,
                 J_ij = w_i / sigma (delta_ij - 1/n - xhat_i xhat_j / n)
    Dropout      the identity (evaluation)

The own terms of GELU, SiLU and LayerNorm are those of ../layers/make_layer_fixtures.py
times the factors its Swift tests apply ((terms + 2) with terms = 2, and n).
"""
import math

import numpy as np

SQRT_2_OVER_PI = 2.0 / math.sqrt(math.pi)


def sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def state_dict_shapes(layer, prefix=""):
    """The state_dict keys and shapes PyTorch gives this architecture, in order."""
    kind = layer["type"]
    if kind == "Linear":
        shapes = [(prefix + "weight", (layer["out_features"], layer["in_features"]))]
        if layer["bias"]:
            shapes.append((prefix + "bias", (layer["out_features"],)))
        return shapes
    if kind == "LayerNorm":
        if not layer["elementwise_affine"]:
            return []
        n = tuple(layer["normalized_shape"])
        return [(prefix + "weight", n), (prefix + "bias", n)]
    if kind == "Sequential":
        return [entry for index, inner in enumerate(layer["layers"])
                for entry in state_dict_shapes(inner, f"{prefix}{index}.")]
    return []


def forward(layer, state, x, error, prefix=""):
    """(y, error bound of y) for input x with error bound `error` (both float64 arrays)."""
    kind = layer["type"]
    if kind == "Sequential":
        for index, inner in enumerate(layer["layers"]):
            x, error = forward(inner, state, x, error, f"{prefix}{index}.")
        return x, error
    if kind == "Linear":
        w = state[prefix + "weight"].astype(np.float64)              # [out, in]
        b = state[prefix + "bias"].astype(np.float64) if layer["bias"] else np.zeros(w.shape[0])
        y = x @ w.T + b
        terms = np.abs(x) @ np.abs(w).T + np.abs(b)
        return y, error @ np.abs(w).T + (w.shape[1] + 3) * terms
    if kind == "ReLU":
        return np.maximum(x, 0), error
    if kind == "LeakyReLU":
        slope = layer["negative_slope"]
        y = np.where(x > 0, x, slope * x)
        return y, max(1.0, abs(slope)) * error + np.abs(y)
    if kind == "Tanh":
        y = np.tanh(x)
        return y, (1 - y * y) * error + 4 * np.abs(y)
    if kind == "Sigmoid":
        y = sigmoid(x)
        d = y * (1 - y)
        return y, d * error + 4 * (d * np.abs(x) + 2 * y)
    if kind == "Softmax":
        shifted = x - x.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        y = e / e.sum(axis=-1, keepdims=True)
        n = x.shape[-1]
        jacobian = np.abs(np.einsum("...i,ij->...ij", y, np.eye(n)) - np.einsum("...i,...j->...ij", y, y))
        return y, np.einsum("...ij,...j->...i", jacobian, error) + (n + 4) * y
    if kind == "GELU":
        u = x / math.sqrt(2)
        erf = np.vectorize(math.erf)(u)
        cdf = 0.5 * (1 + erf)
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        y = x * cdf
        own = 2 * np.abs(y) + 0.5 * np.abs(x) * (np.abs(erf) + 2 * SQRT_2_OVER_PI * np.exp(-u * u) * np.abs(u))
        return y, np.abs(cdf + x * pdf) * error + 4 * own
    if kind == "SiLU":
        s = sigmoid(x)
        y = x * s
        return y, np.abs(s * (1 + x * (1 - s))) * error + 4 * (np.abs(y) + np.abs(x) * s * (3 - s))
    if kind == "LayerNorm":
        n = layer["normalized_shape"][0]
        eps = layer["eps"]
        if layer["elementwise_affine"]:
            w = state[prefix + "weight"].astype(np.float64)
            b = state[prefix + "bias"].astype(np.float64)
        else:
            w, b = np.ones(n), np.zeros(n)
        mean = x.mean(axis=-1, keepdims=True)
        centred = x - mean
        var = (centred ** 2).mean(axis=-1, keepdims=True)
        inv = 1.0 / np.sqrt(var + eps)
        xhat = centred * inv
        y = xhat * w + b
        X = np.abs(xhat) + inv * np.abs(x).mean(axis=-1, keepdims=True)
        own = (n + 2) * (2 * np.abs(w) * X + np.abs(b))
        eye = np.eye(n)
        jacobian = np.abs(w[:, None] * inv[..., None]
                          * (eye - 1.0 / n - np.einsum("...i,...j->...ij", xhat, xhat) / n))
        return y, np.einsum("...ij,...j->...i", jacobian, error) + own
    if kind == "Dropout":
        return x, error
    raise ValueError(f"unknown layer type {kind!r}")
