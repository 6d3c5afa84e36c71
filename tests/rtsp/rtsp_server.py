"""A live H.264 RTSP server on 127.0.0.1 for the camera tests (Debian's gst-rtsp-server).

Run by the SYSTEM python3 (which has `gi`), not the venv:

    /usr/bin/python3 tests/rtsp/rtsp_server.py --port 8554 --frames /tmp/x/frame%03d.jpg --fps 10

It serves `rtsp://127.0.0.1:<port>/cam`: the JPEG frames (made by the test from the photos in
../shared/faces/) looped forever and encoded live with x264, so a client sees an endless camera.
`--codec h265` encodes with x265 instead, `--codec mjpeg` sends the frames as JPEG (re-encoded,
paced like the others: an MJPEG camera), and `--codec mjpeg-unstamped` passes the JPEG files on
as they are, without timestamps: every frame carries the same stamp and they go out as fast as
the connection takes them (a re-streamer with a broken clock). `--user` and `--password` make it
ask for them, with RTSP Digest authentication (`--auth basic`: Basic), as IP cameras do;
`--udp-only` offers RTP over UDP only (RTP over TCP, as clients ask, gets 461 Unsupported
Transport), as some cameras do, with a media per connection.
The media is shared, so any number of cameras on the same URL cost one encoder. Prints
`READY <url>` once listening; SIGTERM or SIGINT stops it.

`--sent-log FILE` (benchmarks/camera_pipeline.py) paces the decoded frames to the wall clock
before the encoder (`identity sync=true`: each frame leaves for the encoder at its own time, so
nothing waits in the queues before the network) and appends a line per frame the encoder
hands on: `sent <wall time, s> <frame number since the media started> <file index>`, and a
`media <wall time>` line whenever the (shared) media starts, numbering from 0 again.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any, TextIO

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

CODECS = ("h264", "h265", "mjpeg", "mjpeg-unstamped")


def launch_line(frames: str, fps: int, bitrate_kbps: int, paced: bool = False, codec: str = "h264") -> str:
    """multifilesrc loops the frames; x264 (or x265) in zerolatency mode, a keyframe every second
    so a client that (re)connects gets a picture at once; `paced`: frames reach the encoder at
    their own time (otherwise they queue before the network sink, which sends them at that time)."""
    source = f'multifilesrc location="{frames}" loop=true caps="image/jpeg,framerate={fps}/1"'
    if codec == "mjpeg-unstamped":
        return f"( {source} ! jpegparse ! rtpjpegpay name=pay0 pt=26 )"
    pace = "! identity sync=true " if paced else ""
    raw = f"( {source} ! jpegdec ! videoconvert ! video/x-raw,format=I420 {pace}"
    if codec == "mjpeg":
        return raw + "! jpegenc name=enc quality=85 ! rtpjpegpay name=pay0 pt=26 )"
    if codec == "h265":
        return raw + (
            f"! x265enc name=enc tune=zerolatency speed-preset=ultrafast bitrate={bitrate_kbps} key-int-max={fps} "
            "! rtph265pay name=pay0 pt=96 config-interval=1 )"
        )
    return raw + (
        f"! x264enc name=enc tune=zerolatency speed-preset=ultrafast bitrate={bitrate_kbps} key-int-max={fps} "
        "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def protect(server: Any, factory: Any, method: str, user: str, password: str) -> None:
    """Only `user` with `password` may play the media (RTSP `method` authentication: digest or
    basic); anyone else gets 401 Unauthorized."""
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "camera")
    if method == "digest":
        auth.add_digest(user, password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    else:
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
    server.set_auth(auth)
    permissions = GstRtspServer.RTSPPermissions()
    for permission in ("media.factory.access", "media.factory.construct"):
        permissions.add_permission_for_role("camera", permission, True)
    factory.set_permissions(permissions)


def frames_in_loop(pattern: str) -> int:
    """How many files multifilesrc loops over (`pattern % i` from 0 until one is missing)."""
    count = 0
    while os.path.exists(pattern % count):
        count += 1
    return count


def log_sent(factory: Any, log: TextIO, loop_length: int) -> None:
    """Each time the media starts, a probe on the encoder's output writes a line per frame."""

    def configure(_factory: Any, media: Any) -> None:
        encoder = media.get_element().get_by_name("enc")
        number = [0]
        log.write(f"media {time.time():.6f}\n")

        def probe(_pad: Any, _info: Any) -> Any:
            n = number[0]
            number[0] += 1
            log.write(f"sent {time.time():.6f} {n} {n % loop_length}\n")
            return Gst.PadProbeReturn.OK

        encoder.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, probe)

    factory.connect("media-configure", configure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--frames", required=True, help="printf pattern of the JPEG frames")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--bitrate", type=int, default=800, help="kbit/s")
    parser.add_argument("--path", default="/cam")
    parser.add_argument("--codec", choices=CODECS, default="h264")
    parser.add_argument("--user", help="ask for this user (and --password)")
    parser.add_argument("--password", default="")
    parser.add_argument("--auth", choices=("digest", "basic"), default="digest")
    parser.add_argument("--udp-only", action="store_true", help="offer RTP over UDP only")
    parser.add_argument("--sent-log", help="pace frames to the wall clock and log when each is sent")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(args.frames, args.fps, args.bitrate, args.sent_log is not None, args.codec))
    factory.set_shared(True)
    if args.user:
        protect(server, factory, args.auth, args.user, args.password)
    if args.udp_only:
        factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP)
        # A media per connection: torn down after a refused TCP setup, a shared one answers the
        # client's next setup with a 5XX until it is gone (a race of this server, not cameras').
        factory.set_shared(False)
    if args.sent_log:
        log_sent(factory, open(args.sent_log, "a", buffering=1), frames_in_loop(args.frames))  # noqa: SIM115
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        sys.exit(f"could not listen on 127.0.0.1:{args.port}")

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://127.0.0.1:{args.port}{args.path}", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
