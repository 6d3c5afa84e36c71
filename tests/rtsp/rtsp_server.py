"""A live H.264 RTSP server on 127.0.0.1 for the camera tests (Debian's gst-rtsp-server).

Run by the SYSTEM python3 (which has `gi`), not the venv:

    /usr/bin/python3 tests/rtsp/rtsp_server.py --port 8554 --frames /tmp/x/frame%03d.jpg --fps 10

It serves `rtsp://127.0.0.1:<port>/cam`: the JPEG frames (made by the test from the photos in
../shared/faces/) looped forever and encoded live with x264, so a client sees an endless camera.
The media is shared, so any number of cameras on the same URL cost one encoder. Prints
`READY <url>` once listening; SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def launch_line(frames: str, fps: int, bitrate_kbps: int) -> str:
    """multifilesrc loops the frames; x264 in zerolatency mode, a keyframe every second so a
    client that (re)connects gets a picture at once."""
    return (
        f'( multifilesrc location="{frames}" loop=true caps="image/jpeg,framerate={fps}/1" '
        "! jpegdec ! videoconvert ! video/x-raw,format=I420 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast bitrate={bitrate_kbps} key-int-max={fps} "
        "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--frames", required=True, help="printf pattern of the JPEG frames")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--bitrate", type=int, default=800, help="kbit/s")
    parser.add_argument("--path", default="/cam")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(args.frames, args.fps, args.bitrate))
    factory.set_shared(True)
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
