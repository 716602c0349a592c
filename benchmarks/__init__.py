"""Benchmarks: each module has run(report) and compares the app with a bare Flask baseline."""
