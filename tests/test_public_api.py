"""The public surface: every exported name resolves (the packages import their names on first
use, so a stale entry would only fail when a user asked for it), and each name of a kind is
declared once."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from typing import get_args

import pytest

import engine
import engine.agent
from engine.agent.backends import BACKENDS
from engine.agent.model import BackendName


@pytest.mark.parametrize("package", [engine, engine.agent], ids=lambda p: p.__name__)
def test_every_exported_name_resolves_to_the_module_it_is_listed_under(package: object) -> None:
    exports: dict[str, str] = package._EXPORTS  # type: ignore[attr-defined]
    plain = {name for name in package.__all__ if name not in exports}  # type: ignore[attr-defined]
    assert plain <= {"__version__"}
    for name, module in exports.items():
        value = getattr(package, name)
        assert value is getattr(sys.modules[module], name)
    assert sorted(dir(package)) == sorted(package.__all__)  # type: ignore[attr-defined]


@pytest.mark.parametrize("package", [engine, engine.agent], ids=lambda p: p.__name__)
def test_an_unknown_name_is_an_attribute_error(package: object) -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        package.Nope  # type: ignore[attr-defined]  # noqa: B018


def test_the_backend_names_and_the_backend_classes_agree() -> None:
    assert set(get_args(BackendName)) == set(BACKENDS)


def test_the_seam_types_do_not_load_the_model_clients() -> None:
    # The pool's workers and `codeact batch` import BackendName: that must not cost them the
    # HTTP clients of every backend.
    code = ("import sys, engine.agent.model, engine.batch\n"
            "print(sorted(m for m in ('ollama', 'openai', 'httpx') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert "ollama" not in done.stdout and "openai" not in done.stdout, done.stdout


@pytest.mark.parametrize("package", [engine, engine.agent], ids=lambda p: p.__name__)
def test_no_exported_name_is_also_a_submodule(package: object) -> None:
    # Importing a submodule binds it on its package, so `engine.parse` would become the module
    # engine/parse.py, not the function, as soon as anything imported that module.
    submodules = {info.name for info in pkgutil.iter_modules(package.__path__)}  # type: ignore[attr-defined]
    assert not submodules & set(package.__all__)  # type: ignore[attr-defined]


def test_parse_is_the_function_after_the_pipeline_imported_its_module() -> None:
    import engine.pipeline

    assert isinstance(engine.parse("x = 1\n"), engine.ParsedSnippet)
