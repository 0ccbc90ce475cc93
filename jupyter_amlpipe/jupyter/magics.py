"""The IPython magics: ``%%amlstep`` declares a step from a cell, ``%amlpipe`` works with the notebook's pipeline.

Load them with ``%load_ext jupyter_amlpipe``. Their state (the declared steps,
the workspace, the runs) lives on the :class:`AmlpipeMagics` instance as
:attr:`AmlpipeMagics.state`, a
:class:`~jupyter_amlpipe.jupyter.magic_state.NotebookPipeline`; nothing is put
in the user's namespace unless the user names a variable (``-o VAR``).
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from jupyter_amlpipe.errors import AmlpipeError
from jupyter_amlpipe.jupyter.magic_args import HelpShown, amlstep_parser, parse_assignments, parse_value, split
from jupyter_amlpipe.jupyter.magic_commands import dispatch
from jupyter_amlpipe.jupyter.magic_run import failure_report, run_step
from jupyter_amlpipe.jupyter.magic_state import NotebookPipeline, StepDeclaration

__all__ = ["AmlpipeMagics", "load_ipython_extension", "notebook_pipeline"]


@magics_class
class AmlpipeMagics(Magics):
    """``%%amlstep`` and ``%amlpipe``; ``self.state`` is the notebook's pipeline."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)  # type: ignore[no-untyped-call]
        self.state = NotebookPipeline(shell.user_ns)
        #: seconds ``%%amlstep --run`` waits for its run (None: until it ends)
        self.run_timeout: float | None = None

    def _user_ns(self) -> Any:
        return self.shell.user_ns if self.shell is not None else self.state.user_ns

    @cell_magic  # type: ignore[untyped-decorator]
    def amlstep(self, line: str, cell: str | None) -> None:
        """Declare a step from this cell: %%amlstep NAME [--inputs VAR=REF ...] [--outputs VAR ...] (--help)."""
        self.state.user_ns = self._user_ns()
        try:
            args = amlstep_parser().parse_args(split(line))
        except HelpShown:
            return
        except AmlpipeError as exc:
            raise UsageError(str(exc)) from None
        try:
            prog = f"%%amlstep {args.name}"
            decl = StepDeclaration(
                name=args.name,
                body=cell or "",
                inputs=parse_assignments(args.inputs, "--inputs", prog),
                outputs=args.outputs,
                params={k: parse_value(v) for k, v in parse_assignments(args.params, "--params", prog)},
                compute=args.compute,
                source=args.source,
                after=args.after,
                allow_reuse=not args.no_reuse,
                notebook=args.notebook,
            )
            self.state.declare(decl)
            if not args.run:
                return
            run = run_step(self.state, args.name, timeout_seconds=self.run_timeout)
        except AmlpipeError as exc:
            raise UsageError(str(exc)) from None
        if run.get_status() != "Finished":
            raise UsageError(failure_report(self.state, run))

    @line_magic  # type: ignore[untyped-decorator]
    def amlpipe(self, line: str) -> None:
        """Work with the notebook's pipeline: %amlpipe show|submit|status|steps|clear|runs|pipeline|workspace|help."""
        self.state.user_ns = self._user_ns()
        try:
            dispatch(self.state, split(line))
        except HelpShown:
            return
        except AmlpipeError as exc:
            raise UsageError(str(exc)) from None


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics on ``ipython`` (what ``%load_ext jupyter_amlpipe`` calls)."""
    ipython.register_magics(AmlpipeMagics(ipython))


def notebook_pipeline(shell: Any = None) -> NotebookPipeline:
    """The notebook's pipeline of ``shell`` (default: the running one); loads the magics if needed.

    This is how Python code and widgets reach the steps the magics declared,
    e.g. ``notebook_pipeline().add_step(step)``.
    """
    if shell is None:
        from IPython.core.getipython import get_ipython

        shell = get_ipython()  # type: ignore[no-untyped-call]
        if shell is None:
            raise UsageError("notebook_pipeline() needs a running IPython shell or kernel.")
    magics = shell.magics_manager.registry.get(AmlpipeMagics.__name__)
    if magics is None:
        load_ipython_extension(shell)
        magics = shell.magics_manager.registry[AmlpipeMagics.__name__]
    state: NotebookPipeline = magics.state
    return state
