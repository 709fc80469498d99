"""The rendered page in a real browser: headless Chromium driven through
chromedriver's WebDriver HTTP API with the standard library only.

Needs the Debian packages `chromium` and `chromium-driver`; skipped with the
reason when they are missing. Set MCR_SCREENSHOT_DIR to keep the pages and
their screenshots (one of them a real Flickr30k photo with its gold boxes).
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mcr_spacy.visualize import render

try:
    from .test_render import FLICKR, flickr_docs, make_pair
except ImportError:  # tests/ collected without its __init__.py
    from test_visualize import FLICKR, flickr_docs, make_pair

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    "--window-size=1400,1100", "--hide-scrollbars",
]


def _chromedriver():
    for candidate in (shutil.which("chromedriver"), "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


class WebDriver:
    """The few WebDriver commands the tests need, over HTTP on localhost."""

    def __init__(self, driver_path, user_data_dir):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.proc = subprocess.Popen(
            [driver_path, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.session = None
        deadline = time.time() + 20
        while True:
            try:
                if self._call("GET", "/status").get("ready"):
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromedriver did not become ready")
            time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": str(CHROMIUM), "args": CHROMIUM_ARGS + [f"--user-data-dir={user_data_dir}"]},
        }}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode("utf8")
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                payload = json.loads(response.read().decode("utf8"))
        except urllib.error.HTTPError as err:
            payload = json.loads(err.read().decode("utf8") or "{}")
            raise RuntimeError(f"WebDriver {method} {path}: {payload.get('value', payload)}") from None
        return payload.get("value") if path != "/status" else payload.get("value", {})

    def cmd(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script, *args):
        return self.cmd("POST", "/execute/async", {"script": script, "args": list(args)})

    def find(self, css):
        value = self.cmd("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(value.values()))

    def click(self, element):
        self.cmd("POST", f"/element/{element}/click", {})

    def screenshot(self, path):
        Path(path).write_bytes(base64.b64decode(self.cmd("GET", "/screenshot")))

    def close(self):
        try:
            if self.session:
                self.cmd("DELETE", "")
        except Exception:
            pass
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.is_file():
        pytest.skip(f"headless browser test: {CHROMIUM} is missing (install the Debian packages chromium and chromium-driver)")
    driver = _chromedriver()
    if driver is None:
        pytest.skip("headless browser test: chromedriver is missing (install the Debian package chromium-driver)")
    try:
        wd = WebDriver(driver, tmp_path_factory.mktemp("chromium-profile"))
    except Exception as err:
        pytest.skip(f"headless browser test: could not start Chromium through chromedriver: {err}")
    yield wd
    wd.close()


def _keep(wd, tmp_path, name, page):
    """Screenshot the browser; with MCR_SCREENSHOT_DIR set, keep the screenshot
    and the page there to look at."""
    path = tmp_path / name
    wd.screenshot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keep = os.environ.get("MCR_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
        shutil.copy(page, Path(keep) / page.name)


BOX_STATE = """
var r = document.querySelector(arguments[0]);
var b = r.getBBox(), c = r.getBoundingClientRect(), s = getComputedStyle(r);
return {cls: r.getAttribute('class'), w: b.width, h: b.height, cw: c.width, ch: c.height,
        display: s.display, stroke: s.stroke, width: s.strokeWidth, opacity: s.opacity};
"""


def test_boxes_drawn_and_click_highlights(browser, tmp_path):
    doc, gold = make_pair()
    page = tmp_path / "view.html"
    page.write_text(render(doc, gold=gold), encoding="utf8")
    browser.get(page.as_uri())
    assert browser.js("return document.title") == "Image demo<1>"
    c1 = '.panel-pred rect.box-cluster[data-c="pred-c1"]:not(.box-refined)'
    c2 = '.panel-pred rect.box-cluster[data-c="pred-c2"]:not(.box-refined)'
    before = browser.js(BOX_STATE, c1)
    assert before["w"] == pytest.approx(190) and before["h"] == pytest.approx(380)
    assert before["cw"] > 10 and before["ch"] > 10 and before["display"] != "none"
    assert "hl" not in before["cls"].split()
    # click "He" (cluster 1): its cluster's box is highlighted, cluster 2's is not
    browser.click(browser.find('.panel-pred .mention[data-c="pred-c1"]:not(.fragment)'))
    after1, other1 = browser.js(BOX_STATE, c1), browser.js(BOX_STATE, c2)
    assert "hl" in after1["cls"].split() and "hl" not in other1["cls"].split()
    assert float(after1["width"].rstrip("px")) > float(before["width"].rstrip("px"))
    assert float(other1["opacity"]) < 0.5
    _keep(browser, tmp_path, "view-clicked.png", page)
    # clicking a mention of cluster 2 moves the highlight
    browser.click(browser.find('.panel-pred .mention[data-c="pred-c2"]'))
    after2, other2 = browser.js(BOX_STATE, c2), browser.js(BOX_STATE, c1)
    assert "hl" in after2["cls"].split() and "hl" not in other2["cls"].split()
    # the gold box of the same chain lights up too, and the mention's own box is selected
    gold_hl = browser.js("return document.querySelectorAll('.panel-gold rect.box-gold.hl').length")
    assert gold_hl == 1
    sel = browser.js("return Array.from(document.querySelectorAll('.panel-pred rect.sel')).map(r => r.getAttribute('data-m'))")
    assert sel and all(m == sel[0] for m in sel)
    # Escape clears the selection
    browser.js("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))")
    assert browser.js("return document.querySelectorAll('.hl').length") == 0


def test_real_photo_in_browser(browser, tmp_path):
    if not (FLICKR / "1016887272.jpg").is_file() or not (FLICKR / "phrase_boxes_test.json").is_file():
        pytest.skip(f"the Flickr30k sample is not at {FLICKR}")
    doc, gold, boxes = flickr_docs()
    page = tmp_path / "flickr.html"
    page.write_text(render(doc, FLICKR / "1016887272.jpg", gold=gold), encoding="utf8")
    browser.get(page.as_uri())
    size = browser.js_async(
        "var done = arguments[0], img = new Image();"
        "img.onload = function(){ done([img.naturalWidth, img.naturalHeight]); };"
        "img.onerror = function(){ done(null); };"
        "img.src = document.querySelector('svg image').getAttribute('href');"
    )
    assert size == [333, 500]
    drawn = browser.js(
        "return Array.from(document.querySelectorAll('.panel-gold rect.box-gold')).map(function(r){"
        "var c = r.getBoundingClientRect(); return [r.classList.contains('singleton'), c.width > 0 && c.height > 0,"
        " getComputedStyle(r).display];});"
    )
    assert len(drawn) == len({tuple(b[0]) for b in boxes.values()})
    # chains' boxes are drawn; a singleton's box waits for a click or the "singleton boxes" switch
    assert all(ok and display != "none" for single, ok, display in drawn if not single)
    assert all(display == "none" for single, ok, display in drawn if single)
    browser.click(browser.find(".panel-pred .mention.singleton"))  # a singleton shows its box on click
    shown = browser.js("return Array.from(document.querySelectorAll('.panel-pred rect.singleton.hl')).map(r => getComputedStyle(r).display)")
    assert shown and all(d != "none" for d in shown)
    _keep(browser, tmp_path, "flickr-1016887272.png", page)
