"""A small client for ``dank serve`` (tests, the load benchmark, scripts).

One ``Client`` keeps one HTTP/1.1 connection open, so a load test measures the
server rather than TCP handshakes.
"""

import http.client
import json
import secrets
import urllib.parse


def multipart(fields, files=()):
    """Encodes a ``multipart/form-data`` body.

    Args:
        fields: ``{name: value}`` form fields.
        files: ``(name, filename, content_type, bytes)`` tuples.

    Returns:
        ``(content_type_header, body_bytes)``.
    """
    boundary = "dank" + secrets.token_hex(12)
    chunks = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
            f"\r\n\r\n{value}\r\n".encode()
        )
    for name, filename, content_type, data in files:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks)


class Response:
    """Status, headers and body of one answer."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


class Client:
    """Talks to a server at ``url`` (``http://127.0.0.1:PORT``) over one connection."""

    def __init__(self, url, timeout=120):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self._conn = None

    def request(self, method, path, body=None, headers=None):
        """Sends one request (reconnecting once if the server closed the socket)."""
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                answer = self._conn.getresponse()
                result = Response(answer.status, dict(answer.headers), answer.read())
            except (ConnectionError, http.client.RemoteDisconnected):
                self.close()
                if attempt:
                    raise
                continue
            except (OSError, http.client.HTTPException):
                self.close()  # A half-used connection cannot send again.
                raise
            if answer.will_close:
                self.close()
            return result

    def get(self, path):
        return self.request("GET", path)

    def generate(
        self, image=None, filename="upload.jpg", content_type="image/jpeg", **fields
    ):
        """POST /api/generate with an optional image and form fields."""
        files = [("image", filename, content_type, image)] if image is not None else []
        ctype, body = multipart(
            {k: v for k, v in fields.items() if v is not None}, files
        )
        return self.request("POST", "/api/generate", body, {"Content-Type": ctype})

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
