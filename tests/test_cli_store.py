"""The store as users meet it: its URL, its errors, moving it, and many runs sharing one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, copy_example, run_kb
from pgserver import SECRET_PASSWORD, SECRET_ROLE, PgServer

from generator.store import schema


def kb(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``kb`` in its own process, as a rep would."""
    command = [sys.executable, "-c", "from generator.cli import main; main()"]
    return subprocess.run(
        [*command, *(str(a) for a in args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project, fetched once into its SQLite store (copy it before changing it)."""
    project = copy_example(tmp_path_factory.mktemp("fetched") / "example")
    assert run_kb("--project", project, "fetch").exit_code == 0
    return project


@pytest.fixture
def example_store(fetched: Path, tmp_path: Path) -> Path:
    project = tmp_path / "example"
    shutil.copytree(fetched, project)
    return project


def database(postgres: PgServer, name: str) -> str:
    return postgres.create_database(f"{name}_{os.getpid()}")


# --- a store made by the previous kb (SQLite, schema 3) --------------------------------------


@pytest.mark.parametrize(("version", "first_sends"), [("v3", 16), ("v4", 16)])
def test_a_store_of_a_previous_version_opens_and_reads_the_same(
    example: Path, version: str, first_sends: int
) -> None:
    made = DATA / "store" / version  # see its README.md: made by the kb of that version
    (example / ".kb").mkdir()
    shutil.copy(made / "kb.sqlite", example / ".kb" / "kb.sqlite")
    items = run_kb("--project", example, "items", "--format", "json")
    assert items.stdout == (made / "items.json").read_text()
    history = run_kb("--project", example, "history", "ridgeline-freight", "--format", "json")
    assert history.stdout == (made / "history-ridgeline-freight.json").read_text()
    info = json.loads(run_kb("--project", example, "store", "info", "--format", "json").stdout)
    assert info["schema_version"] == schema.VERSION
    assert info["rows"]["sent_first"] == first_sends  # one per (account, item) of 24 sent rows


def test_a_corrupt_sqlite_store_is_one_line_naming_it(example_store: Path) -> None:
    path = example_store / ".kb" / "kb.sqlite"
    with path.open("r+b") as handle:  # page 2 onwards: the schema and data pages
        handle.seek(4096)
        handle.write(b"\xde\xad\xbe\xef" * 4096)
    for command in (["items"], ["store", "info"], ["digest", "ridgeline-freight"]):
        done = kb("--project", example_store, *command)
        assert done.returncode == 1, done.stderr
        [line] = done.stderr.splitlines()
        assert line.startswith("error: ") and str(path.relative_to(example_store)) in line
        assert "internal error" not in line and "Traceback" not in done.stderr


# --- the store's URL ----------------------------------------------------------------------


def test_a_password_in_kb_yml_is_an_error_at_its_line(example: Path) -> None:
    settings = example / "kb.yml"
    settings.write_text(settings.read_text() + "\nstore: postgresql://rep:hunter2@db.example/kb\n")
    line = settings.read_text().splitlines().index("store: postgresql://rep:hunter2@db.example/kb")
    done = run_kb("--project", example, "items")
    assert done.exit_code == 1
    assert done.stderr.splitlines()[0] == (
        f"{settings}:{line + 1}: 'store' must not hold a password (it would be committed):"
        " remove it and set PGPASSWORD or a ~/.pgpass line instead"
    )
    assert "hunter2" not in done.stderr


def test_a_password_on_the_command_line_is_refused(example: Path) -> None:
    done = run_kb("--project", example, "--store", "postgresql://rep:hunter2@db/kb", "items")
    assert done.exit_code == 2 and "hunter2" not in done.stderr
    assert "set PGPASSWORD or a ~/.pgpass line instead" in done.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://rep@db.example/kb", "store mysql://rep@db.example/kb: unknown store URL scheme"),
        ("postgresql://rep@db.example", "a PostgreSQL store URL names its database"),
        (
            "postgresql://rep@127.0.0.1:1/kb",
            "cannot open the store postgresql://rep@127.0.0.1:1/kb:",
        ),
    ],
)
def test_a_store_that_cannot_be_used_is_one_line(example: Path, url: str, message: str) -> None:
    done = kb("--project", example, "items", env={"KB_STORE": url})
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and message in line


def test_bad_credentials_and_a_missing_database_never_show_the_password(
    example: Path, postgres: PgServer
) -> None:
    host = f"127.0.0.1:{postgres.port}"
    wrong = f"postgresql://{SECRET_ROLE}:wrong-Secret@{host}/postgres"
    done = kb("--project", example, "items", env={"KB_STORE": wrong})
    assert done.returncode == 1 and "wrong-Secret" not in done.stderr
    assert done.stderr.splitlines() == [
        f"error: cannot open the store postgresql://{SECRET_ROLE}:***@{host}/postgres:"
        f' connection failed: connection to server at "127.0.0.1", port {postgres.port} failed:'
        f' FATAL:  password authentication failed for user "{SECRET_ROLE}"'
    ]
    missing = kb("--project", example, "items", env={"KB_STORE": postgres.url("no_such_db")})
    assert missing.returncode == 1
    assert 'database "no_such_db" does not exist' in missing.stderr
    assert len(missing.stderr.splitlines()) == 1
    # the right password from the environment, as libpq reads it: the store opens
    url = f"postgresql://{SECRET_ROLE}@{host}/postgres"
    done = kb("--project", example, "store", "info", env={"KB_STORE": url,
              "PGPASSWORD": SECRET_PASSWORD})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"store: {url}" in done.stdout


def test_store_in_kb_yml_and_store_option_choose_the_store(
    example_store: Path, postgres: PgServer
) -> None:
    url = database(postgres, "chosen")
    settings = example_store / "kb.yml"
    settings.write_text(settings.read_text() + f"\nstore: {url}\n")
    info = json.loads(
        run_kb("--project", example_store, "store", "info", "--format", "json").stdout
    )
    assert (info["backend"], info["url"], info["rows"]["items"]) == ("postgresql", url, 0)
    local = "sqlite:///.kb/kb.sqlite"  # relative to the project
    done = run_kb("--project", example_store, "--store", local, "store", "info", "--format", "json")
    assert json.loads(done.stdout)["rows"]["items"] > 100


# --- moving a store --------------------------------------------------------------------------


def _outputs(project: Path, env: dict[str, str]) -> tuple[str, str]:
    items = kb("--project", project, "items", "--format", "json", env=env)
    history = kb("--project", project, "history", "ridgeline-freight", "--format", "json", env=env)
    assert items.returncode == 0 and history.returncode == 0, items.stderr + history.stderr
    return items.stdout, history.stdout


def test_export_from_sqlite_import_into_postgresql_reads_the_same(
    example_store: Path, postgres: PgServer, tmp_path: Path
) -> None:
    sqlite_env = {"KB_STORE": "sqlite:///.kb/kb.sqlite"}
    assert (
        kb("--project", example_store, "digest", "ridgeline-freight", env=sqlite_env).returncode
        == 0
    )
    exported = tmp_path / "store.jsonl"
    done = kb("--project", example_store, "store", "export", exported, env=sqlite_env)
    assert done.returncode == 0, done.stderr
    pg_env = {"KB_STORE": database(postgres, "moved")}
    done = kb("--project", example_store, "store", "import", exported, env=pg_env)
    assert done.returncode == 0, done.stderr
    assert _outputs(example_store, pg_env) == _outputs(example_store, sqlite_env)
    again = tmp_path / "again.jsonl"
    assert kb("--project", example_store, "store", "export", again, env=pg_env).returncode == 0
    assert again.read_bytes() == exported.read_bytes()  # lossless, byte for byte
    # and back: into a new SQLite store
    back_env = {"KB_STORE": f"sqlite:///{tmp_path}/back/kb.sqlite"}
    assert kb("--project", example_store, "store", "import", again, env=back_env).returncode == 0
    assert _outputs(example_store, back_env) == _outputs(example_store, sqlite_env)


def test_import_refuses_a_store_with_data_unless_merging(
    example_store: Path, tmp_path: Path
) -> None:
    exported = tmp_path / "store.jsonl"
    assert run_kb("--project", example_store, "store", "export", exported).exit_code == 0
    done = run_kb("--project", example_store, "store", "import", exported)
    assert done.exit_code == 1
    assert (
        "is not empty (feeds, items, item_sources, item_vectors, text_vectors): import into an "
        "empty store" in (done.stderr)
    )
    merged = run_kb("--project", example_store, "store", "import", exported, "--merge")
    assert merged.exit_code == 0, merged.stderr
    info = json.loads(
        run_kb("--project", example_store, "store", "info", "--format", "json").stdout
    )
    assert info["rows"]["items"] == sum('"table": "items"' in line for line in exported.open())


def test_a_bad_line_in_an_import_leaves_the_store_empty(example: Path, tmp_path: Path) -> None:
    exported = tmp_path / "store.jsonl"
    exported.write_text(
        json.dumps({"format": "kb-store", "version": schema.VERSION})
        + '\n{"table": "feeds", "row": {"name": "a"}}\n'
    )
    done = run_kb("--project", example, "store", "import", exported)
    assert done.exit_code == 1
    assert done.stderr.startswith(f"error: {exported}:2: a feeds row has exactly the fields ")
    info = json.loads(run_kb("--project", example, "store", "info", "--format", "json").stdout)
    assert set(info["rows"].values()) == {0}


# --- many runs, one PostgreSQL store ---------------------------------------------------------


def test_reps_digesting_one_account_at_once_each_item_is_recorded_once(
    example_store: Path, postgres: PgServer, tmp_path: Path
) -> None:
    env = {"KB_STORE": database(postgres, "team")}
    sqlite_dump = tmp_path / "local.jsonl"
    assert run_kb("--project", example_store, "store", "export", sqlite_dump).exit_code == 0
    assert kb("--project", example_store, "store", "import", sqlite_dump, env=env).returncode == 0
    command = [sys.executable, "-c", "from generator.cli import main; main()"]
    runs = [
        subprocess.Popen(
            [
                *command,
                "--project",
                str(example_store),
                "digest",
                "ridgeline-freight",
                "--format",
                "md",
                "--format",
                "json",
                "--out",
                str(tmp_path / f"rep{n}"),
                "--now",
                f"2026-11-16T09:00:0{n}Z",
            ],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(5)
    ]
    errors = [run.communicate(timeout=300)[1] for run in runs]
    assert [run.returncode for run in runs] == [0] * 5, errors
    history = kb("--project", example_store, "history", "ridgeline-freight", "--format", "json",
                 env=env)  # fmt: skip
    records = json.loads(history.stdout)
    sent = {(r["title"], r["format"]) for r in records}
    assert records and len(sent) == len(records)  # each item once per format of its one send
    by_title: dict[str, set[str]] = {}
    for record in records:
        by_title.setdefault(record["title"], set()).add(record["sent_at"])
    assert all(len(moments) == 1 for moments in by_title.values())  # one run won each item
    picked = {
        entry["title"]
        for n in range(5)
        for path in (tmp_path / f"rep{n}").rglob("*.json")
        for part in ("items", "notes")
        for entry in json.loads(path.read_text())[part]
    }
    assert picked == set(by_title)  # every item some rep received is recorded, once


def test_a_store_setting_that_is_not_a_store_url_is_an_error_at_its_line(example: Path) -> None:
    settings = example / "kb.yml"
    settings.write_text(settings.read_text() + "\nstore: mysql://db.example/kb\n")
    done = run_kb("--project", example, "check")
    assert done.exit_code == 1
    line = len(settings.read_text().splitlines())
    assert done.stderr.splitlines()[0] == (
        f"{settings}:{line}: 'store' must be a store URL:"
        " postgresql://user@host:port/database or sqlite:///path/to/kb.sqlite"
    )


def test_worker_processes_rank_from_the_projects_own_store(
    tmp_path: Path, postgres: PgServer
) -> None:
    """With the store on PostgreSQL, the pool's workers read that store, not the (empty) state
    folder: two workers give the digests one process gives, with the stored items in them."""
    project = copy_example(tmp_path / "example")
    env = {"KB_STORE": database(postgres, "workers")}
    assert kb("--project", project, "fetch", env=env).returncode == 0
    digests = {}
    for jobs in ("1", "2"):
        done = kb(
            "--project", project, "digest", "--all", "--dry-run", "--format", "json",
            "--jobs", jobs, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        digests[jobs] = done.stdout
    assert digests["2"] == digests["1"]
    assert digests["1"].count('"url"') >= 10  # items from the store, not empty digests
