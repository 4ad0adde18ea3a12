"""`singan-backend serve`: run the backend until SIGTERM, SIGINT or a `shutdown` request."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from singan_protocol import DEFAULT_MAX_PIXELS

from .. import cpu_policy
from .config import ServerConfig

log = logging.getLogger("singan_backend.server")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="singan-backend",
                                     description="The SinGAN backend service (ZeroMQ).")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve clients until stopped")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=0, help="TCP port (default 0: any free one)")
    serve.add_argument("--connection-file", default="",
                       help="where to write the connection file (default: "
                            "$SINGAN_CONNECTION_FILE or the user data folder's backend.json)")
    serve.add_argument("--models-dir", default="", help="model store folder")
    serve.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: best)")
    serve.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                       help="largest input image in pixels (default %(default)s)")
    serve.add_argument("--log-level", default="INFO",
                       choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def main(argv: list[str] | None = None) -> int:
    cpu_policy.enable()  # threads that follow the load: Krita beside us holds a core
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "serve":
        parser.print_help()
        return 2
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not 0 <= args.port < 65536 or args.max_pixels < 1:
        parser.error("--port must be in 0..65535 and --max-pixels positive")
    config = ServerConfig(host=args.host, port=args.port, connection_file=args.connection_file,
                          models_dir=args.models_dir, device=args.device,
                          max_pixels=args.max_pixels, max_output_pixels=4 * args.max_pixels)
    # Imported here so that `--help` answers without loading torch.
    import zmq

    from ..errors import SinGANError
    from .ownership import AlreadyRunning
    from .service import Server

    try:
        server = Server(config)
    except (AlreadyRunning, SinGANError) as e:
        log.error("%s", e)
        return 1
    except (OSError, zmq.ZMQError) as e:  # e.g. the port is taken
        log.error("cannot start the backend: %s", e)
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: server.request_stop())
    try:
        server.start()
        server.serve_forever()
    except BaseException:
        log.exception("the backend failed")
        server.close()
        return 1
    if any(w.is_alive() for w in server.jobs.workers):
        # A worker still inside a torch kernel after the grace period would make the
        # interpreter's exit abort ("terminate called ...", status -6); the final events are
        # sent and the checkpoints written, so leave at once.
        logging.shutdown()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
