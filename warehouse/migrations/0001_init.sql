-- Starling's warehouse schema, version 1. Runs on ClickHouse 18.16 and on current releases:
-- no DateTime64, Map, TTL, LowCardinality or window functions. Every statement is idempotent.

-- One row per tweet, written only by the ETL, one INSERT per batch.
CREATE TABLE IF NOT EXISTS tweets (
    id               UInt64,
    created_at       DateTime,
    text             String,
    lang             String,
    user_id          UInt64,
    user_screen_name String,
    user_followers   UInt64,
    hashtags         Array(String),
    mentions         Array(String),
    urls             Array(String),
    words            Array(String),
    retweet_of       UInt64,
    quote_of         UInt64,
    sentiment        Float32,
    sentiment_label  Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
    source_format    String,
    kafka_topic      String,
    kafka_partition  Int32,
    kafka_offset     Int64,
    loaded_at        DateTime DEFAULT now()
) ENGINE = MergeTree PARTITION BY toYYYYMM(created_at) ORDER BY (created_at, id);

-- Per-minute aggregates. SummingMergeTree merges rows lazily: always read them with
-- sum(...) GROUP BY.
CREATE TABLE IF NOT EXISTS hashtag_minute (
    minute        DateTime,
    hashtag       String,
    tweets        UInt64,
    sentiment_sum Float64
) ENGINE = SummingMergeTree PARTITION BY toYYYYMM(minute) ORDER BY (minute, hashtag);

CREATE MATERIALIZED VIEW IF NOT EXISTS hashtag_minute_mv TO hashtag_minute AS
SELECT toStartOfMinute(created_at) AS minute, hashtag, count() AS tweets, sum(sentiment) AS sentiment_sum
FROM tweets ARRAY JOIN hashtags AS hashtag
GROUP BY minute, hashtag;

CREATE TABLE IF NOT EXISTS word_minute (
    minute        DateTime,
    word          String,
    tweets        UInt64,
    sentiment_sum Float64
) ENGINE = SummingMergeTree PARTITION BY toYYYYMM(minute) ORDER BY (minute, word);

CREATE MATERIALIZED VIEW IF NOT EXISTS word_minute_mv TO word_minute AS
SELECT toStartOfMinute(created_at) AS minute, word, count() AS tweets, sum(sentiment) AS sentiment_sum
FROM tweets ARRAY JOIN words AS word
GROUP BY minute, word;

CREATE TABLE IF NOT EXISTS sentiment_minute (
    minute          DateTime,
    sentiment_label Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
    lang            String,
    tweets          UInt64,
    sentiment_sum   Float64
) ENGINE = SummingMergeTree PARTITION BY toYYYYMM(minute) ORDER BY (minute, sentiment_label, lang);

CREATE MATERIALIZED VIEW IF NOT EXISTS sentiment_minute_mv TO sentiment_minute AS
SELECT toStartOfMinute(created_at) AS minute, sentiment_label, lang, count() AS tweets, sum(sentiment) AS sentiment_sum
FROM tweets
GROUP BY minute, sentiment_label, lang;

-- Where the ETL resumes each partition: the view writes the batch's last offset in the same
-- INSERT as its rows, so rows and offset are loaded together. Read with max(offset).
CREATE TABLE IF NOT EXISTS loaded_offsets (
    topic     String,
    partition Int32,
    offset    Int64,
    loaded_at DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree(offset) ORDER BY (topic, partition);

CREATE MATERIALIZED VIEW IF NOT EXISTS loaded_offsets_mv TO loaded_offsets AS
SELECT kafka_topic AS topic, kafka_partition AS partition, max(kafka_offset) AS offset, now() AS loaded_at
FROM tweets
GROUP BY topic, partition;
