"""`python -m fedi ARGS` under cProfile, switched on by SIGUSR1 and written to $FEDI_PROFILE_OUT
by SIGUSR2 (the event-loop thread only), so that a bench profiles just its measured window.
    FEDI_PROFILE_OUT=out.prof python bench/_profiled.py serve --tenants DIR
"""

from __future__ import annotations

import cProfile
import os
import signal
import sys
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from web.cli import main  # noqa: E402

profile = cProfile.Profile()


def start(signum: int, frame: FrameType | None) -> None:
    profile.enable()


def stop(signum: int, frame: FrameType | None) -> None:
    profile.disable()
    profile.dump_stats(os.environ["FEDI_PROFILE_OUT"])


signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGUSR2, stop)
raise SystemExit(main(sys.argv[1:]))
