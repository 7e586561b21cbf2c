package main

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/claims"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgcluster"
	"github.com/rowguard/rowguard/migrations"
)

// defaultClaimsRounds is -claims-rounds' default: paired rounds of the two
// modes. Single rounds on the shared machine range from 0.73 to 1.15 in
// fresh/token throughput; 24 pairs gave medians within a few percent of
// each other from run to run.
const defaultClaimsRounds = 24

// claimsCalls is how many rowguard.rg_claims calls one statement makes to
// time a call without the server and the network.
const claimsCalls = 20000

// claimsMode is one way of serving the claim: from the token, or computed
// per request (serve --fresh-claims).
type claimsMode struct {
	name  string
	extra []string // serve flags
	srv   *server
	wrk   []result        // one per round
	pgb   []result        // pgbench replays of tx
	tx    []wireStatement // the transaction the server sends
	loads []string        // load average before each round
	app   string          // application_name of the server's connections
	// opened counts the server's PostgreSQL connections that started
	// during each round (or right after it, before the next): a pool
	// replaces a connection it lost, e.g. one broken when a client left
	// mid-request.
	opened []int
	// pgCPU is the CPU time per request of the server's PostgreSQL
	// backends in each round (0 when /proc could not tell).
	pgCPU []time.Duration
	// stmts is PostgreSQL's time per statement and request in each round
	// (pg_stat_statements; empty when the server does not load it).
	stmts []statementShare
}

// claimsReport compares the membership query of role member, whose rule
// reads the custom claim x-hasura-org-ids (bench/rowguard_claims.json),
// with the claim taken from the token and computed per request
// (serve --fresh-claims).
type claimsReport struct {
	cfg                config
	rounds, pgbRounds  int
	started            time.Time
	loadStart, loadEnd string
	orgIDs             string
	query              string
	token, fresh       *claimsMode
	pgbErr             string
	callTime           time.Duration // one rg_claims call, timed in SQL
	callErr            string
	stmtErr            string // why there are no per-statement figures
}

// measureClaims runs the comparison: two servers on the same database,
// the same token (its claim computed by claims.Namespace, as an auth
// service would at sign-in), the membership query, in paired rounds (one
// run of each mode, back to back, each going first in turn, so a burst of
// load from other processes hits both alike); then pgbench replays of the
// transaction each server sends, as the database's share of the cost.
func (e *environment) measureClaims(ctx context.Context) (*claimsReport, error) {
	rounds := e.cfg.claimsRounds
	if rounds < 1 {
		return nil, fmt.Errorf("-claims-rounds %d: at least 1", rounds)
	}
	rep := &claimsReport{cfg: e.cfg, rounds: rounds, pgbRounds: min(rounds, 6), started: time.Now(), loadStart: loadAverage(),
		token: &claimsMode{name: "token claims", app: "rowguard-bench-token"}, fresh: &claimsMode{name: "fresh claims", extra: []string{"--fresh-claims"}, app: "rowguard-bench-fresh"}}
	cfg, err := claims.ReadFile("bench/rowguard_claims.json")
	if err != nil {
		return nil, err
	}
	prog, err := migrations.LoadProgram(ctx, e.conn, "bench/metadata", compiler.Options{RolePrefix: rolePrefix})
	if err != nil {
		return nil, err
	}
	comp, err := claims.Compile(cfg, prog, prog.Catalog)
	if err != nil {
		return nil, err
	}
	vals, err := claims.Namespace(ctx, e.conn, comp, "1")
	if err != nil {
		return nil, err
	}
	rep.orgIDs = vals["x-hasura-org-ids"]
	hasura := map[string]any{
		"x-hasura-allowed-roles": []string{"member"},
		"x-hasura-default-role":  "member",
		"x-hasura-user-id":       "1",
	}
	for k, v := range vals {
		hasura[k] = v
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "1", "exp": time.Now().Add(24 * time.Hour).Unix(), "https://hasura.io/jwt/claims": hasura,
	}).SignedString([]byte(e.jwtKey))
	if err != nil {
		return nil, err
	}
	header := "Authorization: Bearer " + token
	var q benchQuery
	for _, x := range queries(e.cfg.data) {
		if x.Name == "membership" {
			q = x
		}
	}
	rep.query = q.User
	modes := []*claimsMode{rep.token, rep.fresh}

	rep.callTime, err = e.timeClaimsCall(ctx)
	if err != nil {
		rep.callErr = err.Error()
	}
	if err := e.captureClaims(ctx, modes, body(q.User), header); err != nil {
		rep.pgbErr = "not available: " + err.Error()
	}

	script, err := filepath.Abs("bench/wrk/post.lua")
	if err != nil {
		return nil, err
	}
	logf("claims: starting rowguard serve and rowguard serve --fresh-claims")
	for _, m := range modes {
		if m.srv, err = rowguardServe(ctx, e.bin, e.pooled()+"&application_name="+m.app, rolePrefix, adminSecret, e.jwtCfg, m.extra...); err != nil {
			return nil, err
		}
		defer m.srv.Stop()
	}
	a, err := postGraphQL(ctx, rep.token.srv.URL, body(q.User), header)
	if err != nil {
		return nil, err
	}
	b, err := postGraphQL(ctx, rep.fresh.srv.URL, body(q.User), header)
	if err != nil {
		return nil, err
	}
	if a != b || !strings.Contains(a, `"id"`) {
		return nil, fmt.Errorf("claims: the two modes answer differently or with no rows:\ntoken: %.300s\nfresh: %.300s", a, b)
	}
	if err := e.claimsStatements(ctx); err != nil {
		rep.stmtErr = firstLine(err.Error())
	}
	for i := range rounds {
		if i+1 == e.cfg.claimsInvalidate {
			// A relcache invalidation of articles: every backend plans
			// its statements on the table again, as after autovacuum.
			logf("claims: invalidating the plans on articles before round %d", i+1)
			if _, err := e.conn.Exec(ctx, "ALTER TABLE articles SET (autovacuum_enabled = true)"); err != nil {
				return nil, err
			}
		}
		for _, m := range pairOrder(modes, i) {
			m.loads = append(m.loads, loadAverage())
			logf("claims: %s, round %d of %d (load average %s)", m.name, i+1, rounds, m.loads[len(m.loads)-1])
			var start time.Time
			if err := e.conn.QueryRow(ctx, "SELECT now()").Scan(&start); err != nil {
				return nil, err
			}
			if rep.stmtErr == "" {
				if _, err := e.conn.Exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
					return nil, err
				}
			}
			pg0, pgErr0 := e.backendsCPU(ctx, m.app)
			r := e.wrk(ctx, script, m.srv, load{URL: m.srv.URL, Body: body(q.User), Header: header})
			if !r.ok() {
				return nil, fmt.Errorf("claims: %s: %s", m.name, r.err)
			}
			m.wrk = append(m.wrk, *r.res)
			pg1, pgErr1 := e.backendsCPU(ctx, m.app)
			var perReq time.Duration
			if pgErr0 == nil && pgErr1 == nil && r.res.Requests > 0 {
				perReq = (pg1 - pg0) / time.Duration(r.res.Requests)
			}
			m.pgCPU = append(m.pgCPU, perReq)
			if rep.stmtErr == "" {
				st, err := e.readStatements(ctx, r.res.Requests)
				if err != nil {
					return nil, err
				}
				m.stmts = append(m.stmts, st)
			}
			// Counted once the next run starts, when a pool has had the
			// time to replace what it lost at this run's end.
			opened, err := e.connectionsSince(ctx, m.app, start)
			if err != nil {
				return nil, err
			}
			m.opened = append(m.opened, opened)
		}
	}
	if rep.pgbErr == "" {
		for i := range rep.pgbRounds {
			for _, m := range pairOrder(modes, i) {
				logf("claims: pgbench replay of %s, round %d of %d", m.name, i+1, rep.pgbRounds)
				script, defs, err := pgbenchScript(m.tx)
				if err == nil {
					var res result
					res, err = runPgbench(ctx, e.pgbench, filepath.Join(e.work, "pgbench", "claims"), e.loginURL, script, defs, e.cfg.conns, e.cfg.threads, e.cfg.duration)
					m.pgb = append(m.pgb, res)
				}
				if err != nil {
					rep.pgbErr = "failed: " + firstLine(err.Error())
					break
				}
			}
			if rep.pgbErr != "" {
				break
			}
		}
	}
	rep.loadEnd = loadAverage()
	return rep, nil
}

// backendsCPU sums the CPU time of the PostgreSQL backends named app (the
// cluster runs on this machine: /proc has them).
func (e *environment) backendsCPU(ctx context.Context, app string) (time.Duration, error) {
	rows, err := e.conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app)
	if err != nil {
		return 0, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, pid := range pids {
		t, err := cpuTime(int(pid))
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

// connectionsSince counts the open PostgreSQL connections named app that
// started at or after since.
func (e *environment) connectionsSince(ctx context.Context, app string, since time.Time) (int, error) {
	var n int
	err := e.conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND backend_start >= $2", app, since).Scan(&n)
	return n, err
}

// pairOrder returns the modes in the order of round i: each goes first in
// turn, so no mode always follows the other.
func pairOrder(modes []*claimsMode, i int) []*claimsMode {
	if i%2 == 1 {
		return []*claimsMode{modes[1], modes[0]}
	}
	return modes
}

// captureClaims records the transaction each mode's server sends for the
// query, through the capture proxy, for pgbench to replay.
func (e *environment) captureClaims(ctx context.Context, modes []*claimsMode, reqBody, header string) error {
	u, err := url.Parse(e.loginURL)
	if err != nil {
		return err
	}
	proxy, err := startCapture(u.Host)
	if err != nil {
		return err
	}
	defer proxy.Close()
	u.Host = proxy.Addr()
	for _, m := range modes {
		logf("claims: capturing the transaction of %s", m.name)
		srv, err := rowguardServe(ctx, e.bin, u.String()+"&pool_max_conns=1", rolePrefix, adminSecret, e.jwtCfg, m.extra...)
		if err != nil {
			return err
		}
		proxy.Reset()
		_, err = postGraphQL(ctx, srv.URL, reqBody, header)
		srv.Stop()
		if err != nil {
			return err
		}
		if m.tx, err = lastTransaction(proxy.Statements()); err != nil {
			return err
		}
	}
	return nil
}

// timeClaimsCall times one rowguard.rg_claims call: claimsCalls calls in
// one statement, over the users in turn, on the superuser's connection
// (the function runs as its definer whoever calls it), best of three.
func (e *environment) timeClaimsCall(ctx context.Context) (time.Duration, error) {
	best := time.Duration(0)
	for range 3 {
		start := time.Now()
		if _, err := e.conn.Exec(ctx, "SELECT count("+claims.Function+"(((g % $2::int) + 1)::text)) FROM generate_series(1, $1::int) g", claimsCalls, e.cfg.data.Users); err != nil {
			return 0, fmt.Errorf("time %s: %w", claims.Function, err)
		}
		if d := time.Since(start) / claimsCalls; best == 0 || d < best {
			best = d
		}
	}
	return best, nil
}

// median returns the run with the median requests per second.
func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int { return cmpFloat(a.RPS, b.RPS) })
	return s[len(s)/2]
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// medianFloat returns the median of xs (the mean of the middle two for an
// even count).
func medianFloat(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianDuration returns the median of f over rs.
func medianDuration(rs []result, f func(result) time.Duration) time.Duration {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = float64(f(r))
	}
	return time.Duration(medianFloat(xs))
}

// ratios returns fresh/token requests per second of each paired round.
func ratios(token, fresh []result) []float64 {
	out := make([]float64, min(len(token), len(fresh)))
	for i := range out {
		out[i] = fresh[i].RPS / token[i].RPS
	}
	return out
}

// markdown renders the comparison. The target is fresh claims at most 10%
// slower than token claims: the median over paired rounds of fresh/token
// requests per second at least 0.90.
func (r *claimsReport) markdown() string {
	var b strings.Builder
	c := r.cfg
	fmt.Fprintf(&b, "# rowguard benchmark: fresh claims vs token claims, %s\n\n", r.started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Dataset: %d users, %d organizations, %d memberships each, %d articles. wrk: %d connections, %d threads, %s per run; %d paired rounds (one run of each mode back to back, each mode first in turn); server pool %d. Machine: %d CPUs, shared with other work; load average (1 min) %s at the start, %s at the end, %s before the rounds.\n\n",
		c.data.Users, c.data.Orgs, c.data.Memberships, c.data.Articles, c.conns, c.threads, c.duration, r.rounds, c.conns,
		runtime.NumCPU(), r.loadStart, r.loadEnd, loadRange(append(slices.Clone(r.token.loads), r.fresh.loads...)))
	if c.claimsInvalidate > 0 {
		fmt.Fprintf(&b, "Before round %d, every cached plan on `articles` was invalidated (`ALTER TABLE articles SET (autovacuum_enabled = true)`, -claims-invalidate).\n\n", c.claimsInvalidate)
	}
	fmt.Fprintf(&b, "Role `member`: an article is visible to its author or when `org_id` is in the custom claim `x-hasura-org-ids` (`memberships[].org_id` from `public.users`, bench/rowguard_claims.json); user 1's value: `%s`.\n\n", r.orgIDs)
	fmt.Fprintf(&b, "Query (membership): `%s`\n\n", r.query)

	rs := ratios(r.token.wrk, r.fresh.wrk)
	med := medianFloat(rs)
	within := 0
	for _, x := range rs {
		if x >= 0.9 {
			within++
		}
	}
	bal := balanced(rs)
	b.WriteString("| mode | req/s (median round) | p50 | p99 | server CPU per request (median) |\n|---|---:|---:|---:|---:|\n")
	row := func(name string, m *claimsMode) {
		x := median(m.wrk)
		cpu := medianDuration(m.wrk, func(r result) time.Duration { return r.CPUPerReq })
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %.1f µs |\n", name, x.RPS, x.P50.Round(10*time.Microsecond), x.P99.Round(10*time.Microsecond), float64(cpu)/1e3)
	}
	row("token claims (the token's `x-hasura-org-ids`)", r.token)
	row("`serve --fresh-claims` (computed per request by `rowguard.rg_claims`)", r.fresh)
	verdict := "met"
	if len(bal) > 0 && medianFloat(bal) < 0.9 || len(bal) == 0 && med < 0.9 {
		verdict = "missed"
	}
	fmt.Fprintf(&b, "\nFresh/token req/s over the %d paired rounds: median of single rounds %.3f; single rounds range from %.2f to %.2f, %d of %d at 0.90 or above. Rounds in order (token claims first in rounds 1, 3, 5…): %s.\n",
		len(rs), med, slices.Min(rs), slices.Max(rs), within, len(rs), formatRatios(rs))
	if len(bal) > 0 {
		var first, second []float64
		for i, x := range rs {
			if i%2 == 0 {
				first = append(first, x)
			} else {
				second = append(second, x)
			}
		}
		fmt.Fprintf(&b, "\nOrder: the median ratio is %.3f in the rounds where token claims ran first and %.3f where fresh claims ran first. Each two consecutive rounds run both orders; the geometric mean of their ratios weighs a run's position in its pair on both modes alike: median over the %d round pairs **%.3f** (pairs from %.2f to %.2f). Target (fresh claims at most 10%% slower, at least 0.90 on this measure): **%s**.\n",
			medianFloat(first), medianFloat(second), len(bal), medianFloat(bal), slices.Min(bal), slices.Max(bal), verdict)
	}
	fmt.Fprintf(&b, "\nServer CPU per request (user + system time of the rowguard process over the run ÷ requests): fresh/token %.2f.\n",
		float64(medianDuration(r.fresh.wrk, func(r result) time.Duration { return r.CPUPerReq }))/float64(medianDuration(r.token.wrk, func(r result) time.Duration { return r.CPUPerReq })))
	sum := func(xs []int) (n int) {
		for _, x := range xs {
			n += x
		}
		return n
	}
	fmt.Fprintf(&b, "\nPostgreSQL connections opened during the rounds (the pool holds %d; a new one starts with cold caches): token claims %d, fresh claims %d.\n",
		c.conns, sum(r.token.opened), sum(r.fresh.opened))
	fmt.Fprintf(&b, "\nEach round (token claims first in rounds 1, 3, 5…): fresh/token req/s, and CPU per request of each server process and of its PostgreSQL backends (/proc, 10 ms ticks over a %s run):\n\n| round | load before | fresh/token req/s | server CPU token | server CPU fresh | backends CPU token | backends CPU fresh |\n|---:|---:|---:|---:|---:|---:|---:|\n", c.duration)
	us := func(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }
	for i := range rs {
		fmt.Fprintf(&b, "| %d | %s | %.2f | %s | %s | %s | %s |\n", i+1, r.token.loads[i], rs[i],
			us(r.token.wrk[i].CPUPerReq), us(r.fresh.wrk[i].CPUPerReq), us(r.token.pgCPU[i]), us(r.fresh.pgCPU[i]))
	}
	if r.stmtErr != "" {
		fmt.Fprintf(&b, "\nNo per-statement figures: pg_stat_statements is not available (%s); the harness's own cluster loads it.\n", r.stmtErr)
	} else {
		fmt.Fprintf(&b, "\nInside PostgreSQL, per request, from pg_stat_statements (execution time, waits for a CPU included; shared buffers read by the membership query; plans made during the round): the settings statement (which calls `rowguard.rg_claims` in fresh mode) and the membership query.\n\n| round | settings token | settings fresh | query token | query fresh | query buffers token / fresh | plans token / fresh |\n|---:|---:|---:|---:|---:|---:|---:|\n")
		for i := range rs {
			t, f := r.token.stmts[i], r.fresh.stmts[i]
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %.1f / %.1f | %d / %d |\n", i+1, us(t.settings), us(f.settings), us(t.query), us(f.query), t.queryBlocks, f.queryBlocks, t.plans, f.plans)
		}
	}
	if r.callErr != "" {
		fmt.Fprintf(&b, "\n`rowguard.rg_claims` per call: %s.\n", r.callErr)
	} else {
		fmt.Fprintf(&b, "\n`rowguard.rg_claims` per call: %.1f µs (%d calls in one statement, best of 3, without the server or the network).\n", float64(r.callTime)/1e3, claimsCalls)
	}

	b.WriteString("\n## The database's share: pgbench replays\n\n")
	if r.pgbErr != "" {
		fmt.Fprintf(&b, "pgbench replay %s\n", r.pgbErr)
		return b.String()
	}
	fmt.Fprintf(&b, "The transaction each server sent for the query, captured on the wire and replayed with pgbench -M prepared in one pipeline (%d clients, %d threads, %s per run, %d paired rounds): PostgreSQL's cost of each mode without the server.\n\n",
		c.conns, c.threads, c.duration, len(r.token.pgb))
	b.WriteString("| mode | tps (median round) | p50 | p99 |\n|---|---:|---:|---:|\n")
	for _, m := range []*claimsMode{r.token, r.fresh} {
		x := median(m.pgb)
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s |\n", m.name, x.RPS, x.P50.Round(10*time.Microsecond), x.P99.Round(10*time.Microsecond))
	}
	prs := ratios(r.token.pgb, r.fresh.pgb)
	fmt.Fprintf(&b, "\nFresh/token tps, median over the paired rounds: %.3f (rounds: %s).\n", medianFloat(prs), formatRatios(prs))
	for _, m := range []*claimsMode{r.token, r.fresh} {
		if len(m.tx) > 1 {
			fmt.Fprintf(&b, "\nSettings statement of %s:\n\n```sql\n%s\n```\n", m.name, m.tx[1].SQL)
		}
	}
	return b.String()
}

// balanced returns, for each two consecutive rounds (token claims first,
// then fresh claims first), the geometric mean of their ratios: a run's
// position in its pair then weighs on both modes alike.
func balanced(rs []float64) []float64 {
	var out []float64
	for i := 0; i+1 < len(rs); i += 2 {
		out = append(out, math.Sqrt(rs[i]*rs[i+1]))
	}
	return out
}

func formatRatios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, x := range rs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, ", ")
}

// loadRange renders the lowest and highest of load averages read as text.
func loadRange(loads []string) string {
	var xs []float64
	for _, l := range loads {
		var x float64
		if _, err := fmt.Sscan(l, &x); err == nil {
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.2f–%.2f", slices.Min(xs), slices.Max(xs))
}

// preloadStatements loads pg_stat_statements into the harness's own
// cluster (a restart), counting top-level statements and their plans.
func preloadStatements(ctx context.Context, cluster *pgcluster.Cluster) error {
	exec := func(sqls ...string) error {
		conn, err := pgx.Connect(ctx, cluster.URL("postgres"))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		for _, sql := range sqls {
			if _, err := conn.Exec(ctx, sql); err != nil {
				return fmt.Errorf("%s: %w", sql, err)
			}
		}
		return nil
	}
	if err := exec("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"); err != nil {
		return err
	}
	if err := cluster.Restart(ctx); err != nil {
		return err
	}
	return exec("ALTER SYSTEM SET pg_stat_statements.track_planning = on", "SELECT pg_reload_conf()")
}

// statementShare is what PostgreSQL spent on one mode's statements in a
// round, per request served, from pg_stat_statements: execution time
// (including waits for a CPU), shared buffers read, and plans made.
type statementShare struct {
	settings, query time.Duration // the settings SELECT (with rg_claims in fresh mode), the membership query
	queryBlocks     float64
	plans           int64
}

// claimsStatements enables pg_stat_statements in the benchmark's database;
// the error says why it cannot (the library is not preloaded on a server
// given with -database-url).
func (e *environment) claimsStatements(ctx context.Context) error {
	if _, err := e.conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return err
	}
	_, err := e.conn.Exec(ctx, "SELECT pg_stat_statements_reset()")
	return err
}

// readStatements returns the statements' share since the last reset, per
// request of the round's n, and resets the counters.
func (e *environment) readStatements(ctx context.Context, n int) (statementShare, error) {
	var s statementShare
	if n == 0 {
		return s, nil
	}
	rows, err := e.conn.Query(ctx, `SELECT query, calls, total_exec_time, shared_blks_hit + shared_blks_read, plans
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`)
	if err != nil {
		return s, err
	}
	var settings, query float64
	var blocks int64
	for rows.Next() {
		var q string
		var calls, blks, plans int64
		var ms float64
		if err := rows.Scan(&q, &calls, &ms, &blks, &plans); err != nil {
			rows.Close()
			return s, err
		}
		switch {
		case strings.Contains(q, "set_config('role'"):
			settings += ms
		case strings.Contains(q, "json_agg"):
			query += ms
			blocks += blks
		}
		s.plans += plans
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s, err
	}
	per := func(ms float64) time.Duration { return time.Duration(ms * 1e6 / float64(n)) }
	s.settings, s.query, s.queryBlocks = per(settings), per(query), float64(blocks)/float64(n)
	_, err = e.conn.Exec(ctx, "SELECT pg_stat_statements_reset()")
	return s, err
}
