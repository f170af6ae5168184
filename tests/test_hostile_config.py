"""Rule files, ``[tool.diagnose]`` and metadata files from an untrusted repository are harmless.

``diagnose check`` runs in CI on pull requests, so everything it reads may be hostile:
rule files (``--rules``), ``pyproject.toml``, Lightning/Hydra/MLflow YAML, and whatever
else sits in a run folder (pickles, checkpoints). None of it may run code, read other
files, hang the checker or exhaust its memory. Each test states the attack it tries.
Side effects are looked for directly (a sentinel file that the payload would create)
and through Python's audit hooks (``open``, ``subprocess.Popen``, ``os.system``,
``pickle.find_class``... events) while a whole check runs.
"""

from __future__ import annotations

import ast
import json
import pickle
import shutil
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import diagnose
from diagnose import ConfigError, RuleError
from diagnose.config import MAX_CONFIG_BYTES, load_config
from diagnose.readers import _yaml
from diagnose.rules import (
    MAX_EXPR_CHARS,
    MAX_EXPR_DEPTH,
    MAX_INT_DIGITS,
    MAX_RULE_FILE_BYTES,
    Expression,
    Template,
    load_rules,
    parse_rule_file,
)

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
FLAT = RULES / "DG101-flat-loss.toml"
LIGHTNING = ROOT / "fixtures" / "formats" / "lightning_trainer" / "lightning_logs" / "version_0"
FAST = 2.0  # seconds: anything hostile must be refused or finished well within this

# -- audit: what a whole check does -------------------------------------------------------------

_EVENTS: list[tuple[str, tuple]] | None = None
_WATCHED = ("open", "subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
            "os.fork", "pickle.find_class", "marshal.loads", "socket.connect", "shutil.rmtree",
            "os.remove", "os.rename")


def _hook(event: str, args: tuple) -> None:
    if _EVENTS is not None and event.startswith(_WATCHED):
        _EVENTS.append((event, args))


sys.addaudithook(_hook)  # hooks cannot be removed; this one records only inside audited()


def audited(fn, *a, **kw) -> tuple[object, list[tuple[str, tuple]]]:
    """Call ``fn`` and return its result with the audited events it raised."""
    global _EVENTS
    _EVENTS = []
    try:
        out = fn(*a, **kw)
    finally:
        events, _EVENTS = _EVENTS, None
    return out, events


def opened_paths(events: list[tuple[str, tuple]]) -> set[Path]:
    """Files opened, less Python's own imports (module source and bytecode)."""
    paths = {Path(str(a[0])).resolve() for e, a in events
             if e == "open" and isinstance(a[0], (str, Path))}
    return {p for p in paths if p.suffix not in (".py", ".pyc", ".so")}


# -- rule files --------------------------------------------------------------------------------

ESCAPES = [
    "__import__('os').system('touch {sentinel}')",
    "open('{sentinel}', 'w')",
    "().__class__.__bases__[0].__subclasses__()",
    "exec('import os')",
    "eval('1')",
    "[x for x in (1, 2)]",
    "lambda: 1",
    "train_drop.real",
    "globals()",
    "'{sentinel}'",
    "f'{{1}}'",
    "(train_drop := 1)",
    "train_drop if 1 else 0",
    "train_drop ** 99999999",
    "train_drop[0]",
    "{{1: 2}}",
    "_FUNCS",
]


def _rule_file(tmp_path: Path, replace: dict[str, str], name: str = "DG199-x.toml") -> Path:
    text = FLAT.read_text(encoding="utf-8").replace('code = "DG101"', 'code = "DG199"')
    text = text.replace('name = "flat-loss"', 'name = "hostile"').replace(
        'suppressed_by = ["DG102"]', "")
    for old, new in replace.items():
        text = text.replace(old, new)
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _when(expr: str) -> str:
    return "when = " + json.dumps(expr)


FLAT_WHEN = FLAT.read_text(encoding="utf-8").split("\n")[
    [ln.startswith("when = ") for ln in FLAT.read_text(encoding="utf-8").split("\n")].index(True)]


@pytest.mark.parametrize("expr", ESCAPES)
def test_rule_conditions_cannot_run_code_or_touch_files(tmp_path: Path, expr: str) -> None:
    sentinel = tmp_path / "pwned"
    path = _rule_file(tmp_path, {FLAT_WHEN: _when(expr.format(sentinel=sentinel))})
    with pytest.raises(RuleError, match=str(path)):
        audited(parse_rule_file, path)
    assert not sentinel.exists()


TEMPLATE_ESCAPES = ["{lr.__class__}", "{lr[0]}", "{0}", "{}", "{lr!r}", "{__import__}",
                    "{lr:{lr}}", "{lr:" + "9" * 12 + "}", "{lr:.999999999f}", "{lr:>1000000000}"]


@pytest.mark.parametrize("template", TEMPLATE_ESCAPES)
def test_message_templates_allow_no_attributes_no_indexing_no_huge_formats(
        tmp_path: Path, template: str) -> None:
    old = next(ln for ln in FLAT.read_text().split("\n") if ln.startswith("message = "))
    path = _rule_file(tmp_path, {old: "message = " + json.dumps(template)})
    t0 = time.perf_counter()
    with pytest.raises(RuleError, match=str(path)):
        parse_rule_file(path)
    assert time.perf_counter() - t0 < FAST


def test_the_largest_allowed_condition_evaluates_in_bounded_time() -> None:
    """The costliest condition the limits let through (a balanced product of as many
    30-digit integers as fit in MAX_EXPR_CHARS) is cheap; one size up is refused."""
    def product(n: int) -> str:
        return "9" * MAX_INT_DIGITS if n == 1 else f"({product(n // 2)} * {product(n - n // 2)})"

    n = 1
    while len(product(2 * n)) + 4 <= MAX_EXPR_CHARS:
        n *= 2
    while len(product(n + 1)) + 4 <= MAX_EXPR_CHARS:
        n += 1
    expr = Expression.parse(f"{product(n)} > 1", None, "test")
    t0 = time.perf_counter()
    for _ in range(100):
        assert expr.evaluate({}) is True
    assert time.perf_counter() - t0 < FAST
    with pytest.raises(RuleError, match="longer than|more than|deeper than"):
        Expression.parse(f"{product(4 * n)} > 1", None, "test")
    with pytest.raises(RuleError, match="deeper than"):
        Expression.parse(" * ".join(["x"] * (MAX_EXPR_DEPTH + 2)) + " > 1", None, "test")


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # "1and": Python's own lexer warns
@settings(max_examples=150, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["(", ")", "-", "not ", "x", "1", " and ", " or ", "*", "+", "<",
                              "abs(", "min(", ",", "[", ".", "'", "1e999", "9" * 40, "**"]),
             max_size=400).map("".join)))
def test_any_condition_text_is_a_rule_error_or_an_expression(text: str) -> None:
    """Never another exception (RecursionError, MemoryError, ValueError from the parser)."""
    t0 = time.perf_counter()
    try:
        e = Expression.parse(text, None, "fuzz")
    except RuleError:
        return
    finally:
        assert time.perf_counter() - t0 < FAST
    e.evaluate({n: 1.0 for n in e.names})


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(text=st.text(alphabet=st.sampled_from(list("{}:.|!<>^=0123456789fgdex_%[]()")),
                    max_size=60))
def test_any_template_text_is_a_rule_error_or_renders_quickly(text: str) -> None:
    t0 = time.perf_counter()
    try:
        t = Template(text, None, "fuzz")
    except RuleError:
        return
    out = t.render({n: 1e300 for n in t.names})
    assert len(out) < 10_000 and time.perf_counter() - t0 < FAST


@pytest.mark.parametrize(("body", "why"), [
    ("a = " + "9" * 5000 + "\n", "integer beyond Python's digit limit"),
    ("a = " + "[" * 50_000 + "]" * 50_000 + "\n", "deeply nested arrays"),
    ("a = " + "{b=" * 5000 + "1" + "}" * 5000 + "\n", "deeply nested inline tables"),
    ("#" * (MAX_RULE_FILE_BYTES + 10) + "\n", "larger than the rule file limit"),
    ("a = '\udcff'", "not UTF-8"),
], ids=["long-int", "deep-arrays", "deep-tables", "huge", "not-utf8"])
def test_hostile_toml_in_a_rule_file_is_a_rule_error(tmp_path: Path, body: str, why: str) -> None:
    p = tmp_path / "DG198-x.toml"
    p.write_bytes(body.encode("utf-8", "surrogateescape"))
    t0 = time.perf_counter()
    with pytest.raises(RuleError, match=str(p)):
        load_rules([p])
    assert time.perf_counter() - t0 < FAST, why


# -- [tool.diagnose] -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ['rules = "../../etc"', 'rule-dirs = ["/etc"]',
                                 'extend = "/etc/passwd"', 'include = ["../secrets.toml"]',
                                 'plugins = ["os"]', 'output = "/etc/cron.d/x"'])
def test_config_has_no_path_keys_and_refuses_unknown_ones(tmp_path: Path, key: str) -> None:
    """No key of [tool.diagnose] names a file or folder, so none can point outside the
    project; keys that would (in other tools) are refused, not ignored."""
    p = tmp_path / "pyproject.toml"
    p.write_text(f"[tool.diagnose]\n{key}\n", encoding="utf-8")
    (cfg_or_err, events) = audited(_load_or_error, p)
    assert isinstance(cfg_or_err, ConfigError) and "unknown key" in str(cfg_or_err)
    assert opened_paths(events) <= {p.resolve()}


def _load_or_error(p: Path) -> object:
    try:
        return load_config(p)
    except ConfigError as e:
        return e


@pytest.mark.parametrize("body", [
    "[tool.diagnose]\nby = " + "9" * 5000,
    "[tool.diagnose]\nselect = " + "[" * 50_000 + "]" * 50_000,
    "[tool.diagnose]\n" + "#" * (MAX_CONFIG_BYTES + 1),
    "[tool.diagnose]\nfail-on = 5",
    "[tool.diagnose]\nparams = 5",
    "[tool.diagnose]\nmetrics = {a = 5}",
    "[tool.diagnose.params.flat-loss]\nmax_drop = 1e400",
], ids=["long-int", "deep", "huge", "fail-on", "params", "metrics", "inf-param"])
def test_hostile_pyproject_is_a_config_error_quickly(tmp_path: Path, body: str) -> None:
    p = tmp_path / "pyproject.toml"
    p.write_text(body, encoding="utf-8")
    t0 = time.perf_counter()
    with pytest.raises((ConfigError, RuleError)):
        cfg = load_config(p)
        for r in load_rules():
            cfg.rule_params(r)
    assert time.perf_counter() - t0 < FAST


def test_per_run_ignore_globs_are_matched_never_opened(tmp_path: Path) -> None:
    """Glob keys look like paths but are only matched against run paths as text."""
    from diagnose.config import config_from_mapping, ignored_for_run

    cfg = config_from_mapping({"per-run-ignores": {"/etc/*": ["ALL"], "../../**": ["ALL"],
                                                   "*" * 2000 + "x": ["ALL"]}}, "test")
    rule = load_rules()[0]
    # the only files looked at are the run folder's own diagnose-ignore places
    own = {Path(d).resolve() / n for d in ("/etc", ".") for n in ("run.json", "diagnose-ignore.toml")}
    t0 = time.perf_counter()
    hit, events = audited(ignored_for_run, rule, "/etc/passwd", "passwd", cfg)
    assert hit is True and opened_paths(events) <= own
    miss, events = audited(ignored_for_run, rule, "a" * 3000, "a", cfg)
    assert miss is False and opened_paths(events) <= own
    assert time.perf_counter() - t0 < FAST


# -- YAML: safe loading only ----------------------------------------------------------------------

PY_TAGS = [
    "x: !!python/object/apply:os.system ['touch {sentinel}']\n",
    "x: !!python/object/new:subprocess.check_output [['touch', '{sentinel}']]\n",
    "x: !!python/name:os.system\n",
    "x: !!python/module:os\n",
    "!!python/object/apply:os.system ['touch {sentinel}']\n",
]


@pytest.fixture(params=["pyyaml", "fallback"])
def yaml_impl(request, monkeypatch):
    """Both paths of ``_yaml.load``: PyYAML's safe loader, and the parser used without it."""
    if request.param == "pyyaml":
        pytest.importorskip("yaml")
    else:
        monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml -> ImportError
    return request.param


@pytest.mark.parametrize("doc", PY_TAGS)
def test_python_yaml_tags_load_as_text_and_never_run(tmp_path: Path, doc: str, yaml_impl) -> None:
    sentinel = tmp_path / "pwned"
    text = doc.format(sentinel=sentinel)
    data = _yaml.load(text)
    flat = json.dumps(data)  # plain data: str/dict/list only
    assert "python/" in flat
    assert not sentinel.exists()


BOMBS = [
    "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + "".join(
        f"{c}: &{c} [" + ", ".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi")),
    "a: &a {x: 1, y: 2}\n" + "".join(
        f"{c}: &{c} {{" + ", ".join(f"k{i}: *{p}" for i in range(9)) + "}\n"
        for p, c in zip("abcdefgh", "bcdefghi")),
    "a: &a [*a]\n",
    "a: &a {b: *a}\n",
    "- " * 2000 + "x\n",
]


@pytest.mark.parametrize("doc", BOMBS, ids=["laughs-list", "laughs-map", "self-list", "self-map",
                                             "deep"])
def test_alias_bombs_and_self_references_are_refused_quickly(doc: str, yaml_impl) -> None:
    t0 = time.perf_counter()
    try:
        _yaml.load(doc)
    except (_yaml.YAMLError, RecursionError):  # readers turn both into a note
        pass
    else:
        assert yaml_impl == "fallback"  # it has no aliases: `*a` stays text
    assert time.perf_counter() - t0 < FAST


def test_an_alias_bomb_in_hparams_costs_the_params_not_the_run(tmp_path: Path) -> None:
    """Lightning's hparams.yaml with a billion laughs: metrics load, params are skipped, said."""
    run = tmp_path / "version_0"
    shutil.copytree(LIGHTNING, run)
    (run / "hparams.yaml").write_text(BOMBS[1], encoding="utf-8")
    t0 = time.perf_counter()
    loaded = diagnose.load(run)
    assert time.perf_counter() - t0 < 10 * FAST
    assert loaded.metric_names and loaded.params == {}
    assert any("hparams.yaml" in w and "aliases" in w for w in loaded.warnings)


# -- nothing is unpickled, nothing outside the inputs is opened ----------------------------------


class _Payload:
    def __init__(self, sentinel: str) -> None:
        self.sentinel = sentinel

    def __reduce__(self):
        return (Path.touch, (Path(self.sentinel),))


def test_a_whole_check_opens_only_its_inputs_and_never_unpickles(tmp_path: Path) -> None:
    """A run folder with pickles and checkpoints beside the logs, plus hostile YAML: a full
    ``diagnose.check`` opens only files under the inputs (and its own rule files), raises
    no process, system or unpickling event, and the pickles' payloads never run."""
    sentinel = tmp_path / "pwned"
    runs = tmp_path / "runs"
    run = runs / "version_0"
    shutil.copytree(LIGHTNING, run)
    blob = pickle.dumps(_Payload(str(sentinel)))
    for name in ("model.pkl", "state.pt", "optimizer.pth", "checkpoints/last.ckpt", "data.joblib",
                 "args.pickle", "events.pkl"):
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_bytes(blob)
    (run / "hparams.yaml").write_text(PY_TAGS[0].format(sentinel=sentinel), encoding="utf-8")
    rules = load_rules()
    diagnose.check([runs], rules=rules, jobs=1)  # warm up: imports happen outside the audit
    report, events = audited(diagnose.check, [runs], rules=rules, jobs=1)
    assert report.runs and not sentinel.exists()
    kinds = {e for e, _ in events}
    assert not kinds - {"open"}, f"unexpected events: {kinds - {'open'}}"
    outside = {p for p in opened_paths(events) if runs.resolve() not in p.parents}
    assert not outside, f"opened outside the inputs: {sorted(outside)[:5]}"
    assert not any(p.suffix in (".pkl", ".pt", ".pth", ".ckpt", ".joblib", ".pickle")
                   for p in opened_paths(events))


FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "joblib", "marshal", "shelve", "cloudpickle",
                     "subprocess"}


def _analysis_sources() -> list[Path]:
    pkg = ROOT / "diagnose"
    return [p for p in pkg.rglob("*.py") if "record" not in p.relative_to(pkg).parts]


def test_analysis_code_imports_no_unpickler_and_no_process_module() -> None:
    """Static guard: the code that reads untrusted input (everything but the recorder)
    imports no pickle-like module, no subprocess; its ``load``/``loads`` calls are JSON,
    TOML, SQLite-free text, or the safe YAML loader."""
    for path in _analysis_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(
                    node, ast.ImportFrom) and node.module else [])
                bad = {n.split(".")[0] for n in names} & FORBIDDEN_MODULES
                assert not bad, f"{path}:{node.lineno} imports {bad}"
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
                owner = fn.value.id if isinstance(fn, ast.Attribute) and isinstance(
                    fn.value, ast.Name) else ""
                if name in ("eval", "exec", "__import__", "unsafe_load", "full_load",
                            "read_pickle") and owner not in ("self",):
                    pytest.fail(f"{path}:{node.lineno} calls {name}()")
                if name in ("load", "loads") and owner == "yaml":
                    kw = {k.arg: k.value for k in node.keywords}
                    assert "Loader" in kw and ast.unparse(kw["Loader"]).startswith(
                        "_safe_loader"), f"{path}:{node.lineno}: yaml.{name} without the safe loader"
                if name in ("load", "loads") and owner in ("pickle", "torch", "np", "numpy",
                                                           "marshal", "joblib"):
                    pytest.fail(f"{path}:{node.lineno} calls {owner}.{name}()")
