"""Audit the locked dependencies against PyPI's vulnerability records (CI step).

pip-audit asks PyPI's per-release endpoint (`/pypi/<name>/<version>/json`); the index this
machine and CI reach serves only the per-project document (`/pypi/<name>/json`), so
pip-audit skips every package and reports nothing — an audit that cannot fail. This script
reads the same PyPI advisory data (PyPI mirrors the OSV advisories into the `vulnerabilities`
field) from whichever endpoint answers:

- the release document when it exists;
- else the project document, whose advisories describe its latest release — valid for the
  pin only when the pin *is* the latest release.

Exit 0: no advisory affects a pin. Exit 1: one does (named, with the fixed versions). Pins
that are not the latest release cannot be audited from the project document: they are
listed as UNAUDITED, and fail the run only with --strict (a release upstream would otherwise
turn CI red overnight). Exit 2: PyPI could not be reached — an audit that did not run is not
a pass.

Usage: python scripts/audit_deps.py [requirements.lock] [--index https://pypi.org] [--strict]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import stamina
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version


@dataclass
class Finding:
    name: str
    version: str
    advisories: list[str] = field(default_factory=list)
    unaudited: str = ""


def read_pins(lock: Path) -> list[tuple[str, str]]:
    """(name, version) of every `name==version` line; anything else is an error."""
    pins = []
    for number, raw in enumerate(lock.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise SystemExit(f"{lock}:{number}: not a requirement: {raw!r} ({exc})") from exc
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            raise SystemExit(f"{lock}:{number}: {raw!r} is not pinned with ==; lock it first")
        pins.append((req.name, specs[0].version))
    return pins


@stamina.retry(on=httpx.TransportError, attempts=4, wait_initial=0.5)
def _get(client: httpx.Client, url: str) -> httpx.Response:
    response = client.get(url)
    if response.status_code >= 500:
        response.raise_for_status()
    return response


def _active(advisories: list[dict[str, Any]], version: str) -> list[str]:
    """Advisories not withdrawn and not fixed at or below `version`."""
    pinned = Version(version)
    found = []
    for item in advisories:
        if item.get("withdrawn"):
            continue
        fixed = [Version(v) for v in item.get("fixed_in") or []]
        if any(f <= pinned for f in fixed):
            continue
        names = ", ".join([item.get("id", "?"), *item.get("aliases", [])])
        fix = f"fixed in {', '.join(map(str, fixed))}" if fixed else "no fix released"
        found.append(f"{names}: {fix}")
    return found


def audit_pin(client: httpx.Client, index: str, name: str, version: str) -> Finding:
    finding = Finding(name, version)
    release = _get(client, f"{index}/pypi/{name}/{version}/json")
    if release.status_code == 200:
        finding.advisories = _active(release.json().get("vulnerabilities") or [], version)
        return finding
    project = _get(client, f"{index}/pypi/{name}/json")
    if project.status_code != 200:
        finding.unaudited = f"PyPI has no project {name!r} (HTTP {project.status_code})"
        return finding
    document = project.json()
    latest = document["info"]["version"]
    if Version(latest) != Version(version):
        finding.unaudited = (
            f"PyPI serves advisories for {name} {latest} only; upgrade the pin or audit "
            f"{version} by hand"
        )
        return finding
    finding.advisories = _active(document.get("vulnerabilities") or [], version)
    return finding


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lock", nargs="?", default="requirements.lock", type=Path)
    parser.add_argument("--index", default="https://pypi.org")
    parser.add_argument("--strict", action="store_true", help="fail on unauditable pins too")
    args = parser.parse_args(argv)
    pins = read_pins(args.lock)
    index = args.index.rstrip("/")
    try:
        with (
            httpx.Client(timeout=30, follow_redirects=True) as client,
            ThreadPoolExecutor(8) as pool,
        ):
            findings = list(pool.map(lambda p: audit_pin(client, index, *p), pins))
    except httpx.HTTPError as exc:
        print(f"audit: cannot reach {index} ({exc.__class__.__name__}: {exc})", file=sys.stderr)
        return 2
    affected = [f for f in findings if f.advisories]
    unaudited = [f for f in findings if f.unaudited]
    for f in affected:
        for advisory in f.advisories:
            print(f"VULNERABLE {f.name}=={f.version}: {advisory}")
    for f in unaudited:
        print(f"UNAUDITED  {f.name}=={f.version}: {f.unaudited}")
    print(
        f"audit: {len(findings)} locked packages, {len(affected)} affected, "
        f"{len(unaudited)} not auditable"
    )
    return 1 if affected or (args.strict and unaudited) else 0


if __name__ == "__main__":
    sys.exit(main())
