-- Sign-in throttling: every PIN/password check is reserved here before it runs,
-- so the budget holds across threads, processes and restarts (issue 10, item 1).
CREATE TABLE auth_attempts (
    id       INTEGER PRIMARY KEY,
    account  TEXT    NOT NULL,           -- staff id, or "agent-login:<login>"
    remote   TEXT    NOT NULL,           -- client address the check came from
    at       REAL    NOT NULL,           -- unix seconds (wall clock: survives restarts)
    result   TEXT    NOT NULL DEFAULT 'pending' CHECK (result IN ('pending', 'fail', 'ok'))
);
CREATE INDEX auth_attempts_account ON auth_attempts (account, at);
CREATE INDEX auth_attempts_remote ON auth_attempts (remote, at);

-- Addresses that recently signed in to an account: they keep a share of the
-- account's budget that strangers flooding wrong PINs cannot use up.
CREATE TABLE auth_known_addresses (
    account  TEXT NOT NULL,
    remote   TEXT NOT NULL,
    last_ok  REAL NOT NULL,
    PRIMARY KEY (account, remote)
);
