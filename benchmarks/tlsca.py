"""A throwaway certificate authority for the HTTPS origin, made by the harness itself.

The harness needs a CA certificate that every peer is told to trust, and a server
certificate for 127.0.0.1 and localhost signed by it, for nginx. They are generated with
the ``cryptography`` package in a small environment of their own (``.work/venvs/tls``, made
like the peers' environments), run as ``python tlsca.py DIR``; the harness itself needs
only the standard library. The files are kept under ``.work/tls/`` and reused while
their stamp says they are current and not near expiry.

The CA's private key is never written anywhere: once the server certificate is signed it
has no use, and a CA key left on disk would let anything that reads it mint certificates
that the peers (and only they) trust. The server key is written with mode 0600.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from envs import Envs

# Bump when what is generated changes, so that a cached set is made anew.
FORMAT = 1
VALID_DAYS = 30
# A set that expires within this many seconds is made anew before the run.
RENEW_MARGIN = 2 * 86400
HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class TLSFiles:
    """The PEM files of one generated set: what peers trust, and what nginx serves."""

    root: Path

    @property
    def ca(self) -> Path:
        return self.root / "ca.pem"

    @property
    def cert(self) -> Path:
        return self.root / "server.pem"

    @property
    def key(self) -> Path:
        return self.root / "server.key"

    @property
    def stamp(self) -> Path:
        return self.root / "stamp.json"

    def context(self) -> ssl.SSLContext:
        """A client context that trusts this CA alone (and checks the host, as peers do)."""
        return ssl.create_default_context(cafile=str(self.ca))


def is_current(files: TLSFiles, now: float | None = None) -> bool:
    """The set on disk is whole, of this format, far from expiry, and its key fits."""
    try:
        stamp = json.loads(files.stamp.read_text())
        mode = files.key.stat().st_mode & 0o777
    except (OSError, ValueError):
        return False
    if stamp.get("format") != FORMAT or mode != 0o600:
        return False
    if stamp.get("not_after", 0) - (now or time.time()) < RENEW_MARGIN:
        return False
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(files.cert, files.key)
        files.context()
    except (OSError, ssl.SSLError):
        return False
    return True


def ensure(root: Path, envs: Envs) -> TLSFiles:
    """The current set under ``root``, generated first if missing, stale or broken (only then
    is the ``tls`` environment built)."""
    files = TLSFiles(root)
    if is_current(files):
        return files
    print("  generating a throwaway CA and a server certificate for 127.0.0.1", flush=True)
    subprocess.run([str(envs.ensure("tls")), __file__, str(root)], check=True)
    if not is_current(files):
        raise RuntimeError(f"generated TLS files in {root} do not check out")
    return files


def _name(common_name: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aio-s3-ingest benchmark"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: Any, issuer: Any, public_key: Any, signing_key: Any, extensions: list[Any], days: int
) -> Any:
    """One certificate, valid from an hour ago (clock steps) for ``days`` days."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=days))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


def _ca_extensions(public_key: Any) -> list[Any]:
    from cryptography import x509

    usage = dict.fromkeys(
        ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement"), False
    )
    return [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (x509.KeyUsage(True, **usage, key_cert_sign=True, crl_sign=True,
                       encipher_only=False, decipher_only=False), True),
        (x509.SubjectKeyIdentifier.from_public_key(public_key), False),
    ]  # fmt: skip


def _server_extensions(public_key: Any, ca_public_key: Any) -> list[Any]:
    import ipaddress

    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    names = [x509.IPAddress(ipaddress.ip_address(HOSTS[0])), x509.DNSName(HOSTS[1])]
    usage = dict.fromkeys(
        ("content_commitment", "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
         "encipher_only", "decipher_only"), False,
    )  # fmt: skip
    return [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.KeyUsage(digital_signature=True, key_encipherment=True, **usage), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        (x509.SubjectAlternativeName(names), False),
        (x509.SubjectKeyIdentifier.from_public_key(public_key), False),
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public_key), False),
    ]


def generate(root: Path) -> None:
    """Make the set in ``root`` (run in the ``tls`` environment, which has cryptography).

    RSA 2048 keys, as S3's own certificates use. The stamp is written last: a set cut
    short by a crash has none and is made anew.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    files = TLSFiles(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    files.stamp.unlink(missing_ok=True)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name("aio-s3-ingest benchmark throwaway CA")
    ca = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key,
                      _ca_extensions(ca_key.public_key()), VALID_DAYS)  # fmt: skip
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    extensions = _server_extensions(key.public_key(), ca_key.public_key())
    cert = _certificate(_name(HOSTS[0]), ca_name, key.public_key(), ca_key, extensions, VALID_DAYS)
    pem = serialization.Encoding.PEM
    _write(files.key, key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption()), 0o600)  # fmt: skip
    _write(files.cert, cert.public_bytes(pem), 0o644)
    _write(files.ca, ca.public_bytes(pem), 0o644)
    not_after = cert.not_valid_after_utc.timestamp()
    _write(files.stamp, json.dumps({"format": FORMAT, "not_after": not_after}).encode(), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write through a new file created with ``mode`` (a key is never readable by others)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)  # whatever the umask took away from the public files
    tmp.replace(path)


if __name__ == "__main__":
    generate(Path(sys.argv[1]))
