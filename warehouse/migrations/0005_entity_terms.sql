-- Version 5: an entity row carries its tweet's hashtags and words, as tweets stores them, so
-- the dashboard's entities filtered by a hashtag or a word read the entities table alone
-- (before, they read the window's tweets to find the ids that match). with_terms is 1 on
-- the rows that carry them; the rows of earlier versions hold 0 and empty arrays, and the
-- readers find their tweets' terms in tweets, as before.
-- Runs on ClickHouse 18.16 and on current releases.

ALTER TABLE entities ADD COLUMN hashtags Array(String);

ALTER TABLE entities ADD COLUMN words Array(String);

ALTER TABLE entities ADD COLUMN with_terms UInt8;
