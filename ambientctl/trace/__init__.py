"""`trace`: the story of one request, told from the prediction (explain), the packets (decode) and what the
proxies logged (evidence), joined hop by hop.

- `build.build_trace(explanation, captures, events, ...)` -> the Trace body (pure: values in, dict out).
- `replay.load_recording(dir)` / `replay.demo_recordings()` read recorded or saved evidence (files) and decode it;
  `replay.save_trace(dir, ...)` writes a saved trace atomically (manifest last) for `trace --from`.
"""

from ambientctl.trace.build import CaptureEvidence, build_trace

__all__ = ["CaptureEvidence", "build_trace"]
