"""Every test starts in English, whatever the machine's locale: a CI machine with LANG=es_*
would otherwise print Spanish (tests/test_i18n.py sets the language it tests explicitly).
Session-wide, so module-scoped fixtures are built in English too."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _english_locale():
    with pytest.MonkeyPatch.context() as patch:
        for name in ("LC_ALL", "LC_MESSAGES"):
            patch.delenv(name, raising=False)
        patch.setenv("LANG", "C.UTF-8")
        yield
