"""The operator's halt and resume: ``POST /halt`` and ``POST /resume`` on the health server, and the
``vibetrading halt`` / ``vibetrading resume`` commands that use them.

A halt is a fact like any other: :meth:`LiveSession.halt` journals ``TradingHalted`` through the
kernel, the risk gate folds it (no new order leaves, cancels still do), and because it is in the
journal a restart folds it again and starts halted. The endpoints answer only after the fact is
on disk (the writer's durable barrier), so a 200 means the halt survives a crash.

**The token.** The endpoints take ``Authorization: Bearer TOKEN``. The token is the systemd
credential ``halt-token`` (``$CREDENTIALS_DIRECTORY/halt-token``, from ``LoadCredential=``) when
there is one, else ``STATE_DIR/halt.token``, which the daemon creates at start when it is missing:
32 random bytes, URL-safe text, mode 0600, written to a temporary name and linked into place, so
a reader never sees a half-written token and two starts never replace each other's. The token is
registered with the log redaction and never logged, journalled or echoed in an answer; tokens are
compared in constant time.

**The commands.** ``vibetrading halt --config FILE`` first asks the daemon (``[health] listen``,
2 s). When nothing listens there, the daemon is not running: the command appends the event to the
journal itself (taking the writer's lock, fsynced), and the next start folds it. A journal locked
by a daemon whose endpoint does not answer, no journal yet, a refused token: VT974.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hmac
import inspect
import json
import os
import secrets
import stat
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

import msgspec
from aiohttp import web

from daemon.config import load_config, parse_listen
from daemon.journal import FileJournal
from daemon.logs import get_logger, register_secret
from engines.errors import VibeError
from engines.model.events import TradingHalted, TradingResumed

try:  # the journal's advisory lock; absent on Windows, where the journal runs unlocked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from daemon.live.session import LiveSession

__all__ = [
    "CREDENTIAL_NAME",
    "TOKEN_FILE",
    "ControlError",
    "ControlResult",
    "add_control_parsers",
    "cmd_control",
    "control",
    "ensure_token",
    "install_control",
    "read_token",
]

TOKEN_FILE: Final = "halt.token"  # noqa: S105 - a file name, not a secret
CREDENTIAL_NAME: Final = "halt-token"
TOKEN_BYTES: Final = 32
MAX_REASON: Final = 500
HTTP_TIMEOUT_S: Final = 2.0
CANCEL_TIMEOUT_S: Final = 60.0
DEFAULT_HALT_REASON: Final = "halted by the operator"
OPERATOR: Final = "operator"

Action = Literal["halt", "resume"]
_Body = TypeVar("_Body", bound=msgspec.Struct)


class ControlError(VibeError):
    """A halt or resume that could not be carried out (no token, no journal, daemon unreachable)."""

    code = "VT974"


# ── the token ──────────────────────────────────────────────────────────────────────────────────


def _credential_path(environ: Mapping[str, str]) -> Path | None:
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / CREDENTIAL_NAME
    return path if path.exists() else None


def _read_token_file(path: Path, *, private: bool) -> str:
    """The token in ``path``; ``private``: refuse a file that group or others may read."""
    try:
        # O_NOFOLLOW | O_NONBLOCK: a symlink swapped in, or a FIFO, is refused instead of followed or hung on
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ControlError(f"cannot open the halt token {path} ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ControlError(f"the halt token {path} is not a regular file")
        if private and info.st_mode & 0o077:
            raise ControlError(
                f"the halt token {path} is readable by group or others (mode {stat.S_IMODE(info.st_mode):o})",
                hint=f"chmod 600 {path}: whoever reads the token can halt and resume trading.",
            )
        raw = handle.read(4096)
    try:
        token = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ControlError(f"the halt token {path} is not ASCII text") from None
    # an HTTP header value: visible ASCII only, so no client mangles it and no comparison trips on it
    if not token or any(not 0x21 <= ord(c) <= 0x7E for c in token):
        raise ControlError(f"the halt token {path} is empty or holds spaces or control characters")
    return token


def read_token(state_dir: Path, environ: Mapping[str, str] | None = None) -> str | None:
    """The token the daemon uses, or None when neither the credential nor the state file exists."""
    env = os.environ if environ is None else environ
    credential = _credential_path(env)
    if credential is not None:
        return _read_token_file(credential, private=False)  # systemd owns the credential's modes
    path = state_dir / TOKEN_FILE
    if not path.exists():
        return None
    return _read_token_file(path, private=True)


def ensure_token(state_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    """The daemon's token: the credential, else the state file, created when missing."""
    token = read_token(state_dir, environ)
    if token is None:
        token = _create_token(state_dir / TOKEN_FILE)
    register_secret(token)
    return token


def _create_token(path: Path) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # the umask may only take bits away, but say it outright
            os.write(fd, (token + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)  # never replaces: a token another start created stands
        except FileExistsError:
            return _read_token_file(path, private=True)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        raise ControlError(f"cannot create the halt token {path} ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    return token


# ── the endpoints ──────────────────────────────────────────────────────────────────────────────


class _HaltBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: str = DEFAULT_HALT_REASON
    cancel_open: bool = False


class _ResumeBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


def _answer(status: int, body: Mapping[str, object]) -> web.Response:
    return web.json_response(dict(body), status=status, headers={"Cache-Control": "no-store"})


class _Endpoints:
    def __init__(self, session: LiveSession, token: str) -> None:
        self.session = session
        self._token = token.encode("ascii")
        self.log = get_logger(component="control")

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        # bytes: compare_digest refuses non-ASCII str, and a header may hold anything
        return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), self._token)

    async def _guard(self, request: web.Request) -> web.Response | None:
        if not self._authorized(request):
            self.log.warning("control_unauthorized", path=request.path, remote=request.remote)
            return web.json_response(
                {"error": "unauthorized: send Authorization: Bearer <halt token>"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="vibetrading"', "Cache-Control": "no-store"},
            )
        session = self.session
        if session.kernel is None or not session.run_id:
            return _answer(503, {"error": "the session has not started yet; try again in a moment"})
        return None

    async def _body(self, request: web.Request, kind: type[_Body]) -> _Body:
        raw = await request.read()
        if not raw.strip():
            raw = b"{}"
        try:
            return msgspec.json.decode(raw, type=kind)
        except msgspec.DecodeError as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": f"invalid body: {exc}"}), content_type="application/json"
            ) from None

    async def _durable(self) -> None:
        writer = self.session.writer
        if writer is not None:
            await writer.barrier()

    async def halt(self, request: web.Request) -> web.Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        body = await self._body(request, _HaltBody)
        reason = body.reason.strip() or DEFAULT_HALT_REASON
        if len(reason) > MAX_REASON:
            return _answer(400, {"error": f"the reason is longer than {MAX_REASON} characters"})
        if self._token.decode("ascii") in reason:
            return _answer(400, {"error": "the reason must not contain the token"})
        session = self.session
        was = session.halted
        try:
            session.halt(reason, source=OPERATOR)
            await self._durable()
        except VibeError as exc:
            return _answer(500, {"error": str(exc)})
        if session.halted is None:
            return _answer(500, {"error": "the halt was not recorded; see the daemon's log"})
        answer: dict[str, object] = {"halted": True, "reason": session.halted, "changed": was is None}
        if was is None:
            self.log.warning("trading_halted", source=OPERATOR, reason=reason, remote=request.remote)
        if body.cancel_open:
            try:
                answer["canceled"] = await self._cancel_open()
            except (VibeError, OSError) as exc:  # the halt stands; say what the cancels ran into
                answer["canceled"] = None
                answer["cancel_error"] = str(exc)
                self.log.error("cancel_open_failed", error=str(exc))
        return _answer(200, answer)

    async def _cancel_open(self) -> int | None:
        """How many cancels the session sent, or None when this session cannot cancel on demand."""
        cancel = getattr(self.session, "cancel_open_orders", None)
        if not callable(cancel):
            return None
        sent = cancel()
        if inspect.isawaitable(sent):
            sent = await sent
        await self._durable()
        return sent if isinstance(sent, int) else None

    async def resume(self, request: web.Request) -> web.Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        await self._body(request, _ResumeBody)
        session = self.session
        was = session.halted
        try:
            session.resume(source=OPERATOR)
            await self._durable()
        except VibeError as exc:
            return _answer(500, {"error": str(exc)})
        if was is not None:
            self.log.warning("trading_resumed", source=OPERATOR, was=was, remote=request.remote)
        return _answer(
            200, {"halted": session.halted is not None, "reason": session.halted, "changed": was is not None}
        )


def install_control(app: web.Application, session: LiveSession) -> None:
    """Add ``POST /halt`` and ``POST /resume`` to the health server's app (before it starts);
    creates the state directory's token when there is neither it nor the credential."""
    endpoints = _Endpoints(session, ensure_token(session.state_dir, session.options.environ))
    app.router.add_post("/halt", endpoints.halt)
    app.router.add_post("/resume", endpoints.resume)


# ── the commands ───────────────────────────────────────────────────────────────────────────────


class ControlResult(msgspec.Struct, frozen=True, kw_only=True):
    """What ``vibetrading halt`` / ``resume`` did. ``via`` is ``daemon`` (through its endpoint) or
    ``journal`` (appended while it was not running); ``changed`` is False when it already was so."""

    ok: bool = True
    action: str
    via: Literal["daemon", "journal"]
    halted: bool
    reason: str | None
    changed: bool
    where: str
    seq: int | None = None
    canceled: int | None = None
    note: str | None = None


def _connect_host(host: str) -> str:
    # a daemon bound to every address answers on loopback
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104 - connects


def _url(listen: str) -> str:
    host, port = parse_listen(listen)
    host = _connect_host(host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _NotListening(Exception):
    pass


def _post(url: str, token: str | None, body: Mapping[str, object], timeout_s: float) -> dict[str, Any]:
    """POST to the daemon; _NotListening when nothing accepts the connection."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - http:// built here
    # no proxy: the daemon is on this host, and a proxy must never see the token
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout_s) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer
    except urllib.error.HTTPError as exc:
        status = exc.code
        try:
            detail = json.loads(exc.read() or b"{}").get("error", "")
        except (ValueError, AttributeError):
            detail = ""
        if status == 401:
            raise ControlError(
                f"the daemon at {url} refused the token (401)"
                + ("" if token is not None else ": there is no halt token to send"),
            ) from None
        raise ControlError(f"the daemon at {url} answered {status}: {detail or exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ConnectionRefusedError) or (
            isinstance(reason, OSError) and reason.errno in (errno.ECONNREFUSED, errno.EADDRNOTAVAIL)
        ):
            raise _NotListening from None
        raise ControlError(f"the daemon at {url} did not answer: {reason}") from None
    except ConnectionRefusedError:
        raise _NotListening from None
    except (TimeoutError, OSError) as exc:
        raise ControlError(f"the daemon at {url} did not answer: {exc}") from None
    except ValueError:
        raise ControlError(f"the daemon at {url} answered something that is not JSON") from None


def control(
    action: Action,
    config_path: Path,
    *,
    reason: str | None = None,
    cancel_open: bool = False,
    environ: Mapping[str, str] | None = None,
    timeout_s: float = HTTP_TIMEOUT_S,
) -> ControlResult:
    """Halt or resume the session a configuration describes: through its daemon when one listens,
    else in its journal (see the module docstring)."""
    config = load_config(config_path)
    state_dir = config.state_dir
    token: str | None = None
    unreadable: ControlError | None = None
    try:
        token = read_token(state_dir, environ)
    except ControlError as exc:  # only the daemon needs the token: a stopped one is halted without
        unreadable = exc
    body: dict[str, object] = {}
    if action == "halt":
        body["reason"] = reason or DEFAULT_HALT_REASON
        if cancel_open:
            body["cancel_open"] = True
            # the daemon answers after the cancels, each of which may wait on its venue
            timeout_s = max(timeout_s, CANCEL_TIMEOUT_S)
    url = f"{_url(config.health.listen)}/{action}"
    try:
        answer = _post(url, token, body, timeout_s)
    except _NotListening:
        return _offline(action, state_dir, url, reason or DEFAULT_HALT_REASON, cancel_open)
    except ControlError:
        if unreadable is not None:
            raise unreadable from None
        raise
    halted = bool(answer.get("halted"))
    if halted != (action == "halt"):
        raise ControlError(f"the daemon at {url} answered halted={halted} to {action}: {answer}")
    canceled = answer.get("canceled")
    return ControlResult(
        action=action,
        via="daemon",
        halted=halted,
        reason=answer.get("reason"),
        changed=bool(answer.get("changed", True)),
        where=url,
        canceled=canceled if isinstance(canceled, int) else None,
        note=_cancel_note(answer) if cancel_open and canceled is None else None,
    )


def _cancel_note(answer: Mapping[str, object]) -> str:
    error = answer.get("cancel_error")
    if error:
        return f"canceling the open orders failed: {error}"
    return "this daemon cannot cancel on demand; open orders were left"


def _offline(action: Action, state_dir: Path, url: str, reason: str, cancel_open: bool) -> ControlResult:
    from daemon.live.session import JOURNAL_NAME  # noqa: PLC0415 - the session imports this module

    path = state_dir / JOURNAL_NAME
    if not path.exists():
        raise ControlError(
            f"no journal in {state_dir}: nothing has run yet, there is no session to {action}",
            hint="Start the daemon (vibetrading run --config FILE) first; halt it once it has a journal.",
        )
    _check_unlocked(path, url)
    with FileJournal(path, repair=True) as journal:  # the daemon repairs a torn tail the same way at start
        halted: str | None = None
        events = 0
        for event in journal.read():
            events += 1
            if isinstance(event, TradingHalted):
                halted = f"{event.source}: {event.reason}"
            elif isinstance(event, TradingResumed):
                halted = None
        if not events:
            raise ControlError(f"no journal in {state_dir}: nothing has run yet (the journal is empty)")
        now = time.time_ns()
        if action == "halt":
            if halted is not None:
                return ControlResult(
                    action=action, via="journal", halted=True, reason=halted, changed=False, where=str(path)
                )
            fact: TradingHalted | TradingResumed = TradingHalted(
                ts_event=now, ts_init=now, reason=reason, source=OPERATOR
            )
            halted = f"{OPERATOR}: {reason}"
        else:
            if halted is None:
                return ControlResult(
                    action=action, via="journal", halted=False, reason=None, changed=False, where=str(path)
                )
            fact = TradingResumed(ts_event=now, ts_init=now, source=OPERATOR)
            halted = None
        (stamped,) = journal.append([fact])
        journal.sync()
    note = None
    if action == "halt" and cancel_open:
        note = "the daemon is not running: open orders were not canceled (cancel them at the venue)"
    return ControlResult(
        action=action,
        via="journal",
        halted=halted is not None,
        reason=halted,
        changed=True,
        where=str(path),
        seq=stamped.seq,
        note=note,
    )


def _check_unlocked(path: Path, url: str) -> None:
    """VT974 when a daemon holds the journal (it runs, but its endpoint did not take the request)."""
    if fcntl is None:  # pragma: no cover
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise ControlError(f"cannot open {path} ({exc.strerror or exc})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ControlError(
            f"the daemon is running (it holds {path}) but nothing answers at {url}",
            hint="Check [health] listen in the configuration against the running daemon's, and its log; "
            "systemctl stop vibetrading also halts new orders.",
        ) from None
    except OSError as exc:
        raise ControlError(f"cannot lock {path} ({exc.strerror or exc})") from None
    finally:
        os.close(fd)  # closing drops the probe's lock; FileJournal takes its own


def render_result(result: ControlResult) -> str:
    """The one line the command prints."""
    if result.action == "halt":
        state = f"halted ({result.reason})" if result.changed else f"already halted ({result.reason})"
    else:
        state = "resumed: trading" if result.changed else "not halted: nothing to resume"
    if result.via == "daemon":
        line = f"{state} through the daemon at {result.where}"
    elif result.changed:
        line = f"{state}: appended to {result.where} (seq {result.seq}); the next start folds it"
    else:
        line = f"{state} in {result.where}"
    if result.canceled is not None:
        line += f"; {result.canceled} cancel(s) sent"
    if result.note:
        line += f"; {result.note}"
    return line


def add_control_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    help_config = "the daemon's run configuration (its [state] dir and [health] listen)"
    p_halt = sub.add_parser(
        "halt",
        help="halt trading: no new order leaves until resume (journalled, survives restarts)",
        description=(
            "Halt the session a configuration runs: through the daemon's POST /halt when it runs "
            "(bearer token from $CREDENTIALS_DIRECTORY/halt-token or STATE_DIR/halt.token), else by "
            "appending TradingHalted to its journal, which the next start folds. Exit 0 once the halt "
            "is on disk, 1 with VT974 when it could not be done (docs/run.md)."
        ),
    )
    p_halt.add_argument("--config", type=Path, required=True, metavar="FILE", help=help_config)
    p_halt.add_argument(
        "--reason", default=None, metavar="TEXT", help=f'why (default "{DEFAULT_HALT_REASON}")'
    )
    p_halt.add_argument(
        "--cancel-open", action="store_true", help="also cancel the open orders (a running daemon only)"
    )
    p_halt.add_argument("--json", action="store_true", help="print the result as JSON")
    p_resume = sub.add_parser(
        "resume",
        help="lift a halt (the operator's, a risk limit's or the daemon's)",
        description=(
            "Resume trading: through the daemon's POST /resume when it runs, else by appending "
            "TradingResumed to its journal. Exit 0 once it is on disk, 1 with VT974 when it cannot be."
        ),
    )
    p_resume.add_argument("--config", type=Path, required=True, metavar="FILE", help=help_config)
    p_resume.add_argument("--json", action="store_true", help="print the result as JSON")


def cmd_control(args: argparse.Namespace) -> int:
    action: Action = "halt" if args.command == "halt" else "resume"
    result = control(
        action,
        args.config,
        reason=getattr(args, "reason", None),
        cancel_open=getattr(args, "cancel_open", False),
    )
    if args.json:
        print(msgspec.json.encode(result).decode())
    else:
        print(render_result(result))
    sys.stdout.flush()
    return 0
