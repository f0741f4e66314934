-- The `Idempotency-Key`s of POST requests (src/products/idempotency.rs): the
-- first request's body fingerprint and, once it has finished, its response,
-- which a retry with the same key gets again. Plain types, the same for
-- PostgreSQL and SQLite; times are Unix seconds. Version 4: the auth
-- component's migrations are 2 and 3.
CREATE TABLE idempotency_keys (
    scope           TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    -- NULL while the first request is in flight.
    status          INTEGER,
    location        TEXT,
    body            TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);

-- Expired keys are deleted by age.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
