package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rowguard/rowguard/internal/procstat"
	"github.com/rowguard/rowguard/internal/wsclient"
)

// subParams is the shape of a subscription benchmark.
type subParams struct {
	Subs, Identities int
	// Writes is how long updates run (about one a second); Idle how
	// long the database is left alone before them.
	Writes, Idle time.Duration
}

// subQuery is every subscriber's live query: its identity's first
// article (article u is written by user u), under the user role's policy
// (author, or member of the article's organization).
const subQuery = `subscription ($me: Int!) { articles(where: {author_id: {_eq: $me}}, order_by: {id: asc}, limit: 1) { id title author_id org_id } }`

// subMode is one way the server refetches, set by its environment.
type subMode struct {
	name string
	env  []string
}

var subModes = []subMode{
	{"change-driven (default)", nil},
	{"poll every cohort", []string{"ROWGUARD_LIVE_QUERIES_POLL_EVERY_COHORT=true"}},
}

// subPhase is what one mode measured.
type subPhase struct {
	mode               string
	ready              time.Duration // every subscription open with its first result
	changes, pushes    int
	missed, foreign    int
	errors             int
	p50, p99, max      time.Duration
	idleCPU, writeCPU  float64 // PostgreSQL CPU seconds per second
	rssKB              int64   // rowguard serve's peak
	idleLoad, loadDone string
}

// subReport is a subscription benchmark's result.
type subReport struct {
	p       subParams
	started time.Time
	phases  []subPhase
}

// measureSubscriptions runs p in each mode against a fresh rowguard serve.
func (e *environment) measureSubscriptions(ctx context.Context, p subParams) (*subReport, error) {
	if p.Identities > e.cfg.data.Users || p.Identities < 1 || p.Subs < p.Identities {
		return nil, fmt.Errorf("subscriptions: %d subscriptions over %d identities need 1 ≤ identities ≤ users (%d) and identities ≤ subscriptions", p.Subs, p.Identities, e.cfg.data.Users)
	}
	rep := &subReport{p: p, started: time.Now()}
	for _, m := range subModes {
		ph, err := e.subscriptionPhase(ctx, p, m)
		if err != nil {
			return nil, fmt.Errorf("subscriptions, %s: %w", m.name, err)
		}
		rep.phases = append(rep.phases, *ph)
	}
	return rep, nil
}

// change is one update the benchmark made.
type change struct {
	id    int
	title string
	at    time.Time
}

// subscriber is one WebSocket with one live query.
type subscriber struct {
	id   int // identity
	conn *wsclient.Conn
	mu   sync.Mutex
	seen map[string]time.Time // title → first push
}

func (e *environment) subscriptionPhase(ctx context.Context, p subParams, m subMode) (*subPhase, error) {
	ph := &subPhase{mode: m.name}
	logf("subscriptions: %s: starting rowguard serve", m.name)
	srv, err := rowguardServeEnv(ctx, m.env, e.bin, e.pooled(), rolePrefix, adminSecret, e.jwtCfg)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	stopRSS := make(chan struct{})
	peak := sampleRSS(srv.Pid(), stopRSS)
	defer func() {
		if stopRSS != nil {
			close(stopRSS)
		}
	}()
	tokens := make([]string, p.Identities+1)
	for id := 1; id <= p.Identities; id++ {
		tokens[id], err = jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": strconv.Itoa(id), "exp": time.Now().Add(24 * time.Hour).Unix(),
			"https://hasura.io/jwt/claims": map[string]any{
				"x-hasura-allowed-roles": []string{"user"}, "x-hasura-default-role": "user", "x-hasura-user-id": strconv.Itoa(id),
			},
		}).SignedString([]byte(e.jwtKey))
		if err != nil {
			return nil, err
		}
	}
	orgs := func(id int) []int {
		var out []int
		for k := range e.cfg.data.Memberships {
			out = append(out, e.cfg.data.membershipOrg(id, k))
		}
		return out
	}

	logf("subscriptions: %s: opening %d subscriptions over %d identities", m.name, p.Subs, p.Identities)
	start := time.Now()
	subs := make([]*subscriber, p.Subs)
	var (
		mu                     sync.Mutex
		firsts, foreign, errsN int
	)
	gotFirst := make(chan struct{}, p.Subs)
	jobs := make(chan int)
	var wg sync.WaitGroup
	var dialErr error
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				id := k%p.Identities + 1
				c, err := wsclient.Dial(ctx, srv.URL, map[string]string{"Authorization": "Bearer " + tokens[id]})
				if err == nil {
					err = c.Subscribe(ctx, "1", subQuery, map[string]any{"me": id})
				}
				if err != nil {
					mu.Lock()
					dialErr = err
					mu.Unlock()
					continue
				}
				s := &subscriber{id: id, conn: c, seen: map[string]time.Time{}}
				subs[k] = s
				allowed := orgs(id)
				go func() {
					first := true
					for {
						msg, err := c.Read(ctx)
						if err != nil {
							return
						}
						if msg.Type != "next" {
							continue
						}
						now := time.Now()
						var body struct {
							Data struct {
								Articles []struct {
									ID     int    `json:"id"`
									Title  string `json:"title"`
									Author int    `json:"author_id"`
									Org    int    `json:"org_id"`
								}
							}
							Errors json.RawMessage
						}
						if json.Unmarshal(msg.Payload, &body) != nil || len(body.Errors) > 0 {
							mu.Lock()
							errsN++
							mu.Unlock()
							continue
						}
						for _, a := range body.Data.Articles {
							if a.Author != id && !slices.Contains(allowed, a.Org) {
								mu.Lock()
								foreign++
								mu.Unlock()
							}
							s.mu.Lock()
							if _, ok := s.seen[a.Title]; !ok {
								s.seen[a.Title] = now
							}
							s.mu.Unlock()
						}
						if first {
							first = false
							gotFirst <- struct{}{}
						}
					}
				}()
			}
		}()
	}
	for k := range p.Subs {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	defer func() {
		for _, s := range subs {
			if s != nil {
				s.conn.Close()
			}
		}
	}()
	if dialErr != nil {
		return nil, fmt.Errorf("open a subscription: %w", dialErr)
	}
	deadline := time.After(3 * time.Minute)
	for firsts < p.Subs {
		select {
		case <-gotFirst:
			firsts++
		case <-deadline:
			return nil, fmt.Errorf("only %d of %d subscriptions got a first result in 3 minutes\n%s", firsts, p.Subs, tailString(srv.log.String(), 2000))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	ph.ready = time.Since(start)
	logf("subscriptions: %s: all %d first results in %s; idle for %s", m.name, p.Subs, ph.ready.Round(time.Millisecond), p.Idle)

	time.Sleep(2 * time.Second) // the rounds that follow the first results
	ph.idleLoad = loadAverage()
	cpu0, err := e.postgresCPU(ctx)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	time.Sleep(p.Idle) // measuring an idle database: nothing to wait for
	cpu1, err := e.postgresCPU(ctx)
	if err != nil {
		return nil, err
	}
	ph.idleCPU = (cpu1 - cpu0).Seconds() / time.Since(t0).Seconds()

	logf("subscriptions: %s: one update a second for %s", m.name, p.Writes)
	var changes []change
	rng := rand.New(rand.NewPCG(uint64(len(m.name)), 7))
	t0, cpu0 = time.Now(), cpu1
	if cpu0, err = e.postgresCPU(ctx); err != nil {
		return nil, err
	}
	// Identities in a shuffled cycle: one identity changed twice within an
	// interval would push only its second value, which is no loss.
	order := rng.Perm(p.Identities)
	for i := 1; time.Since(t0) < p.Writes; i++ {
		id := order[(i-1)%len(order)] + 1
		title := fmt.Sprintf("v%d %s", i, m.name)
		at := time.Now()
		if _, err := e.conn.Exec(ctx, "UPDATE articles SET title = $1 WHERE id = $2", title, id); err != nil {
			return nil, err
		}
		changes = append(changes, change{id, title, at})
		// One a second on average, at any point of the refetch interval.
		time.Sleep(time.Duration(500+rng.IntN(1000)) * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // pushes of the last changes
	cpu1, err = e.postgresCPU(ctx)
	if err != nil {
		return nil, err
	}
	ph.writeCPU = (cpu1 - cpu0).Seconds() / time.Since(t0).Seconds()
	ph.loadDone = loadAverage()
	close(stopRSS)
	stopRSS = nil
	ph.rssKB = <-peak

	byID := map[int][]*subscriber{}
	for _, s := range subs {
		byID[s.id] = append(byID[s.id], s)
	}
	var lat []time.Duration
	for _, c := range changes {
		for _, s := range byID[c.id] {
			s.mu.Lock()
			at, ok := s.seen[c.title]
			s.mu.Unlock()
			if !ok {
				ph.missed++
				continue
			}
			lat = append(lat, at.Sub(c.at))
		}
	}
	slices.Sort(lat)
	ph.changes, ph.pushes = len(changes), len(lat)
	ph.p50, ph.p99 = percentile(lat, 50), percentile(lat, 99)
	if len(lat) > 0 {
		ph.max = lat[len(lat)-1]
	}
	mu.Lock()
	ph.foreign, ph.errors = foreign, errsN
	mu.Unlock()
	logf("subscriptions: %s: %d changes, %d pushes, %d missed, %d foreign rows; commit→push p50 %s p99 %s; PostgreSQL %.4f CPU-s/s idle, %.4f with writes",
		m.name, ph.changes, ph.pushes, ph.missed, ph.foreign, ph.p50.Round(time.Millisecond), ph.p99.Round(time.Millisecond), ph.idleCPU, ph.writeCPU)
	return ph, nil
}

// postgresCPU returns the CPU time (user + system) of the PostgreSQL
// server the benchmark uses: its postmaster and every child process
// (backends, checkpointer, walwriter…), from /proc. The postmaster is
// found through data_directory/postmaster.pid, so other PostgreSQL
// servers on the machine are not counted.
func (e *environment) postgresCPU(ctx context.Context) (time.Duration, error) {
	if e.postmaster == 0 {
		var dir string
		if err := e.conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir); err != nil {
			return 0, fmt.Errorf("find the PostgreSQL server's processes: %w", err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
		if err != nil {
			return 0, fmt.Errorf("find the PostgreSQL server's processes (run the benchmark on the database's machine): %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if e.postmaster, err = strconv.Atoi(strings.TrimSpace(line)); err != nil {
			return 0, fmt.Errorf("%s: %w", filepath.Join(dir, "postmaster.pid"), err)
		}
	}
	total, err := cpuTime(e.postmaster)
	if err != nil {
		return 0, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil || parentPID(pid) != e.postmaster {
			continue
		}
		if t, err := cpuTime(pid); err == nil {
			total += t
		}
	}
	return total, nil
}

// parentPID returns a process's parent from /proc/<pid>/stat, 0 when
// unknown.
func parentPID(pid int) int {
	st, err := procstat.Read(pid)
	if err != nil {
		return 0
	}
	n, _ := st.Int(4)
	return int(n)
}

// hasuraPer1000 is Hasura's published anchor: 1,000,000 live queries on
// a 16-vCPU PostgreSQL at about 28% load.
const hasuraPer1000 = 0.28 * 16 / 1_000_000 * 1000

// markdown renders the report.
func (r *subReport) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# rowguard live-query benchmark, %s\n\n", r.started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "`go run ./bench -subscriptions -sub-count %d -sub-identities %d -sub-writes %s -sub-idle %s`: %d live\n",
		r.p.Subs, r.p.Identities, r.p.Writes, r.p.Idle, r.p.Subs)
	fmt.Fprintf(&b, "subscriptions (one WebSocket each, graphql-transport-ws) over %d identities (JWTs of role `user`),\n", r.p.Identities)
	b.WriteString("each on its identity's first article under the article policy (author, or member of the organization);\n")
	b.WriteString("1 s refetch interval; about one `UPDATE articles SET title` a second on a random identity's article.\n")
	b.WriteString("Each mode gets a fresh `rowguard serve`; an idle phase first, then the writes.\n")
	b.WriteString("Server, clients and PostgreSQL share this machine, which other jobs load (load averages below):\n")
	b.WriteString("absolute figures are pessimistic; compare the modes, measured in the same run.\n\n")
	b.WriteString("| mode | commit → push p50 / p99 / max | changes | pushes | missed | foreign rows | errors | PG CPU-s/s idle | PG CPU-s/s with writes | DB-vCPU per 1,000 subscribers (writes) | idle | rowguard RSS peak | first results | load avg (idle → end) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	per := func(cpu float64) float64 { return cpu / (float64(r.p.Subs) / 1000) }
	for _, ph := range r.phases {
		fmt.Fprintf(&b, "| %s | %d / %d / %d ms | %d | %d | %d | %d | %d | %.4f | %.4f | %.4f | %.5f | %s | %.1f s | %s → %s |\n",
			ph.mode, ph.p50.Milliseconds(), ph.p99.Milliseconds(), ph.max.Milliseconds(), ph.changes, ph.pushes, ph.missed, ph.foreign, ph.errors,
			ph.idleCPU, ph.writeCPU, per(ph.writeCPU), per(ph.idleCPU), mb(ph.rssKB), ph.ready.Seconds(), ph.idleLoad, ph.loadDone)
	}
	fmt.Fprintf(&b, "\nHasura's anchor: 1,000,000 live queries at ~28%% of a 16-vCPU PostgreSQL ≈ %.4f DB-vCPU per 1,000 subscribers.\n", hasuraPer1000)
	if len(r.phases) == 2 && r.phases[1].idleCPU > 0 && r.phases[1].writeCPU > 0 {
		fmt.Fprintf(&b, "Change-driven / polling: %.2f× the PostgreSQL CPU idle, %.2f× with writes.\n",
			r.phases[0].idleCPU/r.phases[1].idleCPU, r.phases[0].writeCPU/r.phases[1].writeCPU)
	}
	return b.String()
}
