"""``python -m jupyter_amlpipe`` is the ``amlpipe`` command."""

from jupyter_amlpipe.cli.main import main

if __name__ == "__main__":
    main()
