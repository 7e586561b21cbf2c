package replicas

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HealthLines describes each replica in one line for /healthz, in the
// order of Config.URLs, for a server whose schema was built from policy
// version version:
//
//	read replica 10.0.0.2:5432: healthy, policy version 3, lag 0s
//	read replica 10.0.0.3:5432: wrong version: it has replayed policy version 2, this server serves 3 (its reads go to the primary until it catches up)
//	read replica 10.0.0.4:5432: lagging: replay lag 7.2s is above --max-replica-lag 5s
//	read replica 10.0.0.5:5432: promoted: not in recovery (pg_is_in_recovery() is false): it no longer follows the primary
//	read replica 10.0.0.6:5432: down: failed to connect to …
func (r *Router) HealthLines(version string) []string {
	var out []string
	for _, st := range r.Status() {
		line := "read replica " + st.Name + ": "
		switch {
		case st.State == StateHealthy && (st.Dirty || st.Version != version):
			have := "policy version " + orNone(st.Version)
			if st.Dirty {
				have = "a dirty policy version " + st.Version + " (an install that did not finish)"
			}
			line += fmt.Sprintf("wrong version: it has replayed %s, this server serves %s (its reads go to the primary until it catches up)", have, orNone(version))
		case st.State == StateHealthy:
			line += fmt.Sprintf("healthy, policy version %s, lag %s", orNone(st.Version), st.Lag.Round(time.Millisecond))
		case st.State == "":
			line += StateDown + ": " + st.Err
		default:
			line += st.State + ": " + st.Err
		}
		out = append(out, line)
	}
	return out
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}

// The metrics a Router reports (Collector), one series per replica,
// labelled replica="host:port", but the fallbacks.
var (
	healthyDesc = prometheus.NewDesc("rowguard_read_replica_healthy",
		"1 while the read replica answers its checks, is in recovery and is within --max-replica-lag; reads go to it only when it is also at the request's policy version (rowguard_read_replica_policy_version).",
		[]string{"replica"}, nil)
	lagDesc = prometheus.NewDesc("rowguard_read_replica_lag_seconds",
		"How far the read replica's replay is behind, as of its last check (0 while it has replayed all it received).",
		[]string{"replica"}, nil)
	versionDesc = prometheus.NewDesc("rowguard_read_replica_policy_version",
		"The policy version (rowguard.policy_migrations) the read replica has replayed; -1 for none or a dirty one.",
		[]string{"replica"}, nil)
	readsDesc = prometheus.NewDesc("rowguard_read_replica_reads_total",
		"Read transactions (queries, live-query rounds) routed to the read replica; one that fails there or finds it at another policy version runs again on the primary.",
		[]string{"replica"}, nil)
	fallbacksDesc = prometheus.NewDesc("rowguard_read_replica_fallback_reads_total",
		"Read transactions sent to the primary because no read replica was in rotation at their policy version.",
		nil, nil)
)

// Describe is prometheus.Collector's: a Router registers as one, e.g.
// with observe.Metrics.Register.
func (r *Router) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{healthyDesc, lagDesc, versionDesc, readsDesc, fallbacksDesc} {
		ch <- d
	}
}

// Collect is prometheus.Collector's.
func (r *Router) Collect(ch chan<- prometheus.Metric) {
	for i, st := range r.Status() {
		healthy := 0.0
		if st.Healthy {
			healthy = 1
		}
		version := -1.0
		if v, err := strconv.ParseFloat(st.Version, 64); err == nil && !st.Dirty {
			version = v
		}
		ch <- prometheus.MustNewConstMetric(healthyDesc, prometheus.GaugeValue, healthy, st.Name)
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, st.Lag.Seconds(), st.Name)
		ch <- prometheus.MustNewConstMetric(versionDesc, prometheus.GaugeValue, version, st.Name)
		ch <- prometheus.MustNewConstMetric(readsDesc, prometheus.CounterValue, float64(r.replicas[i].reads.Load()), st.Name)
	}
	ch <- prometheus.MustNewConstMetric(fallbacksDesc, prometheus.CounterValue, float64(r.fallbacks.Load()))
}
