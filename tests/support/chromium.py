"""A real browser for the suite: Debian's headless Chromium driven by Selenium through
Debian's chromedriver (`apt-get install chromium chromium-driver`; .ci/run installs them).
(tests/support/browser.py is another thing: an httpx client that fills in forms.)

Nothing is ever downloaded: the browser binary and the driver are given by path, so
Selenium Manager has nothing to look up (and SE_OFFLINE tells it not to try). Tests that
use the `chromium` fixture are marked `browser` (tests/conftest.py) and skip with the reason
where Chromium is missing, except under TOKENREVOKE_REQUIRE_SERVICES=1, where they fail.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("TOKENREVOKE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("TOKENREVOKE_CHROMEDRIVER", "/usr/bin/chromedriver"))
INSTALL_HINT = "Debian: apt-get install -y chromium chromium-driver"
WINDOW = (900, 760)  # the size of screenshots kept in docs/images


@functools.cache
def browser_problem() -> str | None:
    """None when Chromium and its driver are here and run; else why not."""
    try:
        import selenium  # noqa: F401  (a dev dependency)
    except ImportError as exc:
        return f"selenium does not import ({exc}); install the dev dependencies"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing ({INSTALL_HINT})"
    try:
        done = subprocess.run(
            [str(CHROMEDRIVER), "--version"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{CHROMEDRIVER} does not run: {exc}"
    if done.returncode != 0:
        return f"{CHROMEDRIVER} --version failed: {done.stderr.strip()[:200]}"
    return None


def start_chromium() -> Any:
    """A headless Chromium session (selenium's WebDriver). The caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    arguments = [
        "--headless=new",
        "--disable-dev-shm-usage",  # /dev/shm is small in containers
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",  # no calls home while a test runs
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ]
    if os.geteuid() == 0:
        # Chromium refuses to run as root with its sandbox (CI runs as root in a container).
        arguments.append("--no-sandbox")
    for argument in arguments:
        options.add_argument(argument)
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


def clear_cookies(driver: Any) -> None:
    """Forget every cookie of every site (a new browser profile, as far as sign-in goes):
    WebDriver's delete_all_cookies clears only the current page's site."""
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module (starting one takes a second or two); tests
    clear its cookies when they need a fresh start (`clear_cookies`)."""
    problem = browser_problem()
    if problem is not None:  # the marker's check runs first; this guards direct use
        pytest.skip(f"browser unavailable: {problem}")
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()
