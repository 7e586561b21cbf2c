package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rowguard/rowguard/internal/pgcluster"
)

// replicaSetting is one server of the replica benchmark: rowguard serve
// with the first n standbys as read replicas.
type replicaSetting struct {
	n     int
	srv   *server
	rps   []float64 // per round
	loads []string  // load average before each round
	// routed is the share of reads the server sent to replicas over the
	// whole run (its rowguard_read_replica_reads_total against requests).
	routed float64
}

// replicaReport is the result of -replicas.
type replicaReport struct {
	cfg                config
	query              benchQuery
	rounds             int
	started            time.Time
	loadStart, loadEnd string
	settings           []*replicaSetting
}

// measureReplicas starts n hot standbys of cluster (pg_basebackup, as the
// replica tests do) and one `rowguard serve` per setting: none, the first
// standby, the first two… as --read-replica-url; then runs wrk on each in
// interleaved rounds (the order rotates each round, so a burst of load
// from elsewhere hits every setting alike). Every server, standby and
// wrk runs on this machine.
func (e *environment) measureReplicas(ctx context.Context, cluster *pgcluster.Cluster, n, rounds int) (*replicaReport, error) {
	if rounds < 1 {
		return nil, fmt.Errorf("-replica-rounds %d: at least 1", rounds)
	}
	name := "list"
	if e.cfg.only != "" {
		name = strings.Split(e.cfg.only, ",")[0]
	}
	rep := &replicaReport{cfg: e.cfg, rounds: rounds, started: time.Now(), loadStart: loadAverage()}
	for _, q := range queries(e.cfg.data) {
		if q.Name == name {
			rep.query = q
		}
	}
	if rep.query.Name == "" || rep.query.Name == "mutation" {
		return nil, fmt.Errorf("-replicas measures reads: -queries %q names no read query (list, nested, aggregate, membership)", name)
	}
	var replicaURLs []string
	for i := range n {
		logf("replicas: starting standby %d of %d (pg_basebackup)", i+1, n)
		sb, err := cluster.StartStandby(ctx)
		if err != nil {
			return nil, err
		}
		defer sb.Stop()
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = sb.WaitReplayed(wctx, cluster)
		cancel()
		if err != nil {
			return nil, err
		}
		u := strings.Replace(e.pooled(), fmt.Sprintf(":%d/", cluster.Port), fmt.Sprintf(":%d/", sb.Port), 1)
		if u == e.pooled() {
			return nil, fmt.Errorf("replicas: the login URL %q does not name the cluster's port %d", e.loginURL, cluster.Port)
		}
		replicaURLs = append(replicaURLs, u)
	}
	header := "Authorization: Bearer " + e.token
	var want string
	for k := 0; k <= n; k++ {
		var extra []string
		for _, u := range replicaURLs[:k] {
			extra = append(extra, "--read-replica-url", u)
		}
		srv, err := rowguardServe(ctx, e.bin, e.pooled(), rolePrefix, adminSecret, e.jwtCfg, extra...)
		if err != nil {
			return nil, err
		}
		defer srv.Stop()
		got, err := postGraphQL(ctx, srv.URL, body(rep.query.User), header)
		if err != nil {
			return nil, err
		}
		if k == 0 {
			want = got
		} else if got != want {
			return nil, fmt.Errorf("replicas: with %d replicas the answer differs from the primary's:\nprimary: %.300s\n%d replicas: %.300s", k, want, k, got)
		}
		rep.settings = append(rep.settings, &replicaSetting{n: k, srv: srv})
	}
	script, err := filepath.Abs("bench/wrk/post.lua")
	if err != nil {
		return nil, err
	}
	requests := make([]int, len(rep.settings))
	for r := range rounds {
		for i := range rep.settings {
			s := rep.settings[(i+r)%len(rep.settings)]
			s.loads = append(s.loads, loadAverage())
			logf("replicas: %d replicas, round %d of %d (load average %s)", s.n, r+1, rounds, s.loads[len(s.loads)-1])
			m := e.wrk(ctx, script, s.srv, load{URL: s.srv.URL, Body: body(rep.query.User), Header: header})
			if !m.ok() {
				return nil, fmt.Errorf("replicas: %d replicas: %s", s.n, m.err)
			}
			s.rps = append(s.rps, m.res.RPS)
			requests[slices.Index(rep.settings, s)] += m.res.Requests
		}
	}
	for i, s := range rep.settings[1:] {
		routed, err := replicaReads(ctx, s.srv.URL)
		if err != nil {
			return nil, err
		}
		s.routed = routed / float64(requests[i+1])
	}
	rep.loadEnd = loadAverage()
	return rep, nil
}

var replicaReadsLine = regexp.MustCompile(`(?m)^rowguard_read_replica_reads_total\{[^}]*\} ([0-9.e+]+)$`)

// replicaReads sums rowguard_read_replica_reads_total over the replicas of
// the server at graphqlURL.
func replicaReads(ctx context.Context, graphqlURL string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(graphqlURL, "/v1/graphql")+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Hasura-Admin-Secret", adminSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %d %.200s", resp.StatusCode, b)
	}
	var sum float64
	for _, m := range replicaReadsLine.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		sum += v
	}
	return sum, nil
}

// markdown renders the report: requests/s per setting and round, the
// median, and the median of each round's ratio to no replica.
func (r *replicaReport) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Read throughput with read replicas (%s)\n\n", r.started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "`go run ./bench -replicas %d` — query `%s` (%s) as a JWT user, wrk %d connections, %d threads, %s per run, %d interleaved rounds. Dataset: %d users, %d organizations, %d articles.\n\n",
		len(r.settings)-1, r.query.Name, r.query.Title, r.cfg.conns, r.cfg.threads, r.cfg.duration, r.rounds, r.cfg.data.Users, r.cfg.data.Orgs, r.cfg.data.Articles)
	fmt.Fprintf(&b, "**One machine.** The primary, every standby, every server and wrk share this machine's cores (load average %s at the start, %s at the end, from other work too). Replicas here cannot add capacity: what this shows is what routing costs (a pool per replica, the policy-version read at the end of each read's batch, the standbys' own replay), not what replicas on machines of their own would give.\n\n",
		r.loadStart, r.loadEnd)
	b.WriteString("| replicas | requests/s per round | median | × no replica (median of the rounds' ratios) | reads routed to replicas |\n|---|---|---|---|---|\n")
	base := r.settings[0].rps
	for _, s := range r.settings {
		var runs []string
		var ratios []float64
		for i, v := range s.rps {
			runs = append(runs, fmt.Sprintf("%.0f (load %s)", v, s.loads[i]))
			if base[i] > 0 {
				ratios = append(ratios, v/base[i])
			}
		}
		routed := "—"
		if s.n > 0 {
			routed = fmt.Sprintf("%.0f%%", 100*s.routed)
		}
		fmt.Fprintf(&b, "| %d | %s | %.0f | %.2f× | %s |\n", s.n, strings.Join(runs, ", "), medianFloat(s.rps), medianFloat(ratios), routed)
	}
	return b.String()
}
