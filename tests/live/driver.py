"""Drive the live app headless (Textual's Pilot), for the English and the Spanish tests."""

import asyncio

from convtrace.live.app import LiveApp


def drive(trace, keys=(), size=(100, 30), check=None, lang=None):
    """Run the app headless (in ``lang``; None: the current language), press ``keys``, then
    await ``check(app, pilot)``; returns the app."""

    async def main():
        app = LiveApp(trace, lang=lang)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            for key in keys:
                await pilot.press(key)
            await pilot.pause()
            if check is not None:
                await check(app, pilot)
        return app

    return asyncio.run(main())


def matches_snapshot(text: str, path) -> None:
    """``text`` equals the stored snapshot at ``path`` (CONVTRACE_UPDATE_SNAPSHOTS=1 rewrites
    it first: review the diff)."""
    import os

    if os.environ.get("CONVTRACE_UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), "no snapshot yet: run with CONVTRACE_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8")
