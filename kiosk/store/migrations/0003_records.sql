-- Records (DESIGN.md §4): cases, ratings and their prompts, rectifications,
-- complaints/suggestions, appointments. Dates are ISO-8601 with +08:00.
-- Enumerations keep their Chinese names (受理, 非常满意, 平板 …); platform codes
-- exist only in the relay adapter (hall.relay.codes).

-- Small settings that must survive a restart (the rating-token key, sequences).
CREATE TABLE records_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- 办件. `official_no` (办件编号) is minted by the county system and stays NULL until
-- the county returns it: the hall never invents one. `cert_no` is stored only so
-- the relay can hand it to the county; no screen, ticket, log or export shows it.
CREATE TABLE cases (
    id                  INTEGER PRIMARY KEY,
    receipt_no          TEXT    NOT NULL UNIQUE,       -- printed on the citizen's receipt
    official_no         TEXT    UNIQUE,                -- 办件编号 from the county, NULL until assigned
    item_code           TEXT    NOT NULL,              -- 实施编码 (not capped at GB lengths)
    item_name           TEXT    NOT NULL,
    category            TEXT,                          -- queue category prefix of the item
    case_kind           TEXT    NOT NULL CHECK (case_kind IN ('即办件', '承诺件')),
    limit_value         INTEGER,                       -- promised time limit {value, unit}
    limit_unit          TEXT    CHECK (limit_unit IS NULL OR limit_unit IN ('天', '工作日', '月', '年')),
    status              TEXT    NOT NULL CHECK (status IN ('受理', '办理中', '补正', '办结', '退回')),
    applicant_type      TEXT    NOT NULL CHECK (applicant_type IN ('自然人', '法人')),
    applicant_name      TEXT    NOT NULL,
    cert_type           TEXT    NOT NULL,              -- 111 = 居民身份证 …
    cert_no             TEXT    NOT NULL,              -- relay only
    phone               TEXT,
    agent               TEXT,                          -- JSON {name, cert_type, cert_no, phone, village} or NULL
    ticket_id           INTEGER REFERENCES tickets(id),
    window              INTEGER,
    clerk               TEXT    NOT NULL,
    accepted_at         TEXT    NOT NULL,
    promised_finish_at  TEXT,                          -- end of business on the promised day
    deadline_estimated  INTEGER NOT NULL DEFAULT 0,    -- 1: a year without official holiday list was counted Mon–Fri
    finished_at         TEXT,                          -- 办结 or 退回
    note                TEXT,
    version             INTEGER NOT NULL DEFAULT 1,    -- +1 per change; part of outbox message ids
    updated_at          TEXT    NOT NULL
);
CREATE INDEX cases_status ON cases (status, promised_finish_at);
CREATE INDEX cases_ticket ON cases (ticket_id);
CREATE INDEX cases_accepted ON cases (accepted_at);

-- dup-ok: migrations are immutable history; 0007_village.sql's history and photo tables follow this shape
CREATE TABLE case_history (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    at          TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    window      INTEGER,
    note        TEXT
);
CREATE INDEX case_history_case ON case_history (case_id, id);

CREATE TABLE case_materials (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases(id),
    name      TEXT    NOT NULL,                        -- material name from the guide, or 扫描件
    path      TEXT    NOT NULL,                        -- file saved by the document camera
    added_at  TEXT    NOT NULL,
    added_by  TEXT    NOT NULL
);
CREATE INDEX case_materials_case ON case_materials (case_id);

-- The clerk's "请评价": the evaluator at the window asks for a rating of one service.
CREATE TABLE rating_prompts (
    id          INTEGER PRIMARY KEY,
    window      INTEGER NOT NULL,
    ticket_id   INTEGER REFERENCES tickets(id),
    case_id     INTEGER REFERENCES cases(id),
    clerk       TEXT    NOT NULL,
    opened_at   TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('open', 'rated', 'expired', 'cancelled')),
    closed_at   TEXT,
    rating_id   INTEGER
);
CREATE INDEX rating_prompts_open ON rating_prompts (state, window);

-- 好差评: one per service (一次一评). A service is a case when there is one, else the
-- ticket: `service_key` = 'case:<id>' or 'ticket:<id>'. Assess number 2 is the one
-- rating a citizen may add later.
CREATE TABLE ratings (
    id             INTEGER PRIMARY KEY,
    service_key    TEXT    NOT NULL,
    ticket_id      INTEGER REFERENCES tickets(id),
    case_id        INTEGER REFERENCES cases(id),
    assess_number  INTEGER NOT NULL CHECK (assess_number IN (1, 2)),
    channel        TEXT    NOT NULL CHECK (channel IN ('窗口评价器', '平板', '自助终端', '二维码')),
    level          TEXT    NOT NULL CHECK (level IN ('非常满意', '满意', '基本满意', '不满意', '非常不满意')),
    bad            INTEGER NOT NULL,                   -- 1 for 差评 (不满意, 非常不满意)
    reasons        TEXT    NOT NULL DEFAULT '[]',      -- JSON list of reason codes
    comment        TEXT,
    clerk          TEXT,
    window         INTEGER,
    category       TEXT,
    item_code      TEXT,
    rated_at       TEXT    NOT NULL,
    prompt_id      INTEGER REFERENCES rating_prompts(id),
    UNIQUE (service_key, assess_number)
);
CREATE INDEX ratings_at ON ratings (rated_at);
CREATE INDEX ratings_ticket ON ratings (ticket_id);

-- 整改: every 差评 opens one; the manager follows it to closure.
CREATE TABLE rectifications (
    id             INTEGER PRIMARY KEY,
    rating_id      INTEGER NOT NULL UNIQUE REFERENCES ratings(id),
    opened_at      TEXT    NOT NULL,
    due_at         TEXT    NOT NULL,
    due_estimated  INTEGER NOT NULL DEFAULT 0,
    state          TEXT    NOT NULL CHECK (state IN ('待整改', '已回复', '已核实', '已关闭')),
    reply          TEXT,
    replied_at     TEXT,
    replied_by     TEXT,
    verification   TEXT,
    verified_at    TEXT,
    verified_by    TEXT,
    closed_at      TEXT,
    closed_by      TEXT,
    version        INTEGER NOT NULL DEFAULT 1,
    updated_at     TEXT    NOT NULL
);
CREATE INDEX rectifications_state ON rectifications (state, due_at);

CREATE TABLE rectification_events (
    id                INTEGER PRIMARY KEY,
    rectification_id  INTEGER NOT NULL REFERENCES rectifications(id),
    at                TEXT    NOT NULL,
    action            TEXT    NOT NULL,                -- open, reply, verify_pass, verify_fail, close
    actor             TEXT    NOT NULL,
    text              TEXT
);
CREATE INDEX rectification_events_rect ON rectification_events (rectification_id, id);

-- 意见建议 from the kiosk.
CREATE TABLE complaints (
    id             INTEGER PRIMARY KEY,
    ref_no         TEXT    NOT NULL UNIQUE,            -- shown to the citizen
    kind           TEXT    NOT NULL CHECK (kind IN ('投诉', '建议')),
    reasons        TEXT    NOT NULL DEFAULT '[]',      -- JSON list of preset reason codes
    text           TEXT,
    contact_name   TEXT,
    contact_phone  TEXT,
    window         INTEGER,
    created_at     TEXT    NOT NULL,
    state          TEXT    NOT NULL DEFAULT '待处理' CHECK (state IN ('待处理', '已处理')),
    reply          TEXT,
    handled_at     TEXT,
    handled_by     TEXT,
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX complaints_at ON complaints (created_at);

-- 预约: from the county platform (source 'county') or booked by staff ('hall').
CREATE TABLE appointments (
    id             INTEGER PRIMARY KEY,
    code           TEXT    NOT NULL UNIQUE,            -- short code the citizen brings (also in the QR)
    source         TEXT    NOT NULL CHECK (source IN ('county', 'hall')),
    category       TEXT    NOT NULL,
    item_code      TEXT,
    item_name      TEXT,
    service_date   TEXT    NOT NULL,                   -- local date of the slot
    slot_start     TEXT    NOT NULL,
    slot_end       TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    phone          TEXT    NOT NULL,
    person_key     TEXT    NOT NULL,                   -- normalised phone: one booking per person per day
    state          TEXT    NOT NULL CHECK (state IN ('booked', 'checked_in', 'no_show', 'cancelled')),
    ticket_id      INTEGER REFERENCES tickets(id),
    booked_at      TEXT    NOT NULL,
    booked_by      TEXT    NOT NULL,
    checked_in_at  TEXT,
    no_show_at     TEXT,
    cancelled_at   TEXT,
    version        INTEGER NOT NULL DEFAULT 1,
    updated_at     TEXT    NOT NULL
);
CREATE INDEX appointments_day ON appointments (service_date, state);
CREATE INDEX appointments_person ON appointments (person_key, service_date);
