"""One scratch database for tests that build a schema their own way (models only, or
migrations up to a number): a new PostgreSQL database or SQLite file, bound to the models
while the test runs, dropped afterwards."""
import contextlib
import uuid

from models import db
from models.database import open_database

from .conftest import ON_POSTGRES, PG_URL


@contextlib.contextmanager
def scratch_database(tmp_path, prefix):
    previous = db.obj
    admin_db = name = None
    if ON_POSTGRES:
        admin_db = open_database(PG_URL)
        name = f"alliance_{prefix}_{uuid.uuid4().hex[:10]}"
        admin_db.execute_sql(f'CREATE DATABASE "{name}"')
        database = open_database(f"{PG_URL.rpartition('/')[0]}/{name}")
    else:
        database = open_database(f"sqlite:///{tmp_path / (prefix + '.db')}")
    db.initialize(database)
    try:
        yield database
    finally:
        database.close()
        db.initialize(previous)
        if admin_db is not None:
            admin_db.execute_sql(f'DROP DATABASE IF EXISTS "{name}"')
            admin_db.close()
