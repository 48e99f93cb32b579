"""Every visible string, in Chinese and English. Each language is one folder of modules
(`explain/locales/zh/`, `explain/locales/en/`), one module per page, each holding a `STRINGS` dict;
keys are `page.name` and both languages must have the same keys (a test checks)."""
from __future__ import annotations

import importlib
import pkgutil
from functools import cache

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


@cache
def strings(lang: str) -> dict[str, str]:
    """All strings of `lang`, merged from every module of its folder."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; valid: {', '.join(LANGUAGES)}")
    package = importlib.import_module(f"explain.locales.{lang}")
    merged: dict[str, str] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        clash = merged.keys() & module.STRINGS.keys()
        if clash:
            raise KeyError(f"keys defined twice in locales/{lang}: {sorted(clash)}")
        merged.update(module.STRINGS)
    return merged


def t(key: str, lang: str, **values) -> str:
    """The string `key` in `lang`, with `{name}` fields filled from `values`."""
    text = strings(lang)[key]
    return text.format(**values) if values else text


def pick_language(requested: str | None, browser_locale: str | None) -> str:
    """A valid language: the one requested (query string) if known, else the browser's, else Chinese."""
    if requested in LANGUAGES:
        return requested
    if browser_locale:
        prefix = browser_locale.split("-")[0].split("_")[0].lower()
        if prefix in LANGUAGES:
            return prefix
    return DEFAULT_LANGUAGE
