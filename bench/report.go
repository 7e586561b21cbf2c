package main

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Targets of issue 5.
const (
	targetVsPostGraphile = 3.0 // rowguard req/s ÷ PostGraphile req/s, list and nested
	targetVsPgbench      = 0.7 // rowguard req/s ÷ pgbench tps
	targetUserAdmin      = 1.2 // user p50 ÷ admin p50
	targetCompile        = 2 * time.Second
	targetMigrate        = 30 * time.Second
)

// markdown renders the results file: the table, the ratios, each target
// met or missed by how much, and the plans of the misses.
func (r *report) markdown() string {
	var b strings.Builder
	c := r.cfg
	fmt.Fprintf(&b, "# rowguard benchmark, %s\n\n", r.started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Dataset: %d users, %d organizations, %d memberships per user, %d articles (loaded in %s). ",
		c.data.Users, c.data.Orgs, c.data.Memberships, c.data.Articles, r.loadTime.Round(time.Millisecond))
	fmt.Fprintf(&b, "Each run: %s, %d connections, %d threads (wrk on loopback; pgbench -M prepared, one pipeline per transaction); every server's pool: %d connections. ",
		c.duration, c.conns, c.threads, c.conns)
	if c.rounds > 1 {
		fmt.Fprintf(&b, "Every figure is the median of %d interleaved rounds (each round runs the user, the admin, pgbench and PostGraphile once; the user and the admin swap places every other round); RSS is the highest of the rounds. ", c.rounds)
	}
	fmt.Fprintf(&b, "Machine: %d CPUs, %s/%s; load average (1 min) %s at the start, %s at the end: other work on the machine skews every number. The user is user 1 with a JWT; admin uses the admin secret.\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, r.loadStart, loadAverage())

	b.WriteString("| query | server | req/s | p50 | p99 | RSS under load | server CPU per request |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, row := range r.rows {
		for _, m := range []struct {
			who string
			m   measured
		}{{"rowguard user", row.user}, {"rowguard admin", row.admin}, {"pgbench limit (user's tx)", row.pgbench}, {"PostGraphile user", row.postgraphile}} {
			if !m.m.ok() {
				fmt.Fprintf(&b, "| %s | %s | %s | | | | |\n", row.q.Name, m.who, cell(m.m.err))
				continue
			}
			res := m.m.res
			rss := ""
			if res.RSSLoad > 0 {
				rss = mb(res.RSSLoad)
			}
			cpu := ""
			if res.CPUPerReq > 0 {
				cpu = fmt.Sprintf("%.3f ms", float64(res.CPUPerReq)/1e6)
			}
			rps := fmt.Sprintf("%.0f", res.RPS)
			if res.Rounds > 0 && res.Rounds < c.rounds {
				rps += fmt.Sprintf(" (%d of %d rounds)", res.Rounds, c.rounds)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", row.q.Name, m.who, rps, ms(res.P50), ms(res.P99), rss, cpu)
		}
	}
	fmt.Fprintf(&b, "\nIdle RSS: rowguard %s", mb(r.rowguardIdle))
	if r.pgIdle > 0 {
		fmt.Fprintf(&b, ", PostGraphile %s", mb(r.pgIdle))
	}
	b.WriteString(".\n\n")

	b.WriteString("## Ratios\n\n| query | rowguard/PostGraphile req/s | p99 rowguard / PostGraphile | rowguard/pgbench req/s | user/admin p50 | user/admin p99 |\n|---|---:|---:|---:|---:|---:|\n")
	for _, row := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", row.q.Name,
			ratio(row.user, row.postgraphile, rps), ratio(row.user, row.postgraphile, p99),
			ratio(row.user, row.pgbench, rps), ratio(row.user, row.admin, p50), ratio(row.user, row.admin, p99))
	}

	b.WriteString("\n## Targets\n\n")
	var misses []*row
	for _, row := range r.rows {
		missed := false
		if row.q.Name == "list" || row.q.Name == "nested" {
			missed = r.target(&b, row.q.Name+": rowguard ≥ 3× PostGraphile req/s", row.user, row.postgraphile, rps, targetVsPostGraphile, true) || missed
			missed = r.target(&b, row.q.Name+": rowguard p99 below PostGraphile's", row.user, row.postgraphile, p99, 1, false) || missed
		}
		if row.q.Name == "list" {
			missed = r.target(&b, "list: rowguard ≥ 70% of the pgbench limit", row.user, row.pgbench, rps, targetVsPgbench, true) || missed
		}
		missed = r.target(&b, row.q.Name+": user/admin p50 ≤ 1.2", row.user, row.admin, p50, targetUserAdmin, false) || missed
		if (missed || r.cfg.explains(row.q.Name)) && row.explainUser != "" {
			misses = append(misses, row)
		}
	}
	if r.compile != nil {
		cs := r.compile
		fmt.Fprintf(&b, "- compile %d tables × %d roles in %s (target < %s): %s\n", cs.tables, cs.roles,
			cs.compile.Round(time.Millisecond), targetCompile, verdict(cs.compile < targetCompile, float64(cs.compile)/float64(targetCompile)))
		fmt.Fprintf(&b, "- `rowguard migrate up` of it in %s (target < %s): %s\n",
			cs.migrate.Round(time.Millisecond), targetMigrate, verdict(cs.migrate < targetMigrate, float64(cs.migrate)/float64(targetMigrate)))
		fmt.Fprintf(&b, "  (%d policies installed; DDL %d KB; parse of the generated DDL %s, metadata load %s)\n",
			cs.policies, cs.ddlBytes/1024, cs.parse.Round(time.Millisecond), cs.load.Round(time.Millisecond))
	} else if r.compileErr != "" {
		fmt.Fprintf(&b, "- compile/migrate of %d tables × %d roles: not available: %s\n", r.cfg.compileTables, r.cfg.compileRoles, cell(r.compileErr))
	}

	if len(misses) > 0 {
		b.WriteString("\n## Plans of the missed targets (and of -explain's queries)\n\nEach statement as rowguard sent it, run with the same role and settings under EXPLAIN (ANALYZE, BUFFERS) after the load runs, on a connection that started as the servers' pooled connections do (graphql.HeapWarmup) and ran it twice first (as a pooled server connection has its caches warm):\n")
		for _, row := range misses {
			fmt.Fprintf(&b, "\n### %s\n\n", row.q.Name)
			fmt.Fprintf(&b, "The user's statement: %s; the admin's: %s.", planSummary(row.explainUser), planSummary(row.explainAdmin))
			if row.user.ok() && row.pgbench.ok() && row.user.res.CPUPerReq > 0 {
				fmt.Fprintf(&b, " rowguard's process spent %.3f ms of CPU per request (HTTP, JWT, JSON) on cores it shares with wrk and PostgreSQL;"+
					" pgbench's p50 for the same transaction was %s, rowguard's %s.",
					float64(row.user.res.CPUPerReq)/1e6, ms(row.pgbench.res.P50), ms(row.user.res.P50))
			}
			b.WriteString(" See bench/README.md, \"Reading a miss\", for what fixes each kind.\n")
			fmt.Fprintf(&b, "\n#### %s as the user\n\n```\n%s```\n", row.q.Name, row.explainUser)
			fmt.Fprintf(&b, "\n#### %s as admin\n\n```\n%s```\n", row.q.Name, row.explainAdmin)
		}
	}
	return b.String()
}

type metric func(*result) float64

func rps(r *result) float64 { return r.RPS }
func p50(r *result) float64 { return float64(r.P50) }
func p99(r *result) float64 { return float64(r.P99) }

func ratio(a, b measured, m metric) string {
	if !a.ok() || !b.ok() || m(b.res) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", m(a.res)/m(b.res))
}

// target writes one target line and reports whether it was missed. With
// atLeast the ratio a/b must reach want; otherwise it must not exceed it.
func (r *report) target(b *strings.Builder, what string, a, base measured, m metric, want float64, atLeast bool) bool {
	if !a.ok() || !base.ok() || m(base.res) == 0 {
		why := a.err
		if a.ok() {
			why = base.err
		}
		fmt.Fprintf(b, "- %s: not measured (%s)\n", what, cell(why))
		return false
	}
	got := m(a.res) / m(base.res)
	met := got >= want
	if !atLeast {
		met = got <= want
	}
	switch {
	case met:
		fmt.Fprintf(b, "- %s: met (%.2f)\n", what, got)
	case atLeast:
		fmt.Fprintf(b, "- %s: **missed** (%.2f, %.0f%% short)\n", what, got, (1-got/want)*100)
	default:
		fmt.Fprintf(b, "- %s: **missed** (%.2f, %.0f%% over)\n", what, got, (got/want-1)*100)
	}
	return !met
}

func verdict(met bool, frac float64) string {
	if met {
		return fmt.Sprintf("met (%.0f%% of the budget)", frac*100)
	}
	return fmt.Sprintf("**missed** (%.0f%% over)", (frac-1)*100)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

func mb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

// cell makes text safe for one table cell.
func cell(s string) string {
	s = strings.ReplaceAll(firstLine(s), "|", "\\|")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

var (
	planExecution = regexp.MustCompile(`Execution Time: ([0-9.]+) ms`)
	planBuffers   = regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`)
	planRemoved   = regexp.MustCompile(`Rows Removed by Filter: (\d+)`)
)

// planSummary states an EXPLAIN ANALYZE's execution time, the pages its
// top node touched, and the most rows one filter discarded.
func planSummary(plan string) string {
	m := planExecution.FindStringSubmatch(plan)
	if m == nil {
		return "no plan"
	}
	out := m[1] + " ms execution"
	if bm := planBuffers.FindStringSubmatch(plan); bm != nil {
		pages, _ := strconv.Atoi(bm[1])
		if bm[2] != "" {
			read, _ := strconv.Atoi(bm[2])
			pages += read
		}
		out += fmt.Sprintf(", %d pages", pages)
	}
	most := 0
	for _, rm := range planRemoved.FindAllStringSubmatch(plan, -1) {
		n, _ := strconv.Atoi(rm[1])
		most = max(most, n)
	}
	if most > 0 {
		out += fmt.Sprintf(", up to %d rows removed by one filter (per loop)", most)
	}
	return out
}

// loadAverage reads the 1-minute load average from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
