"""The ``amlpipe`` command line: workspaces, runs, logs, cancel and submit.

The click group is :data:`jupyter_amlpipe.cli.main.cli`; the console script
and ``python -m jupyter_amlpipe`` call :func:`jupyter_amlpipe.cli.main.main`.
Importing this package is cheap: the commands load the rest of the package
only when they run.
"""
