"""examples/web/ in a real headless browser: Debian's Chromium driven by Selenium.

The page is served by uvicorn on loopback, on the sandbox. The browser types a
SIRET, checks the pre-filled values and that only the missing fields are inputs,
submits with the keyboard alone, then opens the next form and checks the e-mail is
not asked again. Screenshots are saved as artefacts (the folder is printed; set
``DLNUF_ARTEFACTS`` to choose it). Without Chromium the tests skip, with the command to
install it, unless ``DLNUF_REQUIRE_BROWSER=1`` (CI), where its absence is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dlnuf
from dlnuf.forms import DC1, DC2
from webexample import ROOT, web_app

CHROMIUM = os.environ.get("DLNUF_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DLNUF_CHROMEDRIVER", "/usr/bin/chromedriver")
SNCF = "55204944776279"
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")


def _require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[dev]')")
    if not missing:
        return
    message = (f"no browser for the web example's test: {', '.join(missing)} missing; install "
               "with: apt-get install chromium chromium-driver")
    if os.environ.get("DLNUF_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def artefacts() -> Path:
    folder = Path(os.environ.get("DLNUF_ARTEFACTS", ROOT / "artefacts")) / "web"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots in {folder}", file=sys.stderr)
    return folder


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The example app on a free loopback port, over a fresh sandbox client."""
    with web_app() as app:
        yield from _serve(app)


def _serve(app: Any) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _require_browser()
    os.environ.setdefault("SE_AVOID_STATS", "true")  # Selenium: no usage statistics sent
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--lang=en-US", "--window-size=1100,2800",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def _by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def _keys() -> Any:
    from selenium.webdriver.common.keys import Keys

    return Keys


def wait_for(driver: Any, css: str, timeout: float = 20) -> Any:
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        expected_conditions.presence_of_element_located((_by().CSS_SELECTOR, css))
    )


def inputs(driver: Any) -> list[Any]:
    """The visible fields of the answers form (not its hidden form/siret inputs)."""
    found = driver.find_elements(_by().CSS_SELECTOR, "form#answers input, form#answers select")
    return [e for e in found if e.get_attribute("type") != "hidden"]


def field_names(driver: Any) -> set[str]:
    """Form fields asked, a table of rows counting as its one field (``turnover-0-end``)."""
    return {str(e.get_attribute("name")).split("-", 1)[0] for e in inputs(driver)}


def assert_every_input_is_labelled(driver: Any) -> None:
    for element in inputs(driver):
        ident = element.get_attribute("id")
        labels = driver.find_elements(_by().CSS_SELECTOR, f'label[for="{ident}"]')
        assert labels, f"input {ident} has no label"
        assert labels[0].get_attribute("textContent").strip()


def found_value(driver: Any, field: str) -> tuple[str, str]:
    cell = driver.find_element(_by().CSS_SELECTOR, f'#found td[data-field="{field}"]')
    source = cell.find_element(_by().XPATH, "following-sibling::td")
    return cell.text, source.text


def tab_to(driver: Any, css: str, limit: int = 60) -> Any:
    """Press Tab until the element matching ``css`` has the focus (keyboard only)."""
    target = driver.find_element(_by().CSS_SELECTOR, css)
    for _ in range(limit):
        if driver.switch_to.active_element == target:
            return target
        driver.switch_to.active_element.send_keys(_keys().TAB)
    raise AssertionError(f"{css} never got the focus with Tab")


def test_prefilled_form_keyboard_only_then_the_next_form_does_not_ask_again(
    site: str, browser: Any, artefacts: Path
) -> None:
    By, Keys = _by(), _keys()
    with dlnuf.Client(sources=["sandbox"], cache=None) as client:
        expected_dc2 = client.prefill(DC2, SNCF)
        expected_dc1 = client.prefill(DC1, SNCF)

    browser.get(site + "/")
    siret = wait_for(browser, "input#siret")
    assert_every_input_is_labelled_on_start(browser)
    siret.send_keys("552 049 447 76279", Keys.ENTER)  # the form chooser defaults to DC2

    wait_for(browser, "form#answers")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("DC2")
    value, source = found_value(browser, "legal_name")
    assert value == "SOCIETE NATIONALE SNCF"
    assert source.startswith("sandbox /v4/insee/sirene/etablissements/")
    assert DAY.search(source)
    shown = [e.get_attribute("data-field")
             for e in browser.find_elements(By.CSS_SELECTOR, "#found td[data-field]")]
    assert shown == list(expected_dc2.values)
    assert field_names(browser) == set(expected_dc2.missing_names)
    assert "legal_name" not in field_names(browser)
    assert_every_input_is_labelled(browser)

    # Answers typed, turnover left empty: the error is shown and tied to its field.
    browser.find_element(By.ID, "email").send_keys("marches@sncf.example")
    phone = browser.find_element(By.ID, "phone")
    phone.send_keys("+33 1 23 45 67 89", Keys.ENTER)
    error = wait_for(browser, "#error-turnover")
    assert "required" in error.text
    turnover = browser.find_element(By.ID, "turnover")
    described = turnover.get_attribute("aria-describedby").split()
    assert described == ["hint-turnover", "error-turnover"]
    hint = browser.find_element(By.ID, "hint-turnover").text
    reason = next(m.reason for m in expected_dc2.missing if m.name == "turnover")
    assert hint == f"Asked because: {reason}."  # protected data: an anonymous form asks it
    assert turnover.get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.ID, "errors").get_attribute("role") == "alert"
    assert browser.find_element(By.ID, "email").get_attribute("value") == "marches@sncf.example"

    browser.find_element(By.ID, "turnover-0-end").send_keys("12312025")
    browser.find_element(By.ID, "turnover-0-amount").send_keys("1250000")
    browser.save_screenshot(str(artefacts / "1-dc2-prefilled.png"))
    submit = tab_to(browser, "form#answers button[type=submit]")
    submit.send_keys(Keys.ENTER)
    done = wait_for(browser, "h1#done")
    assert done.text == "DC2 completed"
    assert "marches@sncf.example" in browser.page_source
    assert "2025-12-31" in browser.page_source

    # The next form: the e-mail and phone were declared once, they are not asked again.
    browser.find_element(By.LINK_TEXT, "Fill in DC1 for this company").send_keys(Keys.ENTER)
    wait_for(browser, "form#answers")
    asked = field_names(browser)
    assert "email" in expected_dc1.missing_names
    assert asked == set(expected_dc1.missing_names) - {"email", "phone"}
    value, source = found_value(browser, "email")
    assert value == "marches@sncf.example"
    assert source.startswith("declared by the company on ")
    boxes = browser.find_elements(By.CSS_SELECTOR, "form#answers input[type=checkbox]")
    assert {b.get_attribute("name") for b in boxes} == {"no_exclusion", "capacities_honest"}
    assert not any(b.is_selected() for b in boxes)  # sworn statements: never pre-ticked
    assert_every_input_is_labelled(browser)
    browser.save_screenshot(str(artefacts / "2-dc1-email-not-asked.png"))

    browser.find_element(By.ID, "applies_for").send_keys("lot 2")
    for box in boxes:
        box.send_keys(Keys.SPACE)  # ticked with the keyboard
    assert all(b.is_selected() for b in boxes)
    tab_to(browser, "form#answers button[type=submit]").send_keys(Keys.ENTER)
    assert wait_for(browser, "h1#done").text == "DC1 completed"


def assert_every_input_is_labelled_on_start(driver: Any) -> None:
    for ident in ("form", "siret"):
        assert driver.find_elements(_by().CSS_SELECTOR, f'label[for="{ident}"]')


def test_a_bad_siret_shows_the_reason_tied_to_the_input(
    site: str, browser: Any, artefacts: Path
) -> None:
    By, Keys = _by(), _keys()
    browser.get(site + "/")
    wait_for(browser, "input#siret").send_keys("552 049 447 76278", Keys.ENTER)
    error = wait_for(browser, "#error-siret")
    assert "checksum" in error.text
    assert error.get_attribute("role") == "alert"
    siret = browser.find_element(By.ID, "siret")
    assert siret.get_attribute("aria-describedby") == "error-siret"
    assert siret.get_attribute("aria-invalid") == "true"
    assert siret.get_attribute("value") == "552 049 447 76278"  # what was typed, kept
    browser.save_screenshot(str(artefacts / "3-bad-siret.png"))
