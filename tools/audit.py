"""`make lint`'s dependency audit: pip-audit of the installed set against PyPI's advisories.

Fails (exit 1) on a known vulnerability. When the advisory database cannot be reached it says
so on one line and exits 0, and it says how many installed versions PyPI does not know (those
cannot be audited). Run with the interpreter of the environment to audit (`.venv/bin/python`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

ADVISORIES = os.environ.get("AUDIT_ADVISORY_URL", "https://pypi.org/pypi/pip/json")
TIMEOUT = 10


def reachable(url: str | None = None) -> str | None:
    """None when PyPI's JSON API (where pip-audit reads advisories) answers, else why not."""
    url = url or ADVISORIES
    if not url.startswith("https://"):
        return f"{url} is not an https address"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - https only, above
            response.read(1)
    except (OSError, urllib.error.URLError) as exc:
        return str(getattr(exc, "reason", exc))
    return None


def audit() -> dict:
    """pip-audit's JSON report of this interpreter's environment (the project itself left out:
    it is installed editable and is not on PyPI)."""
    command = [sys.executable, "-m", "pip_audit", "--skip-editable", "--format", "json",
               "--progress-spinner", "off", "--timeout", str(TIMEOUT)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if not done.stdout.strip():
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "no output")
    return json.loads(done.stdout)


def summarise(report: dict) -> tuple[int, list[str]]:
    """Exit status and the lines to print for one pip-audit JSON report."""
    vulnerable, audited, unknown = [], 0, 0
    for dependency in report.get("dependencies", []):
        if dependency.get("skip_reason"):
            unknown += 1
            continue
        audited += 1
        for vuln in dependency.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            vulnerable.append(
                f"  {dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixes})"
            )
    if not audited and not vulnerable:
        return 0, [
            f"dependency audit skipped: PyPI's advisory database knows none of the {unknown} "
            "installed versions, so none could be audited"
        ]
    lines = []
    if vulnerable:
        lines.append(f"dependency audit: {len(vulnerable)} known vulnerabilities")
        lines += vulnerable
    else:
        lines.append(f"dependency audit: {audited} installed packages, no known vulnerabilities")
    if unknown:
        lines.append(
            f"dependency audit: {unknown} installed versions are unknown to PyPI's advisory "
            "database and were not audited"
        )
    return (1 if vulnerable else 0), lines


def main() -> int:
    """Audit, or say in one line why the audit was skipped."""
    why = reachable()
    if why is not None:
        print(f"dependency audit skipped: the advisory database cannot be reached ({why})")
        return 0
    try:
        report = audit()
    except (RuntimeError, json.JSONDecodeError) as exc:
        print(f"dependency audit skipped: pip-audit gave no report ({exc})")
        return 0
    status, lines = summarise(report)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
