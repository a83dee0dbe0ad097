"""Contract check: schemathesis against the live API, run by `make test` in the PostgreSQL pass.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kbsite REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python tests/contract/run_schemathesis.py [--max-examples 30] [--seed N]

It builds a database of its own beside DATABASE_URL's (`<name>_contract`, dropped at the end),
migrates it, loads the demo data, gives the demo admin a token, serves the site with gunicorn on
a free port and points schemathesis at /api/schema/ with that token. Every generated request
must get an answer that is not a 5xx and whose status code, content type and body the schema
documents. Cases per operation and the whole run's time are bounded. The exit status is
schemathesis's (0: no failures), or 2 when the run went over its time.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]
# The demo admin may do nearly everything, so most operations get past their permission check.
TOKEN_USER = "ada"
EXCLUDED_OPERATIONS = {
    # Revoking a token may hit the very token this run authenticates with (ids are small and
    # hypothesis favours small numbers): every later request would be a 401 and prove nothing.
    # tests/kbsite/test_tokens.py covers revoking.
    "v1_tokens_revoke_create": "would revoke the run's own token",
    # A new subscription makes the site post every later event to a host schemathesis made up:
    # a contract check must not send requests out of the machine. The other webhook operations
    # run against the subscription seeded below; tests/kbsite/test_webhooks.py covers creating.
    "v1_webhooks_create": "would post events to hosts it invents",
}
# One subscription, so that the webhook operations answer something other than 404. Its target
# is a closed local port: deliveries fail at once and never leave the machine.
WEBHOOK_SEED = """
from django.contrib.auth import get_user_model
from kbsite.webhooks.services import webhook_subscription_create
webhook_subscription_create(
    owner=get_user_model().objects.get(username="{user}"),
    name="contract check",
    target_url="http://127.0.0.1:9/hook",
    events=["postmortem.published"],
)
"""


def log(message: str) -> None:
    print(f"contract: {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- its own database ----------------------------------------------------------------------------


def contract_database(database_url: str) -> tuple[str, str]:
    """The URL and name of this run's own database, beside DATABASE_URL's."""
    parts = urlsplit(database_url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit("contract: DATABASE_URL must point at PostgreSQL.")
    name = f"{parts.path.lstrip('/') or 'kbsite'}_contract"
    return urlunsplit(parts._replace(path=f"/{name}")), name


def _maintenance(database_url: str, *statements: sql.Composable) -> None:
    url = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    with psycopg.connect(url, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def drop_database(database_url: str, name: str) -> None:
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    _maintenance(database_url, drop)


def create_database(database_url: str, name: str) -> None:
    drop_database(database_url, name)  # what a stopped run left behind
    _maintenance(database_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(env: dict[str, str], *arguments: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"contract: manage.py {arguments[0]} failed.")
    return result.stdout


# --- the live server -----------------------------------------------------------------------------


def wait_until_up(url: str, *, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("contract: the server stopped while starting.")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise SystemExit(f"contract: the server did not answer {url} within {timeout:.0f}s.")


QUIET_RECORD = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ (DEBUG|INFO|WARNING) ")


def print_server_errors(log_path: Path) -> None:
    """The server's errors and their tracebacks; the warnings of refused requests are noise."""
    lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    errors = [line for line in lines if not QUIET_RECORD.match(line)]
    if errors:
        log("the server logged:")
        print("\n".join(errors), flush=True)


@contextmanager
def served(env: dict[str, str], *, port: int, workers: int, log_path: Path) -> Iterator[None]:
    server_log = log_path.open("w")
    server = subprocess.Popen(
        [
            *(PYTHON, "-m", "gunicorn", "kbsite.wsgi:application"),
            *("--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
            *("--timeout", "60", "--graceful-timeout", "5", "--log-level", "error"),
            # The fuzzer builds query strings of several KB; gunicorn's own 4 KB request-line
            # limit would answer them with its 414 page before kbsite sees them. The contract
            # is kbsite's answers, so the server lets every line through to the app.
            *("--limit-request-line", "0"),
        ],
        cwd=ROOT,
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process=server)
        yield
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server_log.close()
        print_server_errors(log_path)


# --- schemathesis --------------------------------------------------------------------------------


def schemathesis_command(options: argparse.Namespace, *, base_url: str, token: str) -> list[str]:
    excluded = [arg for name in EXCLUDED_OPERATIONS for arg in ("--exclude-operation-id", name)]
    seed = ["--seed", str(options.seed)] if options.seed is not None else []
    return [
        str(Path(PYTHON).with_name("schemathesis")),
        *("run", f"{base_url}/api/schema/"),
        *("--header", f"Authorization: Token {token}"),
        *("--checks", ",".join(CHECKS)),
        *("--max-examples", str(options.max_examples)),
        *("--phases", "examples,coverage,fuzzing,stateful"),
        *("--workers", str(options.client_workers)),
        *("--request-timeout", "30"),
        *("--generation-database", "none"),
        "--no-color",
        *seed,
        *excluded,
        *options.schemathesis_args,
    ]


def stream(command: list[str], *, cwd: Path, time_limit: int) -> tuple[int, list[str]]:
    """Run schemathesis, echoing its output, stopped after `time_limit` seconds (exit 2).
    Returns its exit status and its output."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    timer = threading.Timer(time_limit, process.kill)
    timer.start()
    output: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            output.append(line)
        code = process.wait()
    finally:
        timer.cancel()
    if code == -signal.SIGKILL:
        log(f"schemathesis went over its {time_limit}s and was stopped.")
        return 2, output
    return code, output


def summary_of(output: list[str]) -> str:
    """Operations, test cases and failures, from schemathesis's own summary."""
    text = "".join(output)
    selected = re.search(r"Selected: (\d+/\d+)", text)
    tested = re.search(r"Tested: (\d+)", text)
    cases = re.search(r"(\d+) generated", text)
    failures = re.search(r"(\d+) unique failures?", text)
    return (
        f"{tested[1] if tested else '?'} operations tested "
        f"({selected[1] if selected else '?'} selected), "
        f"{cases[1] if cases else '?'} test cases generated, "
        f"{failures[1] if failures else 0} unique failures"
    )


def run_schemathesis(
    options: argparse.Namespace, *, base_url: str, token: str, workdir: Path
) -> int:
    command = schemathesis_command(options, base_url=base_url, token=token)
    for name, reason in EXCLUDED_OPERATIONS.items():
        log(f"not run: {name} ({reason})")
    began = time.monotonic()
    code, output = stream(command, cwd=workdir, time_limit=options.time_limit)
    log(
        f"summary: {summary_of(output)}; at most {options.max_examples} cases per operation "
        f"and phase; {time.monotonic() - began:.0f}s"
    )
    return code


# --- the whole run -------------------------------------------------------------------------------


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--max-examples",
        type=int,
        default=int(os.environ.get("CONTRACT_MAX_EXAMPLES", "30")),
        help="Test cases per operation and phase (default 30, or CONTRACT_MAX_EXAMPLES).",
    )
    parser.add_argument(
        "--time-limit",
        type=int,
        default=int(os.environ.get("CONTRACT_TIME_LIMIT", "420")),
        help="Seconds schemathesis may run in all before it is stopped (default 420).",
    )
    parser.add_argument("--seed", type=int, default=None, help="Repeat an earlier run.")
    parser.add_argument("--workers", type=int, default=2, help="Server (gunicorn) workers.")
    # One client worker: schemathesis's workers are threads of one process, and Hypothesis
    # parses source with `ast` to describe strategies; CPython 3.11's parser is not safe to
    # enter from two threads at once ("AST constructor recursion depth mismatch"), which
    # failed an otherwise clean run.
    parser.add_argument(
        "--client-workers", type=int, default=1, help="schemathesis workers (threads)."
    )
    parser.add_argument(
        "--keep-database", action="store_true", help="Leave <name>_contract for a look."
    )
    parser.add_argument(
        "schemathesis_args", nargs=argparse.REMAINDER, help="Passed on to `schemathesis run`."
    )
    return parser.parse_args()


def server_environment(contract_url: str, *, base_url: str, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        # Fast password hashing and tasks run in-process, as in the test suite.
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": contract_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "SITE_URL": base_url,
        "KBSITE_VAR_DIR": str(workdir / "var"),
        # One person sends thousands of requests here: the API's per-person budget would turn
        # most of them into 429s. tests/kbsite/test_ratelimit.py covers the limit itself.
        "API_RATE_LIMIT": "1000000",
        # The seeded webhook's target is 127.0.0.1: allowed here only (see WEBHOOK_SEED).
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    }


def main() -> int:
    options = parse_arguments()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        raise SystemExit("contract: set DATABASE_URL (PostgreSQL): the check runs in that pass.")
    contract_url, database_name = contract_database(database_url)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="kbsite-contract-"))
    env = server_environment(contract_url, base_url=base_url, workdir=workdir)
    started = time.monotonic()
    log(f"preparing database {database_name}")
    create_database(database_url, database_name)
    try:
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "seed_demo", "--quiet-sign-ins")
        manage(env, "shell", "-c", WEBHOOK_SEED.format(user=TOKEN_USER))
        token = manage(env, "create_api_token", TOKEN_USER, "--name", "contract check").strip()
        log(f"demo data and a token for {TOKEN_USER} ready ({time.monotonic() - started:.0f}s)")
        with served(env, port=port, workers=options.workers, log_path=workdir / "server.log"):
            return run_schemathesis(options, base_url=base_url, token=token, workdir=workdir)
    finally:
        if not options.keep_database:
            drop_database(database_url, database_name)
        shutil.rmtree(workdir, ignore_errors=True)
        log(f"finished in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    sys.exit(main())
