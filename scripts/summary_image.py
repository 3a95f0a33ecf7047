"""`make summary-image`: docs/summary-example.png, the job summary of a real run against the simulator.

The real `entrypoint.py` runs a four-step pipeline (extract, two transforms side by side, a report)
against the local Hex simulator with the runner's environment, and writes its job summary. Mermaid's
CLI (mmdc, with Debian's Chromium; scripts/mermaid-env.sh) renders the summary's diagrams, which
also checks them; the summary becomes HTML with GitHub-like styles (Markdown by `marked`, which
mmdc brings along), and Chromium takes the picture. Nothing is fetched: fonts are Debian's
(fonts-noto-color-emoji for the status icons, installed here when missing).

    python scripts/summary_image.py [OUTPUT.png]      # default docs/summary-example.png
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from mermaid_cli import Mmdc, locate  # noqa: E402 - after the path is set

from hex_action.simulator import HexSimulator, serve  # noqa: E402

TOKEN = "hxtw_image_token_not_a_real_secret"  # noqa: S105 - the simulator's made-up token
EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
#: The pipeline of the picture: ids are made up; titles, durations and outcomes are the simulator's.
STEPS = [
    ("extract", "019a26ea-9c41-7a52-8d1e-3f6b2a7c0e11", "Extract: orders & customers", (2.0, 9.0, "COMPLETED")),
    ("transform-orders", "019a26ea-b5d2-7c83-9f20-4a7c3b8d1f22", "Transform orders", (1.0, 30.0, "COMPLETED")),
    ("transform-customers", "019a26ea-ce63-7eb4-a031-5b8d4c9e2a33", "Transform customers", (3.0, 8.0, "ERRORED")),
    ("report", "019a26ea-e7f4-7fc5-b142-6c9e5daf3b44", "Revenue report", (1.0, 5.0, "COMPLETED")),
]
NEEDS = {
    "transform-orders": ["extract"],
    "transform-customers": ["extract"],
    "report": ["transform-orders", "transform-customers"],
}

STYLE = """
body { margin: 0; background: #ffffff; }
.summary { width: 860px; padding: 20px 28px 28px; color: #1f2328; font: 14px/1.5 -apple-system, "Segoe UI",
  "Noto Sans", "DejaVu Sans", sans-serif, "Noto Color Emoji"; }
h3 { font-size: 1.25em; margin: 0 0 16px; padding-bottom: 8px; border-bottom: 1px solid #d1d9e0; }
h4 { font-size: 1em; margin: 24px 0 8px; }
table { border-collapse: collapse; margin: 0 0 16px; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; text-align: left; }
th { background: #f6f8fa; font-weight: 600; }
tr:nth-child(2n) td { background: #f6f8fa; }
a { color: #0969da; text-decoration: none; }
ul { padding-left: 2em; margin: 0 0 16px; }
p { margin: 0 0 16px; }
em { color: #59636e; }
img { max-width: 100%; display: block; margin: 0 0 8px; }
"""

# Markdown to HTML with marked, then a full-page screenshot with Puppeteer (both ship with mmdc).
NODE_SCRIPT = """
const [modules, markdownFile, htmlFile, pngFile, chromium] = process.argv.slice(1);
const fs = await import('node:fs');
const { marked } = await import(modules + '/marked/lib/marked.esm.js');
const puppeteer = (await import(modules + '/puppeteer-core/lib/puppeteer/puppeteer-core.js')).default;
const body = marked.parse(fs.readFileSync(markdownFile, 'utf8'));
fs.writeFileSync(htmlFile, fs.readFileSync(htmlFile, 'utf8').replace('@BODY@', body));
const browser = await puppeteer.launch({ executablePath: chromium, args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage();
await page.setViewport({ width: 916, height: 600, deviceScaleFactor: 2 });
await page.goto('file://' + htmlFile, { waitUntil: 'load' });
const box = await (await page.$('.summary')).boundingBox();
await page.screenshot({ path: pngFile, clip: { x: 0, y: 0, width: 916, height: Math.ceil(box.height) } });
await browser.close();
"""


def run_pipeline(workdir: Path) -> str:
    """Run the action on the pipeline against a simulator; return the job summary it wrote."""
    simulator = HexSimulator(TOKEN)
    for _, project_id, title, (pending, running, final) in STEPS:
        simulator.configure_project(
            project_id, title=title, pending_seconds=pending, running_seconds=running, final_status=final
        )
    pipeline = [
        {"name": name, "project-id": pid, **({"needs": NEEDS[name]} if name in NEEDS else {})}
        for name, pid, _, _ in STEPS
    ]
    declared = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    workdir.mkdir(parents=True, exist_ok=True)
    summary = workdir / "summary.md"
    summary.touch()
    with serve(simulator) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
        env.update({f"INPUT_{name.upper()}": "" for name in declared})
        env.update(
            {
                "INPUT_API-TOKEN": TOKEN,
                "INPUT_HEX-URL": server.url,
                "INPUT_PIPELINE": yaml.safe_dump(pipeline, sort_keys=False),
                "GITHUB_ACTIONS": "true",
                "GITHUB_STEP_SUMMARY": str(summary),
                "GITHUB_OUTPUT": str(workdir / "output"),
            }
        )
        subprocess.run([sys.executable, str(ROOT / "entrypoint.py")], env=env, cwd=workdir, check=False)
    return summary.read_text(encoding="utf-8")


def picture(summary: str, output: Path, mmdc: Mmdc, workdir: Path) -> None:
    """Render `summary` (Markdown with Mermaid blocks) to the PNG `output`."""
    source, rendered = workdir / "summary.md", workdir / "rendered.md"
    source.write_text(summary, encoding="utf-8")
    for svg in mmdc.render_markdown(source, rendered):
        # As GitHub shows a diagram: at its own width (mmdc's SVG says 100%, its style the real width).
        text = svg.read_text(encoding="utf-8")
        width = re.search(r"max-width: ([\d.]+)px", text)
        if width:
            svg.write_text(text.replace('width="100%"', f'width="{width.group(1)}"', 1), encoding="utf-8")
    page = rendered  # its diagrams are `![diagram](./rendered-N.svg)`, beside the page
    html = workdir / "page.html"
    html.write_text(
        f'<!doctype html><meta charset="utf-8"><style>{STYLE}</style><div class="summary">@BODY@</div>',
        encoding="utf-8",
    )
    chromium = json.loads(mmdc.puppeteer_config.read_text())["executablePath"]
    modules = str(mmdc.command.parent.parent)  # node_modules/.bin/mmdc
    subprocess.run(
        ["node", "--input-type=module", "-e", NODE_SCRIPT, modules, str(page), str(html), str(output), chromium],
        check=True,
    )


def main(argv: list[str]) -> int:
    """Make the picture; the summary's Markdown is written beside it for reference."""
    output = Path(argv[0]) if argv else ROOT / "docs" / "summary-example.png"
    if not EMOJI_FONT.is_file() and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "fonts-noto-color-emoji"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    mmdc = locate()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        summary = run_pipeline(workdir / "run")
        picture(summary, output.resolve(), mmdc, workdir)
    output.with_suffix(".md").write_text(summary, encoding="utf-8")
    print(f"wrote {output} and {output.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
