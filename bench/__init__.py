"""Benchmarks of the kata's training engine, run as modules (python -m bench.pipeline_speed)."""
