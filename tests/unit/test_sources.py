"""Camera sources (shared/sources.py) and secrets at rest (shared/encryption.py): which sources
are refused and why, credentials hidden whatever characters they hold, keys and tokens."""

from __future__ import annotations

import ipaddress
import logging
import threading
from pathlib import Path

import av
import av.error
import pytest
from cryptography.fernet import Fernet

from services.camera_ingest import decoder
from services.camera_ingest.settings import IngestSettings, load_ingest_settings
from shared.embedded import free_port
from shared.encryption import SecretBox, SecretUnreadable, key_file, parse_keys
from shared.sources import (
    SourcePolicy,
    SourceRefused,
    check_addresses,
    check_source,
    parse,
    protocol_whitelist,
    redact,
    redact_url,
    secrets_of,
)

DEFAULT = SourcePolicy.parse("rtsp,rtsps", "")


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("/etc/passwd", "not a server-side path"),
        ("var/images/x.jpg", "not a server-side path"),
        ("file:/etc/passwd", "not a server-side path"),
        ("file:///etc/passwd", "'file' is not allowed"),
        ("concat:/etc/hostname|/etc/hostname", "not a server-side path"),
        ("subfile,,start,0,end,10,,:/etc/passwd", "not a server-side path"),
        ("pipe:0", "not a server-side path"),
        ("data:video/mp4;base64,AAAA", "not a server-side path"),
        ("async:rtsp://10.0.0.1/x", "not a server-side path"),
        ("crypto+rtsp://10.0.0.1/x", "'crypto+rtsp' is not allowed"),
        ("http://10.0.0.1/cam.mjpg", "'http' is not allowed"),
        ("udp://10.0.0.1:1234", "'udp' is not allowed"),
        ("rtsp://127.0.0.1/x", "loopback"),
        ("rtsp://127.255.0.9:8554/x", "loopback"),
        ("rtsp://localhost/x", "localhost resolves to"),
        ("rtsp://2130706433/x", "2130706433 resolves to 127.0.0.1"),
        ("rtsp://0x7f.1/x", "loopback"),
        ("rtsp://[::1]/x", "loopback"),
        ("rtsp://[::ffff:127.0.0.1]/x", "loopback"),
        ("rtsp://0.0.0.0/x", "unspecified"),
        ("rtsp://0/x", "unspecified"),
        ("rtsp://169.254.169.254/latest", "metadata"),
        ("rtsp://[fd00:ec2::254]/x", "metadata"),
        ("rtsp://100.100.100.200/x", "metadata"),
        ("rtsp://169.254.3.4/x", "link-local"),
        ("rtsp://[fe80::1]/x", "link-local"),
        ("rtsp://224.0.0.251/x", "multicast"),
        ("rtsp://255.255.255.255/x", "reserved"),
        ("rtsp://10.0.0.1/x y", "spaces or control characters"),
        ("rtsp://10.0.0.1/x\r\nX-Injected: 1", "spaces or control characters"),
        ("rtsp://u:p/w@10.0.0.1/x", "percent-encode"),
        ("rtsp://10.0.0.1:0/x", "port"),
        ("rtsp://10.0.0.1:70000/x", "port"),
        ("rtsp://10.0.0.1:55a/x", "port"),
        ("rtsp://exämple.com/x", "host name"),
        ("rtsp:///x", "host name"),
        ("rtsp://[fe80::1%25eth0]/x", "IPv6"),
    ],
)
def test_refused_sources_say_why(source: str, why: str) -> None:
    with pytest.raises(SourceRefused, match=why.replace("+", r"\+")):
        check_source(source, DEFAULT)


@pytest.mark.parametrize(
    "source",
    [
        "rtsp://192.168.1.64:554/Streaming/Channels/101",
        "rtsp://admin:p%40ss@10.0.0.7/cam?channel=1&subtype=0",
        "rtsps://172.16.0.5/stream",
        "rtsp://8.8.8.8/x",
        "RTSP://10.0.0.1/x",
        "rtsp://[2001:db8::1]:8554/x",
    ],
)
def test_camera_addresses_are_accepted(source: str) -> None:
    check_source(source, DEFAULT)


def test_the_allowed_networks_and_schemes_open_what_the_operator_chose() -> None:
    local = SourcePolicy.parse("rtsp, http", "127.0.0.0/8, ::1/128, 169.254.0.0/16")
    for source in (
        "rtsp://127.0.0.1:8554/cam",
        "rtsp://localhost/x",
        "http://127.0.0.1/cam.mjpg",
        "rtsp://169.254.9.9/",
    ):
        check_source(source, local)
    with pytest.raises(SourceRefused, match="metadata"):  # a wider network never allows metadata
        check_source("rtsp://169.254.169.254/", local)
    check_source("rtsp://169.254.169.254/", SourcePolicy.parse("rtsp", "169.254.169.254/32"))
    with pytest.raises(SourceRefused, match="'rtsps' is not allowed"):
        check_source("rtsps://10.0.0.1/", local)


def test_every_address_of_a_name_must_be_allowed() -> None:
    """A name with a public and a loopback address is refused: FFmpeg would try both."""
    url = parse("rtsp://camera.example/x", DEFAULT)
    public, loopback = ipaddress.ip_address("192.0.2.10"), ipaddress.ip_address("127.0.0.1")
    check_addresses(url, [public], DEFAULT)
    with pytest.raises(SourceRefused, match=r"camera\.example resolves to 127\.0\.0\.1, a loopback address"):
        check_addresses(url, [public, loopback], DEFAULT)
    with pytest.raises(SourceRefused, match="no address"):
        check_addresses(url, [], DEFAULT)


@pytest.mark.parametrize(
    ("schemes", "networks", "why"),
    [("rtsp,file", "", "file"), ("rtsp", "localhost", "localhost"), ("rtsp", "10.0.0.0/33", "10.0.0.0/33")],
)
def test_bad_source_settings_are_refused(schemes: str, networks: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        SourcePolicy.parse(schemes, networks)
    env = {"FACEGATE_CAMERA_SOURCE_SCHEMES": schemes, "FACEGATE_CAMERA_SOURCE_ALLOW_NETWORKS": networks}
    with pytest.raises(SystemExit):
        load_ingest_settings(env)


def test_ffmpeg_may_use_only_the_protocols_of_the_scheme() -> None:
    assert protocol_whitelist("rtsp://10.0.0.1/x") == "rtsp,rtsps,rtp,udp,tcp,tls"
    assert protocol_whitelist("https://10.0.0.1/x") == "http,https,tcp,tls"
    assert protocol_whitelist("/var/video.mp4") is None
    options = decoder.open_options("rtsp://10.0.0.1/x", IngestSettings())
    assert options["protocol_whitelist"] == "rtsp,rtsps,rtp,udp,tcp,tls" and options["rtsp_transport"] == "tcp"
    # FFmpeg itself refuses what the list leaves out, however the URL reaches it.
    with pytest.raises(av.error.FFmpegError):
        av.open("concat:/etc/hostname|/etc/hostname", options={"protocol_whitelist": "http,https,tcp,tls"})


# A user and password with a quote, '@', '%' (written %25) and a non-ASCII letter, and a
# camera that takes its password as a query parameter.
NASTY = "rtsp://us'er:p\"a@ss%25wörd@10.0.0.1:554/cam?channel=1&pwd=s3cr%C3%A9t"
FRAGMENTS = ("us'er", 'p"a', "wörd", "%25w", "ss%w", "s3cr", "%C3%A9t")


def test_a_source_is_shown_with_its_secrets_hidden() -> None:
    assert redact_url(NASTY) == "rtsp://***@10.0.0.1:554/cam?channel=1&pwd=***"
    assert redact_url("rtsp://10.0.0.1/cam") == "rtsp://10.0.0.1/cam"
    assert redact_url("rtsp://admin@10.0.0.1/cam#x") == "rtsp://***@10.0.0.1/cam#x"
    assert 'p"a@ss%wörd' in secrets_of(NASTY) and "p%22a%40ss%25w%C3%B6rd" in secrets_of(NASTY)


@pytest.mark.parametrize(
    "message",
    [
        f"Invalid data found when processing input: '{NASTY}'",
        f'Connection refused: "{NASTY}"',
        "auth failed for us'er:p\"a@ss%wörd",  # decoded, as an authentication header would hold it
        "password p%22a%40ss%25w%C3%B6rd rejected",  # re-encoded
        "query pwd=s3crét&next=1",
    ],
)
def test_credentials_are_hidden_in_any_message_whatever_they_hold(message: str) -> None:
    shown = redact(message, NASTY)
    assert not [f for f in FRAGMENTS if f in shown], shown


def test_urls_of_unknown_sources_lose_their_user_information_too() -> None:
    text = "Invalid data found when processing input: 'rtsp://admin:pa'ss@10.0.0.1:554/Streaming/Channels/101'"
    assert redact(text) == "Invalid data found when processing input: 'rtsp://***@10.0.0.1:554/Streaming/Channels/101'"
    assert redact("http://10.0.0.1/a@b and rtsp://cam/x") == "http://10.0.0.1/a@b and rtsp://cam/x"


def test_a_failing_stream_reports_and_logs_no_credentials(caplog: pytest.LogCaptureFixture) -> None:
    """The decoder's own status reasons and log lines, from a real FFmpeg error quoting the URL."""
    source = f"rtsp://us'er:p\"a@ss%25wörd@127.0.0.1:{free_port()}/cam"
    settings = IngestSettings(backoff_initial_s=0.05, source_allow_networks="127.0.0.1/32", open_timeout_s=3)
    reports: list[tuple[str, str | None]] = []
    stop = threading.Event()

    class Sink:
        def connecting(self, attempt: int) -> None:
            if attempt >= 2:
                stop.set()

        def state(self, state: str, reason: str | None) -> None:
            reports.append((state, reason))

        def decoded(self, count: int) -> None:
            pass

        def sampled(self, frame: object) -> None:
            pass

    with caplog.at_level(logging.INFO):
        decoder.run_stream("cam", source, 200, Sink(), stop, settings)
    assert reports and all(state == "offline" for state, _ in reports), reports
    text = " ".join(f"{r}" for _, r in reports) + caplog.text
    assert "127.0.0.1" in text and not [f for f in FRAGMENTS if f in text], text


def test_a_refused_source_is_an_error_at_every_connection() -> None:
    state, reason = decoder.classify(SourceRefused("127.0.0.1 is a loopback address"))
    assert state == "error" and reason.startswith("source refused: 127.0.0.1")


def test_secrets_are_sealed_and_opened_with_the_configured_keys(tmp_path: Path) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = SecretBox([old]).seal(NASTY)
    assert "wörd" not in token and SecretBox([old]).open(token) == NASTY
    assert SecretBox([new, old]).open(token) == NASTY  # rotation: the old key still opens
    with pytest.raises(SecretUnreadable):
        SecretBox([new]).open(token)
    with pytest.raises(ValueError):
        parse_keys("not-a-key")
    path = tmp_path / "var" / "secret.key"
    keys = key_file(path)  # generated on first use, then the same
    assert key_file(path) == keys and path.stat().st_mode & 0o777 == 0o600
