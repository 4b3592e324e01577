"""Reference implementations of the kata's exercises, one module per subtask.

`exercises/` is generated from these files by `python -m kata stubs`: every block
between `# BEGIN SOLUTION` and `# END SOLUTION` becomes a `raise NotImplementedError`.
"""
