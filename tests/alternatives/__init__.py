"""Correct implementations written in other styles than the reference.

Each `<exercise>_<style>.py` is a right answer a student may well write: float32 instead
of float64, Welford's running statistics, numpy, Bernoulli masks, a ModuleList network,
a literal dict, narrowing in natural-log space. tests/harness/test_alternatives.py runs
that exercise's tests against each one, the way a student runs them (random hypothesis
examples, several runs), and requires every test to pass: a tolerance must come from the
arithmetic a correct answer may use, never from the reference's own precision.

    python -m tests.alternatives [--runs R] [NAME ...]
"""
