"""Debian's headless Chromium, driven through selenium and chromedriver, for the page tests.

``Browser`` opens local files and reports what the page did: DOM queries (through
``js``), the console log, every network request the page made, and every ``alert``,
``confirm`` or ``prompt`` it called. It uses only the Debian packages ``chromium`` and
``chromium-driver`` at their fixed paths, so selenium never looks for, or downloads, a
browser or a driver.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.command import Command

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_HINT = "apt-get install -y chromium chromium-driver"

FLAGS = (
    "--headless=new",
    "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often give /dev/shm only 64 MB
    "--window-size=1280,1000",
    "--lang=en-US",
)

# Runs before any script of every page: records dialogs, then lets them open as usual.
_DIALOG_HOOK = """
window.__dialogs = [];
for (const name of ["alert", "confirm", "prompt"]) {
  const original = window[name];
  window[name] = function (...args) {
    window.__dialogs.push(name + ":" + String(args[0]));
    return original.apply(this, args);
  };
}
"""


class BrowserMissingError(RuntimeError):
    """Chromium or chromedriver is not installed where Debian puts them."""


class Browser:
    """One headless Chromium with a fresh profile; ``close()`` ends it and deletes the profile."""

    def __init__(self) -> None:
        missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
        if missing:
            raise BrowserMissingError(
                f"{' and '.join(missing)} not found: install Debian's packages with "
                f"`{INSTALL_HINT}`"
            )
        self._profile = Path(tempfile.mkdtemp(prefix="stream-monitor-chromium-"))
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*FLAGS, f"--user-data-dir={self._profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        # Leave dialogs open, so that an alert is seen rather than silently dismissed.
        options.unhandled_prompt_behavior = "ignore"
        service = Service(executable_path=str(CHROMEDRIVER), log_output=subprocess.DEVNULL)
        try:
            self.driver = webdriver.Chrome(options=options, service=service)
        except Exception:
            shutil.rmtree(self._profile, ignore_errors=True)
            raise
        self.driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": _DIALOG_HOOK}
        )

    def open(self, path: Path) -> None:
        """Load ``path`` as a file:// URL, forgetting the logs of earlier pages."""
        self._log("browser")
        self._log("performance")
        self.driver.get(path.resolve().as_uri())

    def js(self, script: str, *args: Any) -> Any:
        """The value of ``script``, run as a function body in the page (use ``return``)."""
        return self.driver.execute_script(script, *args)

    def console(self) -> list[dict[str, Any]]:
        """Console and page-error entries since the last call: ``level``, ``message``, ..."""
        return self._log("browser")

    def requests(self) -> list[str]:
        """URLs of every request the browser sent since the last call, the page itself included."""
        urls = []
        for entry in self._log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
            elif message["method"] == "Network.webSocketCreated":
                urls.append(message["params"]["url"])
        return urls

    def dialogs(self) -> list[str]:
        """``"alert:<message>"`` (or confirm, prompt) for each dialog the page opened.

        An open dialog is dismissed first, since it blocks every other command.
        """
        opened = []
        while True:
            try:
                alert = self.driver.switch_to.alert
            except NoAlertPresentException:
                break
            opened.append(f"open:{alert.text}")
            alert.dismiss()
        recorded: list[str] = self.js("return window.__dialogs || [];")
        # The hook sees every call; a dialog left open still counts if a page replaced the hook.
        return recorded or opened

    def screenshot(self, path: Path, *, width: int = 1280, height: int | None = None) -> None:
        """A PNG of the page at ``width`` CSS pixels, ``height`` tall or the whole page."""
        full = self.js("return document.documentElement.scrollHeight;")
        self.driver.set_window_size(width, height or int(full) + 100)
        self.driver.save_screenshot(str(path))

    def close(self) -> None:
        """Quit the browser and delete its profile."""
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)

    def _log(self, kind: str) -> list[dict[str, Any]]:
        # WebDriver.get_log has no type annotations; this is the same command, typed.
        entries: list[dict[str, Any]] = self.driver.execute(Command.GET_LOG, {"type": kind})[
            "value"
        ]
        return entries
