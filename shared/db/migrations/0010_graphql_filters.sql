-- Indexes behind the GraphQL API's common filters (services/graphql): SmartFace integrations
-- look members up by name, and read match results of a member or watchlist by time. Camera
-- faces, frames and tracklets by camera and time, and by tracklet, have theirs already (0004).
CREATE INDEX watchlist_members_full_name ON watchlist_members (full_name);
CREATE INDEX watchlist_members_display_name ON watchlist_members (display_name);
CREATE INDEX seen_match_results_watchlist ON seen_match_results (watchlist_id, created_at);
CREATE INDEX seen_faces_image ON seen_faces (image_id) WHERE image_id IS NOT NULL;
