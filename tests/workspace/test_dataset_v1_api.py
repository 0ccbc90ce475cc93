"""The v1 Dataset calls of the pipeline docs: random_split, take/skip/take_sample, column selections,
FileDataset selections and mount, upload_directory, register_pandas_dataframe, JSON Lines, and http(s) URLs."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Dataset, Experiment, Pipeline
from jupyter_amlpipe.errors import DefinitionError, LookupFailed
from jupyter_amlpipe.steps import PythonScriptStep


@pytest.fixture
def store(workspace: Any) -> Any:
    """The default datastore with 100 rows in two CSV files (ids 0-59 and 60-99) and ten text files."""
    store = workspace.get_default_datastore()
    root = store.local_path()
    (root / "table").mkdir(parents=True)
    (root / "table" / "a.csv").write_text("id,score,city\n" + "".join(f"{i},{i * 2},c{i % 3}\n" for i in range(60)))
    (root / "table" / "b.csv").write_text(
        "id,score,city\n" + "".join(f"{i},{i * 2},c{i % 3}\n" for i in range(60, 100))
    )
    (root / "files").mkdir()
    for i in range(10):
        (root / "files" / f"f{i}.txt").write_text(f"file {i}\n")
    return store


def _ids(dataset: Any) -> list[int]:
    return [int(v) for v in dataset.to_pandas_dataframe()["id"]]


def test_random_split_is_complementary_repeatable_and_survives_registration(workspace: Any, store: Any) -> None:
    pytest.importorskip("pandas")
    table = Dataset.Tabular.from_delimited_files(path=(store, "table"))
    train, test = table.random_split(percentage=0.8, seed=1)
    train_ids, test_ids = _ids(train), _ids(test)
    assert (len(train_ids), len(test_ids)) == (80, 20)
    assert sorted(train_ids + test_ids) == list(range(100))  # disjoint, and every row in one part
    assert train_ids == sorted(train_ids) and test_ids == sorted(test_ids)  # each part keeps the row order
    again_train, again_test = table.random_split(percentage=0.8, seed=1)
    assert (_ids(again_train), _ids(again_test)) == (train_ids, test_ids)
    assert _ids(table.random_split(percentage=0.8, seed=2)[1]) != test_ids

    registered = train.register(workspace, "iris_train")
    assert _ids(Dataset.get_by_name(workspace, "iris_train")) == train_ids
    assert registered.name == "iris_train" and train.name is None

    unseeded_train, unseeded_test = table.random_split(0.25)  # a seed is drawn once, for both parts
    assert sorted(_ids(unseeded_train) + _ids(unseeded_test)) == list(range(100))
    assert len(_ids(unseeded_train)) == 25
    with pytest.raises(DefinitionError, match="percentage must be a number between 0 and 1"):
        table.random_split(1.5, seed=1)


def test_take_skip_sample_and_column_selections_apply_in_order(store: Any) -> None:
    pytest.importorskip("pandas")
    table = Dataset.Tabular.from_delimited_files(path=(store, "table"))
    assert _ids(table.skip(58).take(4)) == [58, 59, 60, 61]  # across the two files
    assert _ids(table.take(5).skip(2)) == [2, 3, 4]
    sample = _ids(table.take_sample(0.3, seed=7))
    assert sample == _ids(table.take_sample(0.3, seed=7))
    assert 10 < len(sample) < 50 and set(sample) <= set(range(100))
    assert list(table.keep_columns(["id", "city"]).to_pandas_dataframe().columns) == ["id", "city"]
    assert list(table.drop_columns("score").to_pandas_dataframe().columns) == ["id", "city"]
    assert list(table.drop_columns("score").keep_columns("city").to_pandas_dataframe().columns) == ["city"]
    with pytest.raises(LookupFailed, match=r"keep_columns names column\(s\) \['nope'\].*\['id', 'score', 'city'\]"):
        table.keep_columns(["nope"], validate=True)
    with pytest.raises(DefinitionError, match="count must be a whole number"):
        table.take(-1)


def test_file_dataset_selections_download_and_mount(store: Any, tmp_path: Path) -> None:
    files = Dataset.File.from_files(path=(store, "files"))
    assert files.take(3).to_path() == ["/f0.txt", "/f1.txt", "/f2.txt"]
    assert files.skip(8).to_path() == ["/f8.txt", "/f9.txt"]
    first, second = files.random_split(0.7, seed=4)
    assert len(first.to_path()) == 7 and len(second.to_path()) == 3
    assert sorted(first.to_path() + second.to_path()) == sorted(files.to_path())
    assert first.to_path() == files.random_split(0.7, seed=4)[0].to_path()
    downloaded = second.download(tmp_path / "second")
    assert sorted(Path(p).name for p in downloaded) == sorted(p.lstrip("/") for p in second.to_path())

    with files.mount() as context:  # one folder on a local datastore: used as it is
        assert context.mount_point == str(store.local_path("files"))
    with second.mount() as context:  # a selection: a temporary copy of just those files
        point = str(context.mount_point)
        assert sorted(os.listdir(point)) == sorted(p.lstrip("/") for p in second.to_path())
    assert not os.path.exists(point)


def test_upload_directory_returns_a_file_dataset_and_guards_changed_files(store: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.csv").write_text("x\n1\n")
    (src / "sub" / "b.csv").write_text("x\n2\n")
    (src / "notes.txt").write_text("skip me\n")
    dataset = Dataset.File.upload_directory(src, (store, "up"), pattern="**/*.csv", show_progress=False)
    assert dataset.to_path() == ["/a.csv", "/sub/b.csv"]
    assert (store.local_path("up") / "sub" / "b.csv").read_text() == "x\n2\n"
    Dataset.File.upload_directory(src, store.path("up"), pattern="**/*.csv")  # same content again: fine
    (src / "a.csv").write_text("x\n9\n")
    with pytest.raises(DefinitionError, match=r"differ from the local ones \(up/a.csv\).*overwrite=True"):
        Dataset.File.upload_directory(src, (store, "up"), pattern="**/*.csv")
    Dataset.File.upload_directory(src, (store, "up"), pattern="**/*.csv", overwrite=True)
    assert (store.local_path("up") / "a.csv").read_text() == "x\n9\n"


def test_register_pandas_dataframe_round_trip(workspace: Any, store: Any) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"name": ["a", "b", "c"], "value": [1.5, 2.5, 3.5]})
    registered = Dataset.Tabular.register_pandas_dataframe(frame, (store, "frames"), "scores", description="d")
    assert (registered.name, registered.version, registered.description) == ("scores", 1, "d")
    back = Dataset.get_by_name(workspace, "scores").to_pandas_dataframe()
    assert back.to_dict("list") == {"name": ["a", "b", "c"], "value": [1.5, 2.5, 3.5]}
    folders = os.listdir(store.local_path("frames"))
    assert len(folders) == 1 and os.listdir(store.local_path("frames") / folders[0]) == ["part-00000.parquet"]
    second = Dataset.Tabular.register_pandas_dataframe(frame.head(1), (store, "frames"), "scores")
    assert second.version == 2 and second.to_pandas_dataframe()["name"].tolist() == ["a"]


def test_json_lines_files_with_invalid_lines(store: Any) -> None:
    pytest.importorskip("pandas")
    (store.local_path() / "events.jsonl").write_text('{"id": 1, "kind": "a"}\nnot json\n\n{"id": 2, "kind": "b"}\n')
    strict = Dataset.Tabular.from_json_lines_files(path=(store, "events.jsonl"))
    with pytest.raises(DefinitionError, match=r"line 2 of /events.jsonl is not valid JSON.*invalid_lines='drop'"):
        strict.to_pandas_dataframe()
    lenient = Dataset.Tabular.from_json_lines_files(path=(store, "events.jsonl"), invalid_lines="drop")
    assert lenient.to_pandas_dataframe().to_dict("list") == {"id": [1, 2], "kind": ["a", "b"]}


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving a temporary folder: (base URL, folder)."""
    folder = tmp_path / "web"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def test_datasets_from_urls_read_download_and_register(workspace: Any, web: tuple[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    base, folder = web
    (folder / "Titanic.csv").write_text("PassengerId,Survived\n1,0\n2,1\n3,1\n")
    titanic = Dataset.Tabular.from_delimited_files(path=f"{base}/Titanic.csv")
    assert titanic.to_pandas_dataframe()["Survived"].tolist() == [0, 1, 1]
    titanic.register(workspace, "titanic")
    assert Dataset.get_by_name(workspace, "titanic").take(2).to_pandas_dataframe()["PassengerId"].tolist() == [1, 2]

    files = Dataset.File.from_files(path=[f"{base}/Titanic.csv"])
    assert files.to_path() == ["/Titanic.csv"]
    [local] = files.download(tmp_path / "down")
    assert Path(local).read_text() == "PassengerId,Survived\n1,0\n2,1\n3,1\n"
    with pytest.raises(LookupFailed, match=r"could not fetch http://127.0.0.1:\d+/missing.csv \(.*404"):
        Dataset.Tabular.from_delimited_files(path=f"{base}/missing.csv")


READ_SPLIT = """
import sys
from jupyter_amlpipe import Run
frame = Run.get_context().input_datasets["train"].to_pandas_dataframe()
open(sys.argv[1], "w").write(",".join(str(v) for v in frame["id"].tolist()))
"""


def test_a_step_reads_a_split_dataset_input(workspace: Any, store: Any, tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    code = tmp_path / "code"
    code.mkdir()
    (code / "read_split.py").write_text(READ_SPLIT)
    result = tmp_path / "result.txt"
    table = Dataset.Tabular.from_delimited_files(path=(store, "table"))
    train, test = table.random_split(percentage=0.8, seed=1)

    def run_with(part: Any) -> Any:
        step = PythonScriptStep(
            "read_split.py",
            name="read",
            arguments=[str(result)],
            inputs=[part.as_named_input("train")],
            source_directory=str(code),
        )
        run = Experiment(workspace, "split").submit(Pipeline(workspace, [step]))
        run.wait_for_completion(show_output=False, raise_on_error=True)
        return run.find_step_run("read")[0]

    first = run_with(train.register(workspace, "train"))
    assert [int(v) for v in result.read_text().split(",")] == _ids(train)
    again = run_with(Dataset.get_by_name(workspace, "train"))
    assert again.get_reuse_info()["reused_from"] == first.id
    other = run_with(test)  # the same files, another part: not reused
    assert not other.get_reuse_info().get("reused_from")
    assert [int(v) for v in result.read_text().split(",")] == _ids(test)


def test_a_step_reads_a_url_dataset_and_reuse_follows_its_content(
    workspace: Any, web: tuple[str, Path], tmp_path: Path
) -> None:
    pytest.importorskip("pandas")
    base, folder = web
    (folder / "data.csv").write_text("id\n5\n6\n")
    code = tmp_path / "code"
    code.mkdir()
    (code / "read_split.py").write_text(READ_SPLIT)
    result = tmp_path / "result.txt"
    dataset = Dataset.Tabular.from_delimited_files(path=f"{base}/data.csv")
    step = PythonScriptStep(
        "read_split.py",
        name="read",
        arguments=[str(result)],
        inputs=[dataset.as_named_input("train")],
        source_directory=str(code),
    )
    pipeline = Pipeline(workspace, [step])

    def submit() -> Any:
        run = Experiment(workspace, "web").submit(pipeline)
        run.wait_for_completion(show_output=False, raise_on_error=True)
        return run.find_step_run("read")[0]

    first = submit()
    assert result.read_text() == "5,6"
    assert submit().get_reuse_info()["reused_from"] == first.id
    (folder / "data.csv").write_text("id\n7\n")
    assert not submit().get_reuse_info().get("reused_from")
    assert result.read_text() == "7"


def test_urls_are_fetched_without_aiohttp_too(web: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_amlpipe.workspace import dataset_urls

    base, folder = web
    (folder / "x.txt").write_text("plain\n")
    monkeypatch.setattr(dataset_urls, "_http_fs", lambda: None)  # the standard-library path
    assert dataset_urls.fetch(f"{base}/x.txt", "test") == b"plain\n"
    with pytest.raises(LookupFailed, match=r"HTTP 404"):
        dataset_urls.fetch(f"{base}/nothing.txt", "test")


LIST_FILES = """
import os, sys
from jupyter_amlpipe import Run
folder = Run.get_context().input_datasets["part"]
open(sys.argv[1], "w").write(",".join(sorted(os.listdir(folder))))
"""


def test_a_step_sees_only_the_files_of_a_file_dataset_part(workspace: Any, store: Any, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "list_files.py").write_text(LIST_FILES)
    result = tmp_path / "result.txt"
    first, _ = Dataset.File.from_files(path=(store, "files")).random_split(0.3, seed=5)
    step = PythonScriptStep(
        "list_files.py",
        arguments=[str(result)],
        inputs=[first.as_named_input("part").as_mount()],
        source_directory=str(code),
    )
    run = Experiment(workspace, "files").submit(Pipeline(workspace, [step]))
    run.wait_for_completion(show_output=False, raise_on_error=True)
    assert result.read_text() == ",".join(sorted(p.lstrip("/") for p in first.to_path()))
    assert len(first.to_path()) == 3
