"""The proxy named by the environment, as the HTTP client reads it (``_http.proxy``)."""

from __future__ import annotations

import pytest

from aio_s3_ingest._http.proxy import Proxy


def test_a_proxy_url_gives_host_port_and_basic_credentials() -> None:
    """``http://user:p%40ss@host:3128`` is host, port and a Basic Proxy-Authorization."""
    proxy = Proxy.from_url("http://user:p%40ss@proxy.example:3128")
    assert (proxy.host, proxy.port) == ("proxy.example", 3128)
    assert proxy.headers() == {"Proxy-Authorization": "Basic dXNlcjpwQHNz"}


def test_a_bare_host_is_http_on_port_80_without_credentials() -> None:
    """``proxy.example`` (no scheme, as some set HTTP_PROXY) is http on port 80."""
    proxy = Proxy.from_url("proxy.example")
    assert (proxy.host, proxy.port, proxy.headers()) == ("proxy.example", 80, {})


def test_credentials_never_show_in_a_repr() -> None:
    """The repr names the proxy, never its password."""
    assert "secret" not in repr(Proxy.from_url("http://me:secret@proxy.example:8080"))


@pytest.mark.parametrize("url", ["https://proxy.example:443", "socks5://proxy.example:1080"])
def test_proxies_other_than_http_are_refused(url: str) -> None:
    """Only http:// proxies are spoken; others leave the run to botocore."""
    with pytest.raises(ValueError, match="only http:// proxies"):
        Proxy.from_url(url)
