"""Webhook signatures, and the SSRF guard on webhook targets."""

from __future__ import annotations

import socket

import pytest

from kbsite.webhooks import targets
from kbsite.webhooks.signing import (
    secret_generate,
    signature_header,
    signature_verify,
)
from kbsite.webhooks.targets import TargetRefused, TargetUnresolvable, target_check

SECRET = "whsec_test"
BODY = b'{"event":"incident.created"}'
STAMP = 1767225600


def test_the_signature_header_is_exact_for_a_fixed_secret_and_time():
    assert signature_header(secret=SECRET, timestamp=STAMP, body=BODY) == (
        "t=1767225600,v1=f7222172cdbba1737db597bd7a018365de781b59694c902ee50989b5e20ce81b"
    )


def test_a_receiver_accepts_a_fresh_signature_and_refuses_tampering_and_replays():
    header = signature_header(secret=SECRET, timestamp=STAMP, body=BODY)
    assert signature_verify(secret=SECRET, header=header, body=BODY, now=STAMP + 10)
    assert not signature_verify(secret=SECRET, header=header, body=BODY + b" ", now=STAMP)
    assert not signature_verify(secret="whsec_other", header=header, body=BODY, now=STAMP)
    assert not signature_verify(secret=SECRET, header=header, body=BODY, now=STAMP + 301)
    forged = header.replace(f"t={STAMP}", f"t={STAMP + 100}")
    assert not signature_verify(secret=SECRET, header=forged, body=BODY, now=STAMP + 100)
    assert not signature_verify(secret=SECRET, header="garbage", body=BODY, now=STAMP)
    assert not signature_verify(secret=SECRET, header="t=x,v1=00", body=BODY, now=STAMP)


def test_secrets_are_long_random_and_marked():
    first, second = secret_generate(), secret_generate()
    assert first != second
    assert first.startswith("whsec_")
    assert len(first) >= 6 + 43


# --- SSRF -------------------------------------------------------------------------------------


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [
                (
                    socket.AF_INET6 if ":" in address else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (address, port),
                )
                for address in answers[host]
            ]
        if host.endswith(".test"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(targets.socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def dns(monkeypatch, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    fake_dns(
        monkeypatch,
        {
            "hooks.example.test": ["93.184.215.14"],
            "v6.example.test": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
            "sneaky.example.test": ["127.0.0.1"],
            "metadata.example.test": ["169.254.169.254"],
            "mixed.example.test": ["93.184.215.14", "10.0.0.5"],
            "mapped.example.test": ["::ffff:10.1.2.3"],
        },
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.test/kbsite",
        "http://hooks.example.test:8080/in?x=1",
        "https://v6.example.test/",
        "https://93.184.215.14/hook",
        "HTTPS://HOOKS.EXAMPLE.TEST/upper",
    ],
)
def test_public_targets_are_allowed(dns, url):
    target = target_check(url)
    assert target.scheme in {"http", "https"}
    assert target.address in {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "internal or reserved"),
        ("http://127.1/", "internal or reserved"),
        ("http://2130706433/", "internal or reserved"),
        ("http://localhost:8000/", "internal or reserved"),
        ("http://[::1]/", "internal or reserved"),
        ("http://[::ffff:127.0.0.1]/", "internal or reserved"),
        ("http://[::ffff:7f00:1]/", "internal or reserved"),
        ("http://10.1.2.3/", "internal or reserved"),
        ("http://172.16.0.1/", "internal or reserved"),
        ("http://192.168.1.1/", "internal or reserved"),
        ("http://100.64.0.1/", "internal or reserved"),
        ("http://169.254.169.254/latest/meta-data/", "internal or reserved"),
        ("http://[fe80::1]/", "internal or reserved"),
        ("http://[fc00::1]/", "internal or reserved"),
        ("http://[fd12:3456::1]/", "internal or reserved"),
        ("http://0.0.0.0/", "internal or reserved"),
        ("http://[::]/", "internal or reserved"),
        ("http://224.0.0.1/", "internal or reserved"),
        ("http://[ff02::1]/", "internal or reserved"),
        ("http://240.0.0.1/", "internal or reserved"),
        ("http://255.255.255.255/", "internal or reserved"),
        ("http://[64:ff9b::7f00:1]/", "internal or reserved"),
        ("http://[2002:7f00:1::]/", "internal or reserved"),
        ("http://192.0.2.10/", "internal or reserved"),
        ("http://sneaky.example.test/", "resolves to 127.0.0.1"),
        ("http://metadata.example.test/", "resolves to 169.254.169.254"),
        ("http://mixed.example.test/", "resolves to 10.0.0.5"),
        ("http://mapped.example.test/", "resolves to ::ffff:a01:203"),
        ("ftp://hooks.example.test/", "http or https only"),
        ("file:///etc/passwd", "http or https only"),
        ("gopher://hooks.example.test/", "http or https only"),
        ("javascript:alert(1)", "http or https only"),
        ("hooks.example.test/no-scheme", "http or https only"),
        ("https://user:pass@hooks.example.test/", "no user name or password"),
        ("https:///no-host", "no host name"),
        ("https://hooks.example.test:99999/", "malformed"),
        ("https://hooks.example.test/#frag", "#fragment"),
        ("https://hooks.example.test/a b", "spaces or control characters"),
        ("https://hooks.example.test/\r\nX: y", "spaces or control characters"),
        ("", "Enter the URL"),
        ("https://hooks.example.test/" + "a" * 500, "longer than 500"),
        ("https://unknown.example.test/", "could not be resolved"),
    ],
)
def test_internal_and_malformed_targets_are_refused(dns, url, reason):
    with pytest.raises(TargetRefused) as refused:
        target_check(url)
    assert reason in refused.value.message
    assert refused.value.field == "target_url"


def test_an_unresolvable_host_is_its_own_kind_of_refusal(dns):
    with pytest.raises(TargetUnresolvable):
        target_check("https://gone.example.test/")


def test_the_setting_allows_private_targets_but_not_other_schemes(dns, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assert target_check("http://127.0.0.1:9000/hook").address == "127.0.0.1"
    assert target_check("http://sneaky.example.test/").address == "127.0.0.1"
    with pytest.raises(TargetRefused):
        target_check("file:///etc/passwd")
