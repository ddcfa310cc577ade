"""Headless Chromium against the real app: type a question, click Ask, see the answer and its sources."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_ui(home: Path, **env_vars: str):
    """`qa ui --seed seeds/` on a free loopback port with its own home; yields the URL, stops it after."""
    port = free_port()
    env = {**os.environ, "GROUNDQA_HOME": str(home), **env_vars}
    log = open(home / "app.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "ui", "--seed", str(ROOT / "seeds"), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited: {(home / 'app.log').read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError(f"app did not start: {(home / 'app.log').read_text()}")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_ui(tmp_path_factory.mktemp("ui-home")) as url:
        yield url


def test_ask_in_the_browser(app_url, tmp_path):
    assert Path(CHROMIUM).exists(), "install Debian chromium (make browser)"
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(app_url)
        page.get_by_label("Question").fill("How did the US vote?")
        page.get_by_role("button", name="Ask").click()
        sources = page.locator("#sources .gq-source")
        expect(sources.first).to_be_visible(timeout=180_000)
        expect(sources.first.locator("mark")).to_contain_text("voting against it")
        bot = page.locator(".message-row, .bot, [data-testid='bot']").last
        expect(bot).to_contain_text("against", timeout=10_000)
        page.screenshot(path=str(tmp_path / "ui.png"), full_page=True)
        shot = os.environ.get("QA_SCREENSHOT")
        if shot:
            page.screenshot(path=shot, full_page=True)
        browser.close()
