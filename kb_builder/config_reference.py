"""operations/configuration.md, generated from the declarations: KbConfig (kb.yml) and settings.py (environment).

`python -m kb_builder.config_reference --write` rewrites the file;
tests/test_config_docs.py fails when the file and the code disagree.
"""

from __future__ import annotations

import json
import re
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from .config import KbConfig
from .settings import DEVELOPMENT_ENVIRONMENT, ENVIRONMENT, LIBRARY_ENVIRONMENT, EnvVar, by_key

REFERENCE = Path(__file__).resolve().parents[1] / "operations" / "configuration.md"

# Set by load_config, not read from kb.yml.
INTERNAL = {"root"}


@dataclass(frozen=True)
class Key:
    """One kb.yml key: a leaf setting, or a list/mapping of entries (whose fields follow it)."""

    name: str
    type: str
    default: str
    help: str
    section: str


def kb_yml_keys(model: type[BaseModel] = KbConfig, prefix: str = "", section: str = "") -> list[Key]:
    """Every kb.yml key, depth first, in declaration order."""
    keys: list[Key] = []
    for name, field in model.model_fields.items():
        if not prefix and name in INTERNAL:
            continue
        dotted = prefix + name
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys += kb_yml_keys(ann, dotted + ".", section or dotted)
            continue
        keys.append(Key(dotted, _type_name(ann, field), _default(field), _help(field), section or ""))
        item, suffix = _entries(ann)
        if item is not None:
            keys += kb_yml_keys(item, dotted + suffix, section or "")
    return keys


def sections(model: type[BaseModel] = KbConfig) -> dict[str, str]:
    """Top-level sections and their help (the section class's docstring)."""
    return {name: _clean(field.description or field.annotation.__doc__ or "")
            for name, field in model.model_fields.items() if _is_model(field.annotation)}


def _is_model(ann) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _entries(ann) -> tuple[type[BaseModel] | None, str]:
    """The model of a list's items or a mapping's values, and how their keys are written."""
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is list and args and _is_model(args[0]):
        return args[0], "[]."
    if origin is dict and len(args) == 2 and _is_model(args[1]):
        return args[1], ".<n>."
    return None, ""


def _type_name(ann, field: FieldInfo) -> str:
    text = _annotation(ann)
    for meta in field.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "length ≥"),
                           ("pattern", "matching")):
            value = getattr(meta, attr, None)
            if value is not None:
                text += f", {sign} {value}"
    return text


def _annotation(ann) -> str:
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Literal:
        return " or ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_annotation(a) for a in args if a is not type(None)) + (
            " or null" if type(None) in args else "")
    if origin is list:
        return f"list of {_annotation(args[0])}"
    if origin is tuple:
        return f"list of {_annotation(args[0])}"
    if origin is dict:
        return f"mapping {_annotation(args[0])} → {_annotation(args[1])}"
    names = {str: "text", int: "integer", float: "number", bool: "true/false", Path: "path"}
    if ann in names:
        return names[ann]
    return getattr(ann, "__name__", str(ann)).replace("SecretStr", "text (secret)")


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = TypeAdapter(typing.cast(type, field.annotation)).dump_python(field.get_default(call_default_factory=True), mode="json")
    return json.dumps(value, ensure_ascii=False)


def _help(field: FieldInfo) -> str:
    return _clean(field.description or "")


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _env_row(var: EnvVar, keys: dict[str, Key]) -> str:
    if var.key:
        default = var.default or f"kb.yml's `{var.key}` ({keys[var.key].default})"
        reads = f"`{var.key}`"
    else:
        default, reads = var.default, ", ".join(f"`{o}`" for o in var.option.split(", ")) if var.option else "—"
    return f"| `{var.name}` | {_cell(default)} | {reads} | {_cell(var.help)} |"


def render() -> str:
    """The whole reference, as operations/configuration.md holds it."""
    keys = kb_yml_keys()
    by_name = {k.name: k for k in keys}
    env = by_key()
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated by `python -m kb_builder.config_reference --write` from kb_builder/config.py,",
        "     kb_builder/process_config.py and kb_builder/settings.py. Do not edit by hand:",
        "     tests/test_config_docs.py fails when this file and the code disagree. -->",
        "",
        "Settings come from `kb.yml` (found in the current folder or the nearest parent, or named by",
        "`KB_CONFIG`), then from the environment variables below, which win over the file. Both are",
        "validated once when `kb` or the API starts; a bad value stops it with a message naming the",
        "kb.yml line or the variable. An empty variable counts as unset. Paths are relative to kb.yml's",
        "folder. Secrets (`secrets.*`) are read from the environment only, never from kb.yml.",
        "",
        "## kb.yml keys",
        "",
    ]
    section_help = sections()
    current = None
    for key in keys:
        if key.section != current:
            current = key.section
            title = f"`{current}`" if current else "Top level"
            out += ["", f"### {title}", ""]
            if section_help.get(current):
                out += [section_help[current], ""]
            out += ["| Key | Type | Default | Environment | Help |", "|---|---|---|---|---|"]
        var = f"`{env[key.name].name}`" if key.name in env else ""
        out.append(f"| `{key.name}` | {_cell(key.type)} | `{_cell(key.default)}` | {var} | {_cell(key.help)} |")
    out += ["", "## Environment variables", "",
            "Read by `load_config` (kb_builder/config.py), or by the `kb` option named.", "",
            "| Variable | Default | Sets or read by | Help |", "|---|---|---|---|"]
    out += [_env_row(v, by_name) for v in ENVIRONMENT]
    out += ["", "### Read by libraries, not by kb", "",
            "| Variable | Default | Sets or read by | Help |", "|---|---|---|---|"]
    out += [_env_row(v, by_name) for v in LIBRARY_ENVIRONMENT]
    out += ["", "### Tests and benchmarks only", "",
            "| Variable | Default | Sets or read by | Help |", "|---|---|---|---|"]
    out += [_env_row(v, by_name) for v in DEVELOPMENT_ENVIRONMENT]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--write" in argv:
        REFERENCE.parent.mkdir(exist_ok=True)
        REFERENCE.write_text(text, encoding="utf-8")
        print(f"wrote {REFERENCE}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
