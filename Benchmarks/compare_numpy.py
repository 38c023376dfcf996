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

Then it serves the digits model (64-64-10, ReLU) both ways: Perceptron's
InferenceModel shared by 1 and 2 Swift tasks (perceptron-bench --serve), and
numpy's `maximum(x @ W1 + b1, 0) @ W2 + b2` from 1 and 2 Python threads, at
batches of 1 and 32 rows, timed the same way (see "Serving" below): requests
per second and p50/p99 latency, side by side.

Usage: python3 Benchmarks/compare_numpy.py [--dtype float|double] [--threads N] [--rounds R]
                                           [--only steps|serve] [--window SECONDS]
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

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".build", "release", "perceptron-bench")


def run_bench(arguments, environment=None):
    """One run of perceptron-bench with `arguments` and --json; returns the JSON it wrote."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "report.json")
        env = dict(os.environ)
        env.update(environment or {})
        subprocess.run([BENCH, *arguments, "--json", path], check=True, env=env, stdout=subprocess.DEVNULL)
        with open(path) as report:
            return json.load(report)


def perceptron_round(dtype, threads, shape=None, environment=None):
    """One run of perceptron-bench --steps, the layer step at `shape` or else only the 1024³ matmul;
    returns its JSON report."""
    arguments = ["--steps", "--dtype", dtype, "--threads", str(threads)]
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


def step_flops(shape):
    """Floating-point operations in a step's three products (the bias and column sums are not counted)."""
    n, f, m = shape
    return 3 * 2 * n * f * m


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

    step()
    timer = timeit.Timer(step)
    number, _ = timer.autorange()
    number = max(1, number // 2)
    samples = [t / number for t in timer.repeat(repeat=9, number=number)]
    return statistics.median(samples)


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

    print(f"Perceptron vs numpy {np.__version__}: one layer step, {args.dtype}, {threads_label}, "
          f"median of {args.rounds} rounds, alternating shape by shape")
    print(f"CPU:        {header['cpu']}, {header['cores']} cores")
    print(f"Perceptron: {header['blas']}")
    for info in blas:
        print(f"numpy:      {info.get('internal_api')} {info.get('version')}, kernel {info.get('architecture')}, "
              f"{info.get('num_threads')} thread{'' if info.get('num_threads') == 1 else 's'}")
    print()
    print(f"{'shape (n, f, m)':<20}{'Perceptron':>12}{'numpy':>12}{'ratio':>8}{'target':>8}{'':>8}"
          f"{'vs raw GEMMs':>14}{'allocs/step':>13}")
    targets = TARGETS[args.dtype]
    for shape in SHAPES:
        ours = statistics.median(perceptron[shape])
        theirs = statistics.median(numpy_times[shape])
        ratio = statistics.median(ratios[shape])
        target = targets.get(shape)
        verdict = "" if target is None else ("met" if ratio <= target else "MISSED")
        print(f"{str(shape):<20}{ours * 1e3:>10.3f}ms{theirs * 1e3:>10.3f}ms{ratio:>8.2f}"
              f"{(f'≤{target}' if target else '–'):>8}{verdict:>8}"
              f"{statistics.median(overhead[shape]) * 100:>+13.1f}%{allocations[shape]!s:>13}")
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
    figures = {(r["tasks"], r["batch"]): (r["requestsPerSecond"], r["p50Seconds"], r["p99Seconds"], r["requests"])
               for r in report["results"]}
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
    print(f"CPU:        {header['cpu']}, {header['cores']} cores")
    print(f"Perceptron: {header['blas']}")
    for info in blas:
        print(f"numpy:      {info.get('internal_api')} {info.get('version')}, kernel {info.get('architecture')}, "
              f"{info.get('num_threads')} thread{'' if info.get('num_threads') == 1 else 's'}")
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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=["steps", "serve"],
                        help="run only the layer steps or only the serving comparison (default: both)")
    parser.add_argument("--window", type=float, default=0.5,
                        help="seconds each serving configuration runs per round (default: 0.5)")
    args = parser.parse_args()
    if args.rounds < 1 or not args.window > 0:
        parser.error("--rounds must be at least 1 and --window greater than 0")

    try:
        import numpy as np
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError as error:
        sys.exit(f"compare_numpy.py needs numpy and threadpoolctl ({error}); pip install numpy threadpoolctl")
    if not os.path.exists(BENCH):
        sys.exit(f"{BENCH} not found: run `swift build -c release --package-path Benchmarks` (or `make compare`)")

    if args.only != "serve":
        compare_steps(args, np, threadpool_info, threadpool_limits)
    if args.only is None:
        print()
    if args.only != "steps":
        compare_serving(args, np, threadpool_info, threadpool_limits)


if __name__ == "__main__":
    main()
