"""The kata's harness: everything that is not an exercise."""
