#!/usr/bin/env python3
"""Times Perceptron's layer step against numpy's identical step, side by side.

The step at each shape (n, f, m), in numpy:

    Z = X @ W + b;  dW = X.T @ G;  db = G.sum(0);  dX = G @ W.T

and in Perceptron, `layer(x)` then `layer.backward(g)` (perceptron-bench
--steps --shape N,F,M). Both run with the same dtype and OpenBLAS thread count
(numpy's through threadpoolctl). The two alternate shape by shape, the first to
go switching every round, for several rounds, so that drift in the machine's
speed (tens of per cent over minutes on a shared VM) hits both alike. Times are
medians over rounds; each ratio is the median of the rounds' ratios, each from
two measurements taken seconds apart.

Every round also runs perceptron-bench with OPENBLAS_CORETYPE=SkylakeX, to
compare the library's own sgemm 1024³ with the fastest kernel this OpenBLAS
offers when forced by the environment (set for that one child process only;
skipped on a CPU without AVX-512, where those kernels would crash), and measures the machine's FMA peak (perceptron-bench --peak). A second table
puts each step's rate, Perceptron's and numpy's, beside that ceiling, with the
rate a target asks for: a target that needs more than the peak cannot be met by
any code, and one close to it only by a GEMM as good as the best there are.
That table takes the undisturbed figures, which are the best ones (other work
on the machine only ever slows a measurement): the highest peak of any round,
and each side's fastest round.

Then it times a whole model's training step, the one `perceptron-bench --mlp`
measures: an MLP 784-256-256-10 (Linear-LayerNorm-ReLU-Dropout twice, then
Linear), softmax cross-entropy and Adam on a batch of 128, written here in
numpy (forward, backward and the Adam update, in the run's dtype) and timed as
perceptron-bench times it (warm-up steps, then one step per sample for a fixed
time; median and min–max), the two sides alternating round by round. Before
any timing, a self-check holds that numpy step to its definition on a tiny
case in float64: every gradient against central finite differences, and the
Adam update against PyTorch's documented rule computed element by element.

Then it serves the digits model (64-64-10, ReLU) both ways: Perceptron's
InferenceModel shared by 1 and 2 Swift tasks (perceptron-bench --serve), and
numpy's `maximum(x @ W1 + b1, 0) @ W2 + b2` from 1 and 2 Python threads, at
batches of 1 and 32 rows, timed the same way (see "Serving" below): requests
per second and p50/p99 latency, side by side.

With --precision bfloat16, Perceptron's layers run in bfloat16 against numpy's
float32 step, and, when this Python can import torch (optional: `pip install
torch`), PyTorch's bfloat16 step joins the rounds: the same four lines on
float32 tensors under `torch.autocast("cpu", dtype=torch.bfloat16)`, PyTorch's
CPU mixed precision (bfloat16 inputs to each product, float32 accumulation),
with `torch.set_num_threads` at the run's thread count, timed as numpy's is.
On a CPU where Perceptron refuses bfloat16 (no bfloat16 instructions, and no
bfloat16 matmul in oneDNN for it), the script says so and times Perceptron's
float32 step in its place, beside PyTorch's bfloat16 step, which emulates
bfloat16 there.

Usage: python3 Benchmarks/compare_numpy.py [--dtype float|double] [--threads N] [--rounds R]
                                           [--only steps|mlp|serve] [--window SECONDS]
(`make compare` builds the benchmark first and runs this.)
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit

SHAPES = [(32, 64, 64), (64, 256, 256), (256, 512, 512), (1024, 1024, 1024), (8192, 784, 128)]

# Step time ÷ numpy's that the project aims for (Float, Double).
TARGETS = {
    "float": {(32, 64, 64): 0.5, (64, 256, 256): 0.5, (256, 512, 512): 0.75,
              (1024, 1024, 1024): 0.8, (8192, 784, 128): 0.75},
    "double": {(64, 256, 256): 0.75, (256, 512, 512): 0.8, (1024, 1024, 1024): 0.7},
}
# With --precision bfloat16: the layers in bfloat16 against numpy's float32 step.
BFLOAT16_TARGETS = {(256, 512, 512): 0.5, (1024, 1024, 1024): 0.5, (8192, 784, 128): 0.5}

# perceptron-bench's precision arguments (--precision, --bf16-threshold), set from the command line.
PRECISION_ARGUMENTS = []

# The model of `perceptron-bench --mlp` (MLPStep.swift): the same widths, batch, dropout and Adam.
MLP_WIDTHS = (784, 256, 256, 10)
MLP_BATCH = 128
MLP_DROPOUT = 0.1
MLP_LEARNING_RATE = 1e-3
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8
LAYER_NORM_EPSILON = 1e-5


BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".build", "release", "perceptron-bench")


def bench_process(arguments, environment=None, capture_stderr=False):
    """One run of perceptron-bench with `arguments` and --json: its exit status, its standard error
    when `capture_stderr` (else it reaches the terminal), and the JSON it wrote (None if it failed)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "report.json")
        env = dict(os.environ)
        env.update(environment or {})
        run = subprocess.run([BENCH, *arguments, "--json", path], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE if capture_stderr else None, text=True)
        if run.returncode != 0:
            return run.returncode, run.stderr, None
        with open(path) as report:
            return 0, run.stderr, json.load(report)


def run_bench(arguments, environment=None):
    """One run of perceptron-bench with `arguments` and --json; returns the JSON it wrote."""
    status, _, report = bench_process(arguments, environment)
    if status != 0:
        sys.exit(f"perceptron-bench {' '.join(arguments)} failed (exit status {status}); its message is above")
    return report


def bfloat16_refusal():
    """perceptron-bench's message when this CPU cannot run Perceptron's layers in bfloat16, else None."""
    status, stderr, _ = bench_process(["--steps", "--precision", "bfloat16", "--shape", "32,64,64"],
                                      capture_stderr=True)
    if status == 0:
        return None
    if status < 0 or "bfloat16" not in stderr:
        # A crash, or another failure: not a refusal to report as the CPU's.
        sys.exit(f"perceptron-bench failed while asked for bfloat16 (exit status {status}): {stderr.strip()}")
    return stderr.strip().removeprefix("perceptron-bench: ")


def perceptron_round(dtype, threads, shape=None, environment=None):
    """One run of perceptron-bench --steps, the layer step at `shape` or else only the 1024³ matmul;
    returns its JSON report."""
    arguments = ["--steps", "--dtype", dtype, "--threads", str(threads), *PRECISION_ARGUMENTS]
    arguments += ["--shape", ",".join(map(str, shape))] if shape is not None else ["--matmul", "1024"]
    return run_bench(arguments, environment)


def peak_round(dtype, threads):
    """The FMA units' peak in GFLOP/s on `threads` threads, for `dtype`, from perceptron-bench --peak;
    None if the CPU has no FMA to measure."""
    rates = run_bench(["--peak", "--threads", str(threads)])["rates"]
    rate = [r for r in rates if r["threads"] == threads]
    return rate[0]["floatGFLOPS" if dtype == "float" else "doubleGFLOPS"] if rate else None


def cpu_runs_skylakex():
    """Whether the CPU has the AVX-512 subsets OpenBLAS's SkylakeX kernels use (F, CD, BW, DQ, VL):
    forced on a CPU without them, those kernels die of SIGILL."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next(line for line in info if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return False
    return {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"} <= set(flags)


def print_machine(report, blas):
    """The lines that name the machine and both sides' BLAS: `report` is a perceptron-bench
    JSON report, `blas` numpy's BLAS libraries as threadpoolctl lists them."""
    print(f"CPU:        {report['cpu']}, {report['cores']} cores")
    print(f"Perceptron: {report['blas']}")
    for info in blas:
        print(f"numpy:      {info.get('internal_api')} {info.get('version')}, kernel {info.get('architecture')}, "
              f"{info.get('num_threads')} thread{'' if info.get('num_threads') == 1 else 's'}")


def step_flops(shape):
    """Floating-point operations in a step's three products (the bias and column sums are not counted)."""
    n, f, m = shape
    return 3 * 2 * n * f * m


def median_seconds(step):
    """The median of 9 timings of `step`, each over as many calls as fill about 0.1 s."""
    step()
    timer = timeit.Timer(step)
    number, _ = timer.autorange()
    number = max(1, number // 2)
    return statistics.median(t / number for t in timer.repeat(repeat=9, number=number))


def numpy_round(np, dtype, shape):
    """Median seconds of numpy's step at one shape."""
    n, f, m = shape
    rng = np.random.default_rng(2026)
    kind = np.float32 if dtype == "float" else np.float64
    X = rng.uniform(-1, 1, (n, f)).astype(kind)
    W = rng.uniform(-1, 1, (f, m)).astype(kind)
    b = rng.uniform(-1, 1, m).astype(kind)
    G = rng.uniform(-1, 1, (n, m)).astype(kind)

    def step():
        Z = X @ W + b
        dW = X.T @ G
        db = G.sum(0)
        dX = G @ W.T
        return Z, dW, db, dX

    return median_seconds(step)


def torch_round(torch, shape):
    """Median seconds of PyTorch's step at one shape under CPU autocast to bfloat16."""
    n, f, m = shape
    generator = torch.Generator().manual_seed(2026)
    uniform = lambda *size: torch.rand(*size, generator=generator) * 2 - 1
    X, W, b, G = uniform(n, f), uniform(f, m), uniform(m), uniform(n, m)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            Z = X @ W + b
            dW = X.T @ G
            db = G.sum(0)
            dX = G @ W.T
        return Z, dW, db, dX

    with torch.no_grad():
        return median_seconds(step)


def import_torch(args):
    """torch, with the run's thread count, when --precision bfloat16 asks for it and it imports; else None."""
    if args.precision != "bfloat16":
        return None
    try:
        import torch
    except ImportError:
        print("PyTorch not found (optional: pip install torch): no PyTorch bfloat16 rows", file=sys.stderr)
        return None
    torch.set_num_threads(args.threads)
    return torch


def compare_steps(args, np, threadpool_info, threadpool_limits):
    """The layer step at each of SHAPES, both sides, and the tables that compare them."""
    perceptron = {shape: [] for shape in SHAPES}
    numpy_times = {shape: [] for shape in SHAPES}
    ratios = {shape: [] for shape in SHAPES}
    overhead = {shape: [] for shape in SHAPES}
    allocations = {}
    sgemm = []
    force_skylakex = cpu_runs_skylakex()
    forced = None
    peaks = []
    header = None
    torch = import_torch(args)
    torch_times = {shape: [] for shape in SHAPES}

    def perceptron_step(shape):
        step = [c for c in perceptron_round(args.dtype, args.threads, shape)["comparisons"] if c["operation"] == "step"][0]
        overhead[shape].append(step["blas"]["medianSeconds"] / step["raw"]["medianSeconds"] - 1)
        allocations[shape] = step.get("allocationsPerRun")
        return step["blas"]["medianSeconds"]

    threads_label = f"{args.threads} thread{'' if args.threads == 1 else 's'}"
    with threadpool_limits(limits=args.threads, user_api="blas"):
        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        for round_index in range(args.rounds):
            print(f"round {round_index + 1}/{args.rounds}…", file=sys.stderr)
            peaks.append(peak_round(args.dtype, args.threads))
            for shape in SHAPES:
                if round_index % 2 == 0:
                    mine, theirs = perceptron_step(shape), numpy_round(np, args.dtype, shape)
                else:
                    theirs, mine = numpy_round(np, args.dtype, shape), perceptron_step(shape)
                perceptron[shape].append(mine)
                numpy_times[shape].append(theirs)
                ratios[shape].append(mine / theirs)
                if torch is not None:
                    torch_times[shape].append((torch_round(torch, shape), mine, theirs))
            # The library's own kernel choice and the environment's, first to go switching every round.
            run_library = lambda: perceptron_round(args.dtype, args.threads)
            run_forced = lambda: perceptron_round(args.dtype, args.threads, environment={"OPENBLAS_CORETYPE": "SkylakeX"})
            if not force_skylakex:
                report = run_library()
            elif round_index % 2 == 0:
                report, forced = run_library(), run_forced()
            else:
                forced, report = run_forced(), run_library()
            header = header or report
            library_time, forced_time = (
                [c["blas"]["medianSeconds"] for c in r["comparisons"] if c["operation"] == "matmul"][0]
                if r is not None else None
                for r in (report, forced))
            sgemm.append((library_time, forced_time))

    in_bfloat16 = args.precision == "bfloat16" and args.bfloat16_refusal is None
    layers = ", Perceptron's layers in bfloat16 (numpy's in float32)" if in_bfloat16 else ""
    print(f"Perceptron vs numpy {np.__version__}: one layer step, {args.dtype}{layers}, {threads_label}, "
          f"median of {args.rounds} rounds, alternating shape by shape")
    print_machine(header, blas)
    print()
    print(f"{'shape (n, f, m)':<20}{'Perceptron':>12}{'numpy':>12}{'ratio':>8}{'target':>8}{'':>8}"
          f"{'vs raw GEMMs':>14}{'allocs/step':>13}")
    targets = BFLOAT16_TARGETS if in_bfloat16 else TARGETS[args.dtype]
    for shape in SHAPES:
        ours = statistics.median(perceptron[shape])
        theirs = statistics.median(numpy_times[shape])
        ratio = statistics.median(ratios[shape])
        target = targets.get(shape)
        verdict = "" if target is None else ("met" if ratio <= target else "MISSED")
        print(f"{str(shape):<20}{ours * 1e3:>10.3f}ms{theirs * 1e3:>10.3f}ms{ratio:>8.2f}"
              f"{(f'≤{target}' if target else '–'):>8}{verdict:>8}"
              f"{statistics.median(overhead[shape]) * 100:>+13.1f}%{allocations[shape]!s:>13}")
    if torch is not None:
        print()
        print(f"PyTorch {torch.__version__}, bfloat16 autocast, {threads_label}, timed after each shape's pair; "
              "ratios are medians of the rounds' ratios"
              + ("" if in_bfloat16 else "; Perceptron's step in float32 (its bfloat16 is refused here)"))
        print(f"{'shape (n, f, m)':<20}{'PyTorch':>12}{'÷ numpy':>10}{'Perceptron ÷ PyTorch':>23}")
        for shape in SHAPES:
            rounds = torch_times[shape]
            print(f"{str(shape):<20}{statistics.median(t for t, _, _ in rounds) * 1e3:>10.3f}ms"
                  f"{statistics.median(t / n for t, _, n in rounds):>10.2f}"
                  f"{statistics.median(p / t for t, p, _ in rounds):>23.2f}")
    library = statistics.median(t for t, _ in sgemm)
    flops = 2 * 1024 ** 3
    print()
    routine = "sgemm" if args.dtype == "float" else "dgemm"
    through = f"{routine} 1024³ through Perceptron ({header['coreName']}): {flops / library / 1e9:.0f} GFLOP/s; "
    if force_skylakex:
        forced_sgemm = statistics.median(t for _, t in sgemm)
        print(through + f"{forced['coreName']} forced by OPENBLAS_CORETYPE: {flops / forced_sgemm / 1e9:.0f} GFLOP/s; "
              f"ratio {statistics.median(f / t for t, f in sgemm):.2f} (target ≥ 0.9)")
    else:
        print(through + "SkylakeX not forced for comparison: this CPU lacks AVX-512")

    # The ceiling. Interference from other work on the machine only ever slows
    # a measurement, so the undisturbed figures are the best ones: the highest
    # peak of any round, and each side's fastest round.
    if None in peaks:
        print()
        print("No FMA peak to compare with: the CPU has neither AVX-512 nor AVX2 with FMA.")
        return
    peak = max(peaks)
    print()
    print(f"Against the FMA peak ({threads_label}, {args.dtype}: best of the rounds {peak:.0f} GFLOP/s, "
          f"worst {min(peaks):.0f}), each side's fastest round; a step's rate counts its three products only")
    print(f"{'shape (n, f, m)':<20}{'Perceptron':>16}{'numpy':>16}{'the target needs':>24}")
    for shape in SHAPES:
        flops = step_flops(shape)
        ours = flops / min(perceptron[shape]) / 1e9
        theirs = flops / min(numpy_times[shape]) / 1e9
        target = targets.get(shape)
        needs = "–" if target is None else f"{theirs / target:.0f} GFLOP/s {theirs / target / peak * 100:>4.0f}%"
        print(f"{str(shape):<20}{ours:>8.0f} {ours / peak * 100:>5.0f}%{theirs:>9.0f} {theirs / peak * 100:>5.0f}%{needs:>24}")


# MARK: Serving
#
# The digits model (64-64-10, ReLU) answering requests of SERVE_BATCHES rows
# from SERVE_TASKS concurrent callers: perceptron-bench --serve (one
# InferenceModel shared by Swift tasks), and numpy's chain
# `maximum(x @ W1 + b1, 0) @ W2 + b2` from as many Python threads, timed the
# same way: every caller sends its next request as soon as the last is
# answered, until a common deadline; a request's latency is the time from one
# answer to the next on its caller; requests per second are all callers'
# requests over the time from the first one's start to the last one's end.
# Both sides run one window per configuration per round, the configurations
# in the same turns, and the two sides alternate round by round, the first to
# go switching; figures are medians over the rounds. OpenBLAS runs one thread
# per call on both sides (numpy's through threadpoolctl): the callers are the
# parallelism, and products this small are not split anyway.

SERVE_FEATURES, SERVE_HIDDEN, SERVE_CLASSES = 64, 64, 10
SERVE_TASKS = [1, 2]
SERVE_BATCHES = [1, 32]
SERVE_SEED = 2026


def mlp_parameters(np, widths, kind, rng):
    """An MLP's parameters in the order Perceptron's Sequential lists them: for each hidden layer
    the Linear's weight [f, m] and bias, then the LayerNorm's weight (ones) and bias (zeros); then
    the last Linear's. Linear weights are uniform in ±1/√f, as PyTorch's nn.Linear."""
    parameters = []
    for index, (f, m) in enumerate(zip(widths, widths[1:])):
        bound = 1 / f ** 0.5
        parameters += [rng.uniform(-bound, bound, (f, m)).astype(kind), rng.uniform(-bound, bound, m).astype(kind)]
        if index < len(widths) - 2:
            parameters += [np.ones(m, kind), np.zeros(m, kind)]
    return parameters


def dropout_masks(np, widths, batch, probability, kind, rng):
    """One inverted-dropout mask per hidden layer: 0 with probability p, else 1/(1 − p)."""
    scale = kind(1 / (1 - probability))
    return [(rng.random((batch, m), dtype=kind) >= probability) * scale for m in widths[1:-1]]


def mlp_loss_and_gradients(np, parameters, x, labels, masks):
    """The training step's forward and backward passes: Linear-LayerNorm-ReLU-Dropout per hidden
    layer, then Linear, softmax cross-entropy averaged over the rows. Returns the loss, the
    gradient of every parameter (in the order of `parameters`) and the input's gradient."""
    hidden = (len(parameters) - 2) // 4
    rows = np.arange(len(labels))
    kept = []
    h = x
    for index in range(hidden):
        weight, bias, gamma, beta = parameters[4 * index:4 * index + 4]
        z = h @ weight
        z += bias
        centred = z - z.mean(-1, keepdims=True)
        inverse = 1 / np.sqrt((centred * centred).mean(-1, keepdims=True) + LAYER_NORM_EPSILON)
        normalised = centred * inverse
        y = normalised * gamma + beta
        kept.append((h, normalised, inverse, y > 0, masks[index]))
        h = np.maximum(y, 0) * masks[index]
    weight, bias = parameters[-2:]
    logits = h @ weight
    logits += bias
    shifted = logits - logits.max(1, keepdims=True)
    exponentials = np.exp(shifted)
    sums = exponentials.sum(1, keepdims=True)
    loss = (np.log(sums[:, 0]) - shifted[rows, labels]).mean()
    g = exponentials / sums
    g[rows, labels] -= 1
    g /= len(labels)

    gradients = [None] * len(parameters)
    gradients[-2], gradients[-1] = h.T @ g, g.sum(0)
    g = g @ weight.T
    for index in reversed(range(hidden)):
        h, normalised, inverse, positive, mask = kept[index]
        weight, _, gamma, _ = parameters[4 * index:4 * index + 4]
        g = g * mask * positive
        gradients[4 * index + 2], gradients[4 * index + 3] = (g * normalised).sum(0), g.sum(0)
        gx = g * gamma
        g = inverse * (gx - gx.mean(-1, keepdims=True) - normalised * (gx * normalised).mean(-1, keepdims=True))
        gradients[4 * index], gradients[4 * index + 1] = h.T @ g, g.sum(0)
        g = g @ weight.T
    return loss, gradients, g


def adam_update(np, parameters, gradients, moments, step, learning_rate):
    """Adam's update in place (PyTorch's rule, no weight decay), `step` counting from 1."""
    beta1, beta2 = ADAM_BETAS
    step_size = learning_rate / (1 - beta1 ** step)
    correction = (1 - beta2 ** step) ** 0.5
    for parameter, gradient, (m, v) in zip(parameters, gradients, moments):
        m *= beta1
        m += (1 - beta1) * gradient
        v *= beta2
        v += (1 - beta2) * (gradient * gradient)
        parameter -= step_size * m / (np.sqrt(v) / correction + ADAM_EPSILON)


def mlp_self_check(np):
    """Holds the numpy step to its definition on a tiny case in float64; exits if it is not.

    Every gradient (and the input's) against central finite differences of the loss with the
    same dropout masks, and three Adam updates against PyTorch's documented rule computed one
    element at a time in Python floats."""
    rng = np.random.default_rng(7)
    widths, batch = (5, 4, 4, 3), 3
    parameters = mlp_parameters(np, widths, np.float64, rng)
    # LayerNorm's weight and bias away from ones and zeros, so that their gradients are tested in general.
    for index in (2, 3, 6, 7):
        parameters[index] = rng.uniform(-1, 1, parameters[index].shape) + (1 if index % 4 == 2 else 0)
    x = rng.uniform(-1, 1, (batch, widths[0]))
    labels = rng.integers(0, widths[-1], batch)
    masks = dropout_masks(np, widths, batch, 0.25, np.float64, rng)
    _, gradients, input_gradient = mlp_loss_and_gradients(np, parameters, x, labels, masks)

    def loss_at():
        return mlp_loss_and_gradients(np, parameters, x, labels, masks)[0]

    worst = 0.0
    for array, analytic in zip(parameters + [x], gradients + [input_gradient]):
        for i in np.ndindex(array.shape):
            saved = array[i]
            array[i] = saved + 1e-6
            above = loss_at()
            array[i] = saved - 1e-6
            below = loss_at()
            array[i] = saved
            numeric = (above - below) / 2e-6
            worst = max(worst, abs(numeric - analytic[i]) / max(1e-3, abs(numeric) + abs(analytic[i])))
    if not worst < 1e-6:
        sys.exit(f"self-check failed: the numpy MLP's gradients differ from central differences by {worst:.2e} (relative)")

    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in parameters]
    expected = [[[float(v), 0.0, 0.0] for v in p.ravel()] for p in parameters]   # θ, m, v per element
    beta1, beta2 = ADAM_BETAS
    adam_worst = 0.0
    for step in (1, 2, 3):
        gradients = [rng.uniform(-1, 1, p.shape) for p in parameters]
        adam_update(np, parameters, gradients, moments, step, 0.01)
        for parameter, gradient, elements in zip(parameters, gradients, expected):
            for k, (value, g) in enumerate(zip(parameter.ravel(), gradient.ravel())):
                theta, m, v = elements[k]
                m = beta1 * m + (1 - beta1) * g
                v = beta2 * v + (1 - beta2) * g * g
                theta -= 0.01 * (m / (1 - beta1 ** step)) / ((v / (1 - beta2 ** step)) ** 0.5 + ADAM_EPSILON)
                elements[k] = [theta, m, v]
                adam_worst = max(adam_worst, abs(value - theta))
    if not adam_worst < 1e-12:
        sys.exit(f"self-check failed: the numpy Adam update differs from PyTorch's rule by {adam_worst:.2e}")
    print(f"self-check: the numpy MLP step's gradients match central differences (worst relative error "
          f"{worst:.1e}) and its Adam update PyTorch's rule (worst difference {adam_worst:.1e})", file=sys.stderr)


def time_steps(step, budget, minimum_samples):
    """Times `step` as perceptron-bench's Timer does: warm-up runs, then samples for `budget`
    seconds (at least `minimum_samples`), each repeating the step until it lasts 0.5 ms;
    returns (median, min, max) seconds per step."""
    repetitions = 1
    while True:
        start = time.perf_counter()
        for _ in range(repetitions):
            step()
        if time.perf_counter() - start >= 5e-4 or repetitions >= 1 << 20:
            break
        repetitions *= 2
    samples = []
    begin = time.perf_counter()
    while len(samples) < minimum_samples or (time.perf_counter() - begin < budget and len(samples) < 1000):
        start = time.perf_counter()
        for _ in range(repetitions):
            step()
        samples.append((time.perf_counter() - start) / repetitions)
    return statistics.median(samples), min(samples), max(samples)


def numpy_mlp_round(np, dtype):
    """numpy's MLP training step, timed: (median, min, max) seconds per step."""
    kind = np.float32 if dtype == "float" else np.float64
    rng = np.random.default_rng(2026)
    parameters = mlp_parameters(np, MLP_WIDTHS, kind, rng)
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in parameters]
    x = rng.uniform(-1, 1, (MLP_BATCH, MLP_WIDTHS[0])).astype(kind)
    labels = rng.integers(0, MLP_WIDTHS[-1], MLP_BATCH)
    count = [0]

    def step():
        masks = dropout_masks(np, MLP_WIDTHS, MLP_BATCH, MLP_DROPOUT, kind, rng)
        _, gradients, _ = mlp_loss_and_gradients(np, parameters, x, labels, masks)
        count[0] += 1
        adam_update(np, parameters, gradients, moments, count[0], kind(MLP_LEARNING_RATE))

    for _ in range(5):   # as perceptron-bench's warm-up steps
        step()
    return time_steps(step, budget=2.0, minimum_samples=25)


def perceptron_mlp_round(dtype, threads):
    """One run of perceptron-bench --mlp; returns its JSON report."""
    return run_bench(["--mlp", "--dtype", dtype, "--threads", str(threads)])


class MLPComparison:
    """The MLP training step, Perceptron's (perceptron-bench --mlp) and numpy's, over the rounds."""

    def __init__(self, np, args):
        self.np, self.args = np, args
        self.perceptron, self.numpy, self.ratios = [], [], []
        self.report = None

    def round(self, round_index):
        """Times both steps, the first to go switching every round."""
        dtype, threads = self.args.dtype, self.args.threads
        if round_index % 2 == 0:
            self.report, theirs = perceptron_mlp_round(dtype, threads), numpy_mlp_round(self.np, dtype)
        else:
            theirs, self.report = numpy_mlp_round(self.np, dtype), perceptron_mlp_round(dtype, threads)
        self.perceptron.append(self.report["step"])
        self.numpy.append(theirs)
        self.ratios.append(self.report["step"]["medianSeconds"] / theirs[0])

    def print_table(self, blas=None):
        """The two steps side by side; with `blas` (numpy's BLAS, from threadpoolctl), the machine first."""
        args, report = self.args, self.report
        threads_label = f"{args.threads} thread{'' if args.threads == 1 else 's'}"
        print(f"Perceptron vs numpy {self.np.__version__}: the training step of an MLP "
              f"{'-'.join(map(str, MLP_WIDTHS))}, {args.dtype}, {threads_label}, median of {args.rounds} rounds, alternating")
        print(f"model:      {report['architecture']}; softmax cross-entropy, Adam (learning rate {MLP_LEARNING_RATE}); "
              f"batch {MLP_BATCH}")
        if blas is not None:
            print_machine(report, blas)
        print()

        def spread(low, high):
            return f"{low * 1e3:.3f}–{high * 1e3:.3f}ms"

        ours = statistics.median(m["medianSeconds"] for m in self.perceptron)
        theirs = statistics.median(t for t, _, _ in self.numpy)
        ours_spread = spread(min(m["minSeconds"] for m in self.perceptron), max(m["maxSeconds"] for m in self.perceptron))
        theirs_spread = spread(min(t for _, t, _ in self.numpy), max(t for _, _, t in self.numpy))
        print(f"{'':<8}{'Perceptron':>12}{'min–max':>22}{'numpy':>12}{'min–max':>22}{'ratio':>8}{'allocs/step':>13}")
        print(f"{'step':<8}{ours * 1e3:>10.3f}ms{ours_spread:>22}{theirs * 1e3:>10.3f}ms{theirs_spread:>22}"
              f"{statistics.median(self.ratios):>8.2f}{report.get('allocationsPerStep')!s:>13}")
        print("(each side's median step per round, then the median over rounds; min–max over every step timed;")
        print(" ratio: the median of the rounds' ratios, Perceptron's time over numpy's)")



def compare_mlp(args, np, threadpool_info, threadpool_limits):
    """The MLP training step, both sides, after the numpy step's self-check."""
    mlp_self_check(np)
    mlp = MLPComparison(np, args)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for round_index in range(args.rounds):
            print(f"MLP round {round_index + 1}/{args.rounds}…", file=sys.stderr)
            mlp.round(round_index)
        mlp.print_table(blas=[i for i in threadpool_info() if i.get("user_api") == "blas"])


def serve_configurations():
    """(tasks, batch) in the order perceptron-bench --serve measures them."""
    return [(tasks, batch) for batch in SERVE_BATCHES for tasks in SERVE_TASKS]


def percentile(sorted_values, fraction):
    """The nearest-rank percentile of a sorted list, as perceptron-bench computes it."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values))))
    return float(sorted_values[rank - 1])


def numpy_serve_window(np, model, requests, tasks, seconds):
    """`tasks` threads, thread i sending requests[i] through numpy's chain until `seconds` from now;
    returns (requests per second, p50 seconds, p99 seconds, requests)."""
    w1, b1, w2, b2 = model
    deadline = time.perf_counter_ns() + int(seconds * 1e9)
    samples = [None] * tasks

    def serve(index):
        x = requests[index]
        latencies = []
        record = latencies.append
        start = last = time.perf_counter_ns()
        while True:
            np.maximum(x @ w1 + b1, 0) @ w2 + b2
            now = time.perf_counter_ns()
            record(now - last)
            last = now
            if now >= deadline:
                break
        samples[index] = (start, last, latencies)

    threads = [threading.Thread(target=serve, args=(index,)) for index in range(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = sorted(latency for _, _, sample in samples for latency in sample)
    elapsed = (max(end for _, end, _ in samples) - min(start for start, _, _ in samples)) * 1e-9
    return (len(latencies) / elapsed if elapsed > 0 else 0.0, percentile(latencies, 0.50) * 1e-9,
            percentile(latencies, 0.99) * 1e-9, len(latencies))


def numpy_serve_round(np, dtype, window, round_index):
    """One round of numpy's side: each configuration for one window, starting with a different one
    each round (as perceptron-bench --serve turns them); returns {(tasks, batch): figures}."""
    rng = np.random.default_rng(SERVE_SEED)
    kind = np.float32 if dtype == "float" else np.float64
    bound1, bound2 = 1 / math.sqrt(SERVE_FEATURES), 1 / math.sqrt(SERVE_HIDDEN)
    model = (rng.uniform(-bound1, bound1, (SERVE_FEATURES, SERVE_HIDDEN)).astype(kind),
             rng.uniform(-bound1, bound1, SERVE_HIDDEN).astype(kind),
             rng.uniform(-bound2, bound2, (SERVE_HIDDEN, SERVE_CLASSES)).astype(kind),
             rng.uniform(-bound2, bound2, SERVE_CLASSES).astype(kind))
    requests = {batch: [rng.uniform(-2, 2, (batch, SERVE_FEATURES)).astype(kind) for _ in range(max(SERVE_TASKS))]
                for batch in SERVE_BATCHES}
    configurations = serve_configurations()
    for tasks, batch in configurations:   # warm-up, as perceptron-bench's
        numpy_serve_window(np, model, requests[batch], tasks, min(window, 0.1))
    figures = {}
    for turn in range(len(configurations)):
        tasks, batch = configurations[(round_index + turn) % len(configurations)]
        figures[(tasks, batch)] = numpy_serve_window(np, model, requests[batch], tasks, window)
    return figures


def perceptron_serve_round(dtype, window):
    """One round of perceptron-bench --serve; returns {(tasks, batch): figures} and its report."""
    report = run_bench(["--serve", "--dtype", dtype, "--rounds", "1", "--window", str(window), "--threads", "1"])
    # The snapshot on the layers' own kernels (OpenBLAS, as numpy); the one on
    # packed oneDNN weights is perceptron-bench's own comparison.
    figures = {(r["tasks"], r["batch"]): (r["requestsPerSecond"], r["p50Seconds"], r["p99Seconds"], r["requests"])
               for r in report["results"] if r.get("kernels", "layers") == "layers"}
    return figures, report


def microseconds(seconds):
    return f"{seconds * 1e6:.1f} µs"


def compare_serving(args, np, threadpool_info, threadpool_limits):
    """Serving the digits model, both sides, round by round, and the table that compares them."""
    configurations = serve_configurations()
    ours = {c: [] for c in configurations}
    theirs = {c: [] for c in configurations}
    header = None
    with threadpool_limits(limits=1, user_api="blas"):
        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        for round_index in range(args.rounds):
            print(f"serving, round {round_index + 1}/{args.rounds}…", file=sys.stderr)
            if round_index % 2 == 0:
                (mine, header), other = perceptron_serve_round(args.dtype, args.window), \
                    numpy_serve_round(np, args.dtype, args.window, round_index)
            else:
                other = numpy_serve_round(np, args.dtype, args.window, round_index)
                mine, header = perceptron_serve_round(args.dtype, args.window)
            for c in configurations:
                ours[c].append(mine[c])
                theirs[c].append(other[c])

    print(f"Serving the digits model ({SERVE_FEATURES}-{SERVE_HIDDEN}-{SERVE_CLASSES}, ReLU), {args.dtype}: "
          f"Perceptron's InferenceModel from Swift tasks, numpy {np.__version__}'s "
          f"maximum(x @ W1 + b1, 0) @ W2 + b2 from Python threads; median of {args.rounds} rounds of "
          f"{args.window:g} s per configuration, alternating round by round")
    print_machine(header, blas)
    print()
    print(f"{'tasks':<7}{'batch':>6}{'Perceptron req/s':>18}{'numpy req/s':>14}{'ratio':>8}"
          f"{'p50 Perceptron':>16}{'numpy':>11}{'p99 Perceptron':>16}{'numpy':>11}")
    for c in configurations:
        tasks, batch = c
        rate, rate_numpy = (statistics.median(f[0] for f in side[c]) for side in (ours, theirs))
        p50, p50_numpy = (statistics.median(f[1] for f in side[c]) for side in (ours, theirs))
        p99, p99_numpy = (statistics.median(f[2] for f in side[c]) for side in (ours, theirs))
        print(f"{tasks:<7}{batch:>6}{rate:>18.0f}{rate_numpy:>14.0f}{rate / rate_numpy:>8.2f}"
              f"{microseconds(p50):>16}{microseconds(p50_numpy):>11}{microseconds(p99):>16}{microseconds(p99_numpy):>11}")
    print()
    print("req/s: requests (of `batch` rows) answered per second by all callers together; ratio: Perceptron's over "
          "numpy's; latency: one request's call on its caller.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=["float", "double"], default="float")
    parser.add_argument("--threads", type=int, default=2, help="OpenBLAS threads for the layer steps")
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                        help="Perceptron's layers in float32 or bfloat16 (the step comparison; numpy stays float32)")
    parser.add_argument("--bf16-threshold", type=int, default=None,
                        help="with --precision bfloat16: the smallest product in bfloat16 (0: all; default: the CPU's)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=["steps", "mlp", "serve"],
                        help="run only the layer steps, the MLP training step or the serving comparison (default: all)")
    parser.add_argument("--window", type=float, default=0.5,
                        help="seconds each serving configuration runs per round (default: 0.5)")
    args = parser.parse_args()
    if args.rounds < 1 or not args.window > 0:
        parser.error("--rounds must be at least 1 and --window greater than 0")
    if args.precision == "bfloat16":
        if args.dtype != "float":
            parser.error("--precision bfloat16 is for --dtype float")
        PRECISION_ARGUMENTS.extend(["--precision", "bfloat16"])
        if args.bf16_threshold is not None:
            PRECISION_ARGUMENTS.extend(["--bf16-threshold", str(args.bf16_threshold)])
    elif args.bf16_threshold is not None:
        parser.error("--bf16-threshold needs --precision bfloat16")
    args.bfloat16_refusal = None

    try:
        import numpy as np
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError as error:
        sys.exit(f"compare_numpy.py needs numpy and threadpoolctl ({error}); pip install numpy threadpoolctl")
    if not os.path.exists(BENCH):
        sys.exit(f"{BENCH} not found: run `swift build -c release --package-path Benchmarks` (or `make compare`)")

    if args.precision == "bfloat16":
        # Where Perceptron refuses bfloat16, its float32 step stands beside
        # numpy's and PyTorch's bfloat16 (which emulates it on such a CPU):
        # what a user of this CPU can choose between.
        args.bfloat16_refusal = bfloat16_refusal()
        if args.bfloat16_refusal is not None:
            PRECISION_ARGUMENTS.clear()
            print(f"Perceptron's layers in bfloat16 are refused on this CPU ({args.bfloat16_refusal}): "
                  "its float32 step is timed instead, beside numpy's float32 step and PyTorch's bfloat16 step")
            print()

    parts = [("steps", compare_steps), ("mlp", compare_mlp), ("serve", compare_serving)]
    chosen = [compare for name, compare in parts if args.only in (None, name)]
    for index, compare in enumerate(chosen):
        if index:
            print()
        compare(args, np, threadpool_info, threadpool_limits)


if __name__ == "__main__":
    main()
