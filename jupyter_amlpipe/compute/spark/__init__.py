"""The ``spark`` compute target: DatabricksSteps on PySpark (``pip install "jupyter_amlpipe[spark]"``).

Importing this package does not import pyspark: a DatabricksStep's own
process submits its job with ``spark-submit`` (see
:mod:`jupyter_amlpipe.compute.spark._runtime`).
"""

from __future__ import annotations

from jupyter_amlpipe.compute.spark.target import DatabricksAttachConfiguration, DatabricksCompute, SparkCompute

__all__ = ["DatabricksAttachConfiguration", "DatabricksCompute", "SparkCompute"]
