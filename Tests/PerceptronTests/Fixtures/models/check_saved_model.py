#!/usr/bin/env python3
"""Checks, with numpy and the `safetensors` package, the model files that
Perceptron's Layer.save(to:) wrote in ModelFileTests.swift
(writesModelsForThePythonCheck): a model with every layer type of the
library, nested Sequentials and a square Linear, in float32 and in float64.

    model_float32.safetensors   the model, Float        model_float32_input.npy, model_float32_output.npy
    model_float64.safetensors   the same model, Double  model_float64_input.npy, model_float64_output.npy

For each file:
  - the metadata holds "format": "pt" and a version-1 architecture;
  - the tensors are exactly the state_dict PyTorch gives that architecture:
    the same keys, shapes ([out, in] for a Linear weight) and dtype, so
    nn.Sequential(...).load_state_dict(safetensors.torch.load_file(path))
    would take them;
  - numpy's forward pass of the architecture on the saved input (x @ W.T + b
    for a Linear, numpy_models.forward) equals the output Swift saved, within
    the first-order rounding bound (twice it for float64, whose reference
    rounds as much as the library).

    PERCEPTRON_MODEL_CHECK_DIR=/tmp/models swift test --filter writesModelsForThePythonCheck
    python3 Tests/PerceptronTests/Fixtures/models/check_saved_model.py /tmp/models

Exits 0 when every check passes, 1 otherwise. The tests never need this
script: it is run by hand, to check the writer against the reference.
(numpy and safetensors required: pip install safetensors)
"""
import json
import os
import sys

import numpy as np
import safetensors
import safetensors.numpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_models import forward, state_dict_shapes  # noqa: E402

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def check_file(directory, name, dtype):
    path = os.path.join(directory, f"{name}.safetensors")
    with safetensors.safe_open(path, framework="np") as f:
        metadata = f.metadata() or {}
    check(metadata.get("format") == "pt", f"{name}: metadata format {metadata.get('format')!r}")
    document = json.loads(metadata["perceptron.architecture"])
    check(document.get("version") == 1, f"{name}: architecture version {document.get('version')!r}")
    architecture = document["model"]

    state = safetensors.numpy.load_file(path)
    expected = dict(state_dict_shapes(architecture))
    check(sorted(state) == sorted(expected), f"{name}: keys {sorted(state)} != {sorted(expected)}")
    for key, shape in expected.items():
        got = state.get(key)
        check(got is not None and got.shape == shape and got.dtype == dtype,
              f"{name}: {key} is {None if got is None else (got.shape, got.dtype)}, expected {shape} {dtype}")

    x = np.load(os.path.join(directory, f"{name}_input.npy"))
    swift = np.load(os.path.join(directory, f"{name}_output.npy"))
    check(x.dtype == dtype and swift.dtype == dtype, f"{name}: input/output dtypes {x.dtype}, {swift.dtype}")
    x64 = x.astype(np.float64)
    reference, bound = forward(architecture, state, x64, np.zeros_like(x64))
    factor = 2.0 if dtype == np.float64 else 1.0
    ratio = np.abs(swift.astype(np.float64) - reference) / (factor * np.finfo(dtype).eps * bound)
    worst = float(ratio.max())
    check(swift.shape == reference.shape and worst <= 1, f"{name}: worst error {worst} of the rounding bound")
    largest = float(np.abs(swift.astype(np.float64) - reference).max())
    print(f"{name}: {len(state)} tensors, {len(architecture['layers'])} layers; output {swift.shape}, "
          f"largest |swift - numpy| {largest:.3g}, worst {worst:.3g} of the bound")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    directory = sys.argv[1]
    check_file(directory, "model_float32", np.float32)
    check_file(directory, "model_float64", np.float64)
    for failure in failures:
        print("FAIL", failure)
    print(f"safetensors {safetensors.__version__}, numpy {np.__version__}: 2 files, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
