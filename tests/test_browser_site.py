"""The internal site in a real browser: what a rep does before a call, at phone and desktop width.

Headless Chromium (Debian's ``chromium``, driven through Debian's ``chromedriver`` by Selenium,
no browser download) opens the bundled example's site served from 127.0.0.1: the home page, the
search box, the accounts index, a topic's Atom feed. Screenshots are kept under the test's
temporary folder (the path is printed: run with ``-s`` to see it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from conftest import copy_example, run_kb, serve_folder
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.browser,
    # CI installs both (.ci/run), so there a missing browser fails instead of skipping.
    pytest.mark.skipif(
        (CHROMIUM is None or CHROMEDRIVER is None) and not os.environ.get("CI"),
        reason="chromium and chromedriver are not installed",
    ),
]
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic", "--hide-scrollbars", "--window-size=1280,900",
)  # fmt: skip
WIDTHS = (375, 1280)
NOTE = "Detention costs carriers $1.1B a year"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The example's site, built by ``kb build``, on a loopback HTTP server."""
    root = tmp_path_factory.mktemp("site-browser")
    project = copy_example(root / "project")
    result = run_kb("--project", project, "build")
    assert result.exit_code == 0, result.stderr
    with serve_folder(project / "site") as url:
        yield url, root


@pytest.fixture(scope="module")
def browser(site: tuple[str, Path]) -> Iterator[WebDriver]:
    _, root = site
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={root / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def at_width(driver: WebDriver, width: int) -> None:
    """A viewport of exactly ``width`` CSS pixels (a phone is narrower than any headless window)."""
    metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def wait_for(driver: WebDriver, css: str, text: str = "") -> WebElement:
    """The first shown element matching ``css`` whose text holds ``text``, once there is one.

    A page that renders as it goes (search results re-render on each keystroke) can replace an
    element between finding it and reading it: that poll counts as "not yet"."""

    def found(d: WebDriver) -> WebElement | bool:
        for element in d.find_elements(By.CSS_SELECTOR, css):
            if element.is_displayed() and text in element.text:
                return element
        return False

    element: WebElement = patient(driver).until(found)
    return element


def click(driver: WebDriver, css: str, text: str = "") -> None:
    """Click what :func:`wait_for` finds, finding it again if the page replaced it meanwhile."""
    patient(driver).until(lambda d: wait_for(d, css, text).click() is None)


def patient(driver: WebDriver) -> WebDriverWait[WebDriver]:
    """A 30 s wait for which an element the page replaced means "not yet"."""
    return WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))


def fits(driver: WebDriver) -> None:
    scroll, client = driver.execute_script(
        "var r = document.documentElement; return [r.scrollWidth, r.clientWidth];"
    )
    assert scroll <= client, f"horizontal scroll: {scroll}px of content in {client}px"


def visit(driver: WebDriver, width: int, url: str, heading: str) -> None:
    """Open ``url`` at ``width``; its heading shows and nothing scrolls sideways."""
    at_width(driver, width)
    driver.get(url)
    wait_for(driver, "h1", heading)
    fits(driver)


def shot(driver: WebDriver, root: Path, name: str) -> None:
    path = root / "screenshots" / f"{name}.png"
    path.parent.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 5_000, "a blank page compresses to almost nothing"
    print(f"screenshot: {path}")


@pytest.mark.parametrize("width", WIDTHS)
def test_search_finds_a_note_by_its_title(
    site: tuple[str, Path], browser: WebDriver, width: int
) -> None:
    url, root = site
    visit(browser, width, f"{url}/index.html", "Northbeam Sales Insights")
    if width < 600:  # on a phone the search box opens from the header's magnifier
        browser.find_element(By.CSS_SELECTOR, "label.md-header__button[for='__search']").click()
    box = wait_for(browser, "input.md-search__input")
    box.send_keys(NOTE)
    wait_for(browser, "a.md-search-result__link", NOTE)
    shot(browser, root, f"search-{width}")
    click(browser, "a.md-search-result__link", NOTE)
    wait_for(browser, "h1", NOTE)
    assert "/notes/detention-cost-conversation.html" in browser.current_url
    fits(browser)


@pytest.mark.parametrize("width", WIDTHS)
def test_an_account_page_from_the_accounts_index(
    site: tuple[str, Path], browser: WebDriver, width: int
) -> None:
    url, root = site
    visit(browser, width, f"{url}/accounts/index.html", "Accounts")
    wait_for(browser, "article a", "Trucking & Logistics").click()
    wait_for(browser, "h1", "Trucking & Logistics")
    wait_for(browser, "article a", "Ridgeline Freight").click()
    wait_for(browser, "h1", "Ridgeline Freight")
    reason = wait_for(browser, "article li", "what you told us is a priority")
    assert reason.is_displayed()
    item_links = [
        a
        for a in browser.find_elements(By.CSS_SELECTOR, "article li a[href^='https://']")
        if a.is_displayed()
    ]
    assert item_links, "the items to send are on screen"
    fits(browser)
    left, right = browser.execute_script(
        "var r = document.querySelector('.md-sidebar--primary').getBoundingClientRect();"
        "return [r.left, r.right];"
    )
    on_screen = right > 0 and left < width
    assert on_screen == (width >= 1220), "the navigation is a drawer on a phone, aside on a desk"
    shot(browser, root, f"account-{width}")


def test_a_topic_feed_link_leads_to_a_valid_feed(
    site: tuple[str, Path], browser: WebDriver
) -> None:
    url, root = site
    at_width(browser, 1280)
    browser.get(f"{url}/topics/driver-workforce.html")
    wait_for(browser, "h1", "Driver recruiting & retention")
    alternates = browser.find_elements(
        By.CSS_SELECTOR, "head link[rel='alternate'][type='application/atom+xml']"
    )
    assert {a.get_attribute("href") for a in alternates} == {
        f"{url}/atom/newsletter.xml",
        f"{url}/atom/topics/driver-workforce.xml",
    }
    wait_for(browser, "article a", "Follow this topic").click()
    WebDriverWait(browser, 30).until(ec.url_to_be(f"{url}/atom/topics/driver-workforce.xml"))
    assert "Nearly half of departing drivers quit within 90 days" in browser.page_source
    shot(browser, root, "topic-feed")
    feed = feedparser.parse(f"{url}/atom/topics/driver-workforce.xml")
    assert feed.bozo == 0 and feed.entries
