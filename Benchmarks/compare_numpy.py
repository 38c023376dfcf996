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

Usage: python3 Benchmarks/compare_numpy.py [--dtype float|double] [--threads N] [--rounds R]
(`make compare` builds the benchmark first and runs this.)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=["float", "double"], default="float")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    try:
        import numpy as np
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError as error:
        sys.exit(f"compare_numpy.py needs numpy and threadpoolctl ({error}); pip install numpy threadpoolctl")
    if not os.path.exists(BENCH):
        sys.exit(f"{BENCH} not found: run `swift build -c release --package-path Benchmarks` (or `make compare`)")

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

if __name__ == "__main__":
    main()
