-- Watchlists and their members; owned (written) by the matcher service.
CREATE TABLE watchlists (
    id             text PRIMARY KEY,
    display_name   text NOT NULL,
    full_name      text NOT NULL,
    threshold      integer NOT NULL CHECK (threshold BETWEEN 0 AND 100),
    palm_threshold integer NOT NULL CHECK (palm_threshold BETWEEN 0 AND 100),
    preview_color  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz
);
CREATE INDEX watchlists_created ON watchlists (created_at, id);

CREATE TABLE watchlist_members (
    id            text PRIMARY KEY,
    display_name  text,
    full_name     text,
    note          text,
    labels        jsonb NOT NULL DEFAULT '[]',
    privacy       jsonb NOT NULL,
    totp_enabled  boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz
);
CREATE INDEX watchlist_members_created ON watchlist_members (created_at, id);

-- Deleting either side removes the link only: a deleted watchlist keeps its members.
CREATE TABLE watchlist_links (
    watchlist_id text NOT NULL REFERENCES watchlists (id) ON DELETE CASCADE,
    member_id    text NOT NULL REFERENCES watchlist_members (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (watchlist_id, member_id)
);
CREATE INDEX watchlist_links_member ON watchlist_links (member_id);
