"""Benchmarks of sepviz on this machine (`python -m benchmarks`, or one module at a time)."""
