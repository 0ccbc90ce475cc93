"""A step that does nothing but say so."""

print("noop")
