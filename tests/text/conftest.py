"""Keep hypothesis's cache out of the shared working tree (other people work in it)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(str(Path(tempfile.gettempdir()) / "voice-daemon-text-hypothesis"))
