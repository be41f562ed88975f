package ingest

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsHandler serves the ingester's counters in the Prometheus text format. They are
// read from Stats at each scrape, on a registry of the ingester's own.
func (in *Ingester) MetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(ingestCollector{in})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

var (
	descLines     = prometheus.NewDesc("starling_ingest_lines_total", "Input lines read (blank lines excluded).", nil, nil)
	descValid     = prometheus.NewDesc("starling_ingest_valid_total", "Lines that gave a canonical tweet.", nil, nil)
	descProduced  = prometheus.NewDesc("starling_ingest_produced_total", "Canonical tweets acknowledged by the broker.", nil, nil)
	descRejected  = prometheus.NewDesc("starling_ingest_rejected_total", "Lines rejected (and dead-lettered), per reason.", []string{"reason"}, nil)
	descBytesRead = prometheus.NewDesc("starling_ingest_input_bytes_read_total", "Input bytes read, as stored (compressed).", nil, nil)
	descBytes     = prometheus.NewDesc("starling_ingest_input_bytes", "Size of one pass over the inputs, as stored.", nil, nil)
	descPasses    = prometheus.NewDesc("starling_ingest_passes_total", "Completed passes over the inputs.", nil, nil)
)

type ingestCollector struct{ in *Ingester }

func (c ingestCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLines, descValid, descProduced, descRejected, descBytesRead, descBytes, descPasses} {
		ch <- d
	}
}

func (c ingestCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.in.Stats()
	ch <- prometheus.MustNewConstMetric(descLines, prometheus.CounterValue, float64(s.Lines))
	ch <- prometheus.MustNewConstMetric(descValid, prometheus.CounterValue, float64(s.Valid))
	ch <- prometheus.MustNewConstMetric(descProduced, prometheus.CounterValue, float64(s.Produced))
	for reason, n := range s.Rejected {
		ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(n), reason)
	}
	ch <- prometheus.MustNewConstMetric(descBytesRead, prometheus.CounterValue, float64(s.BytesRead))
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(s.TotalBytes))
	ch <- prometheus.MustNewConstMetric(descPasses, prometheus.CounterValue, float64(s.Passes))
}
