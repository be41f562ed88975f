-- Version 2: a tweet is one tweet, however often it arrives, and a withdrawn tweet leaves the
-- counts. Runs on ClickHouse 18.16 and on current releases; every statement is idempotent.

-- Counts become signed: a withdrawn tweet is subtracted by a row of tweet_deletions. A view
-- must produce its target's types exactly (18.16 does not convert), so the views of version
-- 1 are replaced by views counting in Int64. Stop the ETL while migrating: a batch loaded
-- between the DROP and the CREATE would miss its aggregates.
ALTER TABLE hashtag_minute MODIFY COLUMN tweets Int64;
ALTER TABLE word_minute MODIFY COLUMN tweets Int64;
ALTER TABLE sentiment_minute MODIFY COLUMN tweets Int64;

DROP TABLE IF EXISTS hashtag_minute_mv;
DROP TABLE IF EXISTS word_minute_mv;
DROP TABLE IF EXISTS sentiment_minute_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS hashtag_minute_v2_mv TO hashtag_minute AS
SELECT toStartOfMinute(created_at) AS minute, hashtag, toInt64(count()) AS tweets, sum(toFloat64(sentiment)) AS sentiment_sum
FROM tweets ARRAY JOIN hashtags AS hashtag
GROUP BY minute, hashtag;

CREATE MATERIALIZED VIEW IF NOT EXISTS word_minute_v2_mv TO word_minute AS
SELECT toStartOfMinute(created_at) AS minute, word, toInt64(count()) AS tweets, sum(toFloat64(sentiment)) AS sentiment_sum
FROM tweets ARRAY JOIN words AS word
GROUP BY minute, word;

CREATE MATERIALIZED VIEW IF NOT EXISTS sentiment_minute_v2_mv TO sentiment_minute AS
SELECT toStartOfMinute(created_at) AS minute, sentiment_label, lang, toInt64(count()) AS tweets, sum(toFloat64(sentiment)) AS sentiment_sum
FROM tweets
GROUP BY minute, sentiment_label, lang;

-- The canonical record's other fields. 18.16 has no ADD COLUMN IF NOT EXISTS: Migrate takes
-- "column already exists" from these statements as done, so concurrent runs stay safe.
ALTER TABLE tweets ADD COLUMN user_name String AFTER user_screen_name;
ALTER TABLE tweets ADD COLUMN cashtags Array(String) AFTER urls;
ALTER TABLE tweets ADD COLUMN reply_to UInt64 AFTER quote_of;
ALTER TABLE tweets ADD COLUMN edit_history Array(UInt64) AFTER reply_to;

-- Every tweet id ever loaded, ordered by id, for the ETL's duplicate check: a tweet
-- produced twice (around an ingester restart, or an archive replayed again) is loaded once.
CREATE TABLE IF NOT EXISTS tweet_ids (
    id              UInt64,
    created_at      DateTime,
    kafka_partition Int32,
    kafka_offset    Int64
) ENGINE = MergeTree ORDER BY id;

CREATE MATERIALIZED VIEW IF NOT EXISTS tweet_ids_mv TO tweet_ids AS
SELECT id, created_at, kafka_partition, kafka_offset FROM tweets;

-- Tweets loaded before this migration (idempotent: a second run finds them all).
INSERT INTO tweet_ids (id, created_at, kafka_partition, kafka_offset)
SELECT id, created_at, kafka_partition, kafka_offset FROM tweets WHERE id NOT IN (SELECT id FROM tweet_ids);

-- Tweets withdrawn by a tombstone (deleted by their author, their account protected,
-- suspended or deactivated) or replaced by a newer version of an edited tweet: one row per
-- withdrawn tweet id. retracted = 1 when the tweet had been loaded: the row then carries the
-- tweet's values, and the views below subtract it from every aggregate. A row with
-- retracted = 0 records a tweet withdrawn before it arrived, so that it is never loaded.
-- The ETL also deletes retracted tweets from tweets (ALTER TABLE … DELETE, asynchronous).
CREATE TABLE IF NOT EXISTS tweet_deletions (
    id               UInt64,
    user_id          UInt64,
    reason           String,
    deleted_at       DateTime,
    retracted        UInt8,
    created_at       DateTime,
    lang             String,
    hashtags         Array(String),
    words            Array(String),
    sentiment        Float32,
    sentiment_label  Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
    kafka_topic      String,
    kafka_partition  Int32,
    kafka_offset     Int64,
    loaded_at        DateTime DEFAULT now()
) ENGINE = MergeTree ORDER BY id;

CREATE MATERIALIZED VIEW IF NOT EXISTS hashtag_minute_deletions_mv TO hashtag_minute AS
SELECT toStartOfMinute(created_at) AS minute, hashtag, -toInt64(count()) AS tweets, -sum(toFloat64(sentiment)) AS sentiment_sum
FROM tweet_deletions ARRAY JOIN hashtags AS hashtag
WHERE retracted = 1
GROUP BY minute, hashtag;

CREATE MATERIALIZED VIEW IF NOT EXISTS word_minute_deletions_mv TO word_minute AS
SELECT toStartOfMinute(created_at) AS minute, word, -toInt64(count()) AS tweets, -sum(toFloat64(sentiment)) AS sentiment_sum
FROM tweet_deletions ARRAY JOIN words AS word
WHERE retracted = 1
GROUP BY minute, word;

CREATE MATERIALIZED VIEW IF NOT EXISTS sentiment_minute_deletions_mv TO sentiment_minute AS
SELECT toStartOfMinute(created_at) AS minute, sentiment_label, lang, -toInt64(count()) AS tweets, -sum(toFloat64(sentiment)) AS sentiment_sum
FROM tweet_deletions
WHERE retracted = 1
GROUP BY minute, sentiment_label, lang;

-- People, places and organisations named in tweets, found by the "entities" consumer group,
-- which samples the stream (named-entity recognition is slow): a share of the tweets, not
-- all of them. sampled_every says how many tweets each row stands for at the time.
CREATE TABLE IF NOT EXISTS entities (
    tweet_id        UInt64,
    created_at      DateTime,
    entity          String,
    kind            Enum8('person' = 1, 'place' = 2, 'organisation' = 3),
    lang            String,
    sentiment       Float32,
    sampled_every   UInt32,
    kafka_partition Int32,
    kafka_offset    Int64,
    loaded_at       DateTime DEFAULT now()
) ENGINE = MergeTree PARTITION BY toYYYYMM(created_at) ORDER BY (created_at, entity);
