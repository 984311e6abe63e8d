"""The bridge's web page in a real browser: Debian's chromium, headless, driven by selenium/chromedriver.

Chromium runs in pytest's own namespace (the controller side of the test's veth pair, which has no route
anywhere else) and loads the page from the bridge's API address on the dev side, like a phone on the home
network would. Flags keep it from calling home (no background networking, sync, component updates, QUIC).

One scenario, as a user would go through it: log in with the token, see the QR code and the manual code,
pair a controller with that code, toggle a light on the page and see the controller's subscription report
it, switch the light from Matter and see the page follow without a reload, open the window for another
controller and pair it with the code the page shows, remove that controller from the page and see it lose
access. Screenshots of each page go to <run dir>/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

from hbe2e.api import Api, token_for_port
from hbe2e.controller import Clusters, ControllerError
from hbe2e.hubbridge import config_toml

pytestmark = pytest.mark.hubbridge

API_PORT = 8080
OnOff = Clusters.OnOff.Attributes.OnOff

DEVICES = [
    dict(id="kitchen-light", kind="dimmable_light", name="Kitchen light", room="Kitchen",
         state=dict(on=False, brightness=100)),
    dict(id="front-lock", kind="door_lock", name="Front door lock", state=dict(lock_state="locked")),
    dict(id="hall-temp", kind="temperature_sensor", name="Hall temperature", state=dict(temperature=20.5)),
]

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(device_dir):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium / chromedriver not installed (tests/e2e/install.sh installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_AVOID_STATS"] = "true"  # selenium manager: no usage statistics
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
                 "--window-size=420,1600", f"--user-data-dir={os.path.join(device_dir, 'chromium-profile')}"):
        opts.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=os.path.join(device_dir, "chromedriver.log"))
    driver = webdriver.Chrome(options=opts, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait(what: str, check, timeout: float = 20.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # a stale element while the page re-renders, a missing one before it does
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last error: {last!r})")
        time.sleep(every)


def test_web_page_pairs_controls_and_manages_controllers(hubbridge, sandbox, device_dir, browser, controller,
                                                         new_controller, timings):
    from selenium.webdriver.common.by import By

    shots = os.path.join(sandbox.run_dir, "screenshots")
    os.makedirs(shots, exist_ok=True)

    def shot(name: str) -> None:
        browser.save_screenshot(os.path.join(shots, f"web-{name}.png"))

    # A connector that never connects (nothing listens on port 9), trusting a CA that expires in 10 days: the
    # page's connector card and certificate list have something to show.
    ca = os.path.join(device_dir, "home-ca.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", os.path.join(device_dir, "home-ca.key"), "-out", ca, "-days", "10",
                    "-subj", "/O=Home/CN=home broker CA"], check=True, capture_output=True)
    connector = "\n".join(["[[connectors]]", 'type = "mqtt"', 'name = "far"', 'host = "127.0.0.1"', "port = 9",
                           "[connectors.tls]", f'ca_file = "{ca}"']) + "\n"
    cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="hubbridge web",
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=DEVICES, extra=connector)
    dev = hubbridge(cfg)
    codes = dev.pairing_codes()
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    base = api.root + "/"

    # The shell loads without a token and carries a strict CSP; data never does.
    status, headers, text = Api(sandbox.pair.dev_addr6, API_PORT, token="").raw("GET", base)
    assert status == 200 and "<script src=\"/app.js\"" in text
    csp = {k.lower(): v for k, v in headers.items()}["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp, csp
    assert Api(sandbox.pair.dev_addr6, API_PORT, token="").call("GET", "/fabrics")[0] == 401

    t0 = time.monotonic()
    browser.get(base)
    shot("1-login")
    browser.find_element(By.ID, "token").send_keys("not-the-token")
    browser.find_element(By.CSS_SELECTOR, "#login button").click()
    wait("the wrong token refused", lambda: "not accepted" in browser.find_element(By.ID, "login-error").text)
    token_input = browser.find_element(By.ID, "token")
    token_input.clear()
    token_input.send_keys(token_for_port(API_PORT))
    browser.find_element(By.CSS_SELECTOR, "#login button").click()

    # Unpaired: the QR code (an SVG the bridge drew) and the manual code the bridge printed.
    wait("the QR code", lambda: browser.execute_script(
        "const i = document.getElementById('qr'); return i.complete && i.naturalWidth > 0;"))
    manual = browser.find_element(By.ID, "manual-code").text
    assert manual.replace("-", "") == codes.manual.replace("-", ""), (manual, codes.manual)
    wait("the devices", lambda: len(browser.find_elements(By.CSS_SELECTOR, "article.device")) == len(DEVICES))
    timings.add("web: log in to QR code and devices", time.monotonic() - t0)
    shot("2-unpaired")

    # Pair with the code as the page shows it.
    node = controller.commission(manual)
    wait("the page to show the paired controller", lambda: len(
        browser.find_elements(By.CSS_SELECTOR, "#fabrics tr")) == 1, timeout=15)
    fabrics = api.call("GET", "/fabrics", expect=200)[1]["fabrics"]
    assert [f["fabric_index"] for f in fabrics] == [1] and fabrics[0]["node_id"] == node, fabrics
    shot("3-paired")

    light_ep = api.device("kitchen-light")["endpoint"]
    sub = controller.subscribe(node, [(light_ep, OnOff)], min_interval=0, max_interval=5)
    toggle = f"article[data-id='kitchen-light'] button[data-field='on']"
    browser.execute_script("window.hbMarker = 'no reload';")

    # Page → Matter: the controller's subscription reports the light on.
    seen = sub.mark()  # the report may arrive before click() returns
    browser.find_element(By.CSS_SELECTOR, toggle).click()
    sub.wait_for(light_ep, OnOff, True, timeout=10, since=seen)
    wait("the page to show the light on",
         lambda: browser.find_element(By.CSS_SELECTOR, toggle).get_attribute("aria-pressed") == "true")

    # Matter → page, live (no reload: the marker survives).
    controller.invoke(node, light_ep, Clusters.OnOff.Commands.Off())
    wait("the page to follow the controller's Off",
         lambda: browser.find_element(By.CSS_SELECTOR, toggle).get_attribute("aria-pressed") == "false")
    assert browser.execute_script("return window.hbMarker;") == "no reload"
    state_text = browser.find_element(By.CSS_SELECTOR, "article[data-id='kitchen-light'] [data-role='state']").text
    assert state_text.startswith("off"), state_text
    browser.find_element(By.ID, "devices").location_once_scrolled_into_view
    shot("4-devices")

    # Pair another controller with the code the page shows.
    browser.find_element(By.ID, "pair-another").click()
    wait("the window's code", lambda: browser.find_element(By.ID, "window-code").text.strip())
    code2 = browser.find_element(By.ID, "window-code").text.strip()
    left = browser.find_element(By.ID, "window-left").text
    assert "min" in left, left
    wait("the window's QR code", lambda: browser.execute_script(
        "const i = document.getElementById('window-qr'); return i.complete && i.naturalWidth > 0;"))
    shot("5-pair-another")
    beta = new_controller("beta-web")
    node2 = beta.commission(code2)
    assert beta.read_attribute(node2, light_ep, OnOff) is False
    wait("two controllers listed", lambda: len(browser.find_elements(By.CSS_SELECTOR, "#fabrics tr")) == 2,
         timeout=15)
    shot("6-two-controllers")

    # Remove the second one from the page (after confirming).
    second = [f for f in api.call("GET", "/fabrics", expect=200)[1]["fabrics"] if f["node_id"] == node2]
    assert len(second) == 1, second
    index = second[0]["fabric_index"]
    browser.find_element(By.CSS_SELECTOR, f"#fabrics tr[data-fabric='{index}'] button").click()
    alert = wait("the confirmation", lambda: browser.switch_to.alert)
    assert "Remove controller" in alert.text
    alert.accept()
    wait("one controller listed", lambda: len(browser.find_elements(By.CSS_SELECTOR, "#fabrics tr")) == 1)
    assert [f["fabric_index"] for f in api.call("GET", "/fabrics", expect=200)[1]["fabrics"]] == [1]
    shot("7-removed")

    # The removed controller can no longer read; the first one still controls the light.
    try:
        value = beta.read_attribute(node2, light_ep, OnOff, timeout=15)
    except ControllerError:
        value = "refused"
    assert value is not False and value is not True, f"the removed controller still reads OnOff: {value!r}"
    seen = sub.mark()  # the report may arrive before the invoke response (it did: 1 run in 6)
    controller.invoke(node, light_ep, Clusters.OnOff.Commands.On())
    sub.wait_for(light_ep, OnOff, True, timeout=10, since=seen)

    browser.find_element(By.ID, "health").location_once_scrolled_into_view
    # The connector's card says it is not connected; the CA's expiry is listed as a warning.
    wait("the connector card saying 'not connected'",
         lambda: browser.find_elements(By.CSS_SELECTOR, '[data-connector="far"] .badge.bad'))

    def cert_entry():
        e = browser.find_element(By.CSS_SELECTOR, f'[data-cert="{ca}"]')
        return e.get_attribute("data-status"), e.get_attribute("class"), e.text
    status, cls, text = wait("the CA's entry in the certificate list", cert_entry)
    assert status == "expires_soon" and cls == "error", (status, cls, text)
    assert re.fullmatch(r"CN=home broker CA,O=Home \(connector far: tls\.ca_file\): expires in (9|10) days \(\S+Z\)",
                        text), text
    shot("8-health")


def log_in(browser, base: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(base)
    browser.find_element(By.ID, "token").send_keys(token_for_port(API_PORT))
    browser.find_element(By.CSS_SELECTOR, "#login button").click()


def test_web_page_shows_every_node_and_pairs_the_one_picked(hubbridge, sandbox, device_dir, browser, new_controller):
    """Several Matter nodes (issue 14): the page lists each node with its pairing state, switches the pairing
    panel to the node picked (its own QR code and manual code), and after a controller pairs that node with the
    code from the page, shows it paired while the other node stays unpaired."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    shots = os.path.join(sandbox.run_dir, "screenshots")
    os.makedirs(shots, exist_ok=True)
    nodes = '\n[[nodes]]\nid = "kitchen"\nname = "Kitchen bridge"\nport = 5541\nrooms = ["Kitchen"]\n'
    cfg = config_toml(os.path.join(device_dir, "state"), interface=sandbox.pair.dev_if, name="Hall bridge",
                      api_listen=f"[{sandbox.pair.dev_addr6}]:{API_PORT}", devices=DEVICES, extra=nodes)
    hubbridge(cfg)
    api = Api(sandbox.pair.dev_addr6, API_PORT)
    main_code = api.call("GET", "/pairing", expect=200)[1]["manual_code"]
    kitchen_code = api.call("GET", "/nodes/kitchen/pairing", expect=200)[1]["manual_code"]
    log_in(browser, api.root + "/")

    def row(node: str) -> list[str]:
        return [c.text for c in browser.find_elements(By.CSS_SELECTOR, f"#nodes tr[data-node='{node}'] > *")]

    wait("both nodes listed", lambda: row("main") and row("kitchen"))
    assert row("main") == ["Hall bridge (main)", "5540", "2", "Not paired; open for pairing"], row("main")
    assert row("kitchen") == ["Kitchen bridge (kitchen)", "5541", "1", "Not paired; open for pairing"], row("kitchen")
    # The panel starts on the main node...
    wait("the main node's code", lambda: browser.find_element(By.ID, "manual-code").text == main_code)
    # ...and shows the kitchen node's own code and QR code once picked.
    Select(browser.find_element(By.ID, "node")).select_by_value("kitchen")
    wait("the kitchen node's code", lambda: browser.find_element(By.ID, "manual-code").text == kitchen_code)
    wait("its QR code", lambda: browser.execute_script(
        "const i = document.getElementById('qr'); return i.complete && i.naturalWidth > 0;"))
    assert browser.find_element(By.ID, "pairing-state").text == "Node kitchen: Not paired yet."
    browser.save_screenshot(os.path.join(shots, "web-nodes-1-unpaired.png"))

    kitchen_ctl = new_controller("web-kitchen")
    node = kitchen_ctl.commission(browser.find_element(By.ID, "manual-code").text)
    wait("the kitchen node paired on the page", lambda: row("kitchen")[3] == "Paired with 1 controller", timeout=15)
    assert row("main")[3] == "Not paired; open for pairing"
    wait("the kitchen node's controller listed", lambda: len(browser.find_elements(By.CSS_SELECTOR, "#fabrics tr")) == 1)
    assert api.call("GET", "/nodes/kitchen/fabrics", expect=200)[1]["fabrics"][0]["node_id"] == node
    assert api.call("GET", "/fabrics", expect=200)[1]["fabrics"] == []
    browser.save_screenshot(os.path.join(shots, "web-nodes-2-kitchen-paired.png"))
