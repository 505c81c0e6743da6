"""The one place where the BFF uses private names of its libraries.

Everything else in ``bff/`` uses the libraries' public APIs. Each module here covers one
library and starts by checking, at import, that the installed version is exactly the one
its private uses were written for (:func:`require`): a new release fails loudly at start-up
with the module's name and both versions, never silently at run time.

=====================  ========================================================  =========
module                 what it uses, and why                                      measured
=====================  ========================================================  =========
``strawberry``         the graphql-core schema a Strawberry schema wraps            -
                       (``Schema._schema``: the engine executes on graphql-core's
                       public API); a field's plain resolver, read from its
                       definition, for compiled plans; a resolver's field nodes
                       (``Info._raw_info``) for selection look-ahead
``uvicorn``            a leaner sans-I/O websocket protocol (subclass of            README
``websockets``         uvicorn's, restarting the websockets frame parser)          "The
``starlette``          ``/graphql`` websockets past the middlewares and router     seam"
=====================  ========================================================  =========

Upgrading a library named here: re-lock (``scripts/lock --upgrade-package NAME``) and
install (``scripts/setup``), run the module's tests (``tests/seams/``) and the benchmark
the module names, adapt the module, then change the version in its :func:`require` call
(README, "Upgrading dependencies").
"""

from __future__ import annotations

from importlib import metadata


class SeamVersionError(ImportError):
    """A seam module was written for another release of its library than the installed one."""


def require(distribution: str, version: str, module: str) -> None:
    """Fail the import of seam ``module`` unless ``distribution`` is at ``version``."""
    try:
        installed = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        installed = "none"
    if installed != version:
        raise SeamVersionError(
            f"{module} uses private parts of {distribution} {version}, but {distribution} "
            f"{installed} is installed: check {module} against the new release, then set "
            f"the version in its require() call (README: upgrading dependencies)"
        )
