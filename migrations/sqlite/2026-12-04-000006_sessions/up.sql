-- Browser sessions: the cookie's secret is stored only as its SHA-256, like an API key's.
CREATE TABLE sessions (
    id           text NOT NULL PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash  text NOT NULL UNIQUE,
    csrf_token   text NOT NULL,
    created_at   text NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    expires_at   text NOT NULL,
    revoked_at   text
) STRICT;
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
