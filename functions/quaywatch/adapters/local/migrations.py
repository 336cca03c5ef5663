"""The local database's schema, one migration per version, applied in order at start-up.

Never edit a migration that has shipped: add the next one. Records keep their full JSON in
``data``; the columns beside it are what the queries filter and sort on.
"""

from __future__ import annotations

INITIAL = """
CREATE TABLE organisations (org_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE tokens (token_hash TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE integrations (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, created_at TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX integrations_by_org ON integrations (org_id, created_at);
CREATE TABLE projects (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, integration_id TEXT NOT NULL, repository TEXT NOT NULL,
    tag TEXT NOT NULL, platform TEXT NOT NULL, test_frequency TEXT, next_test_at TEXT, data TEXT NOT NULL);
CREATE INDEX projects_by_org ON projects (org_id, repository, tag, platform);
CREATE INDEX projects_by_repository ON projects (integration_id, repository, tag);
CREATE INDEX projects_due ON projects (test_frequency, next_test_at) WHERE next_test_at IS NOT NULL;
CREATE TABLE import_jobs (
    import_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, total INTEGER NOT NULL,
    succeeded INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
    data TEXT NOT NULL);
CREATE TABLE import_images (
    import_id TEXT NOT NULL REFERENCES import_jobs (import_id) ON DELETE CASCADE, image TEXT NOT NULL,
    status TEXT NOT NULL, at TEXT NOT NULL, outcome TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (import_id, image));
CREATE TABLE latest_tests (
    project_id TEXT PRIMARY KEY, tested_at TEXT NOT NULL, digest TEXT NOT NULL, inventory BLOB NOT NULL,
    findings BLOB NOT NULL, keys TEXT NOT NULL, packages TEXT NOT NULL);
CREATE TABLE test_history (
    project_id TEXT NOT NULL, tested_at TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (project_id, tested_at));
CREATE TABLE notifications (
    project_id TEXT NOT NULL, fingerprint TEXT NOT NULL, claimed_at TEXT NOT NULL,
    PRIMARY KEY (project_id, fingerprint));
CREATE TABLE package_index (package TEXT NOT NULL, project_id TEXT NOT NULL, PRIMARY KEY (package, project_id));
CREATE INDEX package_index_by_project ON package_index (project_id);
CREATE TABLE secrets (reference TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, ciphertext BLOB NOT NULL);
CREATE TABLE queue_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, body TEXT NOT NULL, visible_at REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at);
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY, queue TEXT NOT NULL, body TEXT NOT NULL, receive_count INTEGER NOT NULL,
    created_at REAL NOT NULL, dead_at REAL NOT NULL);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, detail_type TEXT NOT NULL, org_id TEXT NOT NULL, summary TEXT NOT NULL,
    detail TEXT NOT NULL, published_at TEXT NOT NULL)
"""

WEBHOOK_GUARDS = """
CREATE TABLE push_claims (
    integration_id TEXT NOT NULL, image TEXT NOT NULL, import_id TEXT NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (integration_id, image));
CREATE TABLE push_counts (
    integration_id TEXT NOT NULL, window_start INTEGER NOT NULL, hits INTEGER NOT NULL,
    PRIMARY KEY (integration_id, window_start))
"""

IMPORT_HISTORY = """
CREATE INDEX import_jobs_by_org ON import_jobs (org_id, created_at, import_id)
"""

REGISTRY_SYNC = """
CREATE TABLE registry_repositories (
    integration_id TEXT NOT NULL, name TEXT NOT NULL, name_lower TEXT NOT NULL, tag_count INTEGER NOT NULL,
    synced_at TEXT NOT NULL, PRIMARY KEY (integration_id, name));
CREATE TABLE registry_tags (
    integration_id TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, created TEXT,
    PRIMARY KEY (integration_id, repository, tag));
CREATE TABLE registry_declined (
    integration_id TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL, declined_at TEXT NOT NULL,
    PRIMARY KEY (integration_id, repository, tag));
CREATE TABLE sync_policies (integration_id TEXT PRIMARY KEY, next_sync_at TEXT, data TEXT NOT NULL);
CREATE INDEX sync_policies_due ON sync_policies (next_sync_at) WHERE next_sync_at IS NOT NULL;
CREATE TABLE sync_runs (
    integration_id TEXT NOT NULL, id TEXT NOT NULL, started_at TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0,
    throttled INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL, PRIMARY KEY (integration_id, id));
CREATE TABLE sync_run_repositories (
    integration_id TEXT NOT NULL, run_id TEXT NOT NULL, repository TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, run_id, repository))
"""

IMPORT_EXPANSIONS = """
ALTER TABLE import_jobs ADD COLUMN expanding INTEGER NOT NULL DEFAULT 0;
CREATE TABLE import_expansions (
    import_id TEXT NOT NULL REFERENCES import_jobs (import_id) ON DELETE CASCADE, repository TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (import_id, repository))
"""

MEMBERS = """
CREATE TABLE members (org_id TEXT NOT NULL, user_id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (org_id, user_id))
"""

MIGRATIONS: list[tuple[str, str]] = [
    ("initial schema", INITIAL),
    ("webhook replay claims and rate counters", WEBHOOK_GUARDS),
    ("import history by organisation", IMPORT_HISTORY),
    ("registry index, sync policies and runs", REGISTRY_SYNC),
    ("whole repositories of an import, expanded by the workers", IMPORT_EXPANSIONS),
    ("members' email preferences", MEMBERS),
]
