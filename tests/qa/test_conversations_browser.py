"""Headless Chromium: two turns of one conversation in the UI (the second resolved against the first, with
"Searched for" shown), a thumbs-down stored with the turn, a new conversation, the earlier one reopened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa.conversations import ConversationStore
from tests.qa.test_ui_browser import ARGS, CHROMIUM, running_ui

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    home = tmp_path_factory.mktemp("conv-ui-home")
    with running_ui(home, GROUNDQA_GENERATOR="extractive") as url:
        yield url, home


def test_two_turns_searched_for_and_thumbs_down(app, tmp_path):
    url, home = app
    assert Path(CHROMIUM).exists(), "install Debian chromium (make browser)"
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        ask = page.get_by_role("button", name="Ask", exact=True)
        page.get_by_label("Question").fill("How did the US vote?")
        ask.click()
        expect(page.locator("#sources .gq-source").first).to_be_visible(timeout=180_000)
        page.get_by_label("Question").fill("And on its own resolution?")
        ask.click()
        searched = page.locator("#chat .gq-searched")
        expect(searched).to_have_count(1, timeout=120_000)
        expect(searched).to_contain_text("Searched for: How did the US vote on its own resolution?")
        expect(page.locator("#sources mark").first).to_contain_text("abstain")
        page.screenshot(path=str(tmp_path / "conversation.png"), full_page=True)
        shot = os.environ.get("QA_CONVERSATION_SCREENSHOT")
        if shot:
            page.screenshot(path=shot, full_page=True)

        page.locator("#chat button[aria-label='Dislike']").last.click()
        expect(page.locator("#rated")).to_contain_text("rating is saved", timeout=30_000)
        store = ConversationStore(home / "conversations.sqlite3")
        rated = store.rated()
        assert [(t.question, t.rating) for _, t in rated] == [("And on its own resolution?", -1)]

        page.get_by_role("button", name="New conversation").click()
        expect(page.locator("#chat .gq-searched")).to_have_count(0, timeout=30_000)
        page.locator("#earlier input").click()
        page.get_by_role("option").first.click()
        expect(page.locator("#chat .gq-searched")).to_contain_text("How did the US vote on its own resolution?",
                                                                   timeout=30_000)
        browser.close()
