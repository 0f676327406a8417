"""A real browser signs in and out: Debian's headless Chromium (Selenium, Debian's
chromedriver: tests/support/chromium.py) drives a small relying-party app
(tests/support/relying_party.py, Authlib's OAuth2Session) that signs its user in at a real
tokenrevoke server. The app gets the code, exchanges it (PKCE), calls userinfo, and signs
the user out through /end_session; then global token revocation forces a new sign-in, and
a sign-out without id_token_hint goes through the confirmation form.

The sign-in and sign-out pages are saved as PNGs; with TOKENREVOKE_DOC_SCREENSHOTS=1 into
docs/images (the screenshots docs/sign-in.md shows), else into the test's temporary
directory. Two flows only: a browser costs seconds (CI budget).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.chromium import WINDOW, clear_cookies
from tests.support.relying_party import RelyingParty
from tests.support.server import AUTH, Server

USER, PASSWORD = "browser-alice", "a passphrase typed in a real browser"
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

Shot = Callable[[Any, str], Path]


@pytest.fixture(scope="module")
def app(server: Server) -> Iterator[RelyingParty]:
    rp = RelyingParty(server.url).start()
    try:
        server.create_user(USER, PASSWORD)
        client = server.create_client(
            "--name", "Demo app", "--grant-type", "authorization_code",
            "--grant-type", "refresh_token", "--scope", "openid", "--scope", "profile",
            "--redirect-uri", rp.redirect_uri, "--post-logout-redirect-uri", rp.post_logout_uri,
        )  # fmt: skip
        rp.client_id, rp.client_secret = client.client_id, client.secret or ""
        yield rp
    finally:
        rp.stop()


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Shot:
    folder = (
        DOC_IMAGES
        if os.environ.get("TOKENREVOKE_DOC_SCREENSHOTS") == "1"
        else tmp_path_factory.mktemp("screenshots")
    )

    def save(driver: Any, name: str) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(path))
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width = struct.unpack(">I", data[16:20])[0]  # the IHDR chunk
        assert width == WINDOW[0], width
        return path

    return save


def wait_for(driver: Any, element_id: str) -> Any:
    return WebDriverWait(driver, 15).until(seen.presence_of_element_located((By.ID, element_id)))


def session_cookie(driver: Any) -> dict[str, Any] | None:
    cookies = driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
    return next((c for c in cookies if c["name"] == "session_id"), None)


def sign_in_page(driver: Any, app: RelyingParty) -> bool:
    """Open the app's /login: True when tokenrevoke asks for the password, False when the
    browser's session signs the user straight back in to the app."""
    driver.get(f"{app.url}/login")
    WebDriverWait(driver, 15).until(
        lambda d: d.find_elements(By.ID, "password") or d.find_elements(By.ID, "hello")
    )
    return bool(driver.find_elements(By.ID, "password"))


def type_in(driver: Any, username: str, password: str) -> None:
    name = driver.find_element(By.ID, "username")
    name.clear()
    name.send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, 'button[value="signin"]').click()


def test_a_browser_signs_in_calls_userinfo_and_signs_out(
    server: Server, app: RelyingParty, chromium: Any, shot: Shot
) -> None:
    clear_cookies(chromium)
    assert sign_in_page(chromium, app)
    assert chromium.title.startswith("Sign in")
    assert chromium.switch_to.active_element.get_attribute("id") == "username"  # focus
    shot(chromium, "sign-in.png")

    type_in(chromium, USER, "not the password")
    error = wait_for(chromium, "error")
    assert error.get_attribute("role") == "alert"
    shot(chromium, "sign-in-error.png")

    chromium.find_element(By.ID, "password").send_keys(PASSWORD)
    chromium.find_element(By.CSS_SELECTOR, 'button[value="signin"]').click()
    assert wait_for(chromium, "hello").text == f"Hello {USER}"
    assert app.errors == [] and app.signed is not None
    tokens = app.signed.tokens
    assert app.signed.userinfo["preferred_username"] == USER
    assert server.active(tokens["access_token"]) and server.active(tokens["refresh_token"])
    cookie = session_cookie(chromium)
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    chromium.find_element(By.ID, "logout").click()
    wait_for(chromium, "bye")
    assert app.errors == [] and app.signed_out == 1
    assert not server.active(tokens["access_token"])
    assert not server.active(tokens["refresh_token"])
    assert session_cookie(chromium) is None
    assert sign_in_page(chromium, app)  # signed out: the password again


def test_global_revocation_and_confirmed_sign_out_in_a_browser(
    server: Server, app: RelyingParty, chromium: Any, shot: Shot
) -> None:
    clear_cookies(chromium)
    assert sign_in_page(chromium, app)
    type_in(chromium, USER, PASSWORD)
    wait_for(chromium, "hello")
    assert not sign_in_page(chromium, app)  # single sign-on while the session lives

    revoker = server.create_client("--name", "Revoker", "--scope", "global_token_revocation")
    with server.http() as http:
        answer = http.post(f"{AUTH}/global-token-revocation", auth=revoker.basic,
                           json={"sub_id": {"format": "uid", "id": USER}})  # fmt: skip
    assert answer.status_code == 204, answer.text
    assert app.signed is not None and not server.active(app.signed.tokens["access_token"])
    assert sign_in_page(chromium, app)  # the draft's rule: the password again

    # Signed in again, the user signs out without the app's id_token: asked first.
    type_in(chromium, USER, PASSWORD)
    wait_for(chromium, "hello")
    assert app.signed is not None
    access = app.signed.tokens["access_token"]
    chromium.get(
        f"{server.url}{AUTH}/end_session?client_id={app.client_id}"
        f"&post_logout_redirect_uri={app.post_logout_uri}"
    )
    button = WebDriverWait(chromium, 15).until(
        seen.element_to_be_clickable((By.CSS_SELECTOR, "button.primary"))
    )
    assert chromium.title.startswith("Sign out") and server.active(access)
    shot(chromium, "sign-out.png")
    button.click()
    WebDriverWait(chromium, 15).until(lambda d: d.current_url.startswith(app.post_logout_uri))
    assert not server.active(access) and session_cookie(chromium) is None
