"""`python -m shared.modelpack prepare [--no-verify]`: fill the model cache (FACEGATE_MODELS_DIR)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from shared.modelpack.prepare import prepare
from shared.modelpack.sources import SourceError
from shared.modelpack.verify import VerificationError
from shared.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.modelpack")
    parser.add_argument("command", choices=["prepare"])
    parser.add_argument("--no-verify", action="store_true", help="skip the comparison with TF.js")
    args = parser.parse_args(argv)
    settings = load_settings()
    started = time.monotonic()
    try:
        done = prepare(Path(settings.models_dir), check=not args.no_verify, say=print)
    except (SourceError, VerificationError) as exc:
        print(f"modelpack: {exc}", file=sys.stderr)
        return 1
    print(f"{len(done.models)} models ready in {settings.models_dir} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
