package graphql

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
)

// LiveConfig configures live queries (subscriptions refetched on an
// interval).
type LiveConfig struct {
	// RefetchInterval is how often every live query is refetched:
	// HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL;
	// DefaultRefetchInterval when zero.
	RefetchInterval time.Duration
	// BatchSize is how many cohorts share one transaction (one round
	// trip): HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE;
	// DefaultBatchSize when zero.
	BatchSize int
	// MaxSubscriptions bounds the live queries of the whole server; no
	// limit when zero or negative.
	MaxSubscriptions int
	// SkipUnchanged skips the cohorts that are polled (see PollEveryCohort)
	// in a round when no write has committed in the cluster since the
	// last one (the snapshot is the same). Off by default: a live query
	// whose result depends on the clock (now() in a function) would then
	// change only with the data.
	SkipUnchanged bool
	// PollEveryCohort refetches every cohort every interval, as plain
	// polling does (ROWGUARD_LIVE_QUERIES_POLL_EVERY_COHORT). By default
	// a round first reads the change counters the policy install keeps
	// (rls.ChangesFunction) and refetches only the cohorts that read a
	// table that changed since their last fetch; see live_changes.go for
	// what is still polled.
	PollEveryCohort bool
	// StreamRefetchInterval and StreamBatchSize are the same for
	// streaming subscriptions:
	// HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL and
	// _BATCH_SIZE; RefetchInterval and BatchSize when zero.
	StreamRefetchInterval time.Duration
	StreamBatchSize       int
}

// Defaults of LiveConfig, Hasura's.
const (
	DefaultRefetchInterval = time.Second
	DefaultBatchSize       = 100
)

// ErrTooManySubscriptions is Subscribe's error when the server already
// runs LiveConfig.MaxSubscriptions live queries.
var ErrTooManySubscriptions = errors.New("too many subscriptions on this server")

// A cohort is the live queries that share one computation: the same role,
// query text, operation name and variables, and the same values of the
// settings that the role's policies on the tables the query reads
// actually read (see cohortKey). One result, computed once per refetch,
// serves every member.
type cohort struct {
	key  string
	op   *operation
	sess *auth.Session // any member's: they agree on every setting read
	subs map[*liveSub]struct{}
	ran  bool
	// failed: the last refetch failed; it runs again even when the
	// database did not change (SkipUnchanged).
	failed bool
	body   []byte // the last result
	hash   [sha256.Size]byte
	// watch is what a refetch reads, from the compiled plan (see
	// watchedTables): a change to any of these tables refetches the
	// cohort; poll, when set, says why the cohort is refetched every
	// interval instead.
	watch []string
	poll  string
	// more: a stream's last batch had rows, so more may follow without
	// any change to its tables.
	more bool
}

// liveSub is one subscriber of a cohort.
type liveSub struct {
	push func([]byte)
	hash [sha256.Size]byte // of the last result pushed
	sent bool
}

// liveHub holds the cohorts of a server and the goroutines that refetch
// them: one loop for live queries and one for streams, each with its own
// interval and batch size, running while it has a cohort.
type liveHub struct {
	mu        sync.Mutex
	cohorts   map[string]*cohort
	total     int
	loops     [2]refetcher // live queries, streams
	refetches atomic.Uint64
	lastRound atomic.Int64 // nanoseconds
}

// refetcher is the state of one refetching goroutine. running and wake
// are guarded by liveHub.mu; changes is the goroutine's own.
type refetcher struct {
	stream   bool
	interval time.Duration
	batch    int
	running  bool
	wake     chan struct{}
	changes  changeState
}

// Subscribe starts a prepared subscription as a live query: push receives
// the result ({"data":…}, or {"errors":[…]} when the refetch failed; the
// subscription stays) first as soon as it is computed and then each time
// it changes. push is called from the refetching goroutine and must not
// block. stop ends the subscription.
func (s *Server) Subscribe(p *Prepared, push func(body []byte)) (stop func(), err error) {
	h := &s.live
	sub := &liveSub{push: push}
	key := cohortKey(p.op, p.sess, p.req)
	if p.op.p.stream {
		// A stream's cursor is its own: one cohort per subscription.
		key = fmt.Sprintf("stream\x00%p", sub)
	}
	h.mu.Lock()
	if n := s.cfg.Live.MaxSubscriptions; n > 0 && h.total >= n {
		h.mu.Unlock()
		return nil, ErrTooManySubscriptions
	}
	if h.cohorts == nil {
		h.cohorts = map[string]*cohort{}
		for i := range h.loops {
			l := &h.loops[i]
			l.stream = i == 1
			l.wake = make(chan struct{}, 1)
			l.interval, l.batch = s.cfg.Live.RefetchInterval, s.cfg.Live.BatchSize
			if l.stream {
				l.interval, l.batch = s.cfg.Live.StreamRefetchInterval, s.cfg.Live.StreamBatchSize
			}
		}
	}
	c := h.cohorts[key]
	if c == nil {
		c = &cohort{key: key, op: p.op, sess: p.sess, subs: map[*liveSub]struct{}{}}
		c.watch, c.poll = watchedTables(p.op)
		h.cohorts[key] = c
	}
	c.subs[sub] = struct{}{}
	h.total++
	var first []byte
	if c.ran {
		first, sub.hash, sub.sent = c.body, c.hash, true
	}
	l := &h.loops[0]
	if p.op.p.stream {
		l = &h.loops[1]
	}
	if !l.running {
		l.running = true
		go s.refetchLoop(l)
	}
	h.mu.Unlock()
	if first != nil {
		push(first)
	} else {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(c.subs, sub)
			h.total--
			if len(c.subs) == 0 && h.cohorts[key] == c {
				delete(h.cohorts, key)
			}
		})
	}, nil
}

// LiveCount returns the number of live queries and of cohorts serving
// them.
func (s *Server) LiveCount() (subscriptions, cohorts int) {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	return s.live.total, len(s.live.cohorts)
}

// refetchLoop refetches l's cohorts each interval (those whose tables
// changed, see due), and the cohorts that never ran as soon as Subscribe
// wakes it; it returns when l has no cohort left.
func (s *Server) refetchLoop(l *refetcher) {
	h := &s.live
	tick := time.NewTicker(l.interval)
	defer tick.Stop()
	for {
		onlyNew := false
		select {
		case <-tick.C:
		case <-l.wake:
			onlyNew = true
		}
		h.mu.Lock()
		n := 0
		for _, c := range h.cohorts {
			if c.op.p.stream == l.stream {
				n++
			}
		}
		if n == 0 {
			l.running = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		var ch roundChanges
		if !onlyNew {
			// Read before the cohorts run: a write committed after it
			// moves a counter the next round reads.
			ch = s.readChanges(context.Background(), &l.changes)
		}
		h.mu.Lock()
		var todo []*cohort
		for _, c := range h.cohorts {
			if c.op.p.stream == l.stream && s.due(c, onlyNew, ch) {
				todo = append(todo, c)
			}
		}
		h.mu.Unlock()
		start := time.Now()
		s.refetch(todo, l)
		if !onlyNew && !l.stream {
			h.lastRound.Store(int64(time.Since(start)))
		}
	}
}

// refetch computes the cohorts, batch by batch, and pushes each result
// to the members that have not seen it.
func (s *Server) refetch(todo []*cohort, l *refetcher) {
	for len(todo) > 0 {
		n := min(l.batch, len(todo))
		batch := todo[:n]
		todo = todo[n:]
		ctx, cancel := context.WithTimeout(context.Background(), max(l.interval*10, 30*time.Second))
		round := s.cfg.Observer.StartLiveRound(l.stream, len(batch))
		results := s.runCohorts(ctx, batch)
		cancel()
		for i, c := range batch {
			if results[i].failed {
				round.CohortFailed(c.op.role, c.op.rs != c.op.st.empty)
			}
		}
		round.End()
		s.live.refetches.Add(uint64(len(batch)))
		for i, c := range batch {
			s.live.mu.Lock()
			c.failed = results[i].failed
			s.live.mu.Unlock()
			if c.op.p.stream {
				s.publishStream(c, results[i])
				continue
			}
			s.publish(c, results[i].body)
		}
	}
}

// publish records a cohort's new result and pushes it to every member
// whose last push differs.
func (s *Server) publish(c *cohort, body []byte) {
	hash := sha256.Sum256(body)
	h := &s.live
	h.mu.Lock()
	c.ran, c.body, c.hash = true, body, hash
	var to []func([]byte)
	for sub := range c.subs {
		if !sub.sent || sub.hash != hash {
			sub.sent, sub.hash = true, hash
			to = append(to, sub.push)
		}
	}
	h.mu.Unlock()
	for _, push := range to {
		push(body)
	}
}

// cohortKey identifies the computation a live query needs. Two
// subscriptions share a cohort only when they have the same role (and
// backend-only schema), query text, operation name and variables, and the
// same value (or absence) of every session variable that the role's
// policies on the tables the plan reads use. When a statement calls a
// function (which may read any setting) or passes the whole session, every
// session variable is part of the key.
func cohortKey(op *operation, sess *auth.Session, req *Request) string {
	var b strings.Builder
	field := func(s string) {
		b.WriteString(s)
		b.WriteByte(0)
	}
	field(op.role)
	if op.rs.backend && sess.BackendOnly {
		field("backend")
	} else {
		field("")
	}
	field(req.OperationName)
	field(req.Query)
	vars, _ := json.Marshal(req.Variables) // map keys sorted
	field(string(vars))
	read := map[string]bool{}
	for name := range op.p.vars {
		read[name] = true
	}
	for _, v := range op.rs.views {
		if op.p.tables[v.info.Table] {
			for _, name := range v.vars {
				read[name] = true
			}
		}
	}
	if callsFunction(op) {
		for name := range sess.Vars {
			read[name] = true
		}
	}
	// Fresh claims are computed from the user id in the cohort's own
	// transaction, whatever the session says: users whose policies read one
	// share a result only when they are the same user.
	if fresh := op.st.settings.fresh; fresh != nil {
		for name := range read {
			if slices.ContainsFunc(fresh.Vars, func(v string) bool { return strings.EqualFold(v, name) }) {
				read[auth.VarUserID] = true
				break
			}
		}
	}
	names := make([]string, 0, len(read))
	for name := range read {
		names = append(names, strings.ToLower(name))
	}
	sort.Strings(names)
	for _, name := range names {
		field(name)
		if v, ok := sess.Vars[name]; ok {
			field("=" + v)
		} else {
			field("unset")
		}
	}
	return b.String()
}

// callsFunction reports whether op's statements call a tracked function,
// a computed field, a helper or pass the session: SQL whose reads of
// settings the plan does not know.
func callsFunction(op *operation) bool {
	var calls []string
	calls = append(calls, "rowguard.", compiler.SessionSetting)
	for _, f := range op.st.prog.Functions {
		calls = append(calls, compiler.QuoteTable(f.Function.Name)+"(")
	}
	for _, t := range op.st.prog.Tables {
		for _, cf := range t.ComputedFields {
			calls = append(calls, compiler.QuoteTable(cf.Function.Name)+"(")
		}
	}
	for _, st := range op.stmts {
		for _, c := range calls {
			if strings.Contains(st.sql, c) {
				return true
			}
		}
	}
	return false
}
