package differential

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// mismatch is a case on which PostgreSQL and the evaluator disagree.
type mismatch struct {
	kind      string // select, insert, update, delete
	b         *bundle
	sess      session
	c         *writeCase // nil for select
	want, got outcome
	installed string // the metadata installed when it was seen
}

// report fails the test with a readable account of the first mismatches;
// the first is shrunk to a minimal rule first.
func (r *run) report(ctx context.Context) {
	var texts []string
	for i, m := range r.mismatches {
		if i == maxMismatchRept {
			break
		}
		texts = append(texts, r.describe(ctx, m))
	}
	first := r.mismatches[0]
	small, tries := r.shrink(ctx, first)
	shrunk := ""
	if err := r.install(ctx, []*bundle{small.b}); err == nil {
		shrunk = fmt.Sprintf("\n=== the first mismatch, shrunk (%d reinstalls) ===\n%s\nmetadata of the shrunk case:\n%s",
			tries, r.describe(ctx, small), r.installed)
	}
	r.t.Errorf("differential: %d mismatches\n\n%s%s", len(r.mismatches), strings.Join(texts, "\n\n"), shrunk)
}

// slot is one rule of a bundle that a mismatch depends on.
type slot struct {
	name string
	get  func(*bundle) expr
	set  func(*bundle, expr)
}

func slotsOf(kind string) []slot {
	switch kind {
	case "select":
		return []slot{{"select filter", func(b *bundle) expr { return b.sel }, func(b *bundle, e expr) { b.sel = e }}}
	case "insert":
		return []slot{{"insert check", func(b *bundle) expr { return b.ins }, func(b *bundle, e expr) { b.ins = e }}}
	case "update":
		return []slot{
			{"update filter", func(b *bundle) expr { return b.upd }, func(b *bundle, e expr) { b.upd = e }},
			{"update check", func(b *bundle) expr { return b.updCheck }, func(b *bundle, e expr) { b.updCheck = e }},
		}
	}
	return []slot{{"delete filter", func(b *bundle) expr { return b.del }, func(b *bundle, e expr) { b.del = e }}}
}

// only returns a copy of b with just the permissions a case of kind needs.
func (b *bundle) only(kind string) *bundle {
	out := &bundle{role: b.role, t: b.t, sel: b.sel}
	switch kind {
	case "insert":
		out.ins, out.insSet = b.ins, b.insSet
	case "update":
		out.upd, out.updCheck, out.updSet, out.hasUpd = b.upd, b.updCheck, b.updSet, true
	case "delete":
		out.del = b.del
	}
	return out
}

func (b *bundle) clone() *bundle {
	c := *b
	return &c
}

// shrink looks for a smaller bundle on which the case still fails: one rule
// simplified a step at a time (see simpler), presets dropped, reinstalling
// each candidate alone.
func (r *run) shrink(ctx context.Context, m *mismatch) (*mismatch, int) {
	cur, tries := m, 0
	if m2 := r.recheck(ctx, m.b.only(m.kind), m); m2 != nil {
		cur = m2
	}
	deadline := time.Now().Add(90 * time.Second)
	for progress := true; progress; {
		progress = false
		var cands []*bundle
		for _, sl := range slotsOf(cur.kind) {
			e := sl.get(cur.b)
			if e == nil {
				continue
			}
			if sl.name == "update check" {
				nb := cur.b.clone()
				nb.updCheck = nil
				cands = append(cands, nb)
			}
			alts := simpler(e)
			sort.SliceStable(alts, func(i, j int) bool { return size(alts[i]) < size(alts[j]) })
			for _, alt := range alts {
				nb := cur.b.clone()
				sl.set(nb, alt)
				cands = append(cands, nb)
			}
		}
		for _, field := range []*[]preset{&cur.b.insSet, &cur.b.updSet} {
			if len(*field) > 0 {
				nb := cur.b.clone()
				if field == &cur.b.insSet {
					nb.insSet = nil
				} else {
					nb.updSet = nil
				}
				cands = append([]*bundle{nb}, cands...)
			}
		}
		for _, nb := range cands {
			if tries >= 400 || time.Now().After(deadline) {
				return cur, tries
			}
			tries++
			if m2 := r.recheck(ctx, nb, cur); m2 != nil {
				cur, progress = m2, true
				break
			}
		}
	}
	return cur, tries
}

// recheck installs b alone and runs m's case again; it returns the
// mismatch when the case still fails.
func (r *run) recheck(ctx context.Context, b *bundle, m *mismatch) *mismatch {
	if err := r.install(ctx, []*bundle{b}); err != nil {
		r.t.Logf("shrink: a candidate does not install: %v", err)
		return nil
	}
	ev := newEvaluator(r.s, m.sess)
	var want, got outcome
	if m.kind == "select" {
		want = outcome{ids: ids(b.t, ev.rows(b.sel, b.t))}
		want.n = int64(len(want.ids))
		stmts := append(r.begin(b.role, m.sess), "SELECT id FROM "+b.t.name+" ORDER BY id", "ROLLBACK")
		results, failed, err := r.script(ctx, stmts)
		if failed >= 0 {
			got = outcome{code: errCode(err)}
			r.exec(ctx, "ROLLBACK")
		} else {
			got = selectOutcome(results[2])
		}
	} else {
		want = r.expectWrite(b, m.c, ev, false)
		if _, failed, err := r.script(ctx, append(r.begin(b.role, m.sess), "SAVEPOINT c")); failed >= 0 {
			r.t.Fatalf("open a transaction as %s: %v", b.role, err)
		}
		got = r.runCase(ctx, m.c)
		r.exec(ctx, "ROLLBACK")
	}
	g := got
	g.code = codeOnly(g.code)
	if want.equal(g) {
		return nil
	}
	return &mismatch{kind: m.kind, b: b, sess: m.sess, c: m.c, want: want, got: got, installed: r.installed}
}

var helperName = regexp.MustCompile(`rowguard\."?(rg_[a-z]+_[0-9a-f]+)`)

// describe renders a mismatch: the rules, the session, the statement, the
// rows expected and got, the installed policies and helpers, and the data
// the rules read.
func (r *run) describe(ctx context.Context, m *mismatch) string {
	var b strings.Builder
	t := m.b.t
	fmt.Fprintf(&b, "%s on %s as Hasura role %s (PostgreSQL role %s)\n", m.kind, t.name, m.b.role, r.pgRole(m.b.role))
	fmt.Fprintf(&b, "session: %s\n", m.sess)
	read := map[*table]bool{}
	for _, sl := range slotsOf(m.kind) {
		if e := sl.get(m.b); e != nil {
			fmt.Fprintf(&b, "%s: %s\n", sl.name, ruleJSON(e))
			tablesOf(e, read)
		} else {
			fmt.Fprintf(&b, "%s: none\n", sl.name)
		}
	}
	if set := m.b.insSet; m.kind == "insert" && len(set) > 0 {
		fmt.Fprintf(&b, "insert set: %s\n", withSet(nil, set)[0].val)
	}
	if set := m.b.updSet; m.kind == "update" && len(set) > 0 {
		fmt.Fprintf(&b, "update set: %s\n", withSet(nil, set)[0].val)
	}
	if m.c != nil {
		stmt, readback := m.c.sql()
		fmt.Fprintf(&b, "statement: %s\n", stmt)
		if readback != "" {
			fmt.Fprintf(&b, "read back with: %s\n", readback)
		}
		switch m.c.kind {
		case "insert":
			fmt.Fprintf(&b, "new row: %s\n", showRow(t, m.c.row))
		case "update-row", "delete-row":
			fmt.Fprintf(&b, "row: %s\n", showRow(t, t.rows[m.c.target]))
		}
	}
	fmt.Fprintf(&b, "expected (evaluator): %s\n", m.want)
	fmt.Fprintf(&b, "got (PostgreSQL):     %s\n", m.got)
	if m.want.code == "" && m.got.code == "" && m.want.ids != nil {
		for _, id := range symmetricDiff(m.want.ids, m.got.ids) {
			side := "only expected"
			if slices.Contains(m.got.ids, id) {
				side = "only got"
			}
			fmt.Fprintf(&b, "  %s: %s\n", side, showRow(t, t.rows[id-1]))
		}
	}
	b.WriteString(r.policies(ctx, t, r.pgRole(m.b.role)))
	for _, rt := range r.s.tables {
		if read[rt] && rt != t {
			fmt.Fprintf(&b, "rows of %s:\n", rt.name)
			for _, row := range rt.rows {
				fmt.Fprintf(&b, "  %s\n", showRow(rt, row))
			}
		}
	}
	return b.String()
}

// policies returns the installed policies of a role on a table and the
// helpers they call, as PostgreSQL shows them.
func (r *run) policies(ctx context.Context, t *table, role string) string {
	var b strings.Builder
	rows, err := r.conn.Query(ctx, `SELECT policyname, cmd, coalesce(qual, ''), coalesce(with_check, '')
		FROM pg_policies WHERE tablename = $1 AND $2 = ANY (roles) ORDER BY policyname`, t.name, role)
	if err != nil {
		return "pg_policies: " + err.Error() + "\n"
	}
	helpers := map[string]bool{}
	for rows.Next() {
		var name, cmd, qual, check string
		if err := rows.Scan(&name, &cmd, &qual, &check); err != nil {
			return "pg_policies: " + err.Error() + "\n"
		}
		fmt.Fprintf(&b, "policy %s FOR %s", name, cmd)
		if qual != "" {
			fmt.Fprintf(&b, "\n  USING (%s)", qual)
		}
		if check != "" {
			fmt.Fprintf(&b, "\n  WITH CHECK (%s)", check)
		}
		b.WriteString("\n")
		for _, m := range helperName.FindAllStringSubmatch(qual+" "+check, -1) {
			helpers[m[1]] = true
		}
	}
	rows.Close()
	names := make([]string, 0, len(helpers))
	for n := range helpers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var def string
		err := r.conn.QueryRow(ctx, `SELECT pg_get_functiondef(p.oid) FROM pg_proc p
			JOIN pg_namespace ns ON ns.oid = p.pronamespace WHERE ns.nspname = 'rowguard' AND p.proname = $1`, n).Scan(&def)
		if err != nil {
			def = err.Error()
		}
		fmt.Fprintf(&b, "helper %s:\n%s\n", n, strings.TrimSpace(def))
	}
	return b.String()
}

func symmetricDiff(a, b []int64) []int64 {
	var out []int64
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}
