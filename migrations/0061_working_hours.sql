-- Working hours (issue 19): the accept/reject SLA counts business minutes "in
-- the workspace's time zone and working hours". One window of local
-- wall-clock minutes [start, end) per ISO weekday (index 1 = Monday ... 7 =
-- Sunday), the empty range for a day off; holidays are local dates off.
-- The default is the week business_minutes counted before: Monday to Friday,
-- 09:00-17:00. The old business_minutes(s, e, tz, h_from int, h_to int) goes:
-- sql/74_leads.sql defines the one that takes these columns.
ALTER TABLE workspaces
    ADD COLUMN work_hours int4range[] NOT NULL
        DEFAULT '{"[540,1020)","[540,1020)","[540,1020)","[540,1020)","[540,1020)",empty,empty}',
    ADD COLUMN holidays date[] NOT NULL DEFAULT '{}';
ALTER TABLE workspaces ADD CONSTRAINT workspaces_work_hours_check
    CHECK (cardinality(work_hours) = 7 AND array_position(work_hours, NULL) IS NULL
           AND int4range(0, 1440) @> ALL (work_hours));
ALTER TABLE workspaces ADD CONSTRAINT workspaces_holidays_check
    CHECK (cardinality(holidays) <= 1000 AND array_position(holidays, NULL) IS NULL);
DROP FUNCTION IF EXISTS business_minutes(timestamptz, timestamptz, text, int, int);
