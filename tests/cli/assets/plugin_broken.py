"""A command module whose own dependency is missing: loading it must fail loudly."""

import amlpipe_no_such_dependency  # noqa: F401
