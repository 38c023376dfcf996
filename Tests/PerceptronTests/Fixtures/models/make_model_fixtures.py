#!/usr/bin/env python3
"""Writes model files in PyTorch's layout, as PyTorch writes them, for
ModelFileFixtureTests.swift: the state_dict of an nn.Sequential, saved with
safetensors.numpy.save_file (torch is not needed: the keys, shapes and dtype
are exactly those torch.nn gives, written by the safetensors package itself).

    mlp.safetensors      nn.Sequential(Linear(4, 6), ReLU(), Linear(6, 6),
                         LayerNorm(6), Tanh(), Linear(6, 3)), float32, with
                         metadata {"format": "pt"} only: no architecture, as
                         safetensors.torch.save_file(model.state_dict(), ...)
                         writes it. Linear(6, 6) is square: loaded untransposed
                         it would give the wrong output with no shape error.
    nested.safetensors   nn.Sequential(Linear(5, 4, bias=False), GELU(),
                         nn.Sequential(Linear(4, 4), LayerNorm(4, eps=1e-3),
                         SiLU()), LeakyReLU(0.1), Dropout(0.25), Linear(4, 2)),
                         float32, keys such as 2.0.weight; its metadata also
                         records the architecture, written here from the
                         format's documentation (ArchitectureFormat.swift), so
                         that the Swift reader is checked against a writer it
                         shares no code with.

Every parameter is drawn at random (LayerNorm's too, as after training) and
rounded to float32; so is the input x, a batch of 5. expected.json holds,
per file, the architecture, x, and y = the model's output at evaluation
(Dropout the identity), computed by numpy_models.forward in float64 from
exactly those float32 numbers (a Linear is x @ W.T + b), with each element's
first-order rounding bound in units of epsilon (see numpy_models.py). Values
are written with repr() (json), which round-trips float64 exactly.

Run from this folder:  python3 make_model_fixtures.py
(numpy and safetensors required: pip install safetensors)
"""
import json

import numpy as np
import safetensors
import safetensors.numpy

from numpy_models import forward, state_dict_shapes

MLP = {"type": "Sequential", "layers": [
    {"type": "Linear", "in_features": 4, "out_features": 6, "bias": True},
    {"type": "ReLU"},
    {"type": "Linear", "in_features": 6, "out_features": 6, "bias": True},
    {"type": "LayerNorm", "normalized_shape": [6], "eps": 1e-5, "elementwise_affine": True},
    {"type": "Tanh"},
    {"type": "Linear", "in_features": 6, "out_features": 3, "bias": True},
]}

NESTED = {"type": "Sequential", "layers": [
    {"type": "Linear", "in_features": 5, "out_features": 4, "bias": False},
    {"type": "GELU", "approximate": "none"},
    {"type": "Sequential", "layers": [
        {"type": "Linear", "in_features": 4, "out_features": 4, "bias": True},
        {"type": "LayerNorm", "normalized_shape": [4], "eps": 1e-3, "elementwise_affine": True},
        {"type": "SiLU"},
    ]},
    {"type": "LeakyReLU", "negative_slope": 0.1},
    {"type": "Dropout", "p": 0.25},
    {"type": "Linear", "in_features": 4, "out_features": 2, "bias": True},
]}


def random_state(rng, architecture):
    """A state_dict for the architecture: every tensor uniform in -1..1
    (LayerNorm weights in 0.5..1.5), rounded to float32."""
    state = {}
    for key, shape in state_dict_shapes(architecture):
        low, high = (0.5, 1.5) if key.endswith("weight") and len(shape) == 1 else (-1.0, 1.0)
        state[key] = rng.uniform(low, high, shape).astype(np.float32)
    return state


def case(rng, architecture, file, record_architecture):
    state = random_state(rng, architecture)
    in_features = architecture["layers"][0]["in_features"]
    x = rng.uniform(-2, 2, (5, in_features)).astype(np.float32)
    metadata = {"format": "pt"}
    if record_architecture:
        metadata["perceptron.architecture"] = json.dumps(
            {"version": 1, "model": architecture}, separators=(",", ":"))
    safetensors.numpy.save_file(state, file, metadata=metadata)
    x64 = x.astype(np.float64)
    y, bound = forward(architecture, state, x64, np.zeros_like(x64))
    return {
        "file": file, "architecture": architecture,
        "x": {"shape": list(x.shape), "values": x64.ravel().tolist()},
        "y": {"shape": list(y.shape), "values": y.ravel().tolist(), "bound": bound.ravel().tolist()},
    }


def main():
    rng = np.random.default_rng(20240612)
    cases = {
        "mlp": case(rng, MLP, "mlp.safetensors", record_architecture=False),
        "nested": case(rng, NESTED, "nested.safetensors", record_architecture=True),
    }
    with open("expected.json", "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    print(f"safetensors {safetensors.__version__}, numpy {np.__version__}: wrote", ", ".join(c["file"] for c in cases.values()))


if __name__ == "__main__":
    main()
