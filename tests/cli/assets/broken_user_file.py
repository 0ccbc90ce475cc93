"""A pipeline file with a bug of its own (not a package error)."""

ratio = 1 / 0
