-- Village service stations (村/社区便民服务站): villages and their agents (代办员), administered by
-- the township manager; the 代办 ledger (台账) with its state history and photos; the village duty
-- roster (值班表); the township's spot checks (不定期抽查); a few settings.
-- Dates are ISO-8601 with +08:00; days are local dates (YYYY-MM-DD).

CREATE TABLE villages (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,             -- 青石村 / 建设社区
    station_name  TEXT    NOT NULL,                    -- 青石村便民服务站
    address       TEXT    NOT NULL DEFAULT '',
    phone         TEXT    NOT NULL DEFAULT '',         -- the station's public phone
    hours         TEXT    NOT NULL DEFAULT '',         -- 办公时间 as the station posts it
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

-- Agents are not in the config: the manager adds them here. Name, duty and phone are public on the
-- station page (the county plan requires it); the ID number is kept only for the case's agent record
-- that goes to the county, and is shown masked.
CREATE TABLE village_agents (
    id          INTEGER PRIMARY KEY,
    village_id  INTEGER NOT NULL REFERENCES villages(id),
    login       TEXT    NOT NULL UNIQUE COLLATE NOCASE, -- what the agent types to sign in
    name        TEXT    NOT NULL,
    duty        TEXT    NOT NULL DEFAULT '',            -- 职务: 村支书 / 村委委员 / 代办员 …
    phone       TEXT    NOT NULL,
    cert_type   TEXT    NOT NULL DEFAULT '111',
    cert_no     TEXT    NOT NULL,
    pin_hash    TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX village_agents_village ON village_agents (village_id, active);

-- One 代办 request. `client_key` is made by the agent's device when the form is opened, so a request
-- resubmitted after a dropped link is recognised instead of being registered twice.
CREATE TABLE village_records (
    id             INTEGER PRIMARY KEY,
    village_id     INTEGER NOT NULL REFERENCES villages(id),
    client_key     TEXT    NOT NULL,
    ref_no         TEXT    NOT NULL UNIQUE,           -- 台账编号, told to the villager
    item_code      TEXT    NOT NULL,                  -- 实施编码 from the service catalog
    item_name      TEXT    NOT NULL,
    category       TEXT,
    village_level  INTEGER NOT NULL DEFAULT 0,        -- 1: the catalog says the item is done at village level
    kind           TEXT    NOT NULL CHECK (kind IN ('在村办结', '代办到乡镇', '上门代办')),
    special_group  TEXT,                              -- 上门代办: 孤寡老人 / 病残 / 五保户 / 留守家庭 / 其他
    state          TEXT    NOT NULL CHECK (state IN ('登记', '材料齐全', '已送乡镇', '乡镇已接件', '办结', '退回补正')),
    applicant_name TEXT    NOT NULL,
    cert_type      TEXT    NOT NULL,
    cert_no        TEXT    NOT NULL,                  -- relay only (copied into the case); shown masked
    phone          TEXT,
    materials      TEXT    NOT NULL DEFAULT '[]',     -- JSON [{name, required, originals, copies, done}]
    note           TEXT,
    agent_id       INTEGER NOT NULL REFERENCES village_agents(id),
    registered_at  TEXT    NOT NULL,
    pending_since  TEXT    NOT NULL,                  -- start of the handover clock (registration or 退回补正)
    handed_at      TEXT,                              -- 已送乡镇
    received_at    TEXT,                              -- 乡镇已接件
    received_by    TEXT,
    finished_at    TEXT,
    case_id        INTEGER REFERENCES cases(id),      -- the township case made from it
    case_status    TEXT,                              -- the case status last followed into `state`
    version        INTEGER NOT NULL DEFAULT 1,
    updated_at     TEXT    NOT NULL,
    UNIQUE (village_id, client_key)
);
CREATE INDEX village_records_village ON village_records (village_id, registered_at);
CREATE INDEX village_records_state ON village_records (state, village_id);
CREATE INDEX village_records_case ON village_records (case_id);

-- dup-ok: migrations are immutable history; shaped like 0003_records.sql's case history and materials
CREATE TABLE village_record_history (
    id          INTEGER PRIMARY KEY,
    record_id   INTEGER NOT NULL REFERENCES village_records(id),
    at          TEXT    NOT NULL,
    from_state  TEXT,
    to_state    TEXT    NOT NULL,
    actor       TEXT    NOT NULL,                     -- agent:<id>, a staff id, or county/system
    actor_name  TEXT,
    note        TEXT
);
CREATE INDEX village_record_history_record ON village_record_history (record_id, id);

-- Photos or scans of materials taken with the agent's phone; files live under the data folder.
CREATE TABLE village_photos (
    id          INTEGER PRIMARY KEY,
    record_id   INTEGER NOT NULL REFERENCES village_records(id),
    client_key  TEXT    NOT NULL,
    material    TEXT    NOT NULL DEFAULT '',          -- which checklist entry it shows ('' = other)
    path        TEXT    NOT NULL,                     -- relative to the data folder
    bytes       INTEGER NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    added_at    TEXT    NOT NULL,
    added_by    TEXT    NOT NULL,
    UNIQUE (record_id, client_key)
);
CREATE INDEX village_photos_record ON village_photos (record_id, id);

-- 值班表: one cadre on duty at the village office per working day.
CREATE TABLE village_duty (
    village_id  INTEGER NOT NULL REFERENCES villages(id),
    day         TEXT    NOT NULL,
    agent_id    INTEGER NOT NULL REFERENCES village_agents(id),
    note        TEXT,
    set_by      TEXT    NOT NULL,
    set_at      TEXT    NOT NULL,
    PRIMARY KEY (village_id, day)
);

-- 不定期抽查: records the township picked at random to check against the paper ledger.
CREATE TABLE village_spot_checks (
    id          INTEGER PRIMARY KEY,
    record_id   INTEGER NOT NULL REFERENCES village_records(id),
    village_id  INTEGER NOT NULL REFERENCES villages(id),
    picked_at   TEXT    NOT NULL,
    picked_by   TEXT    NOT NULL,
    checked_at  TEXT,
    checked_by  TEXT,
    result      TEXT    CHECK (result IS NULL OR result IN ('合格', '有问题')),
    finding     TEXT
);
CREATE INDEX village_spot_checks_picked ON village_spot_checks (picked_at);
CREATE INDEX village_spot_checks_record ON village_spot_checks (record_id);

CREATE TABLE village_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
