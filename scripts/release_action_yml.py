"""Rewrite action.yml for a release commit: `runs.image: Dockerfile` becomes the published image by digest.

A release tag (and the moving major tag) must point at a commit whose action.yml names the prebuilt
image, `docker://ghcr.io/<owner>/<name>@sha256:<digest>`, so `@v1`, `@vX.Y.Z` and a SHA pin of a
release pull it instead of building the Dockerfile in every job. A digest, not a tag: the commit then
always runs exactly the image that was built and attested for it, whatever is pushed later.

Only the one `image:` line under `runs:` changes (comments, order and quoting elsewhere stay as they
are), and the result is parsed back and compared with the original, so nothing else can move.

Usage (the release workflow; `make release-dry-run` with a local image id):
    python scripts/release_action_yml.py --image ghcr.io/owner/name --digest sha256:<64 hex> [--file action.yml]
        [--output PATH]   (default: rewrite --file in place)
Exit codes: 0 rewritten, 2 bad arguments or an action.yml that does not build the Dockerfile.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# A registry host with a dot or a port, then lowercase path components (the OCI distribution spec's
# repository name grammar, simplified to what GHCR accepts).
IMAGE = re.compile(r"[a-z0-9.-]+\.[a-z]{2,}(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+")
# `  image: Dockerfile` (optionally quoted, optionally with a comment) inside the `runs:` block.
_IMAGE_LINE = re.compile(r"""^(?P<indent>[ ]+)image:[ ]*(?P<q>["']?)Dockerfile(?P=q)[ ]*(?P<comment>#.*)?$""")


class ReleaseError(Exception):
    """The arguments or action.yml do not allow a release rewrite; the message says why and what to do."""


def image_reference(image: str, digest: str) -> str:
    """`docker://<image>@<digest>`, after checking both parts."""
    if not IMAGE.fullmatch(image):
        raise ReleaseError(
            f"--image {image!r} is not a lowercase registry image name such as ghcr.io/owner/name "
            "(no tag, no digest: the digest goes in --digest)"
        )
    if not DIGEST.fullmatch(digest):
        raise ReleaseError(f"--digest {digest!r} is not sha256:<64 lowercase hex digits> (a manifest digest)")
    return f"docker://{image}@{digest}"


def _runs_block(lines: list[str]) -> range:
    """Line numbers of the top-level `runs:` mapping's body."""
    starts = [n for n, line in enumerate(lines) if re.match(r"^runs:[ ]*(#.*)?$", line)]
    if len(starts) != 1:
        raise ReleaseError("action.yml has no single top-level `runs:` block")
    start = starts[0] + 1
    end = start
    while end < len(lines) and (not lines[end].strip() or lines[end][:1] in (" ", "#")):
        end += 1
    return range(start, end)


def rewrite(text: str, reference: str) -> str:
    """action.yml text with `runs.image: Dockerfile` replaced by `reference`; all else unchanged."""
    before: dict[str, Any] = yaml.safe_load(text)
    runs = before.get("runs") if isinstance(before, dict) else None
    if not isinstance(runs, dict) or runs.get("using") != "docker":
        raise ReleaseError("action.yml is not a Docker container action (runs.using: docker)")
    if runs.get("image") != "Dockerfile":
        raise ReleaseError(
            f"action.yml's runs.image is {runs.get('image')!r}, not 'Dockerfile': rewrite the source commit's "
            "action.yml, not an already released one"
        )
    lines = text.splitlines(keepends=True)
    bare = [line.rstrip("\n") for line in lines]
    hits = [(n, m) for n in _runs_block(bare) if (m := _IMAGE_LINE.match(bare[n]))]
    if len(hits) != 1:
        raise ReleaseError("action.yml's `runs:` block has no single `image: Dockerfile` line to rewrite")
    ((n, match),) = hits
    comment = f"  {match['comment']}" if match["comment"] else ""
    newline = lines[n][len(bare[n]) :]
    lines[n] = f"{match['indent']}image: {reference}{comment}{newline}"
    result = "".join(lines)

    after: dict[str, Any] = yaml.safe_load(result)
    expected = {**before, "runs": {**runs, "image": reference}}
    if after != expected:  # a guard on the line edit above
        raise ReleaseError("rewriting the image line changed more than runs.image")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--image", required=True, help="registry image name without tag, e.g. ghcr.io/owner/name")
    parser.add_argument("--digest", required=True, help="the pushed manifest (list) digest, sha256:...")
    parser.add_argument("--file", type=Path, default=Path("action.yml"), help="the action.yml to read")
    parser.add_argument("--output", type=Path, help="where to write the result (default: --file, in place)")
    args = parser.parse_args(argv)
    try:
        reference = image_reference(args.image, args.digest)
        text = args.file.read_text(encoding="utf-8")
        result = rewrite(text, reference)
    except (ReleaseError, OSError, yaml.YAMLError) as exc:
        print(f"release_action_yml: {exc}", file=sys.stderr)
        return 2
    output = args.output or args.file
    output.write_text(result, encoding="utf-8")
    print(f"{output}: runs.image = {reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
