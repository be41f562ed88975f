-- Version 3: the ETL writes the per-minute aggregates itself, with the mark of the batch
-- they came from, in one INSERT into one table (minute_stats), instead of materialized views
-- filling three tables from every INSERT into tweets. ClickHouse no longer runs a view per
-- INSERT (the word view alone was almost half of an INSERT's cost), and an INSERT cut
-- short can no longer leave some views with its rows and others without: minute_stats is
-- not partitioned, so each INSERT into it is one part, stored whole or not at all, and a
-- batch's aggregates arrive with its mark or not at all (see the warehouse's load.go).
-- Runs on ClickHouse 18.16 and on current releases. Stop the ETL while migrating.
--
-- The aggregates of version 2 are copied into minute_stats, and hashtag_minute,
-- word_minute and sentiment_minute become views of it with the columns they had; the
-- loaded offsets of the tweet topic become batch marks. That part of the migration runs in
-- Go (migrateMinuteStats), after these statements.

CREATE TABLE IF NOT EXISTS minute_stats (
    kind          Enum8('hashtag' = 1, 'word' = 2, 'sentiment' = 3, 'batch' = 4),
    minute        DateTime,
    key           String,
    label         Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
    partition     Int32,
    first_offset  Int64,
    last_offset   Int64,
    tweets        Int64,
    sentiment_sum Float64,
    written_at    DateTime DEFAULT now()
) ENGINE = SummingMergeTree((tweets, sentiment_sum))
ORDER BY (kind, minute, key, label, partition, first_offset, last_offset);

-- The batches loaded, for people asking where the ETL is: the last offset of each
-- partition is max(last_offset).
CREATE VIEW IF NOT EXISTS loaded_batches AS
SELECT key AS topic, partition, first_offset, last_offset, written_at
FROM minute_stats WHERE kind = 'batch' AND minute = toDateTime(0) AND partition >= 0;

-- The views of version 2: the ETL writes what they computed.
DROP TABLE IF EXISTS hashtag_minute_v2_mv;
DROP TABLE IF EXISTS word_minute_v2_mv;
DROP TABLE IF EXISTS sentiment_minute_v2_mv;
DROP TABLE IF EXISTS hashtag_minute_deletions_mv;
DROP TABLE IF EXISTS word_minute_deletions_mv;
DROP TABLE IF EXISTS sentiment_minute_deletions_mv;
DROP TABLE IF EXISTS tweet_ids_mv;
DROP TABLE IF EXISTS loaded_offsets_mv;
