package watch

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the watchers' Prometheus metrics: a histogram of discovery
// times, fed as each look ends, and gauges read from the watchers'
// status at each scrape.
type Metrics struct {
	reg      *prometheus.Registry
	looks    *prometheus.HistogramVec
	watchers func() []*Watcher
}

// NewMetrics makes the metrics of the watchers that watchers returns
// (called at each scrape, so that it may list watchers made later).
func NewMetrics(watchers func() []*Watcher) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), watchers: watchers,
		looks: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "replicant_watch_probe_seconds",
			Help:    "How long one discovery of the cluster took.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"cluster"})}
	m.reg.MustRegister(m.looks, statusCollector{m})
	return m
}

// LookObserver is the Options.OnLook of one cluster's watcher.
func (m *Metrics) LookObserver(cluster string) func(time.Duration) {
	h := m.looks.WithLabelValues(cluster)
	return func(d time.Duration) { h.Observe(d.Seconds()) }
}

var (
	descVerdict = prometheus.NewDesc("replicant_watch_verdict",
		"1 for each verdict the last look made about the cluster (kind: healthy, dead_primary, ...).",
		[]string{"cluster", "kind", "server"}, nil)
	descFailovers = prometheus.NewDesc("replicant_watch_failovers_total",
		"Automatic failovers run (done or failed).", []string{"cluster"}, nil)
	descLastFailover = prometheus.NewDesc("replicant_watch_last_failover_seconds",
		"How long the last automatic failover took.", []string{"cluster"}, nil)
	descBlocked = prometheus.NewDesc("replicant_watch_blocked",
		"1 while a recent failover blocks another automatic one.", []string{"cluster"}, nil)
	descUp = prometheus.NewDesc("replicant_server_up",
		"1 when the server answered the last probe.", []string{"cluster", "server"}, nil)
	descReadOnly = prometheus.NewDesc("replicant_server_read_only",
		"1 when the server is read-only.", []string{"cluster", "server"}, nil)
	descIO = prometheus.NewDesc("replicant_replica_io_running",
		"1 when the replica's receiver is connected to its source.", []string{"cluster", "server"}, nil)
	descSQL = prometheus.NewDesc("replicant_replica_sql_running",
		"1 when the replica's applier runs.", []string{"cluster", "server"}, nil)
	descLag = prometheus.NewDesc("replicant_replica_lag_seconds",
		"Seconds_Behind_Master, when the server reports it.", []string{"cluster", "server"}, nil)
	descHeartbeats = prometheus.NewDesc("replicant_replica_received_heartbeats",
		"Heartbeats the replica's receiver got from its source (MariaDB).", []string{"cluster", "server"}, nil)
)

// statusCollector turns each watcher's status into gauges at scrape time.
type statusCollector struct{ m *Metrics }

func (c statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descVerdict, descFailovers, descLastFailover, descBlocked, descUp,
		descReadOnly, descIO, descSQL, descLag, descHeartbeats} {
		ch <- d
	}
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	one := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, w := range c.m.watchers() {
		st := w.Status()
		for _, v := range st.Verdicts {
			gauge(descVerdict, 1, st.Cluster, string(v.Kind), v.Server)
		}
		ch <- prometheus.MustNewConstMetric(descFailovers, prometheus.CounterValue, float64(st.Failovers), st.Cluster)
		if st.Last != nil && st.Last.Outcome != "refused" {
			gauge(descLastFailover, st.Last.Duration.Seconds(), st.Cluster)
		}
		gauge(descBlocked, one(time.Now().Before(st.BlockedUntil)), st.Cluster)
		for _, s := range st.Servers {
			gauge(descUp, one(s.Up), st.Cluster, s.Name)
			if !s.Up {
				continue
			}
			gauge(descReadOnly, one(s.ReadOnly), st.Cluster, s.Name)
			if s.Replica {
				gauge(descIO, one(s.IORunning), st.Cluster, s.Name)
				gauge(descSQL, one(s.SQLRunning), st.Cluster, s.Name)
				gauge(descHeartbeats, float64(s.Heartbeats), st.Cluster, s.Name)
				if s.Lag != nil {
					gauge(descLag, float64(*s.Lag), st.Cluster, s.Name)
				}
			}
		}
	}
}

// Handler serves /healthz, /status (JSON), /metrics (Prometheus text) and
// POST /clear, which lifts the failover block of every cluster (or of
// ?cluster=NAME) and requires "Authorization: Bearer TOKEN". With no
// token, /clear is off.
func Handler(m *Metrics, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		var out struct {
			Clusters []Status `json:"clusters"`
		}
		for _, wt := range m.watchers() {
			out.Clusters = append(out.Clusters, wt.Status())
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST /clear", func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			http.Error(w, "clear is off: start watch with --http-token-file", http.StatusForbidden)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			http.Error(w, "a valid Authorization: Bearer token is required", http.StatusUnauthorized)
			return
		}
		cluster := r.URL.Query().Get("cluster")
		cleared := 0
		for _, wt := range m.watchers() {
			if cluster == "" || wt.Status().Cluster == cluster {
				wt.Clear()
				cleared++
			}
		}
		if cleared == 0 {
			http.Error(w, "no cluster "+cluster, http.StatusNotFound)
			return
		}
		w.Write([]byte("cleared\n"))
	})
	return mux
}
