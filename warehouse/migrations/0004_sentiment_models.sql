-- Version 4: sentiment models as versions. Each tweet names the model that scored it
-- (tweets.sentiment_model; the rows of earlier versions were scored by the lexicon engine,
-- 'vader'), the ETL's per-minute sentiment aggregates keep models apart (minute_stats.model),
-- and `starling rescore` writes another model's scores of the stored tweets beside the ETL's
-- (tweet_scores) with their per-minute aggregates and batch marks (score_minute).
-- Runs on ClickHouse 18.16 and on current releases.

ALTER TABLE tweets ADD COLUMN sentiment_model String DEFAULT 'vader';

ALTER TABLE tweet_deletions ADD COLUMN sentiment_model String DEFAULT 'vader';

-- A column appended to the sorting key must come without a default (18.16 refuses one), so
-- the aggregates written before this version hold model '' and mean 'vader': the readers
-- say so (sentiment_minute below).
ALTER TABLE minute_stats ADD COLUMN model String, MODIFY ORDER BY (kind, minute, key, label, partition, first_offset, last_offset, model);

-- One model's score of a stored tweet, written by `starling rescore`. The ETL's own score
-- stays in tweets; a tweet has a row here only for the models other than the one the ETL
-- scored it with. kafka_* is the record the score was made from.
CREATE TABLE IF NOT EXISTS tweet_scores (
    model           String,
    id              UInt64,
    created_at      DateTime,
    lang            String,
    sentiment       Float32,
    sentiment_label Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
    kafka_topic     String,
    kafka_partition Int32,
    kafka_offset    Int64,
    scored_at       DateTime DEFAULT now()
) ENGINE = MergeTree PARTITION BY toYYYYMM(created_at) ORDER BY (model, created_at, id);

-- The per-minute aggregates of tweet_scores and the marks of the batches they came from, as
-- minute_stats is for the ETL: a rescore batch's aggregates and mark arrive in one INSERT
-- into this unpartitioned table, stored whole or not at all.
CREATE TABLE IF NOT EXISTS score_minute (
    kind          Enum8('sentiment' = 3, 'batch' = 4),
    model         String,
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
ORDER BY (kind, model, minute, key, label, partition, first_offset, last_offset);

DROP TABLE IF EXISTS sentiment_minute;

CREATE VIEW IF NOT EXISTS sentiment_minute AS
SELECT minute, label AS sentiment_label, key AS lang, if(model = '', 'vader', model) AS sentiment_model, tweets, sentiment_sum
FROM minute_stats WHERE kind = 'sentiment';

-- Every model's per-minute sentiment: the ETL's and the rescored, one row per minute, label,
-- language and model. Tweets withdrawn after a rescore scored them are still counted here
-- for that model (the dashboard subtracts them; see the README).
CREATE VIEW IF NOT EXISTS model_sentiment_minute AS
SELECT minute, label AS sentiment_label, key AS lang, if(model = '', 'vader', model) AS sentiment_model, tweets, sentiment_sum
FROM minute_stats WHERE kind = 'sentiment'
UNION ALL
SELECT minute, label AS sentiment_label, key AS lang, model AS sentiment_model, tweets, sentiment_sum
FROM score_minute WHERE kind = 'sentiment';
