"""Deliberately wrong implementations, each a mistake seen in real submissions.

A mutant is named `<exercise>_<mistake>.py`; it takes the reference module and replaces
one piece with the mistake its docstring describes. tests/harness/test_suite_power.py
runs that exercise's tests against each mutant and requires at least one to fail.
"""
