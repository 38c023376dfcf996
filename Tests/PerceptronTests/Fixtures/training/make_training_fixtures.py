#!/usr/bin/env python3
"""Writes training.json: learning-rate schedules and gradient-norm clipping,
computed with numpy from the formulas PyTorch documents, for the Swift tests.

Schedules (closed forms, last_epoch = t after t calls of step()):
  StepLR:            base * gamma ** (t // step_size)
  CosineAnnealingLR: eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2
  LinearLR:          base * (start + (end - start) * min(t, total_iters) / total_iters), end = 1

torch.nn.utils.clip_grad_norm_(parameters, max_norm):
  total = sqrt(sum over every gradient element of g**2)
  coef = max_norm / (total + 1e-6); if coef < 1: g *= coef
Gradients are drawn in float32 (what a Float model holds); the norm and the
clipped values are computed in float64 from them.

Run from this folder: python3 make_training_fixtures.py
"""
import json
import math

import numpy as np


def schedule_cases():
    cases = []
    for base, size, gamma, steps in [(0.1, 3, 0.5, 20), (1.0, 1, 0.9, 30), (0.01, 7, 0.1, 25)]:
        cases.append({"kind": "step", "base": base, "stepSize": size, "gamma": gamma,
                      "rates": [base * gamma ** (t // size) for t in range(steps + 1)]})
    for base, period, minimum, steps in [(0.1, 10, 0.001, 25), (0.05, 7, 0.0, 14), (1.0, 1, 0.5, 4)]:
        cases.append({"kind": "cosine", "base": base, "periodLength": period, "minimum": minimum,
                      "rates": [minimum + (base - minimum) * (1 + math.cos(math.pi * t / period)) / 2
                                for t in range(steps + 1)]})
    for base, total, start, steps in [(0.2, 5, 1 / 3, 10), (1e-3, 4, 0.1, 8), (0.5, 1, 1.0, 3)]:
        cases.append({"kind": "warmup", "base": base, "steps": total, "startFactor": start,
                      "rates": [base * (start + (1 - start) * min(t, total) / total) for t in range(steps + 1)]})
    return cases


def clipping_cases():
    rng = np.random.default_rng(20261201)
    cases = []
    for max_norm, scale in [(1.0, 1.0), (0.5, 0.01), (10.0, 3.0), (0.0, 1.0)]:
        weight = (rng.standard_normal((3, 4)) * scale).astype(np.float32)
        bias = (rng.standard_normal(4) * scale).astype(np.float32)
        grads = [weight.astype(np.float64), bias.astype(np.float64)]
        total = math.sqrt(sum(float((g * g).sum()) for g in grads))
        coef = max_norm / (total + 1e-6)
        clipped = [g * coef if coef < 1 else g for g in grads]
        cases.append({"maxNorm": max_norm, "weightGradient": weight.astype(np.float64).ravel().tolist(),
                      "biasGradient": bias.astype(np.float64).tolist(), "norm": total,
                      "clippedWeightGradient": clipped[0].ravel().tolist(), "clippedBiasGradient": clipped[1].tolist()})
    return cases


with open("training.json", "w") as out:
    json.dump({"schedules": schedule_cases(), "clipping": clipping_cases()}, out, indent=1)
    out.write("\n")
