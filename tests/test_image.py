"""The Docker image, proven without a Docker daemon.

The image's build stage (Dockerfile) installs requirements.lock into a virtualenv, builds
the BFF's wheel with ``scripts/build-wheel`` (GraphiQL's npm files copied in first, taken
in as package data) and installs it; the runtime stage is that virtualenv alone. Here the
same steps run on a clean clone: the wheel is installed (not editable) into a fresh
virtualenv, the clone is deleted, and that ``bff serve`` must serve GraphiQL's page and
every file the page names. Without the files in the wheel, the page says "GraphiQL's
files are not installed" (503) and ``/static/vendor/*`` is 404.

The build context is the checkout filtered by ``.dockerignore``: what git ignores (a
developer's ``.venv``, ``clients/node_modules``, old files in ``bff/static/vendor/``) must
not enter it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bff.web.vendor import ASSETS
from tests.figures import Figures
from tests.support import ROOT, Server

DOCKERFILE = ROOT / "Dockerfile"
NODE_MODULES = ROOT / "clients" / "node_modules"


def run(args: list[str], timeout: float, cwd: Path = ROOT, env: dict[str, str] | None = None
        ) -> str:
    """``args`` to completion within ``timeout`` seconds; fails with its output if not."""
    try:
        proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(args)} took over {timeout} s", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-3000:]}", pytrace=False)
    return proc.stdout


def clean_clone(dest: Path) -> str:
    """A git clone of this checkout: HEAD with the uncommitted changes to tracked files
    (``git stash create`` makes that commit without touching the checkout). Untracked
    files stay out, as in any fresh clone: ``git add`` a new file to build it."""
    rev = run(["git", "stash", "create"], 30).strip() or run(["git", "rev-parse", "HEAD"], 30)
    run(["git", "clone", "--quiet", "--shared", "--no-checkout", str(ROOT), str(dest)], 60)
    run(["git", "-C", str(dest), "checkout", "--quiet", "--detach", rev.strip()], 60)
    return rev.strip()[:12]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without BFF settings or a Python path of ours."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BFF_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    return {**env, **extra}


def healthcheck_command() -> str:
    """The ``HEALTHCHECK ... CMD`` of the Dockerfile, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found = re.search(r"^HEALTHCHECK .*?\bCMD (.+)$", text, re.MULTILINE)
    assert found, "the Dockerfile has no HEALTHCHECK"
    return found[1].strip()


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, figures: Figures) -> Path:
    """The image's build stage, on a clean clone: the virtualenv that the runtime stage is."""
    if not (NODE_MODULES / "graphiql" / "package.json").is_file():
        pytest.fail("clients/node_modules is missing: run scripts/setup (Node 20+ and npm)",
                    pytrace=False)
    work = tmp_path_factory.mktemp("image")
    src, venv, dist = work / "src", work / "venv", work / "dist"
    started = time.monotonic()
    rev = clean_clone(src)
    cloned = time.monotonic()
    run([sys.executable, "-m", "venv", str(venv)], 120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "--quiet", "--only-binary", ":all:", "--require-hashes",
         "--no-deps", "-r", str(src / "requirements.lock")], 600, cwd=src)  # fmt: skip
    locked = time.monotonic()
    run([str(src / "scripts" / "build-wheel"), str(NODE_MODULES), str(dist)], 300, cwd=src,
        env=clean_env(PYTHON=str(venv / "bin" / "python")))
    wheels = list(dist.glob("bff-*.whl"))
    assert len(wheels) == 1, wheels
    run([*pip, "install", "--quiet", "--no-deps", str(wheels[0])], 120, cwd=work)
    built = time.monotonic()
    shutil.rmtree(src)  # the runtime stage has no source tree either
    figures(
        f"image build of {rev} (clean clone): clone {cloned - started:.1f} s, "
        f"lock into a fresh venv {locked - cloned:.1f} s, wheel built and installed "
        f"{built - locked:.1f} s ({wheels[0].stat().st_size // 1024} KiB)"
    )
    return venv


@pytest.fixture(scope="module")
def served(venv: Path, tmp_path_factory: pytest.TempPathFactory, figures: Figures
           ) -> Iterator[str]:
    """That virtualenv's ``bff serve``, run from an empty folder with an embedded Redis."""
    home = tmp_path_factory.mktemp("serve")
    env = {"BFF_REDIS_URL": "", "BFF_REDIS_DATA_DIR": str(home / "redis"), "PYTHONPATH": ""}
    server = Server(env, command=[str(venv / "bin" / "bff"), "serve"], cwd=home)
    started = time.monotonic()
    server.start()
    try:
        figures(f"installed bff serve ready in {time.monotonic() - started:.1f} s")
        yield server.url
    finally:
        server.stop()


@pytest.mark.slow
def test_the_installed_wheel_is_not_the_source_tree(venv: Path) -> None:
    out = run([str(venv / "bin" / "python"), "-c", "import bff; print(bff.__file__)"], 30,
              cwd=venv)
    assert Path(out.strip()).is_relative_to(venv / "lib"), out
    assert not list((venv / "lib").glob("python3*/site-packages/__editable__*"))


@pytest.mark.slow
def test_installed_bff_serves_graphiql_and_every_file_it_names(served: str) -> None:
    page = httpx.get(f"{served}/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert page.headers["content-type"].startswith("text/html")
    urls = re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="(/[^"]*)"', page.text)
    names = {u.rsplit("/", 1)[1] for u in urls}
    assert {a.name for a in ASSETS} | {"graphiql.js"} == names, urls
    for url in urls:
        asset = httpx.get(f"{served}{url}", timeout=10)
        assert asset.status_code == 200, url
        kind = "text/css" if url.endswith(".css") else "text/javascript"
        assert asset.headers["content-type"].split(";")[0] == kind, (url, asset.headers)
        assert len(asset.content) > 100, url


@pytest.mark.slow
def test_installed_bff_answers_graphql_and_the_image_healthcheck(venv: Path, served: str
                                                                 ) -> None:
    answer = httpx.post(f"{served}/graphql", json={"query": "{ __typename }"}, timeout=10)
    assert answer.json() == {"data": {"__typename": "Query"}}
    ready = httpx.get(f"{served}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    check = healthcheck_command()
    assert "curl" not in check
    path = f"{venv / 'bin'}:{os.environ['PATH']}"  # the image's PATH starts with /venv/bin

    def healthcheck(port: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["sh", "-c", check], env=clean_env(BFF_PORT=port, PATH=path),
                              capture_output=True, timeout=10, check=False)

    healthy = healthcheck(served.rsplit(":", 1)[1])
    assert healthy.returncode == 0, healthy.stderr
    with socket.socket() as s:  # a port nothing listens on: the check must fail
        s.bind(("127.0.0.1", 0))
        assert healthcheck(str(s.getsockname()[1])).returncode != 0


def dockerfile_stages() -> dict[str, str]:
    """Each stage's instructions, comments left out, by its name (``AS name``; the last,
    unnamed one is ``runtime``)."""
    lines = DOCKERFILE.read_text().replace("\\\n", " ").splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    stages: dict[str, str] = {}
    for chunk in re.split(r"^(?=FROM )", text, flags=re.MULTILINE)[1:]:
        named = re.match(r"FROM \S+ AS (\S+)", chunk)
        stages[named[1] if named else "runtime"] = chunk
    return stages


def test_runtime_stage_is_the_locked_virtualenv_alone_not_as_root() -> None:
    stages = dockerfile_stages()
    assert set(stages) == {"web", "build", "runtime"}
    build, runtime = stages["build"], stages["runtime"]
    assert re.search(r"pip install [^\n]*--require-hashes --no-deps -r requirements\.lock", build)
    assert "scripts/build-wheel" in build and "pip install --no-deps /tmp/dist/bff-" in build
    assert "COPY --from=build /venv /venv" in runtime
    for word in ("apt-get", "build-essential", "curl", "pip install", "COPY bff"):
        assert word not in runtime, f"the runtime stage has {word}"
    user = re.findall(r"^USER (\S+)", runtime, re.MULTILINE)
    assert user and user[-1] not in ("root", "0"), user


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """``.dockerignore`` as (negated, regex) rules, Docker's syntax: patterns anchored at
    the context's root, ``*`` within one path segment, ``**`` across segments."""
    rules: list[tuple[bool, re.Pattern[str]]] = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = "".join(
            ".*" if part == "**" else "[^/]*" if part == "*" else "[^/]" if part == "?"
            else re.escape(part)
            for part in re.split(r"(\*\*|\*|\?)", pattern)
        )
        rules.append((negated, re.compile(regex.replace(".*/", "(?:.*/)?"))))
    return rules


def in_build_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for negated, regex in rules:
        if any(regex.fullmatch(p) for p in prefixes):
            included = negated
    return included


def test_build_context_leaves_out_what_git_ignores_and_has_what_the_dockerfile_copies(
) -> None:
    rules = dockerignore_rules()
    ignored = run(["git", "ls-files", "--others", "--ignored", "--exclude-standard",
                   "--directory"], 60).split()  # fmt: skip
    assert any(p.startswith(".venv") for p in ignored), "no .venv here: run scripts/setup"
    leaking = [p for p in ignored if in_build_context(p, rules)]
    assert not leaking, f"these reach the image's build context: {leaking}"
    assert not in_build_context("bff/static/vendor/graphiql.min.js", rules)
    sources = [
        src
        for line in re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE.read_text(), re.MULTILINE)
        for src in line.split()[:-1]
    ]
    assert "bff" in sources and "requirements.lock" in sources
    tracked = run(["git", "ls-files"], 60).split()
    for src in sources:
        under = [t for t in tracked if t == src or t.startswith(f"{src.rstrip('/')}/")]
        assert under, f"COPY {src}: not in git"
        left_out = [t for t in under if not in_build_context(t, rules)]
        assert not left_out, f"COPY {src}: .dockerignore leaves out {left_out[:5]}"
