#!/usr/bin/env python3
"""Writes optimizers.json: SGD and Adam trajectories computed by numpy, for the Swift tests.

Every case starts from the same two parameters, "weight" [2, 3] and "bias" [3],
and applies the same sequence of STEPS gradients (the layer's .grad at each
step; the optimizer adds any weight decay itself). After every step it stores
the parameters. All initial values and gradients are drawn at random and
rounded to float32, so that a Float run starts from exactly the same numbers
as the float64 reference; the trajectories themselves are computed in float64.

The update rules are PyTorch's as documented (torch.optim.SGD, torch.optim.Adam
and torch.optim.AdamW, PyTorch 2.x docs), with maximize=False, amsgrad=False,
dampening tau = 0, written out literally (not PyTorch's fused/foreach forms,
which reorder the arithmetic; they agree up to rounding):

SGD  (gamma lr, lambda weight decay, mu momentum, tau dampening = 0):
    for t = 1 ...:
        g_t <- grad_t
        if lambda != 0:  g_t <- g_t + lambda * theta_{t-1}
        if mu != 0:
            if t > 1:    b_t <- mu * b_{t-1} + (1 - tau) * g_t
            else:        b_t <- g_t
            if nesterov: g_t <- g_t + mu * b_t
            else:        g_t <- b_t
        theta_t <- theta_{t-1} - gamma * g_t

  (PyTorch 1.9-1.12 docs print the Nesterov line as g_{t-1} + mu*b_t; that is a
  typo, fixed in 1.13+ to g_t + mu*b_t, which is what the code has always done.)

Adam (gamma lr, beta1, beta2, lambda weight decay, epsilon), m_0 = v_0 = 0:
    for t = 1 ...:
        g_t <- grad_t
        if lambda != 0 and coupled (torch.optim.Adam):  g_t <- g_t + lambda * theta_{t-1}
        if lambda != 0 and decoupled (torch.optim.AdamW): theta_t <- theta_{t-1} - gamma * lambda * theta_{t-1}
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t <- beta2 * v_{t-1} + (1 - beta2) * g_t^2
        mhat_t <- m_t / (1 - beta1^t)
        vhat_t <- v_t / (1 - beta2^t)
        theta_t <- theta_t - gamma * mhat_t / (sqrt(vhat_t) + epsilon)

  (eps is added after the bias correction, outside the square root.)

Gradient details that exercise edge cases: weight[0, 0]'s gradient is exactly 0
at step 1 (Adam must give 0/(0 + eps) = 0 there, not NaN), and bias[0]'s
gradients are of order 1e-6, where the placement of eps matters.

Values are written with repr() (json), which round-trips float64 exactly.
Run from this folder:  python3 make_optimizer_fixtures.py   (numpy required)
"""
import json

import numpy as np

STEPS = 5
SHAPES = {"weight": (2, 3), "bias": (3,)}

# name, optimizer, hyperparameters (PyTorch's defaults for anything omitted)
CASES = [
    ("sgd plain", "sgd", dict(learning_rate=0.1)),
    ("sgd momentum", "sgd", dict(learning_rate=0.05, momentum=0.9)),
    ("sgd nesterov", "sgd", dict(learning_rate=0.05, momentum=0.9, nesterov=True)),
    ("sgd weight decay", "sgd", dict(learning_rate=0.1, weight_decay=0.01)),
    ("sgd weight decay momentum", "sgd", dict(learning_rate=0.05, momentum=0.9, weight_decay=0.01)),
    ("sgd weight decay nesterov", "sgd", dict(learning_rate=0.05, momentum=0.9, weight_decay=0.01, nesterov=True)),
    ("adam default", "adam", dict()),
    ("adam coupled weight decay", "adam", dict(learning_rate=0.01, weight_decay=0.1)),
    ("adamw decoupled weight decay", "adam", dict(learning_rate=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("adam betas eps", "adam", dict(learning_rate=0.01, beta1=0.5, beta2=0.9, epsilon=1e-6)),
]

SGD_DEFAULTS = dict(momentum=0.0, weight_decay=0.0, nesterov=False)
ADAM_DEFAULTS = dict(learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8,
                     weight_decay=0.0, decoupled_weight_decay=False)


def sgd(theta, grads, learning_rate, momentum, weight_decay, nesterov):
    """The documented SGD loop above, for one parameter; returns theta after each step."""
    gamma, lam, mu, tau = learning_rate, weight_decay, momentum, 0.0
    theta = theta.copy()
    b = None
    trajectory = []
    for t, grad in enumerate(grads, start=1):
        g = grad.copy()
        if lam != 0:
            g = g + lam * theta
        if mu != 0:
            b = mu * b + (1 - tau) * g if t > 1 else g.copy()
            g = g + mu * b if nesterov else b
        theta = theta - gamma * g
        trajectory.append(theta)
    return trajectory


def adam(theta, grads, learning_rate, beta1, beta2, epsilon, weight_decay, decoupled_weight_decay):
    """The documented Adam / AdamW loop above, for one parameter; returns theta after each step."""
    gamma, lam = learning_rate, weight_decay
    theta = theta.copy()
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    trajectory = []
    for t, grad in enumerate(grads, start=1):
        g = grad.copy()
        if lam != 0:
            if decoupled_weight_decay:
                theta = theta - gamma * lam * theta
            else:
                g = g + lam * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        theta = theta - gamma * m_hat / (np.sqrt(v_hat) + epsilon)
        trajectory.append(theta)
    return trajectory


def flat(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def main():
    rng = np.random.default_rng(20260427)

    def as_float32(a):
        return np.asarray(a, dtype=np.float32).astype(np.float64)

    # Magnitudes in [0.5, 1.5] with random signs: no parameter comes near 0 in
    # five steps, so a relative tolerance is meaningful for every element.
    initial = {}
    for name, shape in SHAPES.items():
        sign = rng.choice([-1.0, 1.0], size=shape)
        initial[name] = as_float32(sign * rng.uniform(0.5, 1.5, size=shape))
    gradients = {name: [] for name in SHAPES}
    for step in range(STEPS):
        w = rng.uniform(-1, 1, size=SHAPES["weight"])
        b = rng.uniform(-1, 1, size=SHAPES["bias"])
        if step == 0:
            w[0, 0] = 0.0
        b[0] *= 1e-6
        gradients["weight"].append(as_float32(w))
        gradients["bias"].append(as_float32(b))

    cases = []
    for case_name, optimizer, given in CASES:
        if optimizer == "sgd":
            hyper = {**SGD_DEFAULTS, **given}
            run = sgd
        else:
            hyper = {**ADAM_DEFAULTS, **given}
            run = adam
        expected = {}
        for name in SHAPES:
            trajectory = run(initial[name], gradients[name], **hyper)
            assert all(np.all(np.isfinite(x)) for x in trajectory), case_name
            assert min(np.min(np.abs(x)) for x in trajectory) > 0.1, case_name
            expected[name] = [flat(x) for x in trajectory]
        case = {
            "name": case_name,
            "optimizer": optimizer,
            "learning_rate": hyper["learning_rate"],
            "weight_decay": hyper["weight_decay"],
        }
        if optimizer == "sgd":
            case.update(momentum=hyper["momentum"], nesterov=hyper["nesterov"])
        else:
            case.update(beta1=hyper["beta1"], beta2=hyper["beta2"], epsilon=hyper["epsilon"],
                        decoupled_weight_decay=hyper["decoupled_weight_decay"])
        case["expected_weight"] = expected["weight"]
        case["expected_bias"] = expected["bias"]
        cases.append(case)

    document = {
        "generator": "make_optimizer_fixtures.py",
        "numpy": np.__version__,
        "steps": STEPS,
        "weight_shape": list(SHAPES["weight"]),
        "bias_shape": list(SHAPES["bias"]),
        "initial_weight": flat(initial["weight"]),
        "initial_bias": flat(initial["bias"]),
        "gradients_weight": [flat(g) for g in gradients["weight"]],
        "gradients_bias": [flat(g) for g in gradients["bias"]],
        "cases": cases,
    }
    with open("optimizers.json", "w") as out:
        json.dump(document, out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
