package graphql

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// maxPrepared bounds the statements prepared on one connection; past it,
// the least recently used one is deallocated. Query texts repeat (request
// values are parameters), so a server's working set stays well below it.
const maxPrepared = 256

// preparedKey is where a connection keeps its preparedSet (pgconn's
// CustomData, which lives and dies with the connection).
const preparedKey = "rowguard.prepared"

// preparedSet is the statements rowguard prepared on one connection,
// by name, with the description PostgreSQL gave when each was prepared:
// a batch binds them with ExecStatement, which asks PostgreSQL for no
// RowDescription per statement and request (ExecPrepared's Describe).
type preparedSet struct {
	stmts map[string]*preparedStmt
	clock uint64 // incremented on every use
}

// preparedStmt is one prepared statement and when it was last used.
type preparedStmt struct {
	desc *pgconn.StatementDescription
	used uint64
}

// usePrepared tells whether the pool's connections may keep prepared
// statements: only in pgx's default mode (default_query_exec_mode
// cache_statement). A pool configured for another mode — `exec` or
// `simple_protocol` in the database URL, as for PgBouncer before 1.21 in
// transaction mode, where the next transaction may run on another server
// connection — gets unnamed statements, planned on every request.
func usePrepared(pool *pgxpool.Pool) bool {
	cc := pool.Config().ConnConfig
	return cc.DefaultQueryExecMode == pgx.QueryExecModeCacheStatement && cc.StatementCacheCapacity > 0
}

// statementName names sql prepared for role. The role is part of the
// name: PostgreSQL re-plans (and re-applies the row-level security of) a
// cached plan whenever it runs under another role than it was planned
// for, so one statement per role keeps each plan valid.
func statementName(role, sql string) string {
	k := nameKey{role, sql}
	statementNames.Lock()
	name, ok := statementNames.m[k]
	statementNames.Unlock()
	if ok {
		return name
	}
	sum := sha256.Sum256([]byte(role + "\x00" + sql))
	name = "rg_" + hex.EncodeToString(sum[:16])
	statementNames.Lock()
	if len(statementNames.m) >= maxStatementNames {
		clear(statementNames.m)
	}
	statementNames.m[k] = name
	statementNames.Unlock()
	return name
}

// statementNames keeps the names statementName computed: every request
// names its BEGIN, settings, statements and COMMIT, and hashing a
// statement of a few kilobytes cost more than looking it up. Query texts
// repeat (request values are parameters); the map is emptied when it
// reaches maxStatementNames, so texts that do not repeat cannot grow it.
var statementNames = struct {
	sync.Mutex
	m map[nameKey]string
}{m: map[nameKey]string{}}

type nameKey struct{ role, sql string }

const maxStatementNames = 4096

// prepare makes sure every text of sqls is prepared on conn for role and
// returns their descriptions, in order, or the index of the text that
// failed to prepare and the error. A statement already prepared
// costs nothing; a new one costs one round trip, once per connection. With
// the statements prepared, a request is parsed and planned once per
// connection instead of once per request, as pgbench -M prepared does.
func prepare(ctx context.Context, conn *pgxpool.Conn, role string, sqls []string) ([]*pgconn.StatementDescription, int, error) {
	data := conn.Conn().PgConn().CustomData()
	set, _ := data[preparedKey].(*preparedSet)
	if set == nil {
		set = &preparedSet{stmts: map[string]*preparedStmt{}}
		data[preparedKey] = set
	}
	descs := make([]*pgconn.StatementDescription, len(sqls))
	for i, sql := range sqls {
		name := statementName(role, sql)
		if d := set.touch(name); d != nil {
			descs[i] = d
			continue
		}
		d, err := conn.Conn().Prepare(ctx, name, sql)
		if err != nil {
			return nil, i, err
		}
		set.add(name, d)
		descs[i] = d
		for len(set.stmts) > maxPrepared {
			oldest := set.oldest()
			if err := conn.Conn().Deallocate(ctx, oldest); err != nil {
				return nil, i, err
			}
			delete(set.stmts, oldest)
		}
	}
	return descs, -1, nil
}

// touch marks name as just used and returns its description, nil when it
// is not prepared.
func (s *preparedSet) touch(name string) *pgconn.StatementDescription {
	p := s.stmts[name]
	if p == nil {
		return nil
	}
	s.clock++
	p.used = s.clock
	return p.desc
}

// add records name as prepared (and just used).
func (s *preparedSet) add(name string, d *pgconn.StatementDescription) {
	s.clock++
	s.stmts[name] = &preparedStmt{desc: d, used: s.clock}
}

// oldest is the name of the least recently used statement: a scan, paid
// only when a connection has more than maxPrepared statements, while the
// requests' touches stay a map lookup.
func (s *preparedSet) oldest() string {
	var name string
	var used uint64
	for n, p := range s.stmts {
		if name == "" || p.used < used {
			name, used = n, p.used
		}
	}
	return name
}
