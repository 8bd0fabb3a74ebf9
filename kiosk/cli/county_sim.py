"""`kiosk county-sim`: run the county platform simulator on loopback (kiosk/relay/county-api.yaml).

Faults are injected over its admin routes, for example::

    curl -X POST localhost:8900/_sim/faults -d '{"fault": "http_error", "count": 5}'
    curl -X POST localhost:8900/_sim/faults -d '{"fault": "refuse", "seconds": 60}'
    curl -X POST localhost:8900/_sim/faults -d '{"fault": "reject", "kinds": ["rating"], "reason": "测试"}'
    curl -X DELETE localhost:8900/_sim/faults
    curl localhost:8900/_sim/stats
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("county-sim", help="县级平台模拟器 / county platform simulator (loopback)")
    p.add_argument("--port", type=int, default=8900)
    p.add_argument("--host", default="127.0.0.1", help="loopback only: 127.0.0.1, ::1 or localhost")
    p.add_argument("--config", "-c", help="hall config: hall id and secret location from its [county] section")
    p.add_argument("--hall-id", help="the hall id to accept (default: from --config, else the demo hall's)")
    p.add_argument("--secret-env", default=None, help="environment variable holding the secret "
                                                      "(default: as in the config, HALL_COUNTY_SECRET)")
    p.add_argument("--secret-file", help="file holding the secret")
    p.add_argument("--store", help="SQLite file to keep what it receives (default: memory)")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="the certificate's private key (PEM)")
    p.set_defaults(handler=county_sim_cmd)


def county_sim_cmd(args: argparse.Namespace) -> int:
    from hall.config.loader import ConfigError, demo_config_path, load_config
    from hall.relay.client import RelayConfigError, load_secret
    from hall.relay.county_sim import CountySimulator

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        county = load_config(args.config or demo_config_path()).county
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    updates: dict[str, str] = {}
    if args.secret_env:
        updates["secret_env"] = args.secret_env
    if args.secret_file:
        updates["secret_file"] = args.secret_file
    county = county.model_copy(update=updates)
    hall_id = args.hall_id or county.hall_id
    try:
        secret = load_secret(county)
    except RelayConfigError as exc:
        print(f"{exc}\n（模拟器与大厅须使用同一密钥 / the simulator and the hall share the secret）", file=sys.stderr)
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("--tls-cert 与 --tls-key 须同时给出 / give both --tls-cert and --tls-key", file=sys.stderr)
        return 2
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    try:
        sim = CountySimulator(secrets={hall_id: secret}, host=args.host, port=args.port,
                              store_path=Path(args.store) if args.store else ":memory:", tls=tls).start()
    except (OSError, ValueError) as exc:
        print(f"模拟器无法启动 / cannot start: {exc}", file=sys.stderr)
        return 2
    print(f"县级平台模拟器 / county simulator: {sim.url}  (hall {hall_id}, catalog {sim.catalog['version']}, "
          f"reasons {sim.reasons['version']})", flush=True)
    print(f"  stats: {sim.url}/_sim/stats   faults: POST {sim.url}/_sim/faults", flush=True)
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        snap = sim.snapshot()
        sim.stop()
        print(f"收到 received {snap['messages']}, 存储 stored {snap['stored']}, 重复 duplicates {snap['duplicates']}, "
              f"拒收 rejected {snap['rejected']}, 签名失败 auth failures {snap['auth_failures']}", flush=True)
    return 0
