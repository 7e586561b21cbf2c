package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/claims"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/migrations"
)

// demoClaimsRole is the role whose rule reads the custom claim
// (examples/blog: org_viewer sees the articles of
// X-Hasura-Allowed-Organizations).
const demoClaimsRole = "org_viewer"

// demoFresh is the custom-claims part of the demo: a user's claims as an
// auth service puts them in the token at sign-in, and a second server that
// computes them per request (serve --fresh-claims).
type demoFresh struct {
	source string // where the claims are configured
	paths  string // key = path, for the heading
	userID string
	values claims.Values
	addr   string
}

// newDemoFresh computes the claims of userID from the installed metadata
// with claims.Namespace, on conn (the superuser: it reads every table),
// as `rowguard claims --user-id` prints them.
func newDemoFresh(ctx context.Context, conn *pgx.Conn, cfg *claims.Config, opts compiler.Options, addr, userID string) (*demoFresh, error) {
	prog, err := migrations.LoadProgram(ctx, conn, "", opts)
	if err != nil {
		return nil, err
	}
	comp, err := claims.Compile(cfg, prog, prog.Catalog)
	if err != nil {
		return nil, err
	}
	vals, err := claims.Namespace(ctx, conn, comp, userID)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, c := range comp.Claims {
		paths = append(paths, c.Var+" = "+c.Path.Text)
	}
	return &demoFresh{source: cfg.Source, paths: strings.Join(paths, ", "), userID: userID, values: vals, addr: addr}, nil
}

// start serves a second GraphQL server with fresh claims beside api's
// (same pool, program and authentication), and appends the revocation to
// api's calls: the user, holding a token with her claims, reads through
// both servers; the admin removes her membership of organization 1; she
// reads through both again with the same token.
func (f *demoFresh) start(ctx context.Context, api *demoAPI, cfg graphql.Config, key string, stdout io.Writer) error {
	vars, err := claims.InstalledVars(ctx, cfg.Pool)
	if err != nil {
		return err
	}
	cfg.FreshClaims = &graphql.FreshClaims{Vars: vars, Function: claims.Function}
	srv, err := graphql.NewServer(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --fresh-listen)", f.addr, err)
	}
	freshURL := "http://" + ln.Addr().String() + "/v1/graphql"
	token, err := demoClaimsToken(key, f.userID, f.values, time.Now().Add(15*time.Minute))
	if err != nil {
		ln.Close()
		return err
	}
	first := api.serve
	api.serve = func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		second := make(chan error, 1)
		go func() { second <- serveHTTP(ctx, ln, demoHTTPServer(srv), io.Discard) }()
		err := first(ctx)
		cancel()
		if err2 := <-second; err == nil {
			err = err2
		}
		return err
	}
	bearer := [][2]string{{"Authorization", "Bearer " + token}}
	const q = `{ article(order_by: {id: asc}) { id title organization_id } }`
	var claimed []string
	for _, k := range slices.Sorted(maps.Keys(f.values)) {
		claimed = append(claimed, fmt.Sprintf("%s: %s", k, f.values[k]))
	}
	api.calls = append(api.calls,
		demoCall{who: "user 1 (Alice) as " + demoClaimsRole + ", token claims (" + api.url + ")", headers: bearer, query: q,
			heading: fmt.Sprintf("Custom claims (%s: %s), both modes. Alice's token (valid 15 minutes, as Nhost issues them) carries what `rowguard claims --user-id %s` prints: %s.\n"+
				"Server %s takes the claim from the token (as Hasura does); server %s runs with --fresh-claims: rowguard.rg_claims computes it in each request's transaction.",
				f.source, f.paths, f.userID, strings.Join(claimed, ", "), api.url, freshURL)},
		demoCall{who: "user 1 (Alice) as " + demoClaimsRole + ", --fresh-claims (" + freshURL + ")", headers: bearer, query: q, url: freshURL},
		demoCall{who: "admin: Alice leaves organization 1 mid-session (her token is unchanged)", headers: [][2]string{{"X-Hasura-Admin-Secret", demoAdminSecret}},
			query: `mutation { delete_organization_member(where: {organization_id: {_eq: 1}, member_id: {_eq: 1}}) { affected_rows } }`},
		demoCall{who: "user 1 (Alice), the same token, token claims: the stale grant lasts until the token is refreshed", headers: bearer, query: q},
		demoCall{who: "user 1 (Alice), the same token, --fresh-claims: the membership is gone for the very next request", headers: bearer, query: q, url: freshURL},
	)
	fmt.Fprintf(stdout, "Second GraphQL server, with --fresh-claims (%s), on %s\n", strings.Join(vars, ", "), freshURL)
	return nil
}

// demoClaimsToken signs a Hasura JWT for role org_viewer carrying the
// custom claims an auth service computed at sign-in.
func demoClaimsToken(key, userID string, vals claims.Values, exp time.Time) (string, error) {
	hasura := map[string]any{
		"x-hasura-allowed-roles": []string{demoClaimsRole},
		"x-hasura-default-role":  demoClaimsRole,
		"x-hasura-user-id":       userID,
	}
	for k, v := range vals {
		hasura[k] = v
	}
	claims := jwt.MapClaims{"sub": userID, "exp": exp.Unix(), "https://hasura.io/jwt/claims": hasura}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
}
