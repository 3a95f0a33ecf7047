"""Mermaid's own CLI (mmdc, with Debian's Chromium), for checking and drawing the summary's diagrams.

`scripts/mermaid-env.sh` installs both (idempotent) and says where they are; `make test` runs it
first and exports HEX_ACTION_MMDC and HEX_ACTION_MMDC_PUPPETEER. Without those variables,
`locate()` runs the script itself. Each mmdc call starts a Chromium (2-4 s), so callers render
every diagram of a Markdown file in one call (`render_markdown`).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_SCRIPT = ROOT / "scripts" / "mermaid-env.sh"
MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)^```$", re.S | re.M)


@dataclass(frozen=True)
class Mmdc:
    """Where mmdc and its Puppeteer configuration are."""

    command: Path
    puppeteer_config: Path

    def run(self, source: Path, output: Path, *extra: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
        """`mmdc -i source -o output`; exit code 0 when every diagram parsed and rendered."""
        command = [str(self.command), "-q", "-p", str(self.puppeteer_config), "-i", str(source), "-o", str(output)]
        return subprocess.run(
            [*command, *extra], capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )

    def render_markdown(self, source: Path, output: Path) -> list[Path]:
        """Render every ```` ```mermaid ```` block of `source` to an SVG beside `output` (one Chromium).

        Raises `RuntimeError` with Mermaid's parse error when any diagram does not parse.
        """
        blocks = len(MERMAID_BLOCK.findall(source.read_text(encoding="utf-8")))
        done = self.run(source, output)
        if done.returncode != 0:
            raise RuntimeError(f"mmdc exit {done.returncode}:\n{done.stderr.strip()[:3000]}")
        svgs = [output.with_name(f"{output.stem}-{n}.svg") for n in range(1, blocks + 1)]
        missing = [svg.name for svg in svgs if not svg.is_file()]
        if missing:
            raise RuntimeError(f"mmdc wrote no {', '.join(missing)}")
        return svgs


def locate() -> Mmdc:
    """mmdc from HEX_ACTION_MMDC / HEX_ACTION_MMDC_PUPPETEER, else installed by scripts/mermaid-env.sh."""
    command = os.environ.get("HEX_ACTION_MMDC")
    config = os.environ.get("HEX_ACTION_MMDC_PUPPETEER")
    if not (command and config and Path(command).is_file() and Path(config).is_file()):
        printed = subprocess.run(
            ["bash", str(ENV_SCRIPT)], capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL
        ).stdout
        values = dict(re.findall(r"(HEX_ACTION_MMDC\w*)=(\S+)", printed))
        command, config = values["HEX_ACTION_MMDC"], values["HEX_ACTION_MMDC_PUPPETEER"]
    return Mmdc(Path(command), Path(config))
