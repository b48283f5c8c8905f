// Package metrics exposes the release server's operation in the Prometheus
// text format: HTTP requests by route and status, request and response
// body bytes (uploads and downloads), production tickets issued and
// refused per package, and metadata store latency.
//
// Every figure is per instance except the ticket counts, which are read
// from the shared store at each scrape and so are exact across instances.
// Nothing secret is exported, but package and batch names are: serve the
// handler where only operators reach it.
package metrics

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"trustforge/server/store"
)

// Metrics is one server instance's registry.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	bodyIn    *prometheus.CounterVec
	bodyOut   *prometheus.CounterVec
	storeTime *prometheus.HistogramVec
}

// New returns a registry with the Go runtime's and the process's metrics.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trustforge_http_requests_total", Help: "HTTP requests answered, by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "trustforge_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route pattern.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
	}, []string{"route"})
	m.bodyIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trustforge_http_request_body_bytes_total", Help: "Request body bytes read (uploads), by route pattern.",
	}, []string{"route"})
	m.bodyOut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trustforge_http_response_body_bytes_total", Help: "Response body bytes written (downloads), by route pattern.",
	}, []string{"route"})
	m.storeTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "trustforge_store_seconds", Help: "Metadata store latency: write transactions (tx) and single statements (query).",
		Buckets: prometheus.ExponentialBuckets(0.0002, 4, 9),
	}, []string{"op"})
	m.reg.MustRegister(m.requests, m.duration, m.bodyIn, m.bodyOut, m.storeTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveStore records one store operation's duration (store.SQLite's
// observer).
func (m *Metrics) ObserveStore(op string, d time.Duration) {
	m.storeTime.WithLabelValues(op).Observe(d.Seconds())
}

// Wrap counts h's requests and their body bytes.
func (m *Metrics) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		cw := &countingWriter{ResponseWriter: w, code: http.StatusOK}
		var body *countingBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &countingBody{ReadCloser: r.Body}
			r.Body = body
		}
		h.ServeHTTP(cw, r)
		route := r.Pattern // set by the mux that served it
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(cw.code)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		if body != nil {
			m.bodyIn.WithLabelValues(route).Add(float64(body.n))
		}
		m.bodyOut.WithLabelValues(route).Add(float64(cw.n))
	})
}

// countingWriter counts a response's body bytes. It keeps ReadFrom, so
// file downloads still use sendfile(2).
type countingWriter struct {
	http.ResponseWriter
	code        int
	n           int64
	wroteHeader bool
}

func (w *countingWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wroteHeader = true
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(r)
		w.n += n
		return n, err
	}
	n, err := io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	w.n += n
	return n, err
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// WatchProduction exports every production package's issued and refused
// ticket counts and authorised count, read from st at each scrape.
func (m *Metrics) WatchProduction(st store.Production) {
	m.reg.MustRegister(&productionCollector{st: st})
}

var (
	issuedDesc = prometheus.NewDesc("trustforge_production_tickets_issued",
		"Production tickets issued for a package, across every instance.", []string{"package", "product", "batch"}, nil)
	refusedDesc = prometheus.NewDesc("trustforge_production_tickets_refused",
		"Production ticket requests refused for a package (count reached, outside validity).", []string{"package", "product", "batch"}, nil)
	countDesc = prometheus.NewDesc("trustforge_production_tickets_authorised",
		"A package's authorised count of tickets.", []string{"package", "product", "batch"}, nil)
	upDesc = prometheus.NewDesc("trustforge_store_up", "Whether the last scrape could read the store.", nil, nil)
)

type productionCollector struct{ st store.Production }

func (c *productionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- issuedDesc
	ch <- refusedDesc
	ch <- countDesc
	ch <- upDesc
}

func (c *productionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps, err := c.st.ListPackages(ctx, "")
	if err != nil {
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 1)
	for _, p := range ps {
		ch <- prometheus.MustNewConstMetric(issuedDesc, prometheus.CounterValue, float64(p.Issued), p.ID, p.Product, p.Batch)
		ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(p.Refused), p.ID, p.Product, p.Batch)
		ch <- prometheus.MustNewConstMetric(countDesc, prometheus.GaugeValue, float64(p.Count), p.ID, p.Product, p.Batch)
	}
}
