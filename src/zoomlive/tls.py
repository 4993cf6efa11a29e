"""TLS for the RTMP receiver: a self-signed certificate, and a TLS front that terminates
``rtmps://`` in Python in front of a plain RTMP listener.

Why a front: FFmpeg's RTMP protocol cannot listen over TLS (``av.open("rtmps://...",
options={"listen": "1", ...})`` fails with "rtmp_listen not available for rtmps", FFmpeg 8.1 as
PyAV ships it), so :class:`TlsFront` accepts TLS connections on the public port with Python's
``ssl`` module and relays the bytes to the plain listener on a loopback port. The relay opens
the plain connection only once the publisher has sent its first bytes over TLS: a publisher
that refuses the certificate (it verifies after the handshake, then hangs up) never reaches the
listener, and is recorded in :attr:`TlsFront.refused` instead.

The certificate needs the ``cryptography`` package (the media extra).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import os
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.x509 import GeneralName

__all__ = ["ServerTls", "TlsFront", "default_tls_dir", "self_signed"]

#: How long a publisher may take to connect to the plain listener (it does not listen in the
#: moment between two sessions).
_CONNECT_RETRY_S = 2.0


@dataclass(frozen=True)
class ServerTls:
    """A receiver's certificate chain and private key (PEM files)."""

    cert: Path
    key: Path


def default_tls_dir() -> Path:
    """Where ``zoomlive receive --tls`` keeps its self-signed certificate between runs."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "zoomlive" / "tls"


def self_signed(directory: Path, host: str = "127.0.0.1", days: int = 365) -> ServerTls:
    """``receiver-cert.pem`` and ``receiver-key.pem`` in ``directory``: reused while the
    certificate covers ``host`` for at least another day, else made anew (ECDSA P-256, its own
    CA, names ``localhost``, ``127.0.0.1``, ``::1`` and ``host``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    tls = ServerTls(directory / "receiver-cert.pem", directory / "receiver-key.pem")
    names = _names(host)
    now = datetime.datetime.now(datetime.UTC)
    if tls.cert.is_file() and tls.key.is_file():
        with contextlib.suppress(ValueError, OSError):
            old = x509.load_pem_x509_certificate(tls.cert.read_bytes())
            san = old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            if old.not_valid_after_utc > now + datetime.timedelta(days=1) and all(
                n in san for n in names
            ):
                return tls
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zoomlive receiver")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    fd = os.open(tls.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return tls


def _names(host: str) -> list[GeneralName]:
    from cryptography import x509

    names: list[GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    try:
        extra: GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        extra = x509.DNSName(host)
    if extra not in names:
        names.append(extra)
    return names


class TlsFront:
    """Accepts TLS on ``host:port`` and relays each connection to ``127.0.0.1:backend_port``,
    on an event loop of its own thread. :attr:`refused` lists, newest last, the publishers that
    left after the handshake without sending anything (they refused the certificate). A
    handshake that fails is not listed: asyncio's TLS server logs it only at debug level, and
    doing the handshake in the handler instead (``start_tls``) races the ClientHello, which
    the plain stream may have read already."""

    def __init__(self, host: str, port: int, backend_port: int, tls: ServerTls) -> None:
        self.host, self.port, self.backend_port = host, port, backend_port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(tls.cert, tls.key)
        self.refused: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind (an ``OSError`` if the port is taken) and serve on a background thread."""
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, self.host, self.port, ssl=self.context)
        )
        self._loop.set_exception_handler(lambda _loop, _context: None)  # a client's own trouble
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"tls-front-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            self._loop.close()
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        self._thread = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await reader.read(65536)
        except (OSError, ssl.SSLError) as exc:
            self._refuse(f"TLS handshake failed: {exc}")
            writer.close()
            return
        if not first:
            self._refuse("publisher left after the TLS handshake (it may refuse the certificate)")
            writer.close()
            return
        deadline = time.monotonic() + _CONNECT_RETRY_S
        while True:
            try:
                back_reader, back_writer = await asyncio.open_connection(
                    "127.0.0.1", self.backend_port
                )
                break
            except OSError:
                if time.monotonic() > deadline:
                    writer.close()
                    return
                await asyncio.sleep(0.02)
        back_writer.write(first)
        await asyncio.gather(
            _pump(reader, back_writer), _pump(back_reader, writer), return_exceptions=True
        )

    def _refuse(self, reason: str) -> None:
        self.refused.append(reason)
        del self.refused[:-100]


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    finally:
        with contextlib.suppress(OSError, ssl.SSLError):
            sink.close()
