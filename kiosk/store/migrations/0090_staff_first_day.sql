-- Each clerk's first day with the system: attendance counts a clerk absent only from this day on
-- (not for the days before the hall installed the system or before the clerk joined). Filled when
-- the service first sees a clerk in the config; a clerk's earlier window sign-ins still count.
CREATE TABLE staff_first_day (
    staff_id  TEXT PRIMARY KEY,
    first_day TEXT NOT NULL          -- YYYY-MM-DD, hall time
);
