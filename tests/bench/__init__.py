"""Benchmarks, run by hand: python -m tests.bench.bench_NAME."""
