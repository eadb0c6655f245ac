"""Every fix the rule fixtures show (tests/rules/*.yaml, cases with `fixed`) is offered by
the server as a quick fix, and applying the quick fixes gives exactly the `fixed` text.

One server per site the cases ask for (initializationOptions.site); cases that need
params or a later stage than `check` are the CLI's business and are left to test_rules.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

pytest.importorskip("pygls", reason="pygls (the `lsp` extra) is not installed")

from tests.lsp.client import Session, apply_edits  # noqa: E402

RULES = Path(__file__).resolve().parents[1] / "rules"


def fix_cases() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(RULES.glob("AIWF*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")).get("cases") or []:
            if "fixed" in case and case.get("stage", "check") == "check" and not case.get("params") \
                    and not case.get("params_file"):
                out.append((path.stem, case))
    return out


def test_every_fixture_fix_is_a_quick_fix(tmp_path):
    cases = fix_cases()
    assert len(cases) >= 8
    by_site: dict[str | None, list] = {}
    for i, (code, case) in enumerate(cases):
        by_site.setdefault(case.get("site"), []).append((i, code, case))

    async def session(site, group):
        s = Session()
        await s.start(options={"site": site} if site else None)
        out = []
        try:
            for i, code, case in group:
                folder = tmp_path / f"case{i}"
                folder.mkdir()
                for name, text in (case.get("files") or {}).items():
                    (folder / name).parent.mkdir(parents=True, exist_ok=True)
                    (folder / name).write_text(text, encoding="utf-8")
                main = folder / case.get("main", "main.aiwf")
                main.write_text(case["source"], encoding="utf-8")
                uri = main.as_uri()
                s.open(uri, case["source"])
                await s.diagnostics(uri, 1)
                actions = await s.code_actions(uri, (0, 0), (case["source"].count("\n") + 1, 0))
                chosen = [a for a in actions if case.get("all") or a.diagnostics[0].code == code]
                edits = [e for a in chosen for e in a.edit.changes.get(uri, [])]
                out.append((code, case.get("name"), [a.title for a in chosen],
                            apply_edits(case["source"], edits), case["fixed"]))
        finally:
            await s.stop()
        return out

    async def main():
        results = []
        for site, group in by_site.items():
            results += await session(site, group)
        return results

    for code, name, titles, got, want in asyncio.run(main()):
        assert titles, f"{code} {name}: no quick fix offered"
        assert got == want, f"{code} {name}"
