"""Offline decoding of pcap/pcapng captures: TCP flows, TLS metadata, HTTP/2 and HBONE tunnels.

Pure core: no rich/scapy/pyshark. Entry points:
- `decode_file(path, keylog=None) -> DecodeResult` (keylog: a KeyLog or a path to an NSS key log file)
- `iter_decode(path, keylog=None, every=50_000)` yields (Progress, Decoder) while a big capture loads;
  `decoder.result()` at any point gives the flows so far
- `Decoder(path, keylog, on_app_data=cb)` hands every decrypted TLS record to `cb(flow_id, is_client, data, ts)`
- `capfile.CaptureReader(path).records()` yields raw frames (number, ts, linktype, data, orig_len, interface)
"""

from ambientctl.decode.engine import DecodeError, Decoder, Progress, decode_file, iter_decode, load_keylog
from ambientctl.decode.keylog import KeyLog
from ambientctl.decode.model import DecodeResult, Flow, H2Stream, Leg, TlsInfo, Tunnel

__all__ = [
    "DecodeError",
    "DecodeResult",
    "Decoder",
    "Flow",
    "H2Stream",
    "KeyLog",
    "Leg",
    "Progress",
    "TlsInfo",
    "Tunnel",
    "decode_file",
    "iter_decode",
    "load_keylog",
]
