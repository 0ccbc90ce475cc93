"""A step that tries to create a compute target (refused: management calls come from outside steps)."""

from jupyter_amlpipe import Run
from jupyter_amlpipe.compute import AmlCompute, ComputeTarget

ws = Run.get_context().experiment.workspace
ComputeTarget.create(ws, "from-step", AmlCompute.provisioning_configuration(max_nodes=2))
print("created a compute target from inside a step")
