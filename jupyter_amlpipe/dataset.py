"""v1's dataset names in one module (``azureml.core.Dataset``, ``azureml.data.OutputFileDatasetConfig``, ...).

``from azureml.core import Dataset`` becomes ``from jupyter_amlpipe.dataset import Dataset``
(or ``from jupyter_amlpipe import Dataset``).
"""

from jupyter_amlpipe.core.dataset import DatasetConsumptionConfig, OutputFileDatasetConfig, OutputTabularDatasetConfig
from jupyter_amlpipe.workspace.credentials import EnvSecret
from jupyter_amlpipe.workspace.dataset import Dataset, FileDataset, TabularDataset

__all__ = [
    "Dataset",
    "DatasetConsumptionConfig",
    "EnvSecret",
    "FileDataset",
    "OutputFileDatasetConfig",
    "OutputTabularDatasetConfig",
    "TabularDataset",
]
