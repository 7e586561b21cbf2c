package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rowguard/rowguard/graphql"
)

// measured is a result, or why there is none.
type measured struct {
	res *result
	err string // "not available: …" when res is nil
}

func (m measured) ok() bool { return m.res != nil }

// medianOf is the median of each figure of the rounds ms that succeeded
// (each figure on its own: the median req/s and the median p99 may come
// from different rounds), with the rounds' requests added up and the
// highest RSS, and the server's CPU per request over the rounds that read
// it; the first failure when none succeeded. A round that failed
// while others succeeded is dropped, and the result says how many
// counted.
func medianOf(ms []measured) measured {
	var ok []result
	for _, m := range ms {
		if m.ok() {
			ok = append(ok, *m.res)
		}
	}
	if len(ok) == 0 {
		if len(ms) == 0 {
			return measured{err: "not measured"}
		}
		return ms[0]
	}
	rps := make([]float64, len(ok))
	var cpu []result // the rounds whose server CPU was read
	for i, r := range ok {
		rps[i] = r.RPS
		if r.CPUPerReq > 0 {
			cpu = append(cpu, r)
		}
	}
	out := result{
		RPS:    medianFloat(rps),
		P50:    medianDuration(ok, func(r result) time.Duration { return r.P50 }),
		P99:    medianDuration(ok, func(r result) time.Duration { return r.P99 }),
		Rounds: len(ok),
	}
	if len(cpu) > 0 {
		out.CPUPerReq = medianDuration(cpu, func(r result) time.Duration { return r.CPUPerReq })
	}
	for _, r := range ok {
		out.Requests += r.Requests
		out.RSSLoad = max(out.RSSLoad, r.RSSLoad)
	}
	return measured{res: &out}
}

// row is every measurement of one query.
type row struct {
	q            benchQuery
	user, admin  measured
	pgbench      measured
	postgraphile measured
	userTx       []wireStatement // what rowguard sent for the user
	adminTx      []wireStatement // and for the admin
	explainUser  string          // EXPLAIN ANALYZE of the user's statement as the role, for misses
	explainAdmin string          // and of the admin's, to compare
}

// report is one benchmark run.
type report struct {
	cfg          config
	started      time.Time
	loadStart    string // 1-minute load average when the run began
	loadTime     time.Duration
	rows         []*row
	rowguardIdle int64 // kB
	pgIdle       int64
	pgErr        string // PostGraphile could not be measured at all
	compile      *compileStats
	compileErr   string
}

// measure runs every query against rowguard (user and admin), pgbench and
// PostGraphile.
func (e *environment) measure(ctx context.Context) (*report, error) {
	rep := &report{cfg: e.cfg, started: time.Now(), loadTime: e.loadTime, loadStart: loadAverage()}
	for _, q := range queries(e.cfg.data) {
		if e.cfg.only == "" || slices.Contains(strings.Split(e.cfg.only, ","), q.Name) {
			rep.rows = append(rep.rows, &row{q: q})
		}
	}
	if err := e.captureTransactions(ctx, rep); err != nil {
		return nil, err
	}

	script, err := filepath.Abs("bench/wrk/post.lua")
	if err != nil {
		return nil, err
	}
	userHeader := "Authorization: Bearer " + e.token
	adminHeader := "X-Hasura-Admin-Secret: " + adminSecret

	logf("starting rowguard serve")
	var profile []string
	if e.cfg.cpuProfile != "" {
		profile = []string{"--cpu-profile", e.cfg.cpuProfile}
	}
	rg, err := rowguardServe(ctx, e.bin, e.pooled(), rolePrefix, adminSecret, e.jwtCfg, profile...)
	if err != nil {
		return nil, err
	}
	defer rg.Stop()
	rep.rowguardIdle, _ = rssKB(rg.Pid())

	var pg *server
	if !e.cfg.skipPostGraphile {
		logf("starting PostGraphile")
		if pg, err = e.startPostGraphile(ctx); err != nil {
			rep.pgErr = err.Error()
			logf("PostGraphile not available: %v", err)
		} else {
			defer pg.Stop()
			rep.pgIdle, _ = rssKB(pg.Pid())
		}
	}

	rounds := max(1, e.cfg.rounds)
	for _, r := range rep.rows {
		// Each round measures every server once; the user and the admin
		// swap places every other round, so neither always runs right
		// after pgbench or PostGraphile has left the machine warm or
		// loaded. Single 5-s runs on this machine vary by ±20%; the
		// medians of interleaved rounds are what the ratios use.
		var users, admins, pgbenches, postgraphiles []measured
		for i := range rounds {
			user := func() {
				logf("%s: rowguard as user (round %d of %d)", r.q.Name, i+1, rounds)
				users = append(users, e.wrk(ctx, script, rg, load{URL: rg.URL, Body: body(r.q.User), Header: userHeader}))
			}
			admin := func() {
				logf("%s: rowguard as admin (round %d of %d)", r.q.Name, i+1, rounds)
				admins = append(admins, e.wrk(ctx, script, rg, load{URL: rg.URL, Body: body(r.q.Admin), Header: adminHeader}))
			}
			if i%2 == 0 {
				user()
				admin()
			} else {
				admin()
				user()
			}
			if r.userTx != nil {
				logf("%s: pgbench, the same transaction (round %d of %d)", r.q.Name, i+1, rounds)
				pgbenches = append(pgbenches, e.runPgbench(ctx, r))
			}
			if r.q.PostGraphile != "" && pg != nil {
				logf("%s: PostGraphile as user (round %d of %d)", r.q.Name, i+1, rounds)
				m := e.wrk(ctx, script, pg, load{URL: pg.URL, Body: body(r.q.PostGraphile), Header: userHeader})
				if !m.ok() {
					logf("%s: PostGraphile %s; its log ends:\n%s", r.q.Name, m.err, tailString(pg.log.String(), 1500))
				}
				postgraphiles = append(postgraphiles, m)
			}
		}
		r.user, r.admin = medianOf(users), medianOf(admins)
		if r.userTx != nil {
			r.pgbench = medianOf(pgbenches)
		}
		switch {
		case r.q.PostGraphile == "":
			r.postgraphile = measured{err: "not compared"}
		case pg == nil:
			r.postgraphile = measured{err: "not available: " + firstLine(rep.pgErr)}
			if e.cfg.skipPostGraphile {
				r.postgraphile = measured{err: "skipped (--skip-postgraphile)"}
			}
		default:
			r.postgraphile = medianOf(postgraphiles)
		}
		// Explained before the next query runs: the mutation, last, grows
		// the table the read queries were measured on.
		if r.userTx != nil && r.user.ok() && r.admin.ok() &&
			(r.user.res.P50 > r.admin.res.P50*6/5 || (r.pgbench.ok() && r.user.res.RPS < targetVsPgbench*r.pgbench.res.RPS) || e.cfg.explains(r.q.Name)) {
			r.explainUser = e.explainText(ctx, r.userTx)
			r.explainAdmin = e.explainText(ctx, r.adminTx)
		}
	}
	return rep, nil
}

// captureTransactions runs each query once as the user through a second
// rowguard server that reaches PostgreSQL through the capture proxy, and
// keeps the transaction it sent.
func (e *environment) captureTransactions(ctx context.Context, rep *report) error {
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
	logf("capturing rowguard's transactions")
	srv, err := rowguardServe(ctx, e.bin, u.String()+"&pool_max_conns=1", rolePrefix, adminSecret, e.jwtCfg)
	if err != nil {
		return err
	}
	defer srv.Stop()
	for _, r := range rep.rows {
		proxy.Reset()
		if _, err := postGraphQL(ctx, srv.URL, body(r.q.User), "Authorization: Bearer "+e.token); err != nil {
			r.user = measured{err: "not available: " + err.Error()}
			r.pgbench = measured{err: "not available: rowguard answered with an error"}
			continue
		}
		tx, err := lastTransaction(proxy.Statements())
		if err != nil {
			r.pgbench = measured{err: "not available: " + err.Error()}
			continue
		}
		r.userTx = tx
		proxy.Reset()
		if _, err := postGraphQL(ctx, srv.URL, body(r.q.Admin), "X-Hasura-Admin-Secret: "+adminSecret); err == nil {
			r.adminTx, _ = lastTransaction(proxy.Statements())
		}
	}
	return nil
}

// wrk validates one request, then loads the server with it, sampling its
// memory.
func (e *environment) wrk(ctx context.Context, script string, srv *server, l load) measured {
	if _, err := postGraphQL(ctx, l.URL, l.Body, l.Header); err != nil {
		return measured{err: "not available: " + firstLine(err.Error())}
	}
	stop := make(chan struct{})
	peak := sampleRSS(srv.Pid(), stop)
	cpu0, cpuErr := cpuTime(srv.Pid())
	res, err := runWrk(ctx, script, l, e.cfg.conns, e.cfg.threads, e.cfg.duration)
	cpu1, cpuErr1 := cpuTime(srv.Pid())
	close(stop)
	if err != nil {
		return measured{err: "failed: " + firstLine(err.Error())}
	}
	res.RSSLoad = <-peak
	if cpuErr == nil && cpuErr1 == nil && res.Requests > 0 {
		res.CPUPerReq = (cpu1 - cpu0) / time.Duration(res.Requests)
	}
	return measured{res: &res}
}

func (e *environment) runPgbench(ctx context.Context, r *row) measured {
	script, defs, err := pgbenchScript(r.userTx)
	if err != nil {
		return measured{err: "not available: " + err.Error()}
	}
	res, err := runPgbench(ctx, e.pgbench, filepath.Join(e.work, "pgbench", r.q.Name), e.loginURL, script, defs,
		e.cfg.conns, e.cfg.threads, e.cfg.duration)
	if err != nil {
		return measured{err: "failed: " + firstLine(err.Error())}
	}
	return measured{res: &res}
}

// startPostGraphile installs PostGraphile's pinned packages into the work
// directory (once) and starts it.
func (e *environment) startPostGraphile(ctx context.Context) (*server, error) {
	dir := filepath.Join(e.work, "postgraphile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, f := range []string{"package.json", "package-lock.json", "server.mjs"} {
		b, err := os.ReadFile(filepath.Join("bench/postgraphile", f))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "node")); err != nil {
		logf("npm ci (PostGraphile and Node 22) into %s", dir)
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("npm ci: %w\n%s", err, tailString(string(out), 2000))
		}
	}
	return postGraphileServe(ctx, dir, e.loginURL, e.jwtKey, e.pgRolesJSON(), e.cfg.conns)
}

// explainText is explain's output, or why there is none.
func (e *environment) explainText(ctx context.Context, tx []wireStatement) string {
	if tx == nil {
		return "(not captured)\n"
	}
	s, err := e.explain(ctx, tx)
	if err != nil {
		return "EXPLAIN failed: " + err.Error() + "\n"
	}
	return s
}

// explain runs the transaction's statement as the role under EXPLAIN
// (ANALYZE, BUFFERS), after graphql.HeapWarmup and running it twice on the
// same connection, in a transaction that is rolled back.
func (e *environment) explain(ctx context.Context, tx []wireStatement) (string, error) {
	if len(tx) < 4 {
		return "", fmt.Errorf("the transaction has %d statements, want BEGIN, settings, statement, COMMIT", len(tx))
	}
	conn, err := pgconn.Connect(ctx, e.loginURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	// As every connection of the servers' pools starts (without it, the
	// statement's sorts and bitmaps can make this backend give its heap
	// back and fault it in again, which the timings would show).
	if _, err := conn.Exec(ctx, graphql.HeapWarmup).ReadAll(); err != nil {
		return "", err
	}
	params := func(p []string) [][]byte {
		out := make([][]byte, len(p))
		for i, v := range p {
			out[i] = []byte(v)
		}
		return out
	}
	if _, err := conn.Exec(ctx, "BEGIN").ReadAll(); err != nil {
		return "", err
	}
	defer func() { conn.Exec(ctx, "ROLLBACK").ReadAll() }()
	set := tx[1]
	if _, err := conn.ExecParams(ctx, set.SQL, params(set.Params), nil, nil, nil).Close(); err != nil {
		return "", err
	}
	st := tx[2]
	// The servers' pooled connections have their catalog caches and the
	// helpers' plans warm; a fresh connection's first statement pays for
	// loading them (milliseconds of planning and InitPlan time that no
	// request sees), so the statement runs twice before it is explained.
	for range 2 {
		if _, err := conn.ExecParams(ctx, st.SQL, params(st.Params), nil, nil, nil).Close(); err != nil {
			return "", err
		}
	}
	r := conn.ExecParams(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+st.SQL, params(st.Params), nil, nil, nil).Read()
	if r.Err != nil {
		return "", r.Err
	}
	var b strings.Builder
	for _, line := range r.Rows {
		b.Write(line[0])
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
