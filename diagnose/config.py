"""Configuration: ``[tool.diagnose]`` in pyproject.toml, overridden by CLI flags.

Rule selection follows ruff: selectors are codes, code prefixes, names, tags or
``ALL``; for each rule the most specific matching selector decides, and an
ignore wins a tie. Unknown keys and out-of-bounds params are errors, not silence.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ._errors import ConfigError, RuleError
from ._suppress import run_suppressions
from .rules import Rule, code_prefix, read_toml
from .run import CANONICAL_METRICS, canonical_name

__all__ = ["Config", "find_pyproject", "load_config", "select_rules"]

FAIL_ON = ("error", "warning", "info", "never")
#: A pyproject.toml from an untrusted checkout is read only up to this size.
MAX_CONFIG_BYTES = 4 << 20
#: Longest glob, selector or metric name, and most entries in one table, the config takes.
MAX_PATTERN_CHARS = 4096
MAX_ENTRIES = 10_000
_METRIC_NAME = re.compile(r"[A-Za-z_][\w.\-]*(/[\w.\-]+)+")
_KEYS = {"select", "ignore", "extend-select", "extend-ignore", "fail-on", "params", "per-run-ignores", "metrics",
         "by", "mode", "extend-rules", "at", "num-classes"}
#: the most classes ``num-classes`` accepts (a vocabulary-sized classifier; a typo beyond)
MAX_CLASSES = 10_000_000
#: Which value of a run the sweep compares: the last evaluation (the chapter's) or the best.
AT = ("final", "best")


@dataclass
class Config:
    select: list[str] = field(default_factory=lambda: ["ALL"])
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    extend_ignore: list[str] = field(default_factory=list)
    fail_on: str = "warning"
    #: rule name or code -> {param: value}
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: glob over run path/id -> selectors to ignore for those runs
    per_run_ignores: dict[str, list[str]] = field(default_factory=dict)
    #: metric spelling -> canonical name
    metrics: dict[str, str] = field(default_factory=dict)
    #: selection metric for group rules and sweeps
    by: str = "val/loss"
    mode: str | None = None
    #: a project's own rule files or folders, added to the shipped set (relative to the pyproject)
    extend_rules: list[str] = field(default_factory=list)
    #: ``final`` (last evaluation, the chapter's rule) or ``best`` (best step; checkpoints kept)
    at: str = "final"
    #: the number of classes of runs that record none themselves (no ``num_classes`` in their
    #: config): the chance level (ln K) is judged against it; None: such runs are not checked
    num_classes: int | None = None
    #: where the values came from, for messages ("" when nothing was read)
    source: str = ""

    def merged(self, **overrides: Any) -> "Config":
        """A copy with CLI values (those not None) replacing the file's."""
        data = dict(self.__dict__)
        data.update({k: v for k, v in overrides.items() if v is not None})
        cfg = Config(**data)
        cfg.validate_basic()
        return cfg

    def validate_basic(self) -> None:
        if self.fail_on not in FAIL_ON:
            raise ConfigError(f"{at(self.source)}fail-on must be one of {', '.join(FAIL_ON)}, got {self.fail_on!r}")
        if self.mode not in (None, "min", "max"):
            raise ConfigError(f"{at(self.source)}mode must be 'min' or 'max', got {self.mode!r}")
        if self.at not in AT:
            raise ConfigError(f"{at(self.source)}at must be 'final' or 'best', got {self.at!r}")
        k = self.num_classes
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= MAX_CLASSES):
            raise ConfigError(f"{at(self.source)}num-classes must be a whole number from 2 to "
                              f"{MAX_CLASSES:,}, got {k!r}")

    def rule_params(self, rule: Rule) -> dict[str, Any]:
        """The rule's defaults overridden by configured values (validated against bounds)."""
        vals = rule.defaults()
        for key in (rule.code, rule.name):
            for pname, v in self.params.get(key, {}).items():
                if pname not in rule.params:
                    raise ConfigError(
                        f"{at(self.source)}[tool.diagnose.params.{key}] has unknown param {pname!r}"
                        f"{did_you_mean(pname, rule.params)}; "
                        f"{rule.name} takes: {', '.join(rule.params) or 'none'}"
                    )
                try:
                    vals[pname] = rule.params[pname].check(v, f"{at(self.source)}params.{key}")
                except RuleError as e:
                    raise ConfigError(str(e)) from None
        return vals


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml from ``start`` (default: cwd) upwards."""
    here = (start or Path.cwd()).resolve()
    for d in [here, *here.parents]:
        p = d / "pyproject.toml"
        if p.is_file():
            return p
    return None


def load_config(path: Path | None = None) -> Config:
    """Read ``[tool.diagnose]`` from ``path`` (or the nearest pyproject.toml)."""
    path = path or find_pyproject()
    if path is None:
        return Config()
    data = read_toml(path, MAX_CONFIG_BYTES, ConfigError,
                     f"larger than {MAX_CONFIG_BYTES >> 20} MiB; not read")
    tool = data.get("tool", {})
    if not isinstance(tool, Mapping):
        raise ConfigError(f"{path}: 'tool' must be a table ([tool.diagnose]), not "
                          f"{type(tool).__name__}")
    section = tool.get("diagnose")
    if section is None:
        return Config(source=str(path))
    return config_from_mapping(section, f"{path}: [tool.diagnose]", base=Path(path).parent)


def config_from_mapping(section: Mapping[str, Any], source: str, base: Path | None = None) -> Config:
    if not isinstance(section, Mapping):
        raise ConfigError(f"{source}: must be a table")
    unknown = set(section) - _KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown key(s): "
                          + ", ".join(f"{k!r}{did_you_mean(k, _KEYS)}" for k in sorted(unknown))
                          + f"; known: {', '.join(sorted(_KEYS))}")
    cfg = Config(source=source)
    for key in ("select", "ignore", "extend-select", "extend-ignore"):
        if key in section:
            setattr(cfg, key.replace("-", "_"), _strs(section[key], f"{source}: {key}"))
    if "fail-on" in section:
        cfg.fail_on = section["fail-on"]
    if "extend-rules" in section:
        cfg.extend_rules = [str((base or Path.cwd()) / p)
                            for p in _strs(section["extend-rules"], f"{source}: extend-rules")]
    for key in ("by", "mode", "at"):
        if key in section:
            if not isinstance(section[key], str):
                raise ConfigError(f"{source}: {key} must be a string")
            setattr(cfg, key, section[key])
    if "num-classes" in section:
        cfg.num_classes = section["num-classes"]
    for key, attr in (("params", "params"), ("per-run-ignores", "per_run_ignores"), ("metrics", "metrics")):
        if key in section:
            v = section[key]
            if not isinstance(v, Mapping):
                raise ConfigError(f"{source}: {key} must be a table")
            if key == "params":
                for rule, table in v.items():
                    if not isinstance(table, Mapping):
                        raise ConfigError(f"{source}: params.{rule} must be a table")
                setattr(cfg, attr, {str(k): dict(t) for k, t in v.items()})
            elif key == "per-run-ignores":
                _bounded(v, f"{source}: per-run-ignores")
                setattr(cfg, attr, {str(k): _strs(t, f"{source}: per-run-ignores.{k}") for k, t in v.items()})
            else:
                _bounded(v, f"{source}: metrics")
                for k, x in v.items():
                    _check_metric_name(x, f"{source}: metrics.{k!r}")
                setattr(cfg, attr, {str(k): str(x) for k, x in v.items()})
    cfg.validate_basic()
    return cfg


def _bounded(table: Mapping[str, Any], where: str) -> None:
    """Patterns and names from an untrusted pyproject.toml stay small: a 4 MB glob is
    matched against every run id and path (35 s and 1.9 GB for one run)."""
    if len(table) > MAX_ENTRIES:
        raise ConfigError(f"{where}: {len(table)} entries; at most {MAX_ENTRIES}")
    for k in table:
        if len(str(k)) > MAX_PATTERN_CHARS:
            raise ConfigError(f"{where}: key of {len(str(k))} characters; at most "
                              f"{MAX_PATTERN_CHARS}")


def _check_metric_name(name: Any, where: str) -> None:
    """A ``[tool.diagnose.metrics]`` value: a canonical name, ``split/name`` or lr/grad_norm."""
    ok = isinstance(name, str) and (name in CANONICAL_METRICS or (
        len(name) <= MAX_PATTERN_CHARS and _METRIC_NAME.fullmatch(name) is not None
        and canonical_name(name) == name))
    if not ok:
        shown = repr(name)[:80]
        raise ConfigError(f"{where}: {shown} is not a canonical metric name (one of "
                          f"{', '.join(CANONICAL_METRICS)}, or split/name like 'test/loss')")


def validate_params(rules: Iterable[Rule], cfg: Config) -> None:
    """Every ``[tool.diagnose.params.X]`` names a rule, and its values are valid, whether
    the rule is selected or not (an ignored rule's bad value is still a mistake)."""
    rules = list(rules)
    known = {r.code for r in rules} | {r.name for r in rules}
    for key in cfg.params:
        if key not in known:
            raise ConfigError(f"{at(cfg.source)}[tool.diagnose.params.{key}] names no rule"
                              f"{did_you_mean(key, known)} (`diagnose rules` lists codes and names)")
    for r in rules:
        cfg.rule_params(r)


def _strs(v: Any, where: str) -> list[str]:
    if isinstance(v, str):
        v = [x.strip() for x in v.split(",") if x.strip()]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ConfigError(f"{where}: must be a list of strings")
    if len(v) > MAX_ENTRIES or any(len(x) > MAX_PATTERN_CHARS for x in v):
        raise ConfigError(f"{where}: at most {MAX_ENTRIES} entries of at most "
                          f"{MAX_PATTERN_CHARS} characters")
    return list(v)


# ---------------------------------------------------------------------------------------
# selection
# ---------------------------------------------------------------------------------------
def _specificity(selector: str, rule: Rule) -> int | None:
    """How specifically ``selector`` names ``rule`` (higher wins), or None if it does not."""
    if selector == "ALL":
        return 0
    if selector == rule.code or selector == rule.name:
        return 100
    if selector in rule.tags:
        return 1
    if rule.code.startswith(selector) and len(selector) >= len(code_prefix(rule.code)):
        return 1 + len(selector)
    return None


def validate_selectors(selectors: Iterable[str], rules: list[Rule], where: str) -> None:
    """Every selector must name something: a typo should not silently select nothing."""
    for s in selectors:
        if not any(_specificity(s, r) is not None for r in rules):
            known = {"ALL", *(r.code for r in rules), *(r.name for r in rules),
                     *(t for r in rules for t in r.tags)}
            raise ConfigError(f"{at(where)}selector {s!r} matches no rule (codes, prefixes, names, "
                              f"tags or ALL){did_you_mean(s, known)}")


def at(source: str) -> str:
    """``"source: "`` to prefix a message, or nothing when the value came from no file."""
    return f"{source}: " if source else ""


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``"; did you mean 'fail-on'?"`` for a near miss (``fail_on``), else ``""``."""
    import difflib

    known = list(known)
    norm = {k.replace("_", "-").lower(): k for k in known}
    exact = norm.get(word.replace("_", "-").lower())
    close = [exact] if exact else difflib.get_close_matches(word, known, n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


def _enabled(rule: Rule, select: list[str], ignore: list[str]) -> bool:
    best_sel = max((x for x in (_specificity(s, rule) for s in select) if x is not None), default=None)
    best_ign = max((x for x in (_specificity(s, rule) for s in ignore) if x is not None), default=None)
    if best_sel is None:
        return False
    return best_ign is None or best_sel > best_ign


def select_rules(rules: list[Rule], cfg: Config) -> list[Rule]:
    """The rules ``cfg`` enables."""
    select = list(cfg.select) + list(cfg.extend_select)
    ignore = list(cfg.ignore) + list(cfg.extend_ignore)
    validate_selectors(select + ignore, rules, cfg.source)
    validate_params(rules, cfg)
    return [r for r in rules if _enabled(r, select, ignore)]


def ignored_for_run(rule: Rule, run_path: str | None, run_id: str, cfg: Config) -> bool:
    """True when a per-run-ignores glob matching this run, or the run's own
    ``diagnose-ignore`` (with a reason), names this rule."""
    if any(x.valid and _specificity(x.selector, rule) is not None for x in run_suppressions(run_path)):
        return True
    for pattern, selectors in cfg.per_run_ignores.items():
        if any(fnmatch.fnmatch(x, pattern) for x in (run_path or "", run_id) if x):
            if any(_specificity(s, rule) is not None for s in selectors):
                return True
    return False
