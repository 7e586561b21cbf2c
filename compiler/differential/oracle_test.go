package differential

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// TestEvaluatorPrimitives checks the evaluator's own building blocks —
// LIKE, ILIKE, SIMILAR TO and regex matching on the generator's patterns,
// text order, jsonb @>, ?, ?|, ?& and = on the generator's values — against
// PostgreSQL directly, without the compiler. A disagreement here is a bug
// of the evaluator or the generator, never of rowguard; with this test
// green, a mismatch in TestDifferential points at the pipeline.
func TestEvaluatorPrimitives(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	seed := *seedFlag
	if seed == 0 {
		seed = rand.Uint64() >> 1
	}
	t.Logf("seed %d", seed)
	g := &gen{dataGen: dataGen{rand.New(rand.NewPCG(seed, 7))}, s: newSchema(), ops: map[string]int{}}
	ev := newEvaluator(g.s, session{})
	const n = 3000

	var subjects, likes, similars, similarREs, regexes []string
	for range n {
		subjects = append(subjects, g.text())
		if g.chance(0.2) {
			p := plainText()
			likes = append(likes, p[g.pick(len(p))])
		} else {
			likes = append(likes, g.likePattern())
		}
		p, re := g.similarPattern()
		similars, similarREs = append(similars, p), append(similarREs, re)
		// Match the regex against a string it was often cut from.
		regexes = append(regexes, g.regexPattern())
	}
	rows, err := conn.Query(ctx, `
		SELECT s COLLATE "C" LIKE l, s COLLATE "C" ILIKE l, s COLLATE "C" SIMILAR TO m,
		       s COLLATE "C" ~ x, s COLLATE "C" ~* x, s COLLATE "C" < l, s COLLATE "C" = l
		  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(s, l, m, x, i)
		 ORDER BY i`, subjects, likes, similars, regexes)
	if err != nil {
		t.Fatal(err)
	}
	i, bad := 0, 0
	fail := func(what, s, p string, pg, goVal bool) {
		if bad++; bad <= 20 {
			t.Errorf("%s: %q against %q: PostgreSQL says %v, the evaluator %v", what, s, p, pg, goVal)
		}
	}
	for rows.Next() {
		var like, ilike, similar, re, ire, less, eq bool
		if err := rows.Scan(&like, &ilike, &similar, &re, &ire, &less, &eq); err != nil {
			t.Fatal(err)
		}
		s := subjects[i]
		if got := ev.re(likeRegexp(likes[i], false)).MatchString(s); got != like {
			fail("LIKE", s, likes[i], like, got)
		}
		if got := ev.re(likeRegexp(likes[i], true)).MatchString(foldIf(s, true)); got != ilike {
			fail("ILIKE", s, likes[i], ilike, got)
		}
		if got := ev.re(similarREs[i]).MatchString(s); got != similar {
			fail("SIMILAR TO", s, similars[i], similar, got)
		}
		if got := ev.re(regexes[i]).MatchString(s); got != re {
			fail("~", s, regexes[i], re, got)
		}
		if got := ev.re("(?i)" + regexes[i]).MatchString(s); got != ire {
			fail("~*", s, regexes[i], ire, got)
		}
		if got := order("_lt", s, likes[i]) == vTrue; got != less {
			fail("<", s, likes[i], less, got)
		}
		if got := order("_eq", s, likes[i]) == vTrue; got != eq {
			fail("=", s, likes[i], eq, got)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("%d rows, want %d", i, n)
	}

	var lefts, rights, keys []string
	var lv, rv []any
	var keyLists [][]string
	for range n {
		l := g.rootJSON().V
		var r any
		switch g.pick(3) {
		case 0:
			r = g.subset(l)
		case 1:
			r = g.superset(l)
		default:
			r = g.rootJSON().V
		}
		lv, rv = append(lv, l), append(rv, r)
		lefts, rights = append(lefts, jsonText(l)), append(rights, jsonText(r))
		keys = append(keys, jsonKeys[g.pick(len(jsonKeys))])
		var kl []string
		for range g.pick(3) {
			kl = append(kl, []string{"a", "b", "x", "zz"}[g.pick(4)])
		}
		keyLists = append(keyLists, kl)
	}
	klText := make([]string, n)
	for i, kl := range keyLists {
		klText[i] = "{" + strings.Join(kl, ",") + "}"
	}
	rows, err = conn.Query(ctx, `
		SELECT l::jsonb @> r::jsonb, l::jsonb <@ r::jsonb, l::jsonb ? k, l::jsonb ?| kl::text[], l::jsonb ?& kl::text[], l::jsonb = r::jsonb
		  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(l, r, k, kl, i)
		 ORDER BY i`, lefts, rights, keys, klText)
	if err != nil {
		t.Fatal(err)
	}
	i = 0
	for rows.Next() {
		var contains, containedIn, has, hasAny, hasAll, eq bool
		if err := rows.Scan(&contains, &containedIn, &has, &hasAny, &hasAll, &eq); err != nil {
			t.Fatal(err)
		}
		l, r := lv[i], rv[i]
		if got := jsonContains(l, r); got != contains {
			fail("@>", lefts[i], rights[i], contains, got)
		}
		if got := jsonContains(r, l); got != containedIn {
			fail("<@", lefts[i], rights[i], containedIn, got)
		}
		if got := jsonHasKey(l, keys[i]); got != has {
			fail("?", lefts[i], keys[i], has, got)
		}
		nAny := 0
		for _, k := range keyLists[i] {
			if jsonHasKey(l, k) {
				nAny++
			}
		}
		if got := nAny > 0; got != hasAny {
			fail("?|", lefts[i], klText[i], hasAny, got)
		}
		if got := nAny == len(keyLists[i]); got != hasAll {
			fail("?&", lefts[i], klText[i], hasAll, got)
		}
		if got := jsonEqual(l, r); got != eq {
			fail("jsonb =", lefts[i], rights[i], eq, got)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if bad > 0 {
		t.Errorf("%d disagreements", bad)
	}
}
