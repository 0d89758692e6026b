"""Where webhooks may point: a table of addresses, of hosts whose DNS answers them, and of URLs."""

from __future__ import annotations

import ipaddress

import pytest

from ingest.webhooks.destinations import (
    DestinationRefused,
    DestinationUnresolvable,
    InvalidWebhookUrl,
    check_destination,
    is_public,
    system_resolver,
)

REFUSED = [
    "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "169.254.169.254", "100.64.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1", "239.1.2.3",
    "240.0.0.1", "192.0.0.1", "198.18.0.1", "192.0.2.1", "203.0.113.9",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
    "::ffff:8.8.8.8",  # IPv4-mapped addresses are refused outright (connect to the IPv4 one)
    "2002:7f00:1::1", "2002:c0a8:101::1",   # 6to4 of 127.0.0.1 and 192.168.1.1
    "64:ff9b::7f00:1", "64:ff9b::a00:1",     # NAT64 of 127.0.0.1 and 10.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo (client 192.0.2.45)
]
ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111",
           "2a00:1450:4001:80b::200e"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(DestinationRefused) as refused:
        check_destination(f"http://{host}:8080/hook", allow_private=False)
    assert refused.value.code == "webhook_destination_refused"
    # the deployment may allow them
    dest = check_destination(f"http://{host}:8080/hook", allow_private=True)
    assert dest.address == str(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    dest = check_destination(f"https://{host}/hook", allow_private=False)
    assert dest.port == 443 and dest.address == str(ipaddress.ip_address(address))


@pytest.mark.parametrize("answers", [["10.0.0.7"], ["8.8.8.8", "127.0.0.1"], ["::1"],
                                     ["::ffff:192.168.0.1"]])
def test_a_name_whose_dns_answers_any_private_address_is_refused(answers: list[str]) -> None:
    def resolve(host: str, port: int) -> list[str]:
        assert (host, port) == ("hooks.example", 443)
        return answers

    with pytest.raises(DestinationRefused):
        check_destination("https://hooks.example/x", allow_private=False, resolve=resolve)


def test_a_public_name_connects_to_the_address_that_was_checked() -> None:
    dest = check_destination("https://hooks.example:8443/p?q=1", allow_private=False,
                             resolve=lambda host, port: ["93.184.216.34"])
    assert dest.pinned_url() == "https://93.184.216.34:8443/p?q=1"
    assert dest.host_header == "hooks.example:8443"
    v6 = check_destination("http://hooks.example/p", allow_private=False,
                           resolve=lambda host, port: ["2606:4700:4700::1111"])
    assert v6.pinned_url() == "http://[2606:4700:4700::1111]:80/p"
    assert v6.host_header == "hooks.example"


@pytest.mark.parametrize("host", ["localhost", "127.1", "0x7f000001", "2130706433", "0177.0.0.1"])
def test_loopback_spellings_resolved_by_the_system_are_refused(host: str) -> None:
    with pytest.raises(DestinationRefused):
        check_destination(f"http://{host}/hook", allow_private=False, resolve=system_resolver)


def test_unresolvable_host() -> None:
    with pytest.raises(DestinationUnresolvable):
        check_destination("http://does-not-exist.invalid/hook", allow_private=True)


@pytest.mark.parametrize("url", ["ftp://hooks.example/x", "hooks.example/x", "http:///x",
                                 "http://user:pw@hooks.example/x", "http://hooks.example:0/x",
                                 "http://hooks.example:99999/x", "http://a b/x",
                                 "https://hooks.example/" + "x" * 3000, "file:///etc/passwd",
                                 "javascript:alert(1)"])
def test_malformed_urls(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl) as refused:
        check_destination(url, allow_private=True, resolve=lambda host, port: ["8.8.8.8"])
    assert refused.value.code == "invalid_webhook_url"
