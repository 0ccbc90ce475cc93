"""The quickstart pipeline: clean product reviews, train a sentiment model, evaluate it.

    prep (script) ──clean──> train (notebook) ──model──> evaluate (script)
                      └────> count (command)      clean ──┘

Written like Azure ML SDK v1 code; only the imports differ. Run it with

    amlpipe submit pipeline.py:pipeline        # from this folder (it holds .azureml/config.json)
    python pipeline.py                         # the same, plus a printout of the metrics

The workspace is found with ``Workspace.from_config()``: create one first with
``amlpipe demo`` or ``amlpipe workspace create``.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_amlpipe import DataReference, Experiment, Pipeline, PipelineData, PipelineParameter, Workspace
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.steps import CommandStep, NotebookStep, PythonScriptStep

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "src"  # the steps' source directory: snapshotted on submit (minus what .amlignore lists)
DATA = HERE / "data" / "reviews.csv"
EXPERIMENT = "quickstart"


def upload_data(ws: Workspace) -> None:
    """Put the raw reviews on the workspace's default datastore (as reviews/reviews.csv)."""
    store = ws.get_default_datastore()
    store.upload_files([str(DATA)], target_path="reviews", overwrite=True, show_progress=False)


def build(ws: Workspace) -> Pipeline:
    """The pipeline's four steps, linked by data. Building it uploads and runs nothing."""
    store = ws.get_default_datastore()
    raw = DataReference(datastore=store, data_reference_name="raw", path_on_datastore="reviews/reviews.csv")
    clean = PipelineData("clean", datastore=store)
    model = PipelineData("model", datastore=store)
    lr = PipelineParameter(name="lr", default_value=0.1)
    compute = LocalCompute(workspace=ws, name="local")

    prep = PythonScriptStep(
        name="prep",
        script_name="prep.py",
        arguments=["--input", raw, "--output", clean],
        inputs=[raw],
        outputs=[clean],
        compute_target=compute,
        source_directory=str(SOURCE),
    )
    train = NotebookStep(
        name="train",
        notebook="train.ipynb",
        source_directory=str(SOURCE),
        params={"lr": lr},
        inputs=[clean],
        outputs=[model],
        compute_target=compute,
    )
    # A shell command; data paths are also in AZUREML_DATAREFERENCE_<name> environment variables.
    count = CommandStep(
        name="count",
        command='wc -l "$AZUREML_DATAREFERENCE_clean/clean.csv" && echo "rows per product:" && '
        'tail -n +2 "$AZUREML_DATAREFERENCE_clean/clean.csv" | cut -d, -f2 | sort | uniq -c',
        inputs=[clean],
        compute_target=compute,
        source_directory=str(SOURCE),
    )
    evaluate = PythonScriptStep(
        name="evaluate",
        script_name="evaluate.py",
        arguments=["--clean", clean, "--model", model],
        inputs=[clean, model],
        compute_target=compute,
        source_directory=str(SOURCE),
    )
    return Pipeline(workspace=ws, steps=[prep, train, count, evaluate], description="Quickstart: review sentiment")


ws = Workspace.from_config(path=HERE)
upload_data(ws)
pipeline = build(ws)

if __name__ == "__main__":
    run = Experiment(ws, EXPERIMENT).submit(pipeline)
    run.wait_for_completion(show_output=True)
    for step in run.get_steps():
        print(step.name, step.get_metrics())
