"""Environment images: the hash, building once, layer reuse on a package change, build errors, ``amlpipe env``.

Images are built on ``$AMLPIPE_BASE_IMAGE`` (default here ``amlpipe-base:local``,
made by ``scripts/build-base-image``) from the local wheels in
``tests/assets/wheels`` with ``--no-index``: no network is needed. Each test
gets a wheels folder of its own with a marker file in it, so its environment
hash (which covers the names of local wheel files) is unique to the test, and
removes the images it built.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jupyter_amlpipe.compute.docker.image_spec import (
    HELPER_VERSION,
    LABEL_HASH,
    LABEL_HELPER,
    LABEL_NAME,
    environment_image_hash,
    image_spec,
    image_tag,
)
from jupyter_amlpipe.core.environment import CondaDependencies, Environment, RunConfiguration
from jupyter_amlpipe.errors import ComputeError, DefinitionError

ASSETS = Path(__file__).resolve().parents[1] / "assets"
WHEELS = ASSETS / "wheels"
REPO = Path(__file__).resolve().parents[2]


def _env(name: str, *packages: str, wheels: Path | None = None) -> Environment:
    env = Environment(name)
    pip = [*(["--no-index", f"--find-links {wheels}"] if wheels else []), *packages]
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=pip)
    return env


# -- the hash (no engine needed) ------------------------------------------------------------------
def test_hash_covers_packages_base_dockerfile_notebook_and_not_package_order(tmp_path: Path) -> None:
    a = _env("e", "numpy==1.26", "pandas")
    assert environment_image_hash(a, "img:1") == environment_image_hash(
        _env("other-name", "pandas", "numpy==1.26"), "img:1"
    )
    assert environment_image_hash(a, "img:1") != environment_image_hash(_env("e", "numpy==1.25", "pandas"), "img:1")
    assert environment_image_hash(a, "img:1") != environment_image_hash(a, "img:2")
    assert environment_image_hash(a, "img:1") != environment_image_hash(a, "img:1", notebook=True)
    a.docker.base_image = "mine:3"  # the environment's own base image wins over the target's
    assert environment_image_hash(a, "img:1") == environment_image_hash(a, "img:2")
    assert image_spec(a, "img:1").base_image == "mine:3"

    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM img:1\nRUN echo one\n")
    d1 = environment_image_hash(Environment.from_dockerfile("d", str(dockerfile)), "img:1")
    dockerfile.write_text("FROM img:1\nRUN echo two\n")
    d2 = environment_image_hash(Environment.from_dockerfile("d", str(dockerfile)), "img:1")
    assert d1 != d2
    assert "RUN echo two" in image_spec(Environment.from_dockerfile("d", str(dockerfile))).dockerfile()
    assert len(d1) == 64 and image_tag(d1) == f"amlpipe-env:{d1[:20]}"


def test_hash_covers_local_wheel_files_and_base_image_default_comes_from_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = tmp_path / "wheels"
    shutil.copytree(WHEELS, wheels)
    env = _env("e", "amlpipe_testpkg==1.0", wheels=wheels)
    before = environment_image_hash(env)
    (wheels / "extra-0.1-py3-none-any.whl").write_bytes(b"x")
    assert environment_image_hash(env) != before
    monkeypatch.setenv("AMLPIPE_BASE_IMAGE", "somewhere/base:7")
    assert image_spec(env).base_image == "somewhere/base:7"
    monkeypatch.delenv("AMLPIPE_BASE_IMAGE")
    assert image_spec(env).base_image == "python:3.11-slim"


def test_hash_covers_the_content_of_a_local_wheel_rebuilt_with_the_same_name_and_size(tmp_path: Path) -> None:
    """A wheel rebuilt with other code but the same name and size is a package change: the image hash changes."""
    import zipfile

    source = WHEELS / "amlpipe_testpkg-1.0-py3-none-any.whl"
    wheel = tmp_path / source.name

    def rebuild(version: str) -> int:
        with zipfile.ZipFile(source) as old, zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as new:
            for info in old.infolist():
                data = old.read(info)
                if info.filename == "amlpipe_testpkg.py":
                    data = data.replace(b'"1.0"', f'"{version}"'.encode())
                new.writestr(info, data)
        return wheel.stat().st_size

    env = _env("e", str(wheel))
    size_a = rebuild("1.1")
    hash_a = environment_image_hash(env)
    assert environment_image_hash(env) == hash_a  # the same file again: the same image
    size_b = rebuild("1.2")
    assert size_a == size_b  # name and size alone cannot tell the two wheels apart
    assert environment_image_hash(env) != hash_a


def test_requirements_file_relative_paths_are_resolved_and_unsupported_entries_are_named(tmp_path: Path) -> None:
    shutil.copytree(WHEELS, tmp_path / "wheels")
    req = tmp_path / "requirements.txt"
    req.write_text("--no-index\n-f ./wheels  # local wheels\namlpipe_testpkg==1.0\n")
    env = Environment.from_pip_requirements("req-env", str(req))
    spec = image_spec(env, "img:1")
    assert spec.pip.lines == ["--no-index", "--find-links /tmp/amlpipe-wheels/links0", "amlpipe_testpkg==1.0"]
    assert spec.pip.copies == {"links0": (tmp_path / "wheels").resolve()}
    runconfig = RunConfiguration()
    runconfig.environment = env
    assert environment_image_hash(runconfig.environment, "img:1") == spec.env_hash

    bad = _env("bad-env", "-r other.txt")
    with pytest.raises(DefinitionError, match=r"'bad-env'.*-r other.txt.*from_pip_requirements"):
        environment_image_hash(bad)
    missing = _env("gone-env", "amlpipe_testpkg", wheels=tmp_path / "nowhere")
    with pytest.raises(DefinitionError, match=r"--find-links folder .*nowhere.* does not exist"):
        environment_image_hash(missing)


def test_generated_dockerfile_puts_packages_last_and_the_venv_first_on_path() -> None:
    spec = image_spec(_env("e", "amlpipe_testpkg==1.0"), "img:1", notebook=True)
    lines = [line for line in spec.dockerfile({"k": "v"}).splitlines() if not line.startswith("#")]
    assert lines[0] == "FROM img:1"
    assert "python3 -m venv" in lines[2]
    assert "PATH=/opt/amlpipe/venv/bin:" in lines[3]
    assert "papermill ipykernel" in lines[5]  # notebook support before the environment's packages
    assert "-r /opt/amlpipe/requirements.txt" in lines[-2]
    assert lines[-1] == 'LABEL k="v"'


# -- building (Docker engine) ---------------------------------------------------------------------
@pytest.fixture
def base_image() -> str:
    return os.environ.get("AMLPIPE_BASE_IMAGE") or "amlpipe-base:local"


@pytest.fixture
def client() -> Any:
    from jupyter_amlpipe.compute.docker.client import get_client

    return get_client("test")


@pytest.fixture
def unique_wheels(tmp_path: Path) -> Path:
    """A copy of tests/assets/wheels with a marker file: environments using it hash to images of this test only."""
    folder = tmp_path / "wheels"
    shutil.copytree(WHEELS, folder)
    (folder / f"marker-{uuid.uuid4().hex}.txt").write_text("makes this test's environment hash unique\n")
    return folder


@pytest.fixture
def cleanup(client: Any) -> Iterator[Callable[[Environment, str], None]]:
    """Register (environment, base image); every image of their hashes is removed after the test."""
    hashes: list[str] = []

    def track(env: Environment, base: str, notebook: bool = False) -> None:
        hashes.append(environment_image_hash(env, base, notebook))

    yield track
    for env_hash in hashes:
        for image in client.images.list(filters={"label": f"{LABEL_HASH}={env_hash}"}):
            with contextlib.suppress(Exception):  # already removed (by the test itself)
                client.images.remove(image.id, force=True)


def _run(client: Any, image: str, code: str) -> str:
    out = client.containers.run(image, ["python", "-c", code], remove=True, network_mode="none")
    return str(out.decode().strip())


@pytest.mark.docker
def test_second_ensure_image_does_not_rebuild(client: Any, base_image: str, unique_wheels: Path, cleanup: Any) -> None:
    from jupyter_amlpipe.compute.docker.images import BUILDS, ensure_image

    env = _env(f"t-once-{uuid.uuid4().hex[:8]}", "amlpipe_testpkg==1.0", wheels=unique_wheels)
    cleanup(env, base_image)
    env_hash = environment_image_hash(env, base_image)
    lines: list[str] = []
    tag = ensure_image(env, base_image, client=client, log=lines.append)
    first = client.images.get(tag)
    assert BUILDS[env_hash] == 1
    assert any("Successfully installed amlpipe_testpkg-1.0" in line for line in lines)
    assert first.labels[LABEL_HASH] == env_hash
    assert first.labels[LABEL_NAME] == env.name
    assert first.labels[LABEL_HELPER] == HELPER_VERSION

    again: list[str] = []
    same = Environment.from_pip_requirements  # an equal environment built another way hashes the same
    req = unique_wheels.parent / "requirements.txt"
    req.write_text(f"--no-index\n--find-links {unique_wheels}\namlpipe_testpkg==1.0\n")
    assert ensure_image(same(env.name, str(req)), base_image, client=client, log=again.append) == tag
    assert BUILDS[env_hash] == 1  # no second build
    second = client.images.get(tag)
    assert (second.id, second.attrs["Created"]) == (first.id, first.attrs["Created"])
    assert again and again[0].startswith(f"Using image {tag}")

    from jupyter_amlpipe.compute.docker.images import list_images

    listed = {im.env_hash: im for im in list_images(client)}
    assert listed[env_hash].env_name == env.name
    assert listed[env_hash].last_used is not None


@pytest.mark.docker
def test_package_change_rebuilds_only_the_top_layers_and_installs_the_new_version(
    client: Any, base_image: str, unique_wheels: Path, cleanup: Any
) -> None:
    from jupyter_amlpipe.compute.docker.images import ensure_image

    name = f"t-layers-{uuid.uuid4().hex[:8]}"
    old_env = _env(name, "amlpipe_testpkg==1.0", wheels=unique_wheels)
    new_env = _env(name, "amlpipe_testpkg==2.0", wheels=unique_wheels)
    cleanup(old_env, base_image)
    cleanup(new_env, base_image)
    old = client.images.get(ensure_image(old_env, base_image, client=client))
    lines: list[str] = []
    new = client.images.get(ensure_image(new_env, base_image, client=client, log=lines.append))

    base_layers = client.images.get(base_image).attrs["RootFS"]["Layers"]
    old_layers, new_layers = old.attrs["RootFS"]["Layers"], new.attrs["RootFS"]["Layers"]
    assert old.id != new.id
    assert old_layers[: len(base_layers)] == base_layers == new_layers[: len(base_layers)]
    # base + venv + copied wheels are shared; requirements.txt and the pip install layer are new
    assert len(new_layers) == len(old_layers) == len(base_layers) + 4
    assert new_layers[:-2] == old_layers[:-2]
    assert new_layers[-1] != old_layers[-1] and new_layers[-2] != old_layers[-2]
    venv_step = next(i for i, line in enumerate(lines) if "python3 -m venv" in line and line.startswith("Step "))
    assert lines[venv_step + 1].strip() == "---> Using cache"

    assert _run(client, new.id, "import amlpipe_testpkg; print(amlpipe_testpkg.__version__)") == "2.0"
    assert _run(client, old.id, "import amlpipe_testpkg; print(amlpipe_testpkg.__version__)") == "1.0"
    assert _run(client, new.id, "import sys; print(sys.prefix)") == "/opt/amlpipe/venv"


@pytest.mark.docker
def test_failed_build_raises_with_the_last_build_lines(
    client: Any, base_image: str, unique_wheels: Path, cleanup: Any
) -> None:
    from jupyter_amlpipe.compute.docker.images import BUILDS, ImageBuildError, ensure_image

    env = _env(f"t-fail-{uuid.uuid4().hex[:8]}", "amlpipe_testpkg==3.0", wheels=unique_wheels)
    cleanup(env, base_image)
    lines: list[str] = []
    with pytest.raises(ImageBuildError) as caught:
        ensure_image(env, base_image, client=client, log=lines.append)
    message = str(caught.value)
    assert isinstance(caught.value, ComputeError)
    assert f"environment {env.name!r}" in message
    assert "Last build lines:" in message
    assert "amlpipe_testpkg==3.0" in message  # pip's own complaint is among them
    assert "returned a non-zero code" in message
    assert len(caught.value.last_lines) <= 20
    assert caught.value.last_lines[-1] in lines  # the full log went to the caller too
    assert BUILDS[environment_image_hash(env, base_image)] == 0
    assert not client.images.list(filters={"label": f"{LABEL_HASH}={environment_image_hash(env, base_image)}"})


@pytest.mark.docker
def test_missing_base_image_names_the_image_and_the_base_image_script(client: Any) -> None:
    from jupyter_amlpipe.compute.docker.images import ensure_image

    env = _env("t-nobase", "amlpipe_testpkg")
    missing = f"amlpipe-missing-{uuid.uuid4().hex[:8]}:none"
    with pytest.raises(ComputeError) as caught:
        ensure_image(env, missing, client=client)
    assert missing in str(caught.value)
    assert "scripts/build-base-image" in str(caught.value)
    assert "AMLPIPE_BASE_IMAGE" in str(caught.value)


@pytest.mark.docker
def test_engine_not_running_says_start_docker_or_use_localcompute(tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock", "PYTHONPATH": str(REPO)}
    code = (
        "from jupyter_amlpipe.compute.docker.images import ensure_image\n"
        "from jupyter_amlpipe.core.environment import Environment\n"
        "ensure_image(Environment('e'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Start Docker, or use LocalCompute" in proc.stderr
    assert "ComputeError" in proc.stderr


@pytest.mark.docker
@pytest.mark.slow
def test_notebook_support_adds_papermill_and_ipykernel(client: Any, base_image: str, cleanup: Any) -> None:
    from jupyter_amlpipe.compute.docker.images import ensure_image

    env = Environment(f"t-nb-{uuid.uuid4().hex[:8]}")
    env.environment_variables["MARK"] = uuid.uuid4().hex  # not part of the image: shares the plain notebook image
    cleanup(env, base_image, True)
    tag = ensure_image(env, base_image, client=client, notebook=True)
    versions = _run(
        client,
        tag,
        "import papermill, ipykernel, jupyter_client.kernelspec as k; "
        "print(papermill.__version__, ipykernel.__version__, 'python3' in k.find_kernel_specs())",
    )
    assert versions.endswith("True"), versions
    assert environment_image_hash(env, base_image, notebook=True) != environment_image_hash(env, base_image)


# -- amlpipe env ----------------------------------------------------------------------------------
def _cli(*args: str) -> Any:
    from jupyter_amlpipe.cli.main import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


@pytest.mark.docker
def test_env_build_list_and_prune(
    tmp_path: Path, client: Any, base_image: str, unique_wheels: Path, cleanup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMLPIPE_BASE_IMAGE", base_image)
    name = f"t-cli-{uuid.uuid4().hex[:8]}"
    req = tmp_path / "requirements.txt"
    req.write_text("--no-index\n--find-links ./wheels\namlpipe_testpkg==1.0\n")  # relative to the file
    env_v1 = Environment.from_pip_requirements(name, str(req))
    cleanup(env_v1, base_image)

    built = _cli("env", "build", "--requirements", str(req), "--name", name, "--quiet")
    assert built.exit_code == 0, built.output
    tag_v1 = image_tag(environment_image_hash(env_v1, base_image))
    assert f"{name}: {tag_v1}" in built.stdout

    envs_file = tmp_path / "envs.py"  # a file defining an Environment, loaded like `amlpipe submit` loads one
    envs_file.write_text(
        "from jupyter_amlpipe import Environment\n"
        "from jupyter_amlpipe.core.environment import CondaDependencies\n"
        f"env = Environment({name!r})\n"
        f"env.python.conda_dependencies = CondaDependencies.create(pip_packages=['--no-index', "
        f"'--find-links {unique_wheels}', 'amlpipe_testpkg==2.0'])\n"
        "other = 42\n"
    )
    env_v2 = Environment(name)
    env_v2.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["--no-index", f"--find-links {unique_wheels}", "amlpipe_testpkg==2.0"]
    )
    cleanup(env_v2, base_image)
    built2 = _cli("env", "build", f"{envs_file}:env")
    assert built2.exit_code == 0, built2.output
    tag_v2 = image_tag(environment_image_hash(env_v2, base_image))
    assert f"{name}: {tag_v2}" in built2.stdout
    assert "Successfully installed amlpipe_testpkg-2.0" in built2.stderr

    wrong = _cli("env", "build", f"{envs_file}:other")
    assert wrong.exit_code == 2 and "is a int, not an Environment" in wrong.stderr
    unknown = _cli("env", "build", f"{envs_file}:envv")
    assert unknown.exit_code == 3 and "Did you mean 'env'" in unknown.stderr

    listed = _cli("env", "list")
    assert listed.exit_code == 0, listed.output
    mine = [line for line in listed.stdout.splitlines() if line.startswith(name)]
    assert len(mine) == 2 and {tag_v1, tag_v2} <= set(" ".join(mine).split())

    dry = _cli("env", "prune", "--name", name, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"Would remove {tag_v1}" in dry.stdout  # the older one; the newest per name is kept
    assert tag_v2 not in dry.stdout
    assert client.images.get(tag_v1)  # still there

    pruned = _cli("env", "prune", "--name", name)
    assert pruned.exit_code == 0, pruned.output
    assert f"Removed {tag_v1}" in pruned.stdout and "1 image(s) removed" in pruned.stdout and "freed" in pruned.stdout
    remaining = [im.tags for im in client.images.list(filters={"label": f"{LABEL_NAME}={name}"})]
    assert remaining == [[tag_v2]]

    everything = _cli("env", "prune", "--name", name, "--all")
    assert everything.exit_code == 0 and f"Removed {tag_v2}" in everything.stdout
    assert not client.images.list(filters={"label": f"{LABEL_NAME}={name}"})


def test_env_build_usage_errors_exit_2(tmp_path: Path) -> None:
    neither = _cli("env", "build")
    assert neither.exit_code == 2 and "exactly one" in neither.stderr
    no_name = _cli("env", "build", "--requirements", str(tmp_path / "r.txt"))
    assert no_name.exit_code == 2 and "--name" in no_name.stderr
    missing = _cli("env", "build", "--requirements", str(tmp_path / "r.txt"), "--name", "x")
    assert missing.exit_code == 3 and "does not exist" in missing.stderr
