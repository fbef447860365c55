"""Starts the MLflow tracking server from environment variables.

Builds the PostgreSQL URIs from the database settings (on AWS they come from the RDS secret),
creates the basic-auth database beside the tracking database when it is missing, writes the
basic-auth configuration with the admin password from the environment (never MLflow's default),
migrates the auth database and creates the admin once, then replaces itself with `mlflow server`.

Environment:
  DB_HOST, DB_PORT, DB_NAME, DB_USERNAME, DB_PASSWORD   PostgreSQL; the auth database is <DB_NAME>_auth
  DB_SSLMODE                      libpq sslmode (default prefer; the AWS task sets require)
  MLFLOW_ARTIFACTS_DESTINATION    s3://bucket/prefix for artifacts, served through this server
  MLFLOW_ADMIN_USERNAME           basic-auth admin (default admin)
  MLFLOW_ADMIN_PASSWORD           its password, at least 12 characters
  MLFLOW_ALLOWED_HOSTS            comma-separated Host header patterns MLflow answers to
  MLFLOW_WORKERS                  server worker processes (default 2)
  MLFLOW_AUTH_CACHE_TTL           seconds a checked login is remembered per worker (default 60; 0: off)
  MLFLOW_HOST, MLFLOW_PORT        where the server listens (default 0.0.0.0 and 5000)
"""

import configparser
import hashlib
import os
import sys
import time
import urllib.parse

import psycopg2
from psycopg2 import sql

AUTH_CONFIG_PATH = os.environ.get("MLFLOW_AUTH_CONFIG_PATH", "/tmp/mlflow-basic-auth.ini")
# SQLAlchemy 2.1 made psycopg 3 the default driver of postgresql://; the image ships psycopg2.
SQLALCHEMY_SCHEME = "postgresql+psycopg2"
# Without a cache every request pays one PBKDF2 password check (about 0.4 s of CPU): measured,
# a small training run took 29 s instead of 12 s. A password change or a deleted user reaches
# the other workers within this many seconds.
DEFAULT_AUTH_CACHE_TTL = "60"


def required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        sys.exit(f"mlflow-entrypoint: set {name}")
    return value


def number(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip() or default
    if not value.isdigit():
        sys.exit(f"mlflow-entrypoint: {name} must be a whole number, got '{value}'")
    return value


def postgres_uri(database: str, scheme: str) -> str:
    user = urllib.parse.quote(required("DB_USERNAME"), safe="")
    password = urllib.parse.quote(required("DB_PASSWORD"), safe="")
    sslmode = os.environ.get("DB_SSLMODE", "prefer")
    return f"{scheme}://{user}:{password}@{required('DB_HOST')}:{required('DB_PORT')}/{database}?sslmode={sslmode}"


def sqlalchemy_uri(database: str) -> str:
    """What MLflow (SQLAlchemy) is given: the driver named, never left to SQLAlchemy's default."""
    return postgres_uri(database, SQLALCHEMY_SCHEME)


def connect(database: str, attempts: int = 30):
    """The database may still be starting (compose) or resuming; try for about two and a half minutes."""
    for attempt in range(1, attempts + 1):
        try:
            return psycopg2.connect(postgres_uri(database, "postgresql"), connect_timeout=5)
        except psycopg2.OperationalError as error:
            if attempt == attempts:
                raise
            print(f"mlflow-entrypoint: database not reachable yet ({error.__class__.__name__}), retrying", flush=True)
            time.sleep(5)
    raise AssertionError("unreachable")


def ensure_database(name: str) -> None:
    connection = connect(required("DB_NAME"))
    connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"mlflow-entrypoint: created database {name}", flush=True)
    finally:
        connection.close()


def write_auth_config(auth_database: str, admin_username: str, admin_password: str, cache_ttl: str) -> None:
    # MLflow reads this file with interpolation on, so a literal % (URL-encoded passwords) is written %%.
    def literal(value: str) -> str:
        return value.replace("%", "%%")

    config = configparser.ConfigParser(interpolation=None)
    config["mlflow"] = {
        "default_permission": "READ",
        "database_uri": literal(sqlalchemy_uri(auth_database)),
        "admin_username": literal(admin_username),
        "admin_password": literal(admin_password),
        "authorization_function": "mlflow.server.auth:authenticate_request_basic_auth",
        "auth_cache_ttl_seconds": cache_ttl,
    }
    descriptor = os.open(AUTH_CONFIG_PATH, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        config.write(stream)


def prepare_auth_database() -> None:
    """Each worker migrates an empty auth database when it starts, and with two workers one of
    them dies on the race (UniqueViolation on alembic_version_auth): migrate here, once, first.
    The admin is created as MLflow's own start would, only when missing."""
    from mlflow.server.auth.config import read_auth_config
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

    config = read_auth_config()
    store = SqlAlchemyStore()
    store.init_db(config.database_uri)
    if not store.has_user(config.admin_username):
        store.create_user(config.admin_username, config.admin_password, is_admin=True)
        print(f"mlflow-entrypoint: created the admin user {config.admin_username}", flush=True)


def main() -> None:
    admin_username = os.environ.get("MLFLOW_ADMIN_USERNAME", "admin")
    admin_password = required("MLFLOW_ADMIN_PASSWORD")
    if len(admin_password) < 12 or admin_password == "password1234":
        sys.exit("mlflow-entrypoint: MLFLOW_ADMIN_PASSWORD must have at least 12 characters and not be MLflow's default")
    workers = number("MLFLOW_WORKERS", "2")
    port = number("MLFLOW_PORT", "5000")
    cache_ttl = number("MLFLOW_AUTH_CACHE_TTL", DEFAULT_AUTH_CACHE_TTL)
    auth_database = f"{required('DB_NAME')}_auth"
    ensure_database(auth_database)
    write_auth_config(auth_database, admin_username, admin_password, cache_ttl)
    os.environ["MLFLOW_AUTH_CONFIG_PATH"] = AUTH_CONFIG_PATH
    prepare_auth_database()
    # Every worker and every task must sign the UI's CSRF tokens alike: derive the key from the
    # admin password instead of letting each worker draw its own.
    os.environ.setdefault(
        "MLFLOW_FLASK_SERVER_SECRET_KEY", hashlib.sha256(f"mlflow-flask-secret:{admin_password}".encode()).hexdigest()
    )
    arguments = [
        "mlflow", "server",
        "--host", os.environ.get("MLFLOW_HOST", "").strip() or "0.0.0.0",
        "--port", port,
        "--workers", workers,
        "--backend-store-uri", sqlalchemy_uri(required("DB_NAME")),
        "--artifacts-destination", required("MLFLOW_ARTIFACTS_DESTINATION"),
        "--serve-artifacts",
        "--app-name", "basic-auth",
        "--allowed-hosts", required("MLFLOW_ALLOWED_HOSTS"),
    ]
    print(f"mlflow-entrypoint: starting MLflow, artifacts in {os.environ['MLFLOW_ARTIFACTS_DESTINATION']}", flush=True)
    os.execvp("mlflow", arguments)


if __name__ == "__main__":
    main()
