"""A one-module test package: its version says which wheel was installed."""

__version__ = "1.0"
