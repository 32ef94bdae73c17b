-- Each lead's stored score (issue 19): what the last whole-workspace rescore
-- (POST /v1/leads/rescore) computed. GET /v1/leads/{id}/score still computes
-- a lead's score live; these rows are the snapshot a rescore leaves.
--
-- lead_score_runs: the workspace's last rescore (the time scored as of, the
-- model version, when). One row per workspace, locked by a rescore for its
-- whole transaction, so two rescores of a workspace run one after the other.
CREATE TABLE lead_score_runs (
    workspace_id  uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    as_of         timestamptz NOT NULL,
    model_id      uuid NOT NULL,
    model_version integer NOT NULL,
    leads_scored  integer NOT NULL,
    scored_at     timestamptz NOT NULL DEFAULT now()
);

-- lead_scores: each lead's score and band of that run. A table of its own
-- rather than columns of leads, and narrow: a rescore writes the row of every
-- lead whose score or band changed (the first one: every lead), and a leads
-- row carries six indexes that each non-HOT update touches. No foreign key:
-- its per-row check was most of the cost of writing 100,000 rows
-- (scripts/bench-leads.sh), leads are never deleted but soft-deleted, and the
-- rescore removes the rows of leads it did not score (deleted, or created
-- after its time). fillfactor leaves room for HOT updates (no indexed column
-- changes).
CREATE TABLE lead_scores (
    workspace_id uuid NOT NULL,
    lead_id      text NOT NULL,
    score        integer NOT NULL,
    band         text NOT NULL CHECK (band IN ('below_mql', 'mql', 'hot')),
    PRIMARY KEY (workspace_id, lead_id)
) WITH (fillfactor = 70);
