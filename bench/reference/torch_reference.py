"""Reference for `reweight bench torch`: the same operations through Python's torch, timed the same way.

Used only for comparison in benchmarks, never at run time.
"""
import json
import statistics
import sys
import time

import torch


def per_call_ns(fn, n):
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - t0) / n


def median(runs, measure):
    return statistics.median(measure() for _ in range(runs))


def main(out_path):
    results = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    a = torch.ones(4)
    b = torch.ones(4)
    for _ in range(20_000):
        a + b
    results["tiny_add_python_ns"] = median(5, lambda: per_call_ns(lambda: a + b, 200_000))
    for n in (1024, 4096):
        x = torch.randn(n, n)
        y = torch.randn(n, n)
        reps = 20 if n == 1024 else 2
        x @ y
        seconds = median(3, lambda: per_call_ns(lambda: x @ y, reps) / 1e9)
        results[f"matmul_{n}_gflops"] = 2.0 * n ** 3 / seconds / 1e9
        print(f"python torch matmul {n}x{n}: {results[f'matmul_{n}_gflops']:.1f} GFLOP/s", flush=True)
    print(f"python torch tiny add: {results['tiny_add_python_ns']:.0f} ns/call")
    with open(out_path, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1])
