"""`kiosk scan IMAGE…`: decode the QR codes and barcodes in image files, one JSON line per code.

    $ kiosk scan receipt.jpg page2.png
    {"file": "receipt.jpg", "format": "QRCode", "text": "办件回执：…", "decoder": "zxing-cpp", "position": [[…]…]}

Same decoders as the document camera (zxing-cpp, then pyzbar on a miss; Chinese
payloads in UTF-8 or GB18030), run thoroughly (QR codes and the other
symbologies). ID and mobile numbers inside payloads are masked, as everywhere.

Exit codes: 0 every file gave at least one code · 1 some file gave none ·
2 some file could not be read (or no decoder is installed).
"""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scan", help="识别图片中的二维码/条码 / decode QR codes and barcodes in image files",
        description="识别图片中的二维码和条码，每个码输出一行 JSON / decode codes, one JSON line per code. "
                    "退出码 exit code: 0 全部识别 all decoded · 1 有图片未识别到码 a file had no code · "
                    "2 有文件无法读取 a file was unreadable",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="图片文件 / image files (JPEG, PNG, BMP, TIFF…)")
    p.add_argument("--charset", default="gb18030",
                   help="无 ECI 且非 UTF-8 的码按此字符集解码 / charset for non-UTF-8 payloads without ECI "
                        "(default gb18030)")
    p.add_argument("--no-retry", action="store_true", help="只用 zxing-cpp，不用 pyzbar 重试 / zxing-cpp only")
    p.set_defaults(handler=scan_cmd)


def scan_cmd(args: argparse.Namespace) -> int:
    from hall.drivers.camera.decode import DecoderUnavailable, ImageUnreadable, decode, load_image
    from hall.security import redact_text

    try:
        "".encode(args.charset)
    except LookupError:
        print(f"未知字符集 / unknown charset: {args.charset}", file=sys.stderr)
        return 2
    code = 0
    for name in args.images:
        try:
            image = load_image(name)
            found = decode(image, thorough=True, retry=not args.no_retry, fallback_charset=args.charset)
        except ImageUnreadable as exc:
            print(f"无法读取 / unreadable: {exc}", file=sys.stderr)
            code = 2
            continue
        except DecoderUnavailable as exc:
            print(str(exc), file=sys.stderr)
            return 2
        if not found:
            print(f"未识别到二维码或条码 / no code found: {name}", file=sys.stderr)
            code = max(code, 1)
        for item in found:
            line = {"file": name, **item, "text": redact_text(item["text"])}
            print(json.dumps(line, ensure_ascii=False), flush=True)
    return code
