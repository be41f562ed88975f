-- Starling's warehouse schema on a ClickHouse cluster: the schema of migrations 0001-0005
-- (the tables, their columns and keys are the same; a test compares them), with
-- Replicated engines and Distributed tables in front of the sharded ones (see the
-- warehouse's cluster.go). starling migrate --clickhouse-cluster NAME runs it ON CLUSTER,
-- with ${cluster} and ${database} filled in. {shard} and {replica} are each server's
-- macros: {replica} must be unique in the whole cluster (its host name, say), since the
-- tables replicated on every server have one replica per server. Every statement is
-- idempotent.

CREATE TABLE IF NOT EXISTS ${database}.schema_migrations ON CLUSTER ${cluster} (
    version UInt32, name String, applied_at DateTime DEFAULT now()
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/${database}/schema_migrations', '{replica}') ORDER BY version;

CREATE TABLE IF NOT EXISTS ${database}.tweets_local ON CLUSTER ${cluster} (
    id               UInt64,
    created_at       DateTime,
    text             String,
    lang             String,
    user_id          UInt64,
    user_screen_name String,
    user_name        String,
    user_followers   UInt64,
    hashtags         Array(String),
    mentions         Array(String),
    urls             Array(String),
    cashtags         Array(String),
    words            Array(String),
    retweet_of       UInt64,
    quote_of         UInt64,
    reply_to         UInt64,
    edit_history     Array(UInt64),
    sentiment        Float32,
    sentiment_label  Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
    source_format    String,
    kafka_topic      String,
    kafka_partition  Int32,
    kafka_offset     Int64,
    loaded_at        DateTime DEFAULT now(),
    sentiment_model  String DEFAULT 'vader'
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${database}/tweets', '{replica}')
PARTITION BY toYYYYMM(created_at) ORDER BY (created_at, id);

CREATE TABLE IF NOT EXISTS ${database}.tweets ON CLUSTER ${cluster} AS ${database}.tweets_local
ENGINE = Distributed(${cluster}, ${database}, tweets_local, cityHash64(id));

CREATE TABLE IF NOT EXISTS ${database}.tweet_ids_local ON CLUSTER ${cluster} (
    id              UInt64,
    created_at      DateTime,
    kafka_partition Int32,
    kafka_offset    Int64
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${database}/tweet_ids', '{replica}') ORDER BY id;

CREATE TABLE IF NOT EXISTS ${database}.tweet_ids ON CLUSTER ${cluster} AS ${database}.tweet_ids_local
ENGINE = Distributed(${cluster}, ${database}, tweet_ids_local, cityHash64(id));

CREATE TABLE IF NOT EXISTS ${database}.tweet_deletions_local ON CLUSTER ${cluster} (
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
    loaded_at        DateTime DEFAULT now(),
    sentiment_model  String DEFAULT 'vader'
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${database}/tweet_deletions', '{replica}') ORDER BY id;

CREATE TABLE IF NOT EXISTS ${database}.tweet_deletions ON CLUSTER ${cluster} AS ${database}.tweet_deletions_local
ENGINE = Distributed(${cluster}, ${database}, tweet_deletions_local, cityHash64(id));

CREATE TABLE IF NOT EXISTS ${database}.entities_local ON CLUSTER ${cluster} (
    tweet_id        UInt64,
    created_at      DateTime,
    entity          String,
    kind            Enum8('person' = 1, 'place' = 2, 'organisation' = 3),
    lang            String,
    sentiment       Float32,
    sampled_every   UInt32,
    kafka_partition Int32,
    kafka_offset    Int64,
    loaded_at       DateTime DEFAULT now(),
    hashtags        Array(String),
    words           Array(String),
    with_terms      UInt8
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${database}/entities', '{replica}')
PARTITION BY toYYYYMM(created_at) ORDER BY (created_at, entity);

CREATE TABLE IF NOT EXISTS ${database}.entities ON CLUSTER ${cluster} AS ${database}.entities_local
ENGINE = Distributed(${cluster}, ${database}, entities_local, cityHash64(tweet_id));

CREATE TABLE IF NOT EXISTS ${database}.loaded_offsets ON CLUSTER ${cluster} (
    topic     String,
    partition Int32,
    offset    Int64,
    loaded_at DateTime DEFAULT now()
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/${database}/loaded_offsets', '{replica}', offset) ORDER BY (topic, partition);

CREATE TABLE IF NOT EXISTS ${database}.minute_stats ON CLUSTER ${cluster} (
    kind          Enum8('hashtag' = 1, 'word' = 2, 'sentiment' = 3, 'batch' = 4),
    minute        DateTime,
    key           String,
    label         Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
    partition     Int32,
    first_offset  Int64,
    last_offset   Int64,
    tweets        Int64,
    sentiment_sum Float64,
    written_at    DateTime DEFAULT now(),
    model         String
) ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/all/${database}/minute_stats', '{replica}', (tweets, sentiment_sum))
PRIMARY KEY (kind, minute, key, label, partition, first_offset, last_offset)
ORDER BY (kind, minute, key, label, partition, first_offset, last_offset, model);

CREATE TABLE IF NOT EXISTS ${database}.tweet_scores_local ON CLUSTER ${cluster} (
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
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${database}/tweet_scores', '{replica}')
PARTITION BY toYYYYMM(created_at) ORDER BY (model, created_at, id);

CREATE TABLE IF NOT EXISTS ${database}.tweet_scores ON CLUSTER ${cluster} AS ${database}.tweet_scores_local
ENGINE = Distributed(${cluster}, ${database}, tweet_scores_local, cityHash64(id));

CREATE TABLE IF NOT EXISTS ${database}.score_minute ON CLUSTER ${cluster} (
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
) ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/all/${database}/score_minute', '{replica}', (tweets, sentiment_sum))
ORDER BY (kind, model, minute, key, label, partition, first_offset, last_offset);

CREATE VIEW IF NOT EXISTS ${database}.loaded_batches ON CLUSTER ${cluster} AS
SELECT key AS topic, partition, first_offset, last_offset, written_at
FROM ${database}.minute_stats WHERE kind = 'batch' AND minute = toDateTime(0) AND partition >= 0;

CREATE VIEW IF NOT EXISTS ${database}.hashtag_minute ON CLUSTER ${cluster} AS
SELECT minute, key AS hashtag, tweets, sentiment_sum FROM ${database}.minute_stats WHERE kind = 'hashtag';

CREATE VIEW IF NOT EXISTS ${database}.word_minute ON CLUSTER ${cluster} AS
SELECT minute, key AS word, tweets, sentiment_sum FROM ${database}.minute_stats WHERE kind = 'word';

CREATE VIEW IF NOT EXISTS ${database}.sentiment_minute ON CLUSTER ${cluster} AS
SELECT minute, label AS sentiment_label, key AS lang, if(model = '', 'vader', model) AS sentiment_model, tweets, sentiment_sum
FROM ${database}.minute_stats WHERE kind = 'sentiment';

CREATE VIEW IF NOT EXISTS ${database}.model_sentiment_minute ON CLUSTER ${cluster} AS
SELECT minute, label AS sentiment_label, key AS lang, if(model = '', 'vader', model) AS sentiment_model, tweets, sentiment_sum
FROM ${database}.minute_stats WHERE kind = 'sentiment'
UNION ALL
SELECT minute, label AS sentiment_label, key AS lang, model AS sentiment_model, tweets, sentiment_sum
FROM ${database}.score_minute WHERE kind = 'sentiment';
