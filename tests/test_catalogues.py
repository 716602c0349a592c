"""The five languages: every string of the app translated in each catalogue, none fuzzy, no
placeholder broken, and the template in step with the code (`make messages`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LANGUAGES = ["ka", "hy", "az", "ru"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]|\{\w*\}")


def _catalog(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def _ids(catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


@pytest.fixture(scope="module")
def template():
    return _catalog(TRANSLATIONS / "messages.pot")


def test_the_template_holds_every_string_of_the_code(tmp_path, template):
    fresh = tmp_path / "fresh.pot"
    pybabel = Path(sys.executable).with_name("pybabel")  # the one `make messages` runs
    subprocess.run(
        [pybabel, "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
         "-o", str(fresh), "--no-location", "."],
        cwd=ROOT, check=True,
    )  # fmt: skip
    missing = _ids(_catalog(fresh)) - _ids(template)
    assert not missing, f"run `make messages`: {sorted(missing)[:10]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated_in_full(language, template):
    catalog = _catalog(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    wanted = _ids(template)
    assert not wanted - _ids(catalog), f"{language}: run `make messages` and translate"
    assert not catalog.fuzzy, f"{language}: the catalogue is marked fuzzy (pybabel skips it)"
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            fuzzy.append(message.id)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        forms = catalog.num_plurals if message.pluralizable else 1
        if len(strings) != forms or not all(s.strip() for s in strings):
            untranslated.append(message.id)
    assert not fuzzy, f"{language}: fuzzy entries {fuzzy[:5]}"
    assert not untranslated, f"{language}: untranslated {untranslated[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_are_kept(language):
    catalog = _catalog(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    broken = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        allowed = [sorted(PLACEHOLDER.findall(text)) for text in ids]
        broken += [(ids[0], s) for s in strings if sorted(PLACEHOLDER.findall(s)) not in allowed]
        broken += [(ids[0], str(error)) for error in message.check(catalog)]  # python-format
    assert not broken, f"{language}: {broken[:5]}"


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("ka", "გახდით წევრი"),
        ("hy", "Դարձեք անդամ"),
        ("az", "Üzv olun"),
        ("ru", "Оформить подписку"),
    ],
)
def test_a_reader_who_prefers_a_language_reads_the_page_in_it(client, language, heading):
    english = client.get("/plans", headers={"Accept-Language": "en"}).get_data(as_text=True)
    page = client.get("/plans", headers={"Accept-Language": language}).get_data(as_text=True)
    assert f'<html lang="{language}"' in page
    assert heading in page and heading not in english
