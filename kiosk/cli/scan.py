"""`kiosk scan IMAGE…`: decode the QR codes and barcodes in image files, one JSON line per code.

    $ kiosk scan receipt.jpg page2.png
    {"file": "receipt.jpg", "format": "QRCode", "text": "办件回执：…", "decoder": "zxing-cpp", "position": [[…]…]}

Same decoders as the document camera (zxing-cpp, then pyzbar on a miss; payloads
without ECI read as the most plausible of UTF-8, GB18030 and Shift-JIS), run
thoroughly (QR codes, inverted ones and the other symbologies). The payload is
printed as decoded except that ID and mobile numbers inside it are masked, as
everywhere (the --help says so).

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
        description="识别图片中的二维码和条码，每个码输出一行 JSON，内容按解码结果原样输出，"
                    "只遮挡其中的身份证号和手机号（430***********1234、138****1234）/ "
                    "decode codes, one JSON line per code; the payload is printed as decoded, except that "
                    "ID-card and mobile numbers in it are masked. "
                    "无 ECI 的字节按 UTF-8、GB18030、Shift-JIS 中最像正常文字的一种解读 / "
                    "bytes without ECI are read as the most plausible of UTF-8, GB18030 and Shift-JIS. "
                    "退出码 exit code: 0 全部识别 all decoded · 1 有图片未识别到码 a file had no code · "
                    "2 有文件无法读取 a file was unreadable",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="图片文件 / image files (JPEG, PNG, BMP, TIFF…)")
    p.add_argument("--charset", default="gb18030",
                   help="无 ECI 的码优先采用的中文字符集（与 Shift-JIS 比较哪个更像正常文字）/ "
                        "the Chinese charset preferred for payloads without ECI, weighed against Shift-JIS "
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
