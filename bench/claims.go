package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rowguard/rowguard/claims"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/migrations"
)

// claimsRounds is how many times each mode runs, alternating, so that a
// burst of load from other processes hits both alike.
const claimsRounds = 4

// claimsReport compares the membership query of role member, whose rule
// reads the custom claim x-hasura-org-ids (bench/rowguard_claims.json),
// with the claim taken from the token and computed per request
// (serve --fresh-claims).
type claimsReport struct {
	cfg          config
	started      time.Time
	loadStart    string
	orgIDs       string
	query        string
	token, fresh []result
}

// measureClaims runs the comparison: two servers on the same database,
// the same token (its claim computed by claims.Namespace, as an auth
// service would at sign-in), the membership query, alternating runs.
func (e *environment) measureClaims(ctx context.Context) (*claimsReport, error) {
	rep := &claimsReport{cfg: e.cfg, started: time.Now(), loadStart: loadAverage()}
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
	var q benchQuery
	for _, x := range queries(e.cfg.data) {
		if x.Name == "membership" {
			q = x
		}
	}
	rep.query = q.User
	script, err := filepath.Abs("bench/wrk/post.lua")
	if err != nil {
		return nil, err
	}
	logf("claims: starting rowguard serve and rowguard serve --fresh-claims")
	tokSrv, err := rowguardServe(ctx, e.bin, e.pooled(), rolePrefix, adminSecret, e.jwtCfg)
	if err != nil {
		return nil, err
	}
	defer tokSrv.Stop()
	freshSrv, err := rowguardServe(ctx, e.bin, e.pooled(), rolePrefix, adminSecret, e.jwtCfg, "--fresh-claims")
	if err != nil {
		return nil, err
	}
	defer freshSrv.Stop()
	header := "Authorization: Bearer " + token
	a, err := postGraphQL(ctx, tokSrv.URL, body(q.User), header)
	if err != nil {
		return nil, err
	}
	b, err := postGraphQL(ctx, freshSrv.URL, body(q.User), header)
	if err != nil {
		return nil, err
	}
	if a != b || !strings.Contains(a, `"id"`) {
		return nil, fmt.Errorf("claims: the two modes answer differently or with no rows:\ntoken: %.300s\nfresh: %.300s", a, b)
	}
	type mode struct {
		name string
		srv  *server
		into *[]result
	}
	for i := range claimsRounds {
		modes := []mode{{"token claims", tokSrv, &rep.token}, {"fresh claims", freshSrv, &rep.fresh}}
		if i%2 == 1 {
			// Each mode goes first in turn: no mode always follows the other.
			modes[0], modes[1] = modes[1], modes[0]
		}
		for _, m := range modes {
			logf("claims: %s, round %d of %d", m.name, i+1, claimsRounds)
			r := e.wrk(ctx, script, m.srv, load{URL: m.srv.URL, Body: body(q.User), Header: header})
			if !r.ok() {
				return nil, fmt.Errorf("claims: %s: %s", m.name, r.err)
			}
			*m.into = append(*m.into, *r.res)
		}
	}
	return rep, nil
}

// median returns the run with the median requests per second.
func median(rs []result) result {
	s := append([]result(nil), rs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j].RPS < s[i].RPS {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// markdown renders the comparison; the target is fresh claims at most 10%
// slower than token claims (median of the rounds).
func (r *claimsReport) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# rowguard benchmark: fresh claims vs token claims, %s\n\n", r.started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Dataset: %d users, %d organizations, %d memberships each, %d articles. wrk: %d connections, %d threads, %s per run, %d alternating rounds per mode; server pool %d. Load average at start: %s.\n\n",
		r.cfg.data.Users, r.cfg.data.Orgs, r.cfg.data.Memberships, r.cfg.data.Articles, r.cfg.conns, r.cfg.threads, r.cfg.duration, claimsRounds, r.cfg.conns, r.loadStart)
	fmt.Fprintf(&b, "Role `member`: an article is visible to its author or when `org_id` is in the custom claim `x-hasura-org-ids` (`memberships[].org_id` from `public.users`, bench/rowguard_claims.json); user 1's value: `%s`.\n\n", r.orgIDs)
	fmt.Fprintf(&b, "Query (membership): `%s`\n\n", r.query)
	b.WriteString("| mode | req/s (median) | p50 | p99 | runs (req/s) |\n|---|---:|---:|---:|---|\n")
	row := func(name string, rs []result) result {
		m := median(rs)
		var all []string
		for _, x := range rs {
			all = append(all, fmt.Sprintf("%.0f", x.RPS))
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s |\n", name, m.RPS, m.P50.Round(10*time.Microsecond), m.P99.Round(10*time.Microsecond), strings.Join(all, ", "))
		return m
	}
	t := row("token claims (the token's `x-hasura-org-ids`)", r.token)
	f := row("`serve --fresh-claims` (computed per request by `rowguard.rg_claims`)", r.fresh)
	ratio := f.RPS / t.RPS
	verdict := "met"
	if ratio < 0.9 {
		verdict = "missed"
	}
	fmt.Fprintf(&b, "\nFresh claims run at %.2f× the token-claims throughput: target (at most 10%% slower) %s.\n", ratio, verdict)
	return b.String()
}
