"""A small HTTP/1.1 client over a plain socket, for the declarative cases.

http.client hides what the tests need to see (a HEAD response that leaks a body, a chunked
upload that goes over the limit, a header of 20 KB), so the cases talk to the server with this
client instead: it sends exactly the bytes asked for and parses exactly the bytes received.
"""

import socket

MAX_RESPONSE = 4 * 1024 * 1024


class HttpError(Exception):
    """The server's answer could not be read as HTTP/1.1."""


class Response:
    """One parsed response: status, reason, headers (in order, names as sent), body bytes."""

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        """The value of the first header called name (any case), or None."""
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    def header_count(self, name):
        low = name.lower()
        return sum(1 for k, _ in self.headers if k.lower() == low)


class Connection:
    """One TCP connection; requests on it reuse it (keep-alive) until the server closes it."""

    def __init__(self, host, port, timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        """Reads more bytes into buf; False at end of stream."""
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        if len(self.buf) > MAX_RESPONSE:
            raise HttpError("response larger than %d bytes" % MAX_RESPONSE)
        return True

    def _read_until(self, marker):
        while marker not in self.buf:
            if not self._fill():
                raise HttpError("connection closed before %r (got %r)" % (marker, self.buf[:200]))
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise HttpError("connection closed after %d of %d body bytes" % (len(self.buf), n))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, method):
        """Reads one response to a request of the given method."""
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        lines = head[:-4].split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise HttpError("bad status line %r" % lines[0])
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for line in lines[1:]:
            if ":" not in line:
                raise HttpError("bad header line %r" % line)
            k, v = line.split(":", 1)
            headers.append((k.strip(), v.strip()))
        resp = Response(status, reason, headers, b"")
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        cl = resp.header("Content-Length")
        if "chunked" in te:
            body = b""
            while True:
                size_line = self._read_until(b"\r\n").decode("latin-1").strip()
                size = int(size_line.split(";")[0], 16)
                if size == 0:
                    self._read_until(b"\r\n")  # no trailers are expected
                    break
                body += self._read_exact(size)
                self._read_exact(2)
            resp.body = body
        elif cl is not None:
            resp.body = self._read_exact(int(cl))
        else:
            while self._fill():
                pass
            resp.body, self.buf = self.buf, b""
        return resp

    def leftover(self, wait=0.2):
        """Bytes the server sent after the last response (waits briefly for late ones)."""
        self.sock.settimeout(wait)
        try:
            self._fill()
        except (socket.timeout, OSError):
            pass
        return self.buf


def build_request(method, path, headers, body=None, chunked=False, send_body=True,
                  host="127.0.0.1"):
    """The bytes of one request. headers is a list of (name, value); Host and the framing
    header are added unless given. With send_body False only the head is built."""
    names = {k.lower() for k, _ in headers}
    out = ["%s %s HTTP/1.1" % (method, path)]
    if "host" not in names:
        out.append("Host: %s" % host)
    out.extend("%s: %s" % (k, v) for k, v in headers)
    if body is not None:
        if chunked and "transfer-encoding" not in names:
            out.append("Transfer-Encoding: chunked")
        elif not chunked and "content-length" not in names:
            out.append("Content-Length: %d" % len(body))
    data = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
    if body is not None and send_body:
        if chunked:
            step = 8192
            for i in range(0, len(body), step):
                piece = body[i:i + step]
                data += b"%x\r\n" % len(piece) + piece + b"\r\n"
            data += b"0\r\n\r\n"
        else:
            data += body
    return data
