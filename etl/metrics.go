package etl

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// etlMetrics are the ETL's Prometheus metrics, on a registry of its own (no global state):
// throughput, what was skipped and why, batch sizes and latencies, write errors, and the
// lag of every partition it loads.
type etlMetrics struct {
	reg           *prometheus.Registry
	consumed      prometheus.Counter
	loaded        prometheus.Counter
	deadLettered  prometheus.Counter
	deletions     prometheus.Counter
	skipped       *prometheus.CounterVec
	writeErrors   *prometheus.CounterVec
	batches       *prometheus.CounterVec
	flushInterval prometheus.Gauge
	batchRecords  prometheus.Histogram
	batchSeconds  prometheus.Histogram
	lag           *prometheus.GaugeVec
	freshness     prometheus.Histogram

	// The entities group.
	entityLag     *prometheus.GaugeVec
	entityEvery   *prometheus.GaugeVec
	entityTweets  prometheus.Counter
	entities      prometheus.Counter
	entitySeconds prometheus.Counter
}

func newETLMetrics(group string) *etlMetrics {
	labels := prometheus.Labels{"group": group}
	m := &etlMetrics{
		reg: prometheus.NewRegistry(),
		consumed: prometheus.NewCounter(prometheus.CounterOpts{Name: "starling_etl_consumed_records_total", ConstLabels: labels,
			Help: "Records read from the tweet topic (re-reads after a rebalance count again)."}),
		loaded: prometheus.NewCounter(prometheus.CounterOpts{Name: "starling_etl_loaded_tweets_total", ConstLabels: labels,
			Help: "Tweets inserted into the warehouse."}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{Name: "starling_etl_dead_lettered_total", ConstLabels: labels,
			Help: "Records written to the dead-letter topic."}),
		deletions: prometheus.NewCounter(prometheus.CounterOpts{Name: "starling_etl_withdrawn_tweets_total", ConstLabels: labels,
			Help: "Tweets withdrawn by tombstones and edits (rows of tweet_deletions)."}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starling_etl_skipped_tweets_total", ConstLabels: labels,
			Help: "Tweets not inserted: duplicate (the warehouse holds them), superseded (a newer edit is loaded), withdrawn."}, []string{"reason"}),
		writeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starling_etl_write_errors_total", ConstLabels: labels,
			Help: "Failed warehouse or dead-letter writes, each retried with back-off."}, []string{"what"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starling_etl_batches_total", ConstLabels: labels,
			Help: "Batches flushed, by why: full (BatchSize records), interval (the flush interval ended while the partition kept up), stalled (the partition was behind but its reader delivered nothing for a while), handover (the partition was taken away)."}, []string{"reason"}),
		flushInterval: prometheus.NewGauge(prometheus.GaugeOpts{Name: "starling_etl_flush_interval_seconds", ConstLabels: labels,
			Help: "The current tick of the ETL's clock: it slows down, up to the max flush interval, while the flushes are small."}),
		batchRecords: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "starling_etl_batch_records", ConstLabels: labels,
			Help: "Records per flushed batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 10)}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "starling_etl_batch_seconds", ConstLabels: labels,
			Help: "Time to flush a batch: dead letters, plan, deletions, insert, offsets.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starling_etl_partition_lag_records", ConstLabels: labels,
			Help: "Records of a partition not yet loaded: the high watermark the last fetch saw, less the next offset to load."}, []string{"topic", "partition"}),
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "starling_etl_freshness_seconds", ConstLabels: labels,
			Help: "From a tweet's created_at to its insert into the warehouse (meaningful for live tweets).", Buckets: prometheus.ExponentialBuckets(0.01, 2, 16)}),
	}
	m.entityLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starling_etl_entities_partition_lag_records", ConstLabels: labels,
		Help: "Records of a partition the entities group has not read yet."}, []string{"topic", "partition"})
	m.entityEvery = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "starling_etl_entities_sampled_every", ConstLabels: labels,
		Help: "The entities group's sampling step: it reads one record in this many."}, []string{"topic", "partition"})
	m.entityTweets = prometheus.NewCounter(prometheus.CounterOpts{Name: "starling_etl_entities_tweets_total", ConstLabels: labels,
		Help: "Tweets the entities group ran named-entity recognition on."})
	m.entities = prometheus.NewCounter(prometheus.CounterOpts{Name: "starling_etl_entities_total", ConstLabels: labels,
		Help: "Entities written to the warehouse."})
	m.entitySeconds = prometheus.NewCounter(prometheus.CounterOpts{Name: "starling_etl_entities_recognition_seconds_total", ConstLabels: labels,
		Help: "Time spent in named-entity recognition."})
	m.reg.MustRegister(m.consumed, m.loaded, m.deadLettered, m.deletions, m.skipped, m.writeErrors, m.batches, m.flushInterval, m.batchRecords, m.batchSeconds, m.lag, m.freshness,
		m.entityLag, m.entityEvery, m.entityTweets, m.entities, m.entitySeconds)
	return m
}

// MetricsHandler serves the ETL's metrics in the Prometheus text format.
func (e *ETL) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(e.metrics.reg, promhttp.HandlerOpts{})
}
