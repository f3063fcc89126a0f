"""Every test starts in English, whatever the machine's locale: a CI machine with LANG=es_*
would otherwise print Spanish (tests/test_i18n.py sets the language it tests explicitly).
Session-wide, so module-scoped fixtures are built in English too."""

import os

import pytest
from hypothesis import settings

# CI draws the same examples on every run (a failure there is reproducible, never a coin toss);
# everywhere else hypothesis explores new ones each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def _english_locale():
    with pytest.MonkeyPatch.context() as patch:
        for name in ("LC_ALL", "LC_MESSAGES"):
            patch.delenv(name, raising=False)
        patch.setenv("LANG", "C.UTF-8")
        yield
