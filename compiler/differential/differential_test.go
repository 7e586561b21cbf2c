package differential

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

var (
	seedFlag  = flag.Uint64("diffseed", 0, "seed of the differential test (0: a random one, which the test logs)")
	casesFlag = flag.Int("diffcases", 2500, "select cases (roles × sessions) of the differential test; write cases scale with it")
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Sizes of one install round.
const (
	selectRoles     = 32 // roles with one random select filter each
	writeRoles      = 8  // roles with random insert, update and delete rules
	roundSessions   = 6  // sessions per round; every select role meets each
	writeSessions   = 4  // of those, the ones every write role meets
	minRuleDepth    = 4
	maxMismatchRept = 3
)

// run is the state of one differential run.
type run struct {
	t       *testing.T
	conn    *pgx.Conn
	cat     *compiler.Catalog
	s       *schema
	g       *gen
	prefix  string // PostgreSQL role prefix of this run
	definer string
	// installed is the metadata text of the current install.
	installed string

	counts     map[string]int // cases compared, by kind
	outcomes   map[string]int // expected outcomes, by kind and result, to show the cases mean something
	depths     map[int]int
	mismatches []*mismatch
}

// bundle is one Hasura role's permissions on one table. A select role has
// sel only; a write role has sel = {} (PostgreSQL applies SELECT policies to
// UPDATE … WHERE, Hasura does not, so only the update filter may decide)
// and random insert, update and delete rules.
type bundle struct {
	role     string
	t        *table
	sel      expr
	ins      expr
	insSet   []preset
	upd      expr
	updCheck expr // nil: no check
	updSet   []preset
	hasUpd   bool
	del      expr
}

// preset is a column preset (`set`): a session variable or a constant.
type preset struct {
	col *column
	v   operand
}

func TestDifferential(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		var b [8]byte
		crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:]) >> 1
	}
	t.Logf("differential: seed %d (replay with -diffseed=%d)", seed, seed)
	ctx := context.Background()

	prefix := pgtest.UniqueName("rgd") + "_"
	definer := pgtest.UniqueName("rgd_definer")
	pgtest.DropRolesLater(t, prefix, definer)
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	if _, err := conn.Exec(ctx, schemaDDL); err != nil {
		t.Fatalf("schema: %v", err)
	}
	cat, err := compiler.LoadCatalog(ctx, conn, []string{"public"})
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}

	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := newSchema()
	r := &run{
		t: t, conn: conn, cat: cat, s: s, prefix: prefix, definer: definer,
		g:      &gen{dataGen: dataGen{rng}, s: s, ops: map[string]int{}},
		counts: map[string]int{}, outcomes: map[string]int{}, depths: map[int]int{},
	}
	rounds := (*casesFlag + selectRoles*roundSessions - 1) / (selectRoles * roundSessions)
	start := time.Now()
	for i := range rounds {
		r.round(ctx, i)
		if len(r.mismatches) > 0 {
			break
		}
	}
	t.Logf("differential: %d select cases (roles×sessions), %d insert, %d update, %d delete; %d mismatches (%d rounds, %s)",
		r.counts["select"], r.counts["insert"], r.counts["update"], r.counts["delete"], len(r.mismatches),
		rounds, time.Since(start).Round(time.Millisecond))
	t.Logf("differential: expected outcomes: %s", mapString(r.outcomes))
	t.Logf("differential: rule depths: %s", depthString(r.depths))
	t.Logf("differential: generated constructs: %s", strings.Join(r.g.coverage(), " "))
	if len(r.mismatches) > 0 {
		r.report(ctx)
		return
	}
	r.checkCoverage()
}

// round fills the tables with new data, installs a new set of random
// rules for selectRoles + writeRoles roles, and compares every case.
func (r *run) round(ctx context.Context, n int) {
	r.s.fill(r.g.dataGen)
	r.exec(ctx, r.s.loadSQL())
	sessions := make([]session, roundSessions)
	for i := range sessions {
		sessions[i] = r.session()
	}
	var bundles []*bundle
	for i := range selectRoles {
		t := r.s.byName[[]string{"doc", "doc", "doc", "comment", "comment", "org", "member"}[r.g.pick(7)]]
		b := &bundle{role: fmt.Sprintf("s%02d", i), t: t, sel: r.rule(t)}
		bundles = append(bundles, b)
	}
	for i := range writeRoles {
		bundles = append(bundles, r.writeBundle(fmt.Sprintf("w%02d", i)))
	}
	if err := r.install(ctx, bundles); err != nil {
		r.t.Fatalf("round %d: %v", n, err)
	}
	evs := make([]*evaluator, len(sessions))
	for i, sess := range sessions {
		evs[i] = newEvaluator(r.s, sess)
	}
	for _, b := range bundles {
		if b.sel != nil && b.ins == nil {
			r.selectCases(ctx, b, sessions, evs)
		}
	}
	for _, b := range bundles {
		if b.ins == nil {
			continue
		}
		for _, k := range r.g.r.Perm(len(sessions))[:writeSessions] {
			r.writeCases(ctx, b, sessions[k], evs[k])
		}
	}
}

func (r *run) rule(t *table) expr {
	e := r.g.rule(t, minRuleDepth)
	r.depths[depth(e)]++
	return e
}

// writeBundle returns a write role on doc or comment: random insert check,
// update filter and check, delete filter, and sometimes presets.
func (r *run) writeBundle(role string) *bundle {
	t := r.s.byName["doc"]
	owner, flag := "owner_id", "published"
	if r.g.chance(0.35) {
		t = r.s.byName["comment"]
		owner, flag = "author_id", "flagged"
	}
	b := &bundle{role: role, t: t, sel: &andExpr{}, ins: r.rule(t), upd: r.rule(t), hasUpd: true, del: r.rule(t)}
	if r.g.chance(0.75) {
		b.updCheck = r.rule(t)
	}
	if r.g.chance(0.5) {
		b.insSet = append(b.insSet, preset{t.col(owner), &varOp{userVars[r.g.pick(len(userVars))]}})
		r.g.note("set/var")
	}
	if r.g.chance(0.2) {
		v := r.g.chance(0.5)
		b.insSet = append(b.insSet, preset{t.col(flag), &constOp{v: v, text: fmt.Sprint(v)}})
		r.g.note("set/const")
	}
	if r.g.chance(0.3) {
		b.updSet = append(b.updSet, preset{t.col(owner), &varOp{userVars[r.g.pick(len(userVars))]}})
		r.g.note("set/var")
	}
	return b
}

// session returns random session variables: a user id (sometimes unset or
// empty), an array of ids (sometimes empty, with a NULL, or unset) and a
// text that may be used as a LIKE pattern.
func (r *run) session() session {
	s := session{}
	switch k := r.g.pick(20); {
	case k < 16:
		s["hasura.x_hasura_user_id"] = itoa(1 + r.g.pick(maxUser))
	case k < 18:
		s["hasura.x_hasura_user_id"] = ""
	}
	if !r.g.chance(0.15) {
		s["hasura.x_hasura_allowed_ids"] = []string{"{1,3}", "{}", "{2,4,6}", "{1,NULL}", "{3}", "{1,2,3,4,5,6,7}", "{5,1}"}[r.g.pick(7)]
	}
	if !r.g.chance(0.3) {
		pool := plainText()
		s["hasura.x_hasura_org_name"] = pool[r.g.pick(len(pool))]
	}
	return s
}

// metadata renders the bundles as one Hasura metadata document (JSON, which
// is YAML): every table but audit, with its relationships and the
// permissions.
func (r *run) metadata(bundles []*bundle) string {
	var tables []string
	for _, t := range r.s.tables {
		if !t.tracked {
			continue
		}
		es := []entry{{"table", `{"schema": "public", "name": ` + jsonString(t.name) + `}`}}
		var obj, arr []string
		for _, rel := range t.rels {
			s := object([]entry{{"name", jsonString(rel.name)}, {"using", rel.using}})
			if rel.array {
				arr = append(arr, s)
			} else {
				obj = append(obj, s)
			}
		}
		if len(obj) > 0 {
			es = append(es, entry{"object_relationships", "[" + strings.Join(obj, ", ") + "]"})
		}
		if len(arr) > 0 {
			es = append(es, entry{"array_relationships", "[" + strings.Join(arr, ", ") + "]"})
		}
		perms := map[string][]string{}
		add := func(op, role string, body []entry) {
			perms[op] = append(perms[op], object([]entry{{"role", jsonString(role)}, {"permission", object(body)}}))
		}
		for _, b := range bundles {
			if b.t != t {
				continue
			}
			if b.sel != nil {
				add("select", b.role, []entry{{"columns", `"*"`}, {"filter", ruleJSON(b.sel)}})
			}
			if b.ins != nil {
				add("insert", b.role, withSet([]entry{{"columns", `"*"`}, {"check", ruleJSON(b.ins)}}, b.insSet))
			}
			if b.hasUpd {
				body := []entry{{"columns", `"*"`}, {"filter", ruleJSON(b.upd)}}
				if b.updCheck != nil {
					body = append(body, entry{"check", ruleJSON(b.updCheck)})
				}
				add("update", b.role, withSet(body, b.updSet))
			}
			if b.del != nil {
				add("delete", b.role, []entry{{"filter", ruleJSON(b.del)}})
			}
		}
		for _, op := range []string{"select", "insert", "update", "delete"} {
			if len(perms[op]) > 0 {
				es = append(es, entry{op + "_permissions", "[\n    " + strings.Join(perms[op], ",\n    ") + "]"})
			}
		}
		tables = append(tables, object(es))
	}
	return "[\n  " + strings.Join(tables, ",\n  ") + "\n]\n"
}

func withSet(body []entry, set []preset) []entry {
	if len(set) == 0 {
		return body
	}
	var es []entry
	for _, p := range set {
		es = append(es, entry{p.col.name, p.v.json()})
	}
	return append(body, entry{"set", object(es)})
}

// install runs the whole pipeline on the bundles' metadata: load, compile
// against the live catalog, emit, and apply.
func (r *run) install(ctx context.Context, bundles []*bundle) error {
	text := r.metadata(bundles)
	md, err := policies.Parse("differential.json", []byte(text))
	if err != nil {
		return fmt.Errorf("load metadata: %w\n%s", err, text)
	}
	prog, errs := compiler.Compile(r.cat, md, compiler.Options{RolePrefix: r.prefix})
	if len(errs) > 0 {
		return fmt.Errorf("compile: %v\n%s", errs, text)
	}
	sql := rls.Emit(prog, rls.Options{DefinerRole: r.definer})
	if _, err := r.conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("install the emitted SQL: %w\nmetadata:\n%s", err, text)
	}
	r.installed = text
	return nil
}

func (r *run) exec(ctx context.Context, sql string) {
	if _, err := r.conn.Exec(ctx, sql); err != nil {
		r.t.Fatalf("%v\n%s", err, sql)
	}
}

// pgRole is the PostgreSQL role of a Hasura role of this run.
func (r *run) pgRole(role string) string { return compiler.PGRoleName(r.prefix, role) }

// begin returns the statements that open a transaction as the role with the
// session's variables, as the server does.
func (r *run) begin(role string, sess session) []string {
	calls := []string{"set_config('role', " + sqlLiteral(r.pgRole(role)) + ", true)"}
	for _, k := range []string{"hasura.x_hasura_user_id", "hasura.x_hasura_allowed_ids", "hasura.x_hasura_org_name"} {
		if v, ok := sess[k]; ok {
			calls = append(calls, "set_config("+sqlLiteral(k)+", "+sqlLiteral(v)+", true)")
		}
	}
	return []string{"BEGIN", "SELECT " + strings.Join(calls, ", ")}
}

// script runs statements in one round trip (simple protocol). It returns
// each statement's result, and the index and error of the one that failed.
func (r *run) script(ctx context.Context, stmts []string) ([]*pgconn.Result, int, error) {
	results, err := r.conn.PgConn().Exec(ctx, strings.Join(stmts, ";\n")).ReadAll()
	if err == nil {
		return results, -1, nil
	}
	for i, res := range results {
		if res.Err != nil {
			return results, i, res.Err
		}
	}
	return results, len(results), err
}

// outcome is what a statement did: the SQLSTATE of its error, or the rows
// it affected, and, for a statement over the whole table, which.
type outcome struct {
	code string
	n    int64
	ids  []int64
}

func (o outcome) String() string {
	if o.code != "" {
		return "error " + o.code
	}
	if o.ids != nil {
		return fmt.Sprintf("%d rows, ids %v", o.n, o.ids)
	}
	return fmt.Sprintf("%d rows", o.n)
}

func (o outcome) equal(p outcome) bool {
	return o.code == p.code && (o.code != "" || o.n == p.n && slices.Equal(o.ids, p.ids))
}

// selectCases compares, for every session, the rows the role selects with
// the evaluator's. The sessions go in one round trip; after an error, the
// rest go again.
func (r *run) selectCases(ctx context.Context, b *bundle, sessions []session, evs []*evaluator) {
	var stmts []string
	for _, sess := range sessions {
		stmts = append(stmts, r.begin(b.role, sess)...)
		stmts = append(stmts, "SELECT id FROM "+b.t.name+" ORDER BY id", "ROLLBACK")
	}
	results, failed, err := r.script(ctx, stmts)
	for i, sess := range sessions {
		var got outcome
		switch {
		case failed >= 0 && failed < 4*i:
			r.selectCases(ctx, b, sessions[i:], evs[i:])
			return
		case failed < 0 || failed > 4*i+2:
			got = selectOutcome(results[4*i+2])
		default:
			got = outcome{code: errCode(err)}
			r.exec(ctx, "ROLLBACK")
		}
		r.compare("select", b, sess, nil, r.expectSelect(b, evs[i]), got)
	}
}

func (r *run) expectSelect(b *bundle, ev *evaluator) outcome {
	rows := ev.rows(b.sel, b.t)
	o := outcome{n: int64(len(rows)), ids: ids(b.t, rows)}
	switch {
	case len(rows) == 0:
		r.outcomes["select:none"]++
	case len(rows) == len(b.t.rows):
		r.outcomes["select:all"]++
	default:
		r.outcomes["select:some"]++
	}
	return o
}

func selectOutcome(res *pgconn.Result) outcome {
	o := outcome{ids: []int64{}}
	for _, row := range res.Rows {
		n, err := parseInt(string(row[0]))
		if err != nil {
			panic(err)
		}
		o.ids = append(o.ids, n)
	}
	o.n = int64(len(o.ids))
	return o
}

func errCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code + " (" + pgErr.Message + ")"
	}
	return err.Error()
}

// codeOnly is the SQLSTATE of an error outcome, without its message.
func codeOnly(code string) string {
	if i := strings.IndexByte(code, ' '); i >= 0 {
		return code[:i]
	}
	return code
}

func (r *run) compare(kind string, b *bundle, sess session, c *writeCase, want, got outcome) {
	r.counts[kind]++
	g := got
	g.code = codeOnly(got.code)
	if want.equal(g) {
		return
	}
	r.mismatches = append(r.mismatches, &mismatch{kind: kind, b: b, sess: sess, c: c, want: want, got: got, installed: r.installed})
}

// checkCoverage fails the test when a run of the default size or more did
// not generate every operator and construct the issue asks for.
func (r *run) checkCoverage() {
	if *casesFlag < 2500 {
		return
	}
	want := []string{
		"_eq", "_neq", "_ne", "_gt", "_lt", "_gte", "_lte", "_in", "_nin", "_like", "_nlike", "_ilike", "_nilike",
		"_similar", "_nsimilar", "_regex", "_nregex", "_iregex", "_niregex", "_is_null", "_contains", "_contained_in",
		"_has_key", "_has_keys_any", "_has_keys_all", "_ceq", "_cne", "_cneq", "_cgt", "_clt", "_cgte", "_clte",
		"$eq", "$in", "$not", "$exists", "_eq/implicit", "_not", "_exists", "_in: []", "_nin: []", "_has_keys: []",
		"rel/object", "rel/array", "rel/object-self", "rel/array-self", "rel/object-composite", "numeric", "_exists/tracked", "rel/membership-chain", "rel/empty",
		"column-ref/root", "var/user", "var/allowed-ids", "var/org-name", "set/var", "set/const",
		"_and/list", "_and/dollar", "_and/merge", "_and/single", "_or/list", "_or/dollar", "_or/single",
		"{}", "_or: []", "_and: []", "column: {}",
	}
	var missing []string
	for _, k := range want {
		if r.g.ops[k] == 0 {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		r.t.Errorf("differential: the run never generated %s", strings.Join(missing, ", "))
	}
	for _, k := range []string{"select:none", "select:some", "select:all", "insert:ok", "insert:42501", "insert:P0002",
		"update:0", "update:1", "update:42501", "delete:0", "delete:1"} {
		if r.outcomes[k] == 0 {
			r.t.Errorf("differential: no case expected outcome %s", k)
		}
	}
	if r.depths[minRuleDepth]+r.depths[minRuleDepth+1]+r.depths[minRuleDepth+2] == 0 {
		r.t.Errorf("differential: no rule of depth ≥ %d", minRuleDepth)
	}
}

// dropRoles drops the roles a run created, once its database is gone.
func mapString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func depthString(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d:%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
