"""The HTML report in a real browser: Debian's headless Chromium driven by chromedriver.

The IRQ-mid-init sample (samples/rtos-step/irq-mid-init.log: the net task enables IRQ 48
at 0.020 s while virtio-blk0 is still at DRIVER) is opened as a user would open the file;
the checks read the rendered DOM (positions on the page, tooltips), not the HTML text.
``.ci/run`` installs chromium and chromium-driver when missing; where they cannot be
installed the test is skipped and says why. Set VIRTIODIAG_SCREENSHOT=PATH to also write
the screenshot there (docs/html-report.png is made that way).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import REPO, SAMPLES, invoke_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
IRQ_MID_INIT = SAMPLES / "rtos-step" / "irq-mid-init.log"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="selenium (the test extra) is not installed")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("Debian's chromium and chromium-driver are not installed "
                    "(.ci/run installs them as root on Debian)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def box(driver, element) -> dict:
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,"
        "        x: (r.left + r.right) / 2, y: (r.top + r.bottom) / 2};", element)


def test_irq_mid_init_sample_in_headless_chromium(browser, tmp_path, monkeypatch):
    from selenium.webdriver.common.by import By

    page = tmp_path / "irq-mid-init.html"
    monkeypatch.chdir(REPO)  # the page names the log as the README's command does
    proc = invoke_cli("analyze", "--format", "html", "-o", page,
                      IRQ_MID_INIT.relative_to(REPO))
    assert proc.returncode == 1  # the finding is an error
    browser.get(page.as_uri())
    browser.get_log("performance")  # drain: only what the page itself asks for counts below
    browser.refresh()

    # Nothing fetched: the only request is the file itself.
    requests = [json.loads(entry["message"])["message"] for entry in browser.get_log("performance")]
    urls = [m["params"]["request"]["url"] for m in requests
            if m["method"] == "Network.requestWillBeSent"]
    assert urls == [page.as_uri()], urls
    assert browser.execute_script(
        "return performance.getEntriesByType('resource').length") == 0

    # One lane per device that was driven (the empty slots are in the table only).
    groups = browser.find_elements(By.CSS_SELECTOR, "svg.lanes")
    assert [g.get_attribute("data-axis") for g in groups] == ["time"]
    lanes = {lane.get_attribute("data-device"): lane
             for lane in browser.find_elements(By.CSS_SELECTOR, "svg.lanes g.lane")}
    assert list(lanes) == ["virtio-net0", "virtio-blk0"]
    bands = {name: box(browser, lane.find_element(By.CSS_SELECTOR, "line.lane-sep"))
             for name, lane in lanes.items()}
    assert bands["virtio-net0"]["y"] < bands["virtio-blk0"]["y"]

    # Phase segments: the handshake's phases in order, left to right, inside their lane.
    phases = {}
    for name, lane in lanes.items():
        rects = lane.find_elements(By.CSS_SELECTOR, "rect.phase")
        phases[name] = {r.get_attribute("data-phase"): box(browser, r) for r in rects}
        assert [r.get_attribute("data-phase") for r in rects] == [
            "RESET", "ACKNOWLEDGE", "DRIVER", "FEATURES_OK", "DRIVER_OK"], name
        lefts = [phases[name][p]["left"] for p in phases[name]]
        assert lefts == sorted(lefts), name
        top = browser.execute_script("return arguments[0].getBoundingClientRect().top", lane)
        for rect in phases[name].values():
            assert top <= rect["top"] and rect["bottom"] <= bands[name]["y"] + 1
    # virtio-blk0 starts its handshake after virtio-net0 has begun queue set-up
    assert phases["virtio-blk0"]["RESET"]["left"] > phases["virtio-net0"]["FEATURES_OK"]["left"]

    # The shaded mid-init window, and IRQ 48's enable mark inside it, at its place: after
    # virtio-net0 reached DRIVER_OK, while virtio-blk0 was still at DRIVER.
    [window] = browser.find_elements(By.CSS_SELECTOR, "rect.init-window")
    shade = box(browser, window)
    irq48 = box(browser, lanes["virtio-net0"].find_element(
        By.CSS_SELECTOR, 'path.mark-irq-enable[data-irq="48"]'))
    assert shade["left"] < irq48["x"] < shade["right"]
    assert phases["virtio-net0"]["DRIVER_OK"]["left"] <= irq48["x"] + 1
    blk = phases["virtio-blk0"]
    assert blk["DRIVER"]["left"] < irq48["x"] < blk["FEATURES_OK"]["left"]
    # ... and IRQ 50's, after every device reached DRIVER_OK, outside it.
    irq50 = box(browser, lanes["virtio-blk0"].find_element(
        By.CSS_SELECTOR, 'path.mark-irq-enable[data-irq="50"]'))
    assert irq50["x"] > shade["right"] >= blk["DRIVER_OK"]["left"] - 1

    # The finding's marker: in virtio-blk0's lane, above IRQ 48's enable; its tooltip is
    # the message and the evidence line; it links to the finding's excerpt.
    marker = lanes["virtio-blk0"].find_element(By.CSS_SELECTOR, 'g.finding[data-rule="VD007"]')
    where = box(browser, marker)
    assert abs(where["x"] - irq48["x"]) < 2
    assert bands["virtio-net0"]["y"] < where["y"] < bands["virtio-blk0"]["y"]
    tooltip = marker.find_element(By.TAG_NAME, "title").get_attribute("textContent")
    assert tooltip.startswith("VD007 irq-enabled-mid-init: IRQ 48 enabled while virtio-blk0 "
                              "was initialising")
    assert tooltip.endswith("line 29: BSP_IntSrcEn(irq=48)")
    link = browser.execute_script("return arguments[0].parentNode.getAttribute('href')", marker)
    target = browser.find_element(By.CSS_SELECTOR, link)
    assert "BSP_IntSrcEn(irq=48)" in target.text and "VD007" in target.text

    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if os.environ.get("VIRTIODIAG_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["VIRTIODIAG_SCREENSHOT"])
