"""Print Facegate's events as they happen: an example subscriber (docs/asyncapi.yaml lists them).

    python deploy/examples/subscribe_events.py                          # every event, new ones
    python deploy/examples/subscribe_events.py --camera <cameraId>      # one camera's
    python deploy/examples/subscribe_events.py --subject 'facegate.evt.match.*.*' --durable alarms

Events live on the JetStream stream FACEGATE_EVENTS. Without --durable the subscription starts
with new events and is forgotten on exit; with --durable NAME the server remembers what was
acknowledged, so a restarted subscriber resumes where it stopped (nothing missed in between).
`--all` replays what the stream still holds. Needs only `pip install nats-py`.

NATS accepts no anonymous client: connect as the events reader (it may read `facegate.evt.>` and
the stream, nothing else). Against `make run`:
    --nats "nats://events:$(cat var/secrets/nats-events)@127.0.0.1:14222"
and on Kubernetes the URL is the `events-nats-url` key of the chart's Secret.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

STREAM = "FACEGATE_EVENTS"
TOPIC_HEADER = "SmartFace-Topic"


def summary(subject: str, topic: str | None, body: dict[str, Any]) -> str:
    """One readable line; base64 crops are shown by size only."""
    shown = {k: (f"<{len(v) * 3 // 4} bytes>" if k == "cropImage" and v else v) for k, v in body.items()}
    if subject.startswith("facegate.evt.match.found."):
        head = f"MATCH {body.get('watchlistMemberDisplayName') or body.get('watchlistMemberId')} " \
               f"score {body.get('score')} in {body.get('watchlistDisplayName')} (tracklet {body.get('trackletId')})"
    elif subject.startswith("facegate.evt.match.missed."):
        head = f"NO MATCH (tracklet {body.get('trackletId')})"
    elif subject.startswith("facegate.evt.liveness.result."):
        head = f"LIVENESS {'passed' if body.get('passed') else 'FAILED'} face {body.get('faceId')} " \
               f"(performed {body.get('performed')}, tracklet {body.get('trackletId')})"
    elif subject.startswith("facegate.evt.tracklet.completed."):
        head = f"TRACKLET {body.get('id')} {body.get('timeAppeared')} .. {body.get('timeDisappeared')}"
    else:
        head = subject.split(".")[2] + " " + subject.split(".")[3]
    return f"[{topic or '-'}] {subject}\n  {head}\n  {json.dumps(shown)[:400]}"


async def run(args: argparse.Namespace) -> None:
    nc = await nats.connect(args.nats)
    js = nc.jetstream()
    subject = args.subject or (f"facegate.evt.*.*.{args.camera}" if args.camera else "facegate.evt.>")
    policy = DeliverPolicy.ALL if args.all else DeliverPolicy.NEW

    async def on_event(msg: Msg) -> None:
        topic = (msg.headers or {}).get(TOPIC_HEADER)
        try:
            body = json.loads(msg.data)
        except ValueError:
            body = {"raw": msg.data.decode(errors="replace")}
        print(summary(msg.subject, topic, body), flush=True)
        if args.durable:
            await msg.ack()

    if args.durable:
        config = ConsumerConfig(deliver_policy=policy)
        await js.subscribe(subject, stream=STREAM, durable=args.durable, cb=on_event, manual_ack=True, config=config)
    else:
        await js.subscribe(subject, stream=STREAM, ordered_consumer=True, cb=on_event, deliver_policy=policy)
    print(f"listening on {subject} ({args.nats}); Ctrl-C stops", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await nc.drain()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS URL")
    parser.add_argument("--camera", help="only this camera's events")
    parser.add_argument("--subject", help="any subject filter, e.g. 'facegate.evt.match.found.*'")
    parser.add_argument("--durable", help="durable consumer name: resume where the last run stopped")
    parser.add_argument("--all", action="store_true", help="start with the oldest event the stream holds")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
