"""Benchmark tooling behind `manage.py bench`: the benchmark and its bulk loader.

Production code never imports this package; only the `bench` command and the tests do.
"""
