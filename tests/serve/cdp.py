"""Headless Chromium driven over the DevTools protocol, standard library only.

Just enough of RFC 6455 (client-masked text frames, 16/64-bit lengths,
continuation frames) to send CDP commands and read their answers; the
``websockets`` and ``playwright`` packages are not project dependencies.
"""

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
# Generous for a loaded 2-core CI machine: starting Chromium, and any page wait.
STARTUP_S = 60
WAIT_S = 120


class WebSocket:
    """A blocking WebSocket client for one ``ws://127.0.0.1:PORT/path``."""

    def __init__(self, url, timeout=30):
        host_port, path = url.removeprefix("ws://").split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("DevTools closed the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"DevTools refused the WebSocket: {head[:200]!r}")

    def _exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return data

    def send(self, text):
        payload = text.encode()
        head = bytes([0x81])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 2**16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def recv(self):
        message = b""
        while True:
            first, second = self._exact(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):  # Ping/pong: not used by DevTools.
                continue
            message += payload
            if first & 0x80:
                return message.decode()

    def close(self):
        self.sock.close()


class Browser:
    """A headless Chromium with a fresh profile, and its first page."""

    def __init__(self, url, width, height, mobile=False):
        self.profile = tempfile.mkdtemp(prefix="dank-chromium-")
        # Chromium's own messages, quoted when it fails to start.
        self.log = open(Path(self.profile) / "chromium.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                url,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Its own process group: close() ends them all.
        )
        try:
            port = self._devtools_port()
            deadline = time.monotonic() + STARTUP_S
            while True:
                listing = f"http://127.0.0.1:{port}/json/list"
                with urllib.request.urlopen(listing, timeout=STARTUP_S) as r:
                    pages = [p for p in json.load(r) if p["type"] == "page"]
                if pages:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"chromium opened no page{self._log_tail()}")
                time.sleep(0.1)
            self.ws = WebSocket(pages[0]["webSocketDebuggerUrl"])
        except BaseException:
            self.close()
            raise
        self._id = 0
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    def _devtools_port(self):
        path = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if path.is_file() and path.read_text().strip():
                return int(path.read_text().split()[0])
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"chromium exited with {self.process.returncode}{self._log_tail()}"
                )
            time.sleep(0.1)
        raise TimeoutError(f"chromium did not open its DevTools port{self._log_tail()}")

    def _log_tail(self, lines=20):
        """The last lines Chromium printed, to quote in an error."""
        text = (Path(self.profile) / "chromium.log").read_text(errors="replace")
        tail = text.strip().splitlines()[-lines:]
        return ":\n" + "\n".join(tail) if tail else ""

    def send(self, method, **params):
        """Sends one CDP command and returns its result (events are skipped)."""
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            answer = json.loads(self.ws.recv())
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def eval(self, expression):
        """The JSON value of a JavaScript expression in the page (awaits promises)."""
        result = self.send(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=WAIT_S):
        """Polls ``expression`` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"timed out waiting for {expression}")

    def set_file(self, selector, path):
        """Picks ``path`` in the page's ``<input type=file>`` as a user would."""
        root = self.send("DOM.getDocument")["root"]["nodeId"]
        node = self.send("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.send("DOM.setFileInputFiles", files=[str(path)], nodeId=node)

    def screenshot(self, path):
        """Saves a PNG of the whole page."""
        metrics = self.send("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.send(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={
                "x": 0,
                "y": 0,
                "width": metrics["width"],
                "height": metrics["height"],
                "scale": 1,
            },
        )
        Path(path).write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self):
        if getattr(self, "ws", None):
            self.ws.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # Helpers that outlive the browser would write into the profile.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()
        for _ in range(50):
            shutil.rmtree(self.profile, ignore_errors=True)
            if not os.path.exists(self.profile):
                break
            time.sleep(0.1)
