-- Watchlist auto-learn (services/cleanup/autolearn.py): members learn better faces from what
-- cameras matched to them. The learnt faces are ordinary `member_faces` rows added through the
-- matcher (so the change log and every replica's index follow); their `face` says
-- `"type": "AutoLearn"` and their cluster (`NoMask`/`Mask`), and only those are ever replaced.

-- Register's keepAutoLearnPhotos: the member's learnt faces keep the camera's crop they came from.
ALTER TABLE watchlist_members ADD COLUMN keep_auto_learn_photos boolean NOT NULL DEFAULT false;

-- Each auto-learn run: what started it (`schedule` at executionStartTime, or `request`), the
-- match results it looked at (created after the previous run's `until`, up to its own) and what
-- it changed. The newest `schedule` run tells a replica whether today's run already happened.
-- Owned (written) by the cleanup service, which keeps 90 days of it.
CREATE TABLE auto_learn_runs (
    id           uuid PRIMARY KEY,
    instance     text NOT NULL,
    trigger      text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL,
    until        timestamptz NOT NULL,
    members      integer NOT NULL,
    learnt       integer NOT NULL,
    replaced     integer NOT NULL
);
CREATE INDEX auto_learn_runs_trigger ON auto_learn_runs (trigger, started_at);
CREATE INDEX auto_learn_runs_until ON auto_learn_runs (until);
