"""`kiosk relay status|dead-letters|retry`: the county relay, for technicians.

`status` reads the hall's database (works while the service runs, or when it is
down), or with `--url` asks the running service (its in-memory state too:
back-off, clock skew). `--watch` follows a long drain.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("relay", help="县级平台转发状态 / county relay status and dead letters")
    rsub = p.add_subparsers(dest="relay_command", metavar="ACTION")
    rsub.required = True

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--config", "-c", help="hall config (TOML); its server.data_dir locates the database")
        q.add_argument("--demo", action="store_true", help="the demo hall's config")
        q.add_argument("--data-dir", help="the service's data folder (holds hall.db)")
        q.add_argument("--json", action="store_true", help="machine-readable output")

    st = rsub.add_parser("status", help="积压、最近成功/错误、死信、进度 / backlog, last success/error, dead letters")
    common(st)
    st.add_argument("--url", help="ask the running service instead, e.g. http://127.0.0.1:8080")
    st.add_argument("--watch", type=float, metavar="SECONDS", help="repeat every SECONDS until the backlog is empty")
    st.set_defaults(handler=status_cmd)
    dl = rsub.add_parser("dead-letters", help="列出死信 / list dead letters")
    common(dl)
    dl.add_argument("--limit", type=int, default=50)
    dl.set_defaults(handler=dead_letters_cmd)
    rt = rsub.add_parser("retry", help="修复原因后重发死信 / send a dead letter again after a fix")
    common(rt)
    rt.add_argument("id", type=int, nargs="+", help="dead letter id(s) from `kiosk relay dead-letters`")
    rt.add_argument("--actor", default="cli", help="who retries (for the audit log)")
    rt.set_defaults(handler=retry_cmd)


def _database(args: argparse.Namespace) -> Any:
    from hall.config.loader import ConfigError, demo_config_path, load_config
    from hall.paths import data_dir
    from hall.store.db import Database

    configured = ""
    if args.config or args.demo:
        try:
            configured = load_config(args.config or demo_config_path()).server.data_dir
        except ConfigError as exc:
            print(exc.render(), file=sys.stderr)
            raise SystemExit(2) from exc
    ddir = data_dir(args.data_dir or configured)
    if not (Path(ddir) / "hall.db").exists():
        print(f"数据库不存在 / no database at {Path(ddir) / 'hall.db'} (use --data-dir)", file=sys.stderr)
        raise SystemExit(2)
    return Database(Path(ddir) / "hall.db")


def _from_service(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=5) as r:
            relay: dict[str, Any] = json.loads(r.read())["relay"]
            return relay
    except urllib.error.HTTPError as exc:  # /healthz answers 503 with a body when degraded
        relay = json.loads(exc.read())["relay"]
        return relay


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    if s < 120:
        return f"{s} 秒前 / {s} s ago"
    if s < 7200:
        return f"{s // 60} 分钟前 / {s // 60} min ago"
    if s < 172800:
        return f"{s // 3600} 小时前 / {s // 3600} h ago"
    return f"{s // 86400} 天前 / {s // 86400} days ago"


def render(st: dict[str, Any]) -> str:
    lines = ["县级平台转发 / county relay"]
    if st.get("source") == "database":
        lines.append("  状态 state:             —（读自数据库；运行状态请用 --url / read from the database, "
                     "use --url for the live state）")
    else:
        running = " (running)" if st.get("running") else ""
        lines.append(f"  状态 state:             {st.get('state', '?')}{running}")
    if st.get("config_error"):
        lines.append(f"  配置问题 config:        {st['config_error']}")
    oldest = st.get("oldest_pending_at")
    lines.append(f"  待发送 backlog:         {st.get('backlog', 0):,}"
                 + (f"  (最早 oldest {oldest}, {_age(st.get('oldest_pending_age_seconds'))})" if oldest else ""))
    blocked = st.get("blocked_by_dead_letters") or 0
    lines.append(f"  死信 dead letters:      {st.get('dead_letters', 0):,}"
                 + (f"  (其后阻塞 blocked behind them: {blocked:,})" if blocked else ""))
    lines.append(f"  最近成功 last success:  {st.get('last_success_at') or '—'}")
    err = st.get("last_error")
    lines.append(f"  最近错误 last error:    {err or '—'}" + (f"  ({st.get('last_error_at')})" if err else ""))
    if st.get("next_attempt_in_seconds"):
        lines.append(f"  下次重试 next attempt:  {st['next_attempt_in_seconds']} s")
    if st.get("clock_skew_seconds"):
        skew = st["clock_skew_seconds"]
        lines.append(f"  时钟偏差 clock skew:    {skew:+} s（县级平台时间减本机时间 / county minus hall）")
    d = st.get("drain")
    if d:
        eta = f", 预计 ETA {d['eta_seconds']} s" if d.get("eta_seconds") is not None else ""
        lines.append(f"  补发进度 drain:         {d['percent']}%  {d['sent']:,} 已发 sent, "
                     f"{d['remaining']:,} 剩余 left, {d['rate_per_second']}/s{eta}")
    elif st.get("last_drain"):
        d = st["last_drain"]
        lines.append(f"  上次补发 last drain:    {d['sent']:,} 条 messages, {d['started_at']} → {d['finished_at']}")
    if st.get("dropped_fields"):
        lines.append(f"  未发送字段 dropped:     {', '.join(st['dropped_fields'])}")
    return "\n".join(lines)


def status_cmd(args: argparse.Namespace) -> int:
    db = None if args.url else _database(args)
    try:
        while True:
            if args.url:
                try:
                    st = _from_service(args.url)
                except (OSError, ValueError, KeyError) as exc:
                    print(f"无法从服务读取 / cannot read {args.url}/healthz: {exc}", file=sys.stderr)
                    return 2
            else:
                from hall.relay.outbox import outbox_status

                assert db is not None
                st = outbox_status(db)
                st.pop("configured", None)  # the database cannot tell; the running service can
                st["source"] = "database"
            print(json.dumps(st, ensure_ascii=False, indent=1) if args.json else render(st), flush=True)
            if not args.watch or st.get("backlog", 0) == 0:
                return 0
            time.sleep(args.watch)
            print()
    except KeyboardInterrupt:
        return 0
    finally:
        if db is not None:
            db.close()


def dead_letters_cmd(args: argparse.Namespace) -> int:
    from hall.relay.outbox import dead_letters

    db = _database(args)
    try:
        rows = dead_letters(db, args.limit)
    finally:
        db.close()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print("没有死信 / no dead letters")
        return 0
    for r in rows:
        print(f"#{r['id']}  {r['kind']:<18} {r['message_id']}  ({r['order_key']})")
        print(f"      拒收 rejected {r['dead_at']}  [{r['dead_code']}] {r['dead_reason']}")
        print(f"      尝试 attempts {r['attempts']}, 重发 retried {r['retried']}")
    print("\n修复原因后重发 / after fixing the cause: kiosk relay retry <id> [--data-dir ...]")
    return 0


def retry_cmd(args: argparse.Namespace) -> int:
    from hall.relay.outbox import retry_dead_letter

    db = _database(args)
    code = 0
    try:
        for row_id in args.id:
            if retry_dead_letter(db, row_id, actor=f"cli:{args.actor}"):
                print(f"#{row_id} 已重新排队 / queued again")
            else:
                print(f"#{row_id} 不是死信 / is not a dead letter", file=sys.stderr)
                code = 1
    finally:
        db.close()
    return code
