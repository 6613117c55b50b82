"""`ambientctl decode FILE`: offline decode of a pcap/pcapng into flows, TLS metadata, HTTP/2 streams and HBONE
tunnels (CONNECT authority, status, identities) when a key log is given or embedded in the pcapng."""

from __future__ import annotations

import argparse

from ambientctl.cli.options import OUTPUT_CHOICES, non_empty


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "decode",
        help="decode a pcap/pcapng: flows, TLS, HTTP/2 and HBONE tunnels",
        description="Decode a capture (pcap or pcapng, e.g. from `ambientctl capture` or tcpdump -w): TCP flows "
        "with handshake, FIN/RST and bytes per direction; TLS hello metadata; HBONE tunnels (TLS to port 15008 "
        "with ALPN h2) and the plaintext legs around them. With an NSS key log (--keylog, or Decryption Secrets "
        "Blocks inside a pcapng) TLS 1.3 is decrypted: the CONNECT :authority, baggage, traceparent, response "
        "status (200/401/503), the inner HTTP/1.x request, and both peers' SPIFFE IDs. Decoder plugins then read "
        "what the apps sent inside each tunnel and decrypted TLS connection (HTTP/1.x built in; see `ambientctl "
        "plugins list`).",
        epilog="Exit status: 0 decoded, 1 the file is missing, not a capture, or damaged (decoded up to the "
        "damage). Example: ambientctl decode hbone.pcapng --keylog keys.txt -o json",
    )
    p.add_argument("file", metavar="FILE", type=non_empty, help="pcap or pcapng capture")
    p.add_argument("--keylog", metavar="FILE", type=non_empty, help="NSS key log (SSLKEYLOGFILE format) to decrypt TLS 1.3")
    p.add_argument(
        "-o", "--output", choices=OUTPUT_CHOICES, default="text", help="output format (default: text)"
    )
    p.add_argument(
        "--export-pcapng",
        metavar="OUT",
        type=non_empty,
        help="also write the capture as pcapng with the key-log lines of its TLS sessions embedded (Decryption "
        "Secrets Block), so Wireshark opens it decrypted",
    )
    p.add_argument("--force", action="store_true",
                   help="replace OUT if it exists (never the capture itself, a symbolic link or a device)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from ambientctl.errors import InputError
    from ambientctl.output.decode_text import render_decode, write_decode_json
    from ambientctl.output.envelope import emit
    from ambientctl.plugins import check_output_format
    from ambientctl.plugins.inner import render_payloads
    from ambientctl.words import count

    check_output_format(args.output)
    target = None
    if args.export_pcapng is not None:  # checked before decoding: a refused path costs nothing
        from ambientctl.outfile import check_target

        check_inputs(args.file, args.keylog)  # the inputs first, in the order given
        target = check_target(args.export_pcapng, "--export-pcapng", force=args.force,
                              inputs=[args.file, args.keylog], stream_ok=False)
    doc, result = decode_document(args.file, args.keylog)
    if target is not None:
        from ambientctl.decode.export import ExportError, export_pcapng

        try:
            n = export_pcapng(result, target)
        except ExportError as e:
            raise InputError(str(e)) from None
        print(f"ambientctl: wrote {args.export_pcapng} ({count(n, 'key-log line')} embedded)", file=sys.stderr)
    if args.output == "json":
        write_decode_json(doc, sys.stdout)
    else:
        emit(doc, args.output, lambda d, out: (render_decode(d, out), render_payloads(d, out)))
    # One line on stderr at most: where the file is damaged (exit 1, in every format: the report above covers the
    # packets before it), else in json/yaml the first warning (the rest are in the document; text shows them all).
    from ambientctl.unicode import visible_line

    damage = [w for w in result.warnings if w.startswith(f"{args.file}:")] if result.damaged else []
    shown = damage or (result.warnings if args.output != "text" else [])
    if shown:
        more = len(result.warnings) - 1
        print(f"ambientctl: warning: {visible_line(shown[0])}" + (f" (+{more} more warning{'s' if more > 1 else ''} in the output)"
                                                    if more and args.output != "text" else ""), file=sys.stderr)
    return 1 if result.damaged else 0


def decode_document(file: str, keylog: str | None):  # type: ignore[no-untyped-def]
    """(the Decode document `decode FILE` prints, the decode result behind it); `ambientctl mcp` serves the
    same document."""
    from ambientctl.decode import DecodeError, load_keylog
    from ambientctl.errors import InputError
    from ambientctl.output.envelope import envelope
    from ambientctl.plugins import registry
    from ambientctl.plugins.inner import add_payloads, decode_with_payloads

    check_inputs(file, keylog)
    try:
        keys = load_keylog(keylog)
        result, payloads = decode_with_payloads(file, keys, registry)  # decoder plugins read inner bytes
    except DecodeError as e:
        raise InputError(str(e)) from None
    return envelope("Decode", add_payloads(result.to_dict(), payloads)), result


def check_inputs(file: str, keylog: str | None) -> None:
    """Inputs are checked in the order given: the capture, then its key log."""
    from ambientctl.errors import check_readable

    check_readable(file, "capture")
    if keylog:
        check_readable(keylog, "key log")
