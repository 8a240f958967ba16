"""wss:// with certificate verification on by default, against a local TLS WebSocket server.

The certificate authority and the server certificate are made here with
``cryptography`` (already installed with aiortc).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
import trio
import trio_websocket
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kazoo_actors.actors.transport import TransportError, connect
from kazoo_actors.websocket import open_websocket


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) as PEM files for 127.0.0.1."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kazoo-actors test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


async def _echo(request: trio_websocket.WebSocketRequest) -> None:
    ws = await request.accept(subprotocol="sip")
    try:
        while True:
            await ws.send_message(await ws.get_message())
    except trio_websocket.ConnectionClosed:
        pass


async def test_wss_verifies_certificates_by_default(tmp_path: Path) -> None:
    ca, cert, key = _certificates(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            trio_websocket.serve_websocket, _echo, "127.0.0.1", 0, server_context
        )
        url = f"wss://127.0.0.1:{server.port}/"

        # Default: the system's trust store, which does not know our CA.
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            await connect(url, account="tls@t.test")

        # verify_tls=False: encrypted, unverified, works.
        transport = await connect(url, account="tls@t.test", verify_tls=False)
        assert transport.open
        await transport.aclose()

        # A context that trusts our CA verifies and works, hostname (IP) checked.
        trusting = ssl.create_default_context(cafile=str(ca))
        ws = await open_websocket(url, ssl_context=trusting)
        await ws.send_text("OPTIONS sip:x SIP/2.0\r\n\r\n")
        with trio.fail_after(5):
            received = await ws.receive()
            while not received.messages:
                received = await ws.receive()
        assert list(received.messages) == [b"OPTIONS sip:x SIP/2.0\r\n\r\n"]
        await ws.aclose()
        nursery.cancel_scope.cancel()
