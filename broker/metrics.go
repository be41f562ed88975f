package broker

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metrics are the broker's Prometheus metrics, on a registry of its own so that several
// brokers (tests) can live in one process.
type metrics struct {
	registry    *prometheus.Registry
	bytesIn     *prometheus.CounterVec
	recordsIn   *prometheus.CounterVec
	bytesOut    *prometheus.CounterVec
	reqDuration *prometheus.HistogramVec
	reqErrors   *prometheus.CounterVec
	// connectionsRefused counts connections closed at accept for a connection limit.
	connectionsRefused prometheus.Counter
}

func newMetrics(b *Broker) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "starling", Subsystem: "broker", Name: "bytes_in_total",
			Help: "Record batch bytes appended, per topic.",
		}, []string{"topic"}),
		recordsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "starling", Subsystem: "broker", Name: "records_in_total",
			Help: "Records appended, per topic.",
		}, []string{"topic"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "starling", Subsystem: "broker", Name: "bytes_out_total",
			Help: "Record batch bytes served to consumers, per topic.",
		}, []string{"topic"}),
		reqDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "starling", Subsystem: "broker", Name: "request_duration_seconds",
			Help:    "Time to handle a request (long-polling fetches and group joins include their wait), per API.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"api"}),
		reqErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "starling", Subsystem: "broker", Name: "request_failures_total",
			Help: "Requests that closed their connection (unparseable, unsupported or failed), per API key.",
		}, []string{"api"}),
		connectionsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "starling", Subsystem: "broker", Name: "connections_refused_total",
			Help: "Connections closed as soon as they were accepted: over the total or per-address limit.",
		}),
	}
	open := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "starling", Subsystem: "broker", Name: "connections",
		Help: "Open client connections.",
	}, func() float64 {
		b.connsMu.Lock()
		defer b.connsMu.Unlock()
		return float64(len(b.conns))
	})
	m.registry.MustRegister(m.bytesIn, m.recordsIn, m.bytesOut, m.reqDuration, m.reqErrors, m.connectionsRefused, open,
		&logCollector{b: b}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe records one handled request.
func (m *metrics) observe(key int16, start time.Time, failed bool) {
	name := apiName(key)
	m.reqDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	if failed {
		m.reqErrors.WithLabelValues(name).Inc()
	}
}

// apiName is the Kafka name of an API key, for labels.
func apiName(key int16) string {
	if n := kmsg.NameForKey(key); n != "" {
		return n
	}
	return strconv.Itoa(int(key))
}

// MetricsHandler serves the broker's metrics in the Prometheus text format.
func (b *Broker) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(b.metrics.registry, promhttp.HandlerOpts{})
}

// logCollector reports partition sizes and offsets and consumer group lag at scrape time.
type logCollector struct{ b *Broker }

var (
	descSize = prometheus.NewDesc("starling_broker_partition_size_bytes",
		"Bytes a partition's log holds on disk.", []string{"topic", "partition"}, nil)
	descStart = prometheus.NewDesc("starling_broker_partition_log_start_offset",
		"Earliest offset a partition still holds.", []string{"topic", "partition"}, nil)
	descEnd = prometheus.NewDesc("starling_broker_partition_high_watermark",
		"Offset the next record of a partition gets.", []string{"topic", "partition"}, nil)
	descLag = prometheus.NewDesc("starling_broker_consumer_group_lag",
		"Records between a group's committed offset and the partition's high watermark.", []string{"group", "topic", "partition"}, nil)
)

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSize
	ch <- descStart
	ch <- descEnd
	ch <- descLag
}

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	c.b.mu.RLock()
	topics := make([]*topic, 0, len(c.b.topics))
	for _, t := range c.b.topics {
		topics = append(topics, t)
	}
	c.b.mu.RUnlock()
	ends := map[string][]int64{}
	for _, t := range topics {
		for i, p := range t.partitions {
			part := strconv.Itoa(i)
			start, end := p.offsets()
			ends[t.name] = append(ends[t.name], end)
			ch <- prometheus.MustNewConstMetric(descSize, prometheus.GaugeValue, float64(p.size()), t.name, part)
			ch <- prometheus.MustNewConstMetric(descStart, prometheus.GaugeValue, float64(start), t.name, part)
			ch <- prometheus.MustNewConstMetric(descEnd, prometheus.GaugeValue, float64(end), t.name, part)
		}
	}
	for _, g := range c.b.groups.offsets.groups() {
		for topic, parts := range c.b.groups.offsets.fetch(g) {
			for p, o := range parts {
				if int(p) >= len(ends[topic]) || o.Offset < 0 {
					continue
				}
				lag := max(ends[topic][p]-o.Offset, 0)
				ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(lag), g, topic, strconv.Itoa(int(p)))
			}
		}
	}
}
