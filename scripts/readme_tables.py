"""Print the README's inputs and outputs tables from action.yml (`--check` compares them with README.md).

action.yml is the single source: the README tables are generated from it, and a test
fails when they drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BEGIN_INPUTS, END_INPUTS = "<!-- inputs:begin -->", "<!-- inputs:end -->"
BEGIN_OUTPUTS, END_OUTPUTS = "<!-- outputs:begin -->", "<!-- outputs:end -->"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def tables(action: dict) -> tuple[str, str]:
    """The inputs and outputs tables as Markdown."""
    rows = ["| input | default | description |", "|---|---|---|"]
    for name, spec in action["inputs"].items():
        default = spec.get("default", "")
        shown = f"`{default}`" if default != "" else ""
        rows.append(f"| `{name}` | {shown} | {_cell(spec['description'])} |")
    outputs = ["| output | description |", "|---|---|"]
    outputs += [f"| `{name}` | {_cell(spec['description'])} |" for name, spec in action["outputs"].items()]
    return "\n".join(rows), "\n".join(outputs)


def render(readme: str, action: dict) -> str:
    """README text with both tables replaced by fresh ones."""
    inputs, outputs = tables(action)
    for begin, end, table in ((BEGIN_INPUTS, END_INPUTS, inputs), (BEGIN_OUTPUTS, END_OUTPUTS, outputs)):
        head, rest = readme.split(begin, 1)
        _, tail = rest.split(end, 1)
        readme = f"{head}{begin}\n{table}\n{end}{tail}"
    return readme


def main(argv: list[str]) -> int:
    """Rewrite README.md, or with --check exit 1 when it is out of date."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    readme_path = ROOT / "README.md"
    current = readme_path.read_text(encoding="utf-8")
    fresh = render(current, action)
    if "--check" in argv:
        if fresh != current:
            print("README.md tables differ from action.yml: run `python scripts/readme_tables.py`")
            return 1
        return 0
    readme_path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
