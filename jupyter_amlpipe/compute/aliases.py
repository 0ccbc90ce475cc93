"""v1's ``DataFactoryCompute`` and ``AdlaCompute``: compute targets that run their one step kind on this machine.

In Azure ML SDK v1 a ``DataTransferStep`` needed a ``DataFactoryCompute`` (an
attached Azure Data Factory) and an ``AdlaStep`` an ``AdlaCompute`` (an
attached Data Lake Analytics account). Here both are local: a
DataTransferStep's copy and an AdlaStep's DuckDB script run as processes on
this machine, exactly as on :class:`~jupyter_amlpipe.compute.local.LocalCompute`.
The Azure arguments (``resource_id``, resource group, factory or account
name, location) are recorded and shown in ``status``; nothing is contacted.

As in v1, a target of either kind runs only its own step kind: submitting,
say, a PythonScriptStep on a DataFactoryCompute is refused with the step and
the target named. ``DataFactoryCompute(ws, name)`` and ``AdlaCompute(ws, name)``
fetch an existing target (v1: the constructor is a lookup);
``DataFactoryCompute.attach(ws, name, resource_id)``,
``ComputeTarget.create(ws, name, DataFactoryCompute.provisioning_configuration())``,
``ComputeTarget.attach(ws, name, AdlaCompute.attach_configuration(...))`` and
``AdlaCompute.attach(ws, name, resource_id)`` make one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jupyter_amlpipe.compute.local import LocalCompute
from jupyter_amlpipe.core.compute_target import ComputeTarget, _ComputeTargetMeta, refuse_inside_step
from jupyter_amlpipe.errors import DefinitionError

__all__ = [
    "AdlaAttachConfiguration",
    "AdlaCompute",
    "DataFactoryAttachConfiguration",
    "DataFactoryCompute",
    "DataFactoryProvisioningConfiguration",
]

RUNS_ON = "this machine (each step a local process, as on LocalCompute)"


class _LookupMeta(_ComputeTargetMeta):
    """``DataFactoryCompute(ws, name)`` / ``AdlaCompute(ws, name)`` fetch an existing target, as in v1."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        workspace = kwargs.pop("workspace", args[0] if args else None)
        name = kwargs.pop("name", args[1] if len(args) > 1 else None)
        if workspace is None or name is None or len(args) > 2 or kwargs:
            raise DefinitionError(
                f"{cls.__name__}(workspace, name) fetches an existing target and takes only those two arguments. "
                f"Make one with {cls.__name__}.attach(workspace, name, resource_id) or ComputeTarget.attach(workspace, "
                f"name, {cls.__name__}.attach_configuration(...))."
            )
        return ComputeTarget._get(workspace, str(name))


class _StepKindCompute(LocalCompute, metaclass=_LookupMeta):
    """A local target that runs only one kind of step (v1's single-purpose Azure compute types)."""

    _step_types: ClassVar[tuple[str, ...]] = ()
    _step_class: ClassVar[str] = ""
    _azure_service: ClassVar[str] = ""
    _fields: ClassVar[tuple[str, ...]] = ()

    resource_id: str | None
    settings: dict[str, Any]

    @classmethod
    def _make(
        cls,
        workspace: Any,
        name: str,
        resource_id: str | None = None,
        settings: dict[str, Any] | None = None,
        record: bool = True,
    ) -> Any:
        settings = dict(settings or {})
        if not isinstance(name, str) or not name:
            raise DefinitionError(f"{cls.__name__} needs a name, got {name!r}.")
        unknown = sorted(set(settings) - set(cls._fields))
        if unknown:
            raise DefinitionError(
                f"{cls.__name__} {name!r}: unexpected settings {unknown}; it takes resource_id and "
                f"{', '.join(cls._fields)}."
            )
        if resource_id is not None and not isinstance(resource_id, str):
            raise DefinitionError(f"{cls.__name__} {name!r}: resource_id must be a string, got {resource_id!r}.")
        self = object.__new__(cls)
        self.workspace = workspace
        self.name = name
        self._max_concurrency = None
        self.kernel_pool_size = 0  # no notebook steps run here: no warm kernels
        self.resource_id = resource_id
        self.settings = {k: v for k, v in settings.items() if v is not None}
        if record:
            refuse_inside_step(f"{cls.__name__}.attach")
            self._record({"resource_id": resource_id, **self.settings})
        return self

    @classmethod
    def _from_config(cls, workspace: Any, name: str, config: dict[str, Any]) -> ComputeTarget:
        config = dict(config)
        resource_id = config.pop("resource_id", None)
        settings = {k: v for k, v in config.items() if k in cls._fields}
        return cls._make(workspace, name, resource_id, settings, record=False)  # type: ignore[no-any-return]

    @classmethod
    def _provision(cls, workspace: Any, name: str, config: Any) -> ComputeTarget:
        settings = {field: getattr(config, field, None) for field in cls._fields}
        return cls._make(workspace, name, getattr(config, "resource_id", None), settings)  # type: ignore[no-any-return]

    @classmethod
    def _attach(cls, workspace: Any, name: str, resource_id: Any) -> ComputeTarget:
        """v1's ``attach(workspace, name, resource_id)``; an attach configuration works there too."""
        if isinstance(getattr(resource_id, "_target_type", None), str):
            return ComputeTarget.attach(workspace, name, resource_id)
        return cls._make(workspace, name, resource_id)  # type: ignore[no-any-return]

    @property
    def status(self) -> Any:
        return {
            "provisioning_state": "Succeeded",
            "runs_on": RUNS_ON,
            "step_types": [self._step_class],
            "max_concurrency": self.max_concurrency,
            "resource_id": self.resource_id,
            **self.settings,
        }

    def check_step(self, step: Any) -> list[str]:
        if getattr(step, "step_type", None) not in self._step_types:
            raise DefinitionError(
                f"Step {getattr(step, 'name', step)!r} is a {type(step).__name__}, which cannot run on "
                f"{type(self).__name__} {self.name!r}: as in Azure ML, a {type(self).__name__} runs only "
                f"{self._step_class}s. Give the step another compute target (leave compute_target unset to run it "
                "on this machine, or pass LocalCompute(ws, 'local') or an AmlCompute cluster)."
            )
        return super().check_step(step)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, runs {self._step_class}s on {RUNS_ON}; "
            f"no {self._azure_service} is used)"
        )


# -- Data Factory -----------------------------------------------------------------
class DataFactoryProvisioningConfiguration:
    """What ``DataFactoryCompute.provisioning_configuration(location=None)`` returns."""

    _target_type = "datafactory"

    def __init__(self, location: str | None = None) -> None:
        self.location = location


class DataFactoryAttachConfiguration:
    """What ``DataFactoryCompute.attach_configuration(resource_group, factory_name, resource_id)`` returns."""

    _target_type = "datafactory"

    def __init__(
        self, resource_group: str | None = None, factory_name: str | None = None, resource_id: str | None = None
    ) -> None:
        self.resource_group = resource_group
        self.factory_name = factory_name
        self.resource_id = resource_id


class DataFactoryCompute(_StepKindCompute):
    """v1 ``DataFactoryCompute``: runs DataTransferSteps, each copy a process on this machine."""

    type = "datafactory"
    _step_types = ("data_transfer",)
    _step_class = "DataTransferStep"
    _azure_service = "Azure Data Factory"
    _fields = ("location", "resource_group", "factory_name")

    @staticmethod
    def attach(workspace: Any, name: str, resource_id: Any) -> ComputeTarget:
        """Attach (record) a DataFactoryCompute named ``name``; ``resource_id`` is recorded only."""
        refuse_inside_step("DataFactoryCompute.attach")
        return DataFactoryCompute._attach(workspace, name, resource_id)

    @staticmethod
    def provisioning_configuration(location: str | None = None) -> DataFactoryProvisioningConfiguration:
        return DataFactoryProvisioningConfiguration(location)

    @staticmethod
    def attach_configuration(
        resource_group: str | None = None, factory_name: str | None = None, resource_id: str | None = None
    ) -> DataFactoryAttachConfiguration:
        return DataFactoryAttachConfiguration(resource_group, factory_name, resource_id)


# -- Data Lake Analytics ------------------------------------------------------------
class AdlaAttachConfiguration:
    """What ``AdlaCompute.attach_configuration(resource_group, account_name, resource_id)`` returns."""

    _target_type = "adla"

    def __init__(
        self, resource_group: str | None = None, account_name: str | None = None, resource_id: str | None = None
    ) -> None:
        self.resource_group = resource_group
        self.account_name = account_name
        self.resource_id = resource_id


class AdlaCompute(_StepKindCompute):
    """v1 ``AdlaCompute``: runs AdlaSteps, each SQL script on DuckDB in a process on this machine."""

    type = "adla"
    _step_types = ("sql",)
    _step_class = "AdlaStep"
    _azure_service = "Azure Data Lake Analytics account"
    _fields = ("resource_group", "account_name")

    @staticmethod
    def attach(workspace: Any, name: str, resource_id: Any) -> ComputeTarget:
        """Attach (record) an AdlaCompute named ``name``; ``resource_id`` is recorded only."""
        refuse_inside_step("AdlaCompute.attach")
        return AdlaCompute._attach(workspace, name, resource_id)

    @staticmethod
    def attach_configuration(
        resource_group: str | None = None, account_name: str | None = None, resource_id: str | None = None
    ) -> AdlaAttachConfiguration:
        return AdlaAttachConfiguration(resource_group, account_name, resource_id)
