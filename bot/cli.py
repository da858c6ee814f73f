"""The `releasebot` command: serve | socket | run-job | migrate | check-config | doctor | demo.

Start-up problems (bad configuration, a missing variable, an unreachable or outdated
database, a token Slack refuses, an unreachable Slack) end the process with one clear line
and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

from bot.config import Config, ConfigError, Environment, load_config, parse_duration
from storage import Database, DatabaseUnavailable

EXIT_PROBLEMS = 1
EXIT_CANNOT_START = 2
log = logging.getLogger("bot.cli")


def _seconds(variable: str, default: float) -> float:
    """A wait from the environment: seconds, or a duration like `30s`, `2m`."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        return float(raw) if raw.replace(".", "", 1).isdigit() else parse_duration(raw).total_seconds()
    except ValueError:
        raise CannotStart(f"{variable}={raw[:40]!r} is not a number of seconds or a duration like 30s") from None


def _port() -> int:
    raw = os.environ.get("PORT", "3000").strip()
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise CannotStart(f"PORT={raw[:40]!r} is not a port number (1 to 65535)")
    return int(raw)


class CannotStart(Exception):
    """A reason the command cannot run, said in one line."""


def _stop(*_args) -> None:
    """SIGTERM while the server is still starting: nothing is served or owed yet, so the process
    ends at once. An exception raised from here could land inside a library's cleanup (a pool,
    an executor being joined) and hold the exit up; the database keeps whatever committed."""
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        args = _parser().parse_args(argv)
        return args.handler(args)
    except CannotStart as exc:
        print(f"releasebot: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except KeyboardInterrupt:
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="releasebot", description="A Slack bot that coordinates software releases.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    default_port = _port()
    for name, handler, summary in (
        ("serve", cmd_serve, "run the bot over HTTP: Slack posts to /slack/events"),
        ("socket", cmd_socket, "run the bot over Slack Socket Mode, still serving the HTTP endpoints"),
    ):
        command = commands.add_parser(name, help=summary, description=summary)
        command.add_argument("--host", default="0.0.0.0")
        command.add_argument("--port", type=int, default=default_port)
        command.set_defaults(handler=handler)

    run_job = commands.add_parser("run-job", help="run one scheduled job now and exit")
    run_job.add_argument("job", metavar="JOB")
    run_job.add_argument("--product", metavar="KEY")
    run_job.set_defaults(handler=cmd_run_job)

    migrate = commands.add_parser("migrate", help="bring the database schema to the latest version")
    migrate.set_defaults(handler=cmd_migrate)

    demo = commands.add_parser("demo", help="the whole product in a local Slack workspace in your browser; no token needed")
    demo.add_argument("--port", type=int, default=8000, help="the page's port on 127.0.0.1 (0: any free port)")
    demo.set_defaults(handler=cmd_demo)

    check = commands.add_parser("check-config", help="validate the configuration file")
    check.add_argument("path", nargs="?", metavar="PATH")
    check.set_defaults(handler=cmd_check_config)

    doctor = commands.add_parser("doctor", help="ask Slack, git and the database whether the configuration works")
    doctor.set_defaults(handler=cmd_doctor)
    return parser


def _environment(*required: str) -> Environment:
    env = Environment.from_os()
    missing = env.missing(*required)
    if missing:
        raise CannotStart(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set")
    return env


def _config(path: str, *, warn: bool = True) -> Config:
    from bot.doctor import local_repository_warnings

    try:
        config = load_config(path)
    except ConfigError as exc:
        more = len(exc.problems) - 1
        tail = f" (and {more} more; run `releasebot check-config` for all)" if more else ""
        raise CannotStart(f"bad configuration: {exc.problems[0]}{tail}") from None
    for warning in local_repository_warnings(config) if warn else ():
        log.warning("%s", warning)
    return config


def _slack_ready(env: Environment, *, socket_mode: bool = False) -> None:
    """The tokens are checked before anything is served, so a revoked one is said in one line."""
    from bot.doctor import startup_problem

    problem = asyncio.run(startup_problem(env, socket_mode=socket_mode, wait=_seconds("RELEASEBOT_SLACK_WAIT", 20)))
    if problem:
        raise CannotStart(problem)


def _reachable_database(env: Environment) -> Database:
    db = Database(env.database_url)
    try:
        db.wait_until_reachable(_seconds("RELEASEBOT_DB_WAIT", 30))
    except DatabaseUnavailable as exc:
        raise CannotStart(f"cannot reach the database {db.describe()}: {exc}") from None
    return db


def _ready_database(env: Environment, *, upgrade_sqlite: bool) -> Database:
    """SQLite is embedded, so the bot upgrades it; a shared PostgreSQL is migrated on purpose."""
    db = _reachable_database(env)
    state = db.schema_state()
    if state.up_to_date:
        return db
    if db.is_sqlite and upgrade_sqlite:
        db.upgrade()
        return db
    raise CannotStart(
        f"the database schema is at {state.current or 'nothing'} but this releasebot needs {state.head}; "
        "run `releasebot migrate` first"
    )


def _runtime(env: Environment, config: Config, db: Database):
    from bot.runtime import Runtime
    from bot.slack.client import make_client

    return Runtime(env=env, config=config, db=db, slack=make_client(env.slack_bot_token, env.slack_api_url))


def _serve(args, *, socket_mode: bool) -> int:
    import uvicorn

    from bot.server import SocketUnavailable, build_asgi, connect_socket
    from bot.slack.app import build_app

    signal.signal(signal.SIGTERM, _stop)  # until uvicorn takes over, a SIGTERM stops the start at once
    env = _environment("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
    config = _config(env.config_path)
    db = _ready_database(env, upgrade_sqlite=True)
    _slack_ready(env, socket_mode=socket_mode)
    runtime = _runtime(env, config, db)
    slack_app = build_app(runtime, socket_mode=socket_mode)

    async def serve() -> None:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=32))
        try:  # the websocket opens before anything is served or scheduled; SIGTERM still stops it
            socket = await connect_socket(runtime, slack_app, _seconds("RELEASEBOT_SLACK_WAIT", 20)) if socket_mode else None
        except SocketUnavailable as exc:
            raise CannotStart(str(exc)) from None
        asgi = build_asgi(runtime, slack_app, socket_mode=socket_mode, socket=socket)
        # no access log: every flag evaluation would be a line; /metrics counts requests instead
        server = uvicorn.Server(uvicorn.Config(asgi, host=args.host, port=args.port, lifespan="on", log_level="info", access_log=False))
        # uvicorn finishes in-flight requests on SIGTERM, then re-raises the signal with the handler
        # found at start; a no-op handler there makes a graceful stop exit 0.
        signal.signal(signal.SIGTERM, lambda *_: None)
        await server.serve()

    asyncio.run(serve())
    return 0


def cmd_serve(args) -> int:
    return _serve(args, socket_mode=False)


def cmd_socket(args) -> int:
    return _serve(args, socket_mode=True)


def cmd_run_job(args) -> int:
    from bot.release.flows import DailyCutFailed
    from bot.scheduler import JOBS, run_job

    if args.job not in JOBS:
        raise CannotStart(f"unknown job {args.job!r}; jobs: {', '.join(sorted(JOBS))}")
    env = _environment("SLACK_BOT_TOKEN")
    config = _config(env.config_path)
    if args.product and config.product(args.product) is None:
        raise CannotStart(f"unknown product {args.product!r}; products: {', '.join(p.key for p in config.products)}")
    db = _ready_database(env, upgrade_sqlite=True)
    _slack_ready(env)
    runtime = _runtime(env, config, db)

    async def run_and_deliver() -> str:
        from bot.slack.delivery import Delivery

        delivery = Delivery(runtime)
        try:
            return await run_job(runtime, args.job, args.product)
        finally:
            await delivery.drain(timeout=60)  # what Slack does not take now stays owed to the server

    try:
        print(asyncio.run(run_and_deliver()))
    except DailyCutFailed as failed:
        for summary in failed.summaries:
            print(summary)
        print(f"releasebot: job {args.job} failed: {failed}", file=sys.stderr)
        return EXIT_PROBLEMS
    except Exception as exc:
        logging.getLogger("bot.cli").exception("job %s failed", args.job)
        print(f"releasebot: job {args.job} failed: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    return 0


def cmd_migrate(_args) -> int:
    db = _reachable_database(Environment.from_os())
    before = db.schema_state()
    db.upgrade()
    after = db.schema_state()
    if before.current == after.current:
        print(f"database {db.describe()} is up to date (revision {after.current})")
    else:
        print(f"database {db.describe()} migrated from {before.current or 'empty'} to {after.current}")
    return 0


def cmd_demo(args) -> int:
    from bot.demo.run import serve

    try:
        asyncio.run(serve(args.port))
    except OSError as exc:
        raise CannotStart(f"cannot serve the demo on port {args.port}: {exc.strerror or exc}") from None
    return 0


def cmd_check_config(args) -> int:
    """Repository warnings do not fail the check: a path may exist only where the bot runs."""
    from bot.doctor import local_repository_warnings

    path = args.path or Environment.from_os().config_path
    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem{'s' if len(exc.problems) > 1 else ''} in {path}")
        return EXIT_PROBLEMS
    for warning in local_repository_warnings(config):
        print(f"{path}: warning: {warning}")
    environments = ", ".join(config.flags.environments)
    print(
        f"{path} is valid: {len(config.products)} product{'s' if len(config.products) != 1 else ''}, "
        f"release hours {_hours(config)}, flag environments {environments}"
    )
    return 0


def cmd_doctor(_args) -> int:
    from bot.doctor import diagnose

    logging.getLogger("alembic").setLevel(logging.WARNING)  # the doctor reads the schema; it migrates nothing
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)  # its retry handlers say so at INFO
    env = Environment.from_os()
    try:
        config = load_config(env.config_path)
    except ConfigError as exc:  # one line per problem, as for everything else the doctor finds
        print("\n".join(exc.problems))
        print(f"{len(exc.problems)} problem{'s' if len(exc.problems) > 1 else ''}")
        return EXIT_PROBLEMS
    diagnosis = asyncio.run(diagnose(env, config))
    for problem in diagnosis.problems:
        print(problem)
    if diagnosis.problems:
        count = len(diagnosis.problems)
        print(f"{count} problem{'s' if count > 1 else ''}")
        return EXIT_PROBLEMS
    print(diagnosis.summary)
    return 0


def _hours(config: Config) -> str:
    hours = config.release_hours
    return f"{'/'.join(hours.days)} {hours.start:%H:%M}-{hours.end:%H:%M} {hours.timezone}"


if __name__ == "__main__":
    sys.exit(main())
