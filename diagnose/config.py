"""Configuration: ``[tool.diagnose]`` in pyproject.toml, overridden by CLI flags.

Rule selection follows ruff: selectors are codes, code prefixes, names, tags or
``ALL``; for each rule the most specific matching selector decides, and an
ignore wins a tie. Unknown keys and out-of-bounds params are errors, not silence.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ._errors import ConfigError, RuleError
from .rules import Rule, read_toml

__all__ = ["Config", "find_pyproject", "load_config", "select_rules"]

FAIL_ON = ("error", "warning", "info", "never")
#: A pyproject.toml from an untrusted checkout is read only up to this size.
MAX_CONFIG_BYTES = 4 << 20
_KEYS = {"select", "ignore", "extend-select", "fail-on", "params", "per-run-ignores", "metrics",
         "by", "mode", "at"}
#: Which value of a run the sweep compares: the last evaluation (the chapter's) or the best.
AT = ("final", "best")


@dataclass
class Config:
    select: list[str] = field(default_factory=lambda: ["ALL"])
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
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
    #: ``final`` (last evaluation, the chapter's rule) or ``best`` (best step; checkpoints kept)
    at: str = "final"
    source: str = "defaults"

    def merged(self, **overrides: Any) -> "Config":
        """A copy with CLI values (those not None) replacing the file's."""
        data = dict(self.__dict__)
        data.update({k: v for k, v in overrides.items() if v is not None})
        cfg = Config(**data)
        cfg.validate_basic()
        return cfg

    def validate_basic(self) -> None:
        if self.fail_on not in FAIL_ON:
            raise ConfigError(f"{self.source}: fail-on must be one of {', '.join(FAIL_ON)}, got {self.fail_on!r}")
        if self.mode not in (None, "min", "max"):
            raise ConfigError(f"{self.source}: mode must be 'min' or 'max', got {self.mode!r}")
        if self.at not in AT:
            raise ConfigError(f"{self.source}: at must be 'final' or 'best', got {self.at!r}")

    def rule_params(self, rule: Rule) -> dict[str, Any]:
        """The rule's defaults overridden by configured values (validated against bounds)."""
        vals = rule.defaults()
        for key in (rule.code, rule.name):
            for pname, v in self.params.get(key, {}).items():
                if pname not in rule.params:
                    raise ConfigError(
                        f"{self.source}: [tool.diagnose.params.{key}] has unknown param {pname!r}; "
                        f"{rule.name} takes: {', '.join(rule.params) or 'none'}"
                    )
                try:
                    vals[pname] = rule.params[pname].check(v, f"{self.source}: params.{key}")
                except RuleError as e:
                    raise ConfigError(str(e)) from None
        return vals

    def effective_mode(self) -> str:
        if self.mode:
            return self.mode
        return "max" if self.by.endswith(("acc", "accuracy", "f1", "auc")) else "min"


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
    section = data.get("tool", {}).get("diagnose")
    if section is None:
        return Config(source=str(path))
    return config_from_mapping(section, f"{path}: [tool.diagnose]")


def config_from_mapping(section: Mapping[str, Any], source: str) -> Config:
    if not isinstance(section, Mapping):
        raise ConfigError(f"{source}: must be a table")
    unknown = set(section) - _KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown key(s): {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(_KEYS))}")
    cfg = Config(source=source)
    for key in ("select", "ignore", "extend-select"):
        if key in section:
            setattr(cfg, key.replace("-", "_"), _strs(section[key], f"{source}: {key}"))
    if "fail-on" in section:
        cfg.fail_on = section["fail-on"]
    for key in ("by", "mode", "at"):
        if key in section:
            if not isinstance(section[key], str):
                raise ConfigError(f"{source}: {key} must be a string")
            setattr(cfg, key, section[key])
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
                setattr(cfg, attr, {str(k): _strs(t, f"{source}: per-run-ignores.{k}") for k, t in v.items()})
            else:
                if not all(isinstance(x, str) for x in v.values()):
                    raise ConfigError(f"{source}: metrics values must be canonical metric names")
                setattr(cfg, attr, {str(k): str(x) for k, x in v.items()})
    cfg.validate_basic()
    return cfg


def _strs(v: Any, where: str) -> list[str]:
    if isinstance(v, str):
        v = [x.strip() for x in v.split(",") if x.strip()]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ConfigError(f"{where}: must be a list of strings")
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
    if rule.code.startswith(selector) and selector[:2] == "DG":
        return 1 + len(selector)
    return None


def validate_selectors(selectors: Iterable[str], rules: list[Rule], where: str) -> None:
    """Every selector must name something: a typo should not silently select nothing."""
    for s in selectors:
        if not any(_specificity(s, r) is not None for r in rules):
            raise ConfigError(f"{where}: selector {s!r} matches no rule (codes, prefixes, names, tags or ALL)")


def _enabled(rule: Rule, select: list[str], ignore: list[str]) -> bool:
    best_sel = max((x for x in (_specificity(s, rule) for s in select) if x is not None), default=None)
    best_ign = max((x for x in (_specificity(s, rule) for s in ignore) if x is not None), default=None)
    if best_sel is None:
        return False
    return best_ign is None or best_sel > best_ign


def select_rules(rules: list[Rule], cfg: Config) -> list[Rule]:
    """The rules ``cfg`` enables."""
    select = list(cfg.select) + list(cfg.extend_select)
    validate_selectors(select + list(cfg.ignore), rules, cfg.source)
    return [r for r in rules if _enabled(r, select, cfg.ignore)]


def ignored_for_run(rule: Rule, run_path: str | None, run_id: str, cfg: Config) -> bool:
    """True when a per-run-ignores glob matching this run names this rule."""
    for pattern, selectors in cfg.per_run_ignores.items():
        if any(fnmatch.fnmatch(x, pattern) for x in (run_path or "", run_id) if x):
            if any(_specificity(s, rule) is not None for s in selectors):
                return True
    return False
