"""The backend service: one ROUTER socket, one thread that owns it, two job lanes.

The socket thread never runs engine work: it checks and answers messages, queues jobs, and
sends what the workers post to its outbox (a ZeroMQ socket is not thread-safe, so workers
never touch it; they wake the loop through a socketpair). No bad message may end the loop.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import queue
import socket
import time

import zmq

from singan_protocol import (
    PROTOCOL_VERSION,
    ConnectionInfo,
    Message,
    ProtocolError,
    ReplayGuard,
    Signer,
    decode,
    encode,
    new_key,
)
from singan_protocol.messages import JOB_REQUESTS, QUICK_REQUESTS
from singan_protocol.wire import major

from ..device import pick_device
from ..errors import SinGANError
from ..store import ModelStore
from .config import ServerConfig
from .handlers import Handlers
from .jobs import Job, JobManager
from .journal import Journal
from .ownership import Ownership

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name or "*": reachable from elsewhere as far as we know
        return False


class Server:
    def __init__(self, config: ServerConfig):
        self.config = config = config.resolved()
        self.ownership = Ownership(config.models_dir, config.connection_file)
        self.ownership.claim()  # raises AlreadyRunning before anything else is touched
        try:
            self.store = ModelStore(config.models_dir)
            self.store.clean_up()  # temp files of writes a kill interrupted
            self.device = pick_device(config.device)
            self.journal = Journal(config.models_dir)
            self.handlers = Handlers(config, self.store, self.device, self.journal)
            self.key = new_key()
            self.signer = Signer(self.key)
            self.replay = ReplayGuard(config.replay_window_s)
            self.outbox: queue.SimpleQueue = queue.SimpleQueue()
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            self.context = zmq.Context()
            self.socket = self.context.socket(zmq.ROUTER)
            self.socket.setsockopt(zmq.LINGER, 1000)  # let final events out on exit
            self.socket.setsockopt(zmq.MAXMSGSIZE, config.max_frame_bytes)  # before allocating
            self.socket.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a reconnecting id takes over
            self.curve_public = self._encrypt_beyond_loopback(config.host)
            if config.port:
                self.socket.bind(f"tcp://{config.host}:{config.port}")
                self.port = config.port
            else:
                self.port = self.socket.bind_to_random_port(f"tcp://{config.host}")
        except BaseException:
            self.ownership.release()
            raise
        self.peers: dict[bytes, float] = {}  # client id -> when last heard from
        self.stop_requested = False
        self.dropped = 0
        self._last_drop_log = 0.0
        self._last_heartbeat = time.monotonic()
        self.jobs = JobManager(self.handlers.run_job, self._post, config.max_queued,
                               config.progress_hz, config.max_kept_results,
                               config.max_kept_bytes)
        self.handlers.jobs = self.jobs

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> ConnectionInfo:
        """Publish the connection file and re-queue the journal's unfinished train jobs."""
        info = ConnectionInfo("tcp", self.config.host, self.port, self.key, os.getpid(),
                              PROTOCOL_VERSION, self.config.models_dir,
                              curve_server_key=self.curve_public)
        for job in self.handlers.resumable_jobs():
            self.jobs.submit(job)
        self.ownership.publish(info)
        log.info("serving on %s (device %s, models %s)", info.url, self.device,
                 self.config.models_dir)
        return info

    def _encrypt_beyond_loopback(self, host: str) -> str:
        """CURVE on a socket other machines can reach; returns its public key ("" if none).

        Messages are signed either way; off loopback they would also travel in clear text
        (image pixels, model names), so they are encrypted. The public key goes into the
        owner-only connection file; the secret one never leaves this process.
        """
        if is_loopback(host):
            return ""
        public, secret = zmq.curve_keypair()
        self.socket.curve_secretkey = secret
        self.socket.curve_server = True
        log.warning("listening on %s, beyond this machine: anyone on the network can reach "
                    "the port; requests need the key in the connection file and traffic is "
                    "encrypted (ZeroMQ CURVE). Copy the connection file only to trusted "
                    "machines, or serve on 127.0.0.1", host)
        return public.decode("ascii")

    def request_stop(self) -> None:
        """Safe from a signal handler: the loop notices at once and stops cleanly."""
        self.stop_requested = True
        self._wake()

    def serve_forever(self) -> None:
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self._wake_r.fileno(), zmq.POLLIN)
        while not self.stop_requested:
            ready = dict(poller.poll(timeout=int(1000 * self.config.heartbeat_s / 2)))
            try:
                if self.socket in ready:
                    self._read_socket()
                self._drain_wake()
                self._flush_outbox()
                self._heartbeat()
            except Exception:  # the loop must outlive any bug in one message's handling
                log.exception("error in the service loop (continuing)")
        self._shutdown()

    def _shutdown(self) -> None:
        log.info("stopping: the running jobs stop after their current iteration")
        self.jobs.shutdown()
        deadline = time.monotonic() + self.config.shutdown_grace_s
        while any(w.is_alive() for w in self.jobs.workers) and time.monotonic() < deadline:
            self.jobs.join(0.1)
            self._flush_outbox()
        self._flush_outbox()
        if any(w.is_alive() for w in self.jobs.workers):
            log.warning("a job did not stop within %.0f s; exiting anyway (its last "
                        "checkpoint is kept)", self.config.shutdown_grace_s)
        self.close()

    def close(self) -> None:
        if self.socket.closed:
            return
        self.socket.close()
        self.context.term()
        self._wake_r.close()
        self._wake_w.close()
        self.ownership.release()
        log.info("stopped")

    # -- receiving ---------------------------------------------------------------------------
    def _read_socket(self) -> None:
        for _ in range(100):  # bounded, so the outbox and heartbeats are never starved
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            try:
                self._handle(frames)
            except Exception:
                log.exception("error while handling a message (continuing)")

    def _drop(self, reason: str) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._last_drop_log > 1.0 or self.dropped <= 5:
            self._last_drop_log = now
            log.warning("dropped a message: %s (%d dropped so far)", reason, self.dropped)

    def _handle(self, frames: list) -> None:
        # [client id, signature, header, body, *images]; check the count before any hashing
        if not 4 <= len(frames) <= 4 + self.config.max_images:
            return self._drop(f"{len(frames)} frames")
        peer = frames[0].bytes
        try:
            msg = decode(self.signer, frames[1:], self.config.max_pixels)
            self.replay.check(msg)
        except ProtocolError as e:
            if e.msg_id is None:  # unsigned, forged, unreadable header or replayed: no answer
                return self._drop(e.message)
            return self._send_error(peer, e.msg_id, e.code, e.message)
        self.peers[peer] = time.monotonic()
        try:
            self._dispatch(peer, msg)
        except (ProtocolError, SinGANError) as e:
            self._send_error(peer, msg.msg_id, e.code, e.message)
        except Exception as e:
            log.exception("request %s (%s) failed", msg.msg_id, msg.msg_type)
            self._send_error(peer, msg.msg_id, "internal",
                             f"internal error ({type(e).__name__}); the backend log has details")

    def _dispatch(self, peer: bytes, msg: Message) -> None:
        t = msg.msg_type
        if major(msg.version) != major(PROTOCOL_VERSION):
            raise ProtocolError(f"message is protocol {msg.version}, the backend speaks "
                                f"{PROTOCOL_VERSION}: update the older side", "version_mismatch")
        cls = QUICK_REQUESTS.get(t) or JOB_REQUESTS.get(t)
        if cls is None:
            raise ProtocolError(f"unknown request type {t[:40]!r}", "unknown_type")
        req = cls.from_dict(msg.body)
        want = len(msg.images) if t == "echo" else req.image_count()
        if len(msg.images) != want:
            raise ProtocolError(f"{t} takes {want} image(s), got {len(msg.images)}")
        if t in QUICK_REQUESTS:
            event, body, images = self.handlers.quick(msg, req)
            self._send(peer, msg.msg_id, event, body, images)
            if t == "shutdown":
                self.request_stop()
            return
        job = self.handlers.prepare(msg, req, peer)
        if t == "train" and not job.body.get("resume"):
            self.journal.add(job.job_id, t, job.body, job.images[0])
        try:
            position = self.jobs.submit(job)
        except ProtocolError:
            self.journal.remove(job.job_id)
            raise
        self._send(peer, msg.msg_id, "accepted",
                   {"job_id": job.job_id, "position": position, "lane": job.lane})

    # -- sending -----------------------------------------------------------------------------
    def _send(self, peer: bytes, parent_id: str | None, msg_type: str, body: dict,
              images: list = ()) -> None:
        _, frames = encode(self.signer, msg_type, body, images, parent_id)
        # A ROUTER drops (never blocks on) a message for a gone or full peer.
        self.socket.send_multipart([peer] + frames, copy=False)

    def _send_error(self, peer: bytes, parent_id: str, code: str, message: str) -> None:
        self._send(peer, parent_id, "error", {"code": code, "message": message, "job_id": None})

    def _post(self, job: Job, msg_type: str, body: dict, images: list) -> None:
        """emit() for the workers: any thread may call it."""
        if job.peer is not None:
            self.outbox.put((job.peer, job.request_id, msg_type, body, images))
            self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # the pipe is full (so the loop will wake anyway) or closed at exit

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass  # drained

    def _flush_outbox(self) -> None:
        while True:
            try:
                peer, parent_id, msg_type, body, images = self.outbox.get_nowait()
            except queue.Empty:
                return
            self._send(peer, parent_id, msg_type, body, images)

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat < self.config.heartbeat_s:
            return
        self._last_heartbeat = now
        for peer, seen in list(self.peers.items()):
            if now - seen > self.config.peer_timeout_s:
                del self.peers[peer]
            else:
                self._send(peer, None, "heartbeat", {"time": time.time()})
