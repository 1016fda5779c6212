"""The client's address behind trusted proxies: only what a trusted hop appended."""

from __future__ import annotations

import pytest

from provider.client_address import parse_networks, resolve

PROXIES = parse_networks(["10.0.0.0/8", "127.0.0.5", "fd00::/8"])


@pytest.mark.parametrize(("peer", "header", "client"), [
    # nothing trusted from a direct caller, whatever it writes
    ("203.0.113.9", "198.51.100.1", "203.0.113.9"),
    ("127.0.0.1", "198.51.100.1", "127.0.0.1"),
    # one trusted proxy: the address it appended
    ("10.1.1.1", "198.51.100.1", "198.51.100.1"),
    # a client that sends its own header: the proxy appended the real address last
    ("10.1.1.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),
    # two trusted proxies in a row, then the client
    ("10.1.1.1", "6.6.6.6, 198.51.100.1, 10.2.2.2", "198.51.100.1"),
    # every hop trusted: the leftmost is as far as the chain goes
    ("10.1.1.1", "10.3.3.3, 10.2.2.2", "10.3.3.3"),
    # garbage stops the walk at the last hop that could be believed
    ("10.1.1.1", "198.51.100.1, not-an-address", "10.1.1.1"),
    ("10.1.1.1", "garbage, 10.3.3.3", "10.3.3.3"),
    # ports and brackets, IPv6, IPv4-mapped peers
    ("10.1.1.1", "198.51.100.1:4711", "198.51.100.1"),
    ("10.1.1.1", "[2001:db8::1]:4711", "2001:db8::1"),
    ("fd00::1", "2001:db8::2", "2001:db8::2"),
    ("::ffff:10.1.1.1", "198.51.100.1", "198.51.100.1"),
    # no header, an empty one
    ("10.1.1.1", None, "10.1.1.1"),
    ("10.1.1.1", "", "10.1.1.1"),
])
def test_x_forwarded_for_is_walked_from_the_right_while_hops_are_trusted(peer, header, client):
    assert resolve(peer, header, "x-forwarded-for", PROXIES) == client


@pytest.mark.parametrize(("header", "client"), [
    ('for=198.51.100.1;proto=https;by=10.1.1.1', "198.51.100.1"),
    ('for=6.6.6.6, for="198.51.100.1:80"', "198.51.100.1"),
    ('for="[2001:db8::1]:4711"', "2001:db8::1"),
    ('For=198.51.100.7', "198.51.100.7"),
    ('for=unknown', "10.1.1.1"),
    ('proto=https', "10.1.1.1"),
])
def test_forwarded_for_elements_are_read_the_same_way(header, client):
    assert resolve("10.1.1.1", header, "forwarded", PROXIES) == client


def test_no_trusted_network_means_the_peer_always():
    assert resolve("10.1.1.1", "198.51.100.1", "x-forwarded-for", ()) == "10.1.1.1"


def test_a_bad_network_is_named():
    with pytest.raises(ValueError, match="'10.0.0.300'"):
        parse_networks(["10.0.0.0/8", "10.0.0.300"])
