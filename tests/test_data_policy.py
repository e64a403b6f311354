"""The data policy: numpy and pandas through the whole pipeline (issue 19).

The pandas aggregation answers what plain Python computes on the host; mypy reports a type
error in pandas code with its line; the readers and writers are refused statically with a hint;
numpy values and frames are accepted as answers; the sandbox stays what it is (one BLAS thread,
a fresh numpy generator per session, memory limits, capped output), and the default policy's
zygote does not load any of it. What the static checks miss is the kernel's: the corpus's
`data` category attacks it with the static checks off.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine, Policy, load_tools
from engine.sandbox.child import LAZY_IMPORTS, RUNTIME_SUPPORT
from engine.sandbox.limits import unavailable_reason
from engine.sandbox.spec import build_spec
from engine.sandbox.zygote import THREAD_PINS, Zygote
from engine.tools import ToolRegistry

pytest.importorskip("pandas")
pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = ROOT / "tests" / "data" / "pandas_workload.py"


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with Engine(load_tools("examples.toolsets.users"), "data") as eng:
        yield eng


@pytest.fixture(scope="module")
def bare() -> Iterator[Engine]:
    """The sandbox alone: what the static stages would refuse runs, and must be contained."""
    with Engine(load_tools("examples.toolsets.users"), "data", check_policy=False,
                check_types=False) as eng:
        yield eng


def test_a_pandas_aggregation_over_a_tools_results_answers_what_python_computes(
        engine: Engine) -> None:
    from examples.toolsets.users import DIRECTORY

    source = (ROOT / "examples" / "snippets" / "users_per_city.py").read_text()
    result = engine.session().run(source)
    assert result.ok, result.diagnostics
    assert result.final and [c.tool for c in result.tool_calls] == ["get_all_users"]
    users = list(DIRECTORY.users.values())
    counts = collections.Counter(u.address.city for u in users)
    expected = [
        {"city": city, "users": n,
         "active_share": round(sum(u.active for u in users if u.address.city == city) / n, 3)}
        for city, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    ]
    assert result.value == expected
    assert "Haifa" in result.stdout and "active_share" in result.stdout


def test_everyday_pandas_and_numpy_pass_the_checks_and_run_sealed(engine: Engine) -> None:
    result = engine.session().run(WORKLOAD.read_text())
    assert result.check is not None and result.check.ok, result.diagnostics
    assert result.ok, result.diagnostics
    assert "[300 rows x 7 columns]" in result.stdout


def test_what_pandas_imports_lazily_is_preloaded() -> None:
    """Run the workload in a plain interpreter: every pandas or numpy module it imports after
    `import pandas, numpy` must be on the zygote's list (a new pandas may need more)."""
    script = (
        "import contextlib, io, sys, warnings\n"
        "import numpy, pandas\n"
        "before = set(sys.modules)\n"
        "warnings.simplefilter('ignore')\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    exec(open({str(WORKLOAD)!r}).read(), {{}})\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env={**os.environ, **THREAD_PINS}).stdout.split()
    lazy = {m for m in out if m.split(".")[0] in ("numpy", "pandas")}
    listed = {m for modules in LAZY_IMPORTS.values() for m in modules}
    assert lazy <= listed, sorted(lazy - listed)
    assert listed  # and the list is not empty by accident


def test_a_type_error_in_pandas_code_is_reported_with_its_line(engine: Engine) -> None:
    report = engine.check(
        "import pandas as pd\n"
        "df = pd.DataFrame({'city': ['a', 'b'], 'age': [30, 40]})\n"
        "sizes: int = df.groupby('city').size()\n"
        "print(sizes)\n"
    )
    assert not report.ok
    [error] = [d for d in report.errors]
    assert error.stage.value == "types" and error.line == 3
    assert "Series" in error.message


def test_pandas_types_are_known_to_the_checker(engine: Engine) -> None:
    report = engine.check(
        "import pandas as pd\n"
        "df = pd.DataFrame({'age': [30, 40]})\n"
        "label = df['age'].mean().upper()\n"
    )
    assert [(d.code, d.line) for d in report.errors] == [("T103", 3)]
    assert '"float" has no attribute "upper"' in report.errors[0].message


REFUSED = [
    ("import pandas as pd\ndf = pd.read_csv('/etc/passwd')", "P121", "read_csv"),
    ("import pandas as pd\ndf = pd.read_json('http://example.com/x.json')", "P121", "read_json"),
    ("import pandas as pd\npd.DataFrame({'a': [1]}).to_pickle('x.pkl')", "P121", "to_pickle"),
    ("import pandas as pd\npd.DataFrame({'a': [1]}).to_parquet('x.pq')", "P121", "to_parquet"),
    ("import pandas as pd\npd.DataFrame({'a': [1]}).to_sql('t', None)", "P121", "to_sql"),
    ("import pandas as pd\npd.DataFrame({'a': [1]}).eval('a + 1')", "P121", "eval"),
    ("import pandas as pd\npd.DataFrame({'a': [1]}).query('a > 0')", "P121", "query"),
    ("import pandas as pd\npd.eval('1 + 1')", "P121", "eval"),
    ("import numpy as np\nnp.save('x.npy', np.ones(3))", "P121", "save"),
    ("import numpy as np\na = np.load('x.npy')", "P121", "load"),
    ("import numpy as np\na = np.fromfile('/etc/passwd')", "P121", "fromfile"),
    ("import numpy as np\nnp.ones(3).tofile('x')", "P121", "tofile"),
    ("import numpy as np\np = np.ones(3).ctypes.data", "P121", "ctypes"),
    ("import numpy as np\nm = np.memmap('x', mode='w+', shape=(3,))", "P121", "memmap"),
    ("import pandas as pd\npd.DataFrame({'a': [1]}).to_csv('out.csv')", "P125", "to_csv"),
    ("import pandas as pd\npd.DataFrame({'a': [1]}).to_json(path_or_buf='o.json')", "P125",
     "to_json"),
    ("import pandas as pd\nprint(pd.DataFrame({'a': [1]}).to_string('out.txt'))", "P125",
     "to_string"),
    ("import pandas as pd\npd.DataFrame({'a': [1]}).agg('to_pickle', path='x.pkl')", "P121",
     "to_pickle"),
    ("import pandas as pd\npd.Series([1]).apply(['sum', 'to_clipboard'])", "P121",
     "to_clipboard"),
    ("import pandas as pd\npd.show_versions()", "P121", "show_versions"),
    ("import pandas as pd\npd.Series([1]).plot()", "P121", "plot"),
    ("import pandas as pd\nhtml = pd.DataFrame({'a': [1]}).style", "P121", "style"),
    ("import numpy as np\nprint(np.get_include())", "P121", "get_include"),
    ("import pandas as pd\nd = pd.Series([1]).agg('__dict__')", "P120", "__dict__"),
    ("import pandas as pd\nm = pd.Series([1]).agg('_mgr')", "P122", "_mgr"),
    ("import pandas as pd\npd.DataFrame({'a': [1]}).info(None)", "P125", "info"),
    ("import numpy.lib\n", "P102", "numpy.lib"),
    ("from numpy import ctypeslib\n", "P102", "ctypeslib"),
    ("import pandas.io.parsers\n", "P102", "pandas.io"),
]


@pytest.mark.parametrize(("source", "code", "name"), REFUSED,
                         ids=[f"{code}-{name}" for _, code, name in REFUSED])
def test_files_processes_and_code_in_strings_are_refused_statically(
        engine: Engine, source: str, code: str, name: str) -> None:
    report = engine.check(source)
    found = [d for d in report.errors if d.code == code]
    assert found, report.errors
    assert name in found[0].message
    assert found[0].hint and found[0].line is not None


def test_the_text_writers_return_their_text_without_a_destination(engine: Engine) -> None:
    result = engine.session().run(
        "import pandas as pd\n"
        "df = pd.DataFrame({'a': [1, 2]})\n"
        "print(df.to_csv(index=False))\n"
        "final_answer(df.to_json(orient='records'))\n"
    )
    assert result.ok, result.diagnostics
    assert result.stdout == "a\n1\n2\n\n"
    assert json.loads(result.value) == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize(("expression", "expected"), [
    ("np.float64(2.5)", 2.5),
    ("np.int64(3)", 3),
    ("np.arange(3)", [0, 1, 2]),
    ("np.array([[1, 2], [3, 4]])", [[1, 2], [3, 4]]),
    ("pd.DataFrame({'a': [1, 2], 'b': ['x', None]})", [{"a": 1, "b": "x"}, {"a": 2, "b": None}]),
    ("pd.Series([1.5, None], index=['p', 'q'])", {"p": 1.5, "q": None}),
    ("{'mean': pd.Series([1, 2]).mean(), 'total': np.int64(3)}", {"mean": 1.5, "total": 3}),
])
def test_numpy_values_and_small_frames_are_answers(engine: Engine, expression: str,
                                                   expected: object) -> None:
    result = engine.session().run(
        f"import numpy as np\nimport pandas as pd\nfinal_answer({expression})\n")
    assert result.ok, result.diagnostics
    assert result.value == expected


def test_a_frame_past_the_answer_limit_is_a_clear_error(engine: Engine) -> None:
    result = engine.session().run(
        "import pandas as pd\nfinal_answer(pd.DataFrame({'a': range(200_000)}))\n")
    assert not result.ok
    [error] = result.errors
    assert error.code == "R209"
    assert "limit" in error.message and "df.head(20)" in error.message


def test_printing_a_large_frame_is_capped_like_any_output(engine: Engine) -> None:
    result = engine.session().run(
        "import pandas as pd\nprint(pd.DataFrame({'a': range(100_000)}).to_string())\n")
    assert result.ok
    assert result.output_truncated
    assert len(result.stdout.encode()) <= engine.policy.limits.max_output_bytes + 200


def test_matrix_products_run_on_one_blas_thread(bare: Engine) -> None:
    # Unpinned, OpenBLAS tried to start threads in the sealed child and waited for ever.
    result = bare.session().run(
        "import numpy as np\na = np.ones((400, 400))\nprint(float((a @ a).sum()))\n")
    assert result.ok, result.diagnostics
    assert result.stdout == f"{400.0 ** 3}\n"


def test_each_session_draws_its_own_numpy_random_numbers(bare: Engine) -> None:
    draws = [bare.session().run("import numpy as np\nprint(np.random.rand())").stdout
             for _ in range(3)]
    assert len(set(draws)) == 3, draws


def test_numpy_allocations_respect_the_memory_limit(bare: Engine) -> None:
    session = bare.session()
    result = session.run("import numpy as np\nhuge = np.ones(400_000_000)\n")
    assert [d.code for d in result.errors] == ["R202"]
    assert session.run("print('still here')").stdout == "still here\n"


def test_the_data_policy_tells_the_model_how_to_make_a_frame() -> None:
    rules = "\n".join(Policy.load("data").prompt_rules())
    assert "pd.DataFrame([r.model_dump() for r in results])" in rules
    assert "numpy" in rules and "pandas" in rules


def test_the_default_zygote_does_not_load_numpy_or_pandas() -> None:
    """Heavy modules are loaded by the zygote of a policy that allows them, not by all."""
    mapped = {}
    for name in ("default", "data"):
        zygote = Zygote(build_spec(ToolRegistry(), Policy.load(name)).model_dump_json().encode())
        try:
            zygote.ready()
            mapped[name] = Path(f"/proc/{zygote.pid}/maps").read_text()
            environ = Path(f"/proc/{zygote.pid}/environ").read_bytes()
        finally:
            zygote.close()
        assert environ.split(b"\0")[:-1] == [f"{k}={v}".encode() for k, v in THREAD_PINS.items()]
    assert "pandas" in mapped["data"] and "numpy" in mapped["data"]
    assert "pandas" not in mapped["default"] and "numpy" not in mapped["default"]


def test_numpy_c_code_imports_are_handed_out_only_where_numpy_is_allowed() -> None:
    assert set(RUNTIME_SUPPORT[""]) == {"time", "_strptime"}
    assert all(m.startswith("numpy.") for m in RUNTIME_SUPPORT["numpy"])


def test_callbacks_one_snippet_installs_do_not_run_in_the_next(engine: Engine) -> None:
    """numpy's error callback and print formatter and pandas' float format are process-wide:
    a function one snippet installs would run inside the next one (and could call tools
    there). They are put back before every snippet; within a snippet they work."""
    session = engine.session()
    first = session.run(
        "import typing\nimport numpy as np\nimport pandas as pd\n"
        "def on_error(kind: str, flag: int) -> None:\n    print('callback ran')\n"
        "def fmt(x: typing.Any) -> str:\n    return 'FORMATTED'\n"
        "np.seterrcall(on_error)\nnp.seterr(all='call')\n"
        "pd.set_option('display.float_format', fmt)\n"
        "np.set_printoptions(formatter={'float': fmt})\n"
        "print(pd.DataFrame({'a': [1.5]}))\nprint(np.array([2.5]))\n"
        "quotient = np.array([1.0]) / 0\n")
    assert first.ok, first.diagnostics
    assert first.stdout.count("FORMATTED") == 2 and "callback ran" in first.stdout
    second = session.run(
        "import numpy as np\nimport pandas as pd\n"
        "print(pd.DataFrame({'a': [1.5]}))\nprint(np.array([2.5]))\n"
        "quotient = np.array([1.0]) / 0\n")
    assert second.ok, second.diagnostics
    assert "FORMATTED" not in second.stdout and "callback ran" not in second.stdout
    assert "1.5" in second.stdout and "[2.5]" in second.stdout


@pytest.mark.parametrize(("module", "advice"), [
    ("pandas.no_such_part", "pip install 'codeact-engine[data]'"),
    ("no_such_package_here", "install it"),
])
def test_a_policy_allowing_a_missing_module_says_how_to_get_it(module: str, advice: str) -> None:
    from engine.errors import SandboxUnavailableError

    policy = Policy.from_toml(f'extends = "data"\n[imports]\nallow = {{ add = ["{module}"] }}\n')
    with (Engine([], policy, check_policy=False, check_types=False) as engine,
          pytest.raises(SandboxUnavailableError) as failure):
        engine.session().run("x = 1")
    message = str(failure.value)
    assert repr(module) in message and advice in message and "imports.allow" in message


LYING_PANDAS_FORMAT = """
import pandas as pd

class Format:
    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __call__(self, x: float) -> str:
        return "PWNED"

pd.set_option("display.float_format", Format())
print(pd.DataFrame({"a": [1.5]}))
"""

LYING_NUMPY_FORMATTER = """
import typing
import numpy as np

class Formatters:
    def keys(self) -> list[str]:
        return ["float"]

    def __getitem__(self, key: str) -> typing.Any:
        return lambda x: "PWNED"

    def __contains__(self, key: object) -> bool:
        return key == "float"

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

np.set_printoptions(formatter=typing.cast(typing.Any, Formatters()))
print(np.array([1.5]))
"""

BROKEN_OPTION_STORE = """
import typing
import numpy as np
import pandas as pd

store = typing.cast(typing.Any, pd.options).d
store["display"]["max_rows"] = np.array([1, 2])
store["extra"] = np.array([3])
"""


@pytest.mark.parametrize("first", [LYING_PANDAS_FORMAT, LYING_NUMPY_FORMATTER,
                                   BROKEN_OPTION_STORE],
                         ids=["pandas-format", "numpy-formatter", "option-store"])
def test_settings_that_claim_to_be_unchanged_are_reset_anyway(engine: Engine,
                                                              first: str) -> None:
    """The resets never ask a snippet's value whether it changed (found by the second
    adversarial review: an `__eq__` that always answers "equal" kept its formatter for
    every later snippet, and a non-dict in pandas' option store crashed each one)."""
    session = engine.session()
    session.run(first)
    for _ in range(2):
        later = session.run("import numpy as np\nimport pandas as pd\n"
                            "print(pd.DataFrame({'a': [1.5]}))\nprint(np.array([2.5]))\n")
        assert later.ok, later.diagnostics
        assert "PWNED" not in later.stdout and "1.5" in later.stdout and "2.5" in later.stdout
        assert not later.restarted


def test_pandas_caches_do_not_keep_a_snippets_keys(engine: Engine) -> None:
    """pandas caches `_maybe_promote_cached` with functools; an enum member of the snippet's
    with a hash built to collide with an ordinary reindex's key had its `__eq__` run inside
    later snippets (found by the second adversarial review). The caches are emptied before
    every snippet."""
    source = (Path(__file__).parent / "data" / "cache_collision.py").read_text()
    session = engine.session()
    first = session.run(source)
    assert first.ok, first.diagnostics
    later = session.run("import pandas as pd\n"
                        "print(pd.Series([1.0, 2.0]).reindex([0, 1, 5]).tolist())\n")
    assert later.ok, later.diagnostics
    assert "EQ RAN" not in later.stdout
