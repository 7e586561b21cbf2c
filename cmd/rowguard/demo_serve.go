package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/migrations"
)

// demoAdminSecret is the demo server's admin secret. It protects nothing
// real: the demo serves a throwaway database on loopback only.
const demoAdminSecret = "rowguard-demo-secret"

// demoCall is one GraphQL request the demo makes, and prints as curl.
type demoCall struct {
	who     string
	headers [][2]string
	query   string
	// url is the server it goes to; "" for the demo's first server.
	url string
	// heading, when set, is printed before the call.
	heading string
}

// demoAPI is the demo's running GraphQL server.
type demoAPI struct {
	url   string // http://host:port/v1/graphql
	calls []demoCall
	serve func(ctx context.Context) error
	close func()
}

// startDemoAPI serves the installed demo database on loopback with an admin
// secret, HS256 JWTs signed with a fresh random key, and `anonymous` as
// the unauthorized role, and prepares one request per kind of caller.
// With fresh (custom claims configured), a second server computes the
// claims per request, and the demo revokes a membership mid-session.
func startDemoAPI(ctx context.Context, dbURL string, opts compiler.Options, addr string, fresh *demoFresh, stdout io.Writer) (*demoAPI, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	secret := hex.EncodeToString(key)
	jwtConfig := fmt.Sprintf(`{"type":"HS256","key":%q}`, secret)
	jcfg, err := auth.ParseJWTConfig(jwtConfig)
	if err != nil {
		return nil, err
	}
	authn, err := auth.New(auth.Config{AdminSecret: demoAdminSecret, JWT: jcfg, UnauthorizedRole: "anonymous"})
	if err != nil {
		return nil, err
	}
	pool, err := graphql.NewPool(ctx, dbURL)
	if err != nil {
		authn.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	closeAll := func() { pool.Close(); authn.Close() }
	prog, err := migrations.LoadProgram(ctx, pool, "", opts)
	if err != nil {
		closeAll()
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := graphql.NewServer(ctx, graphql.Config{Pool: pool, Program: prog, Auth: authn, Version: version, Log: log})
	if err != nil {
		closeAll()
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("listen on %s: %w (choose another with --listen)", addr, err)
	}
	token, err := demoToken(secret, "1", time.Now().Add(24*time.Hour))
	if err != nil {
		closeAll()
		ln.Close()
		return nil, err
	}
	api := &demoAPI{
		url: "http://" + ln.Addr().String() + "/v1/graphql",
		calls: []demoCall{
			{who: "anonymous (no credentials: the unauthorized role)",
				query: `{ article(order_by: {id: asc}) { id title author { name } } }`},
			{who: "user 1 (Alice), with a JWT", headers: [][2]string{{"Authorization", "Bearer " + token}},
				query: `{ article(order_by: {id: asc}) { id title published organization { name } } }`},
			{who: "user 1 (Alice) inserting an article: user_id is preset from her token", headers: [][2]string{{"Authorization", "Bearer " + token}},
				query: `mutation { insert_article_one(object: {title: "Alice via GraphQL"}) { title published user_id } }`},
			{who: "admin, with the admin secret", headers: [][2]string{{"X-Hasura-Admin-Secret", demoAdminSecret}},
				query: `{ article_aggregate { aggregate { count } } author(order_by: {id: asc}) { id name email } }`},
			{who: "anonymous asking for a column its role cannot see",
				query: `{ author { id name email } }`},
		},
		serve: func(ctx context.Context) error {
			return serveHTTP(ctx, ln, demoHTTPServer(srv), stdout)
		},
		close: closeAll,
	}
	if fresh != nil {
		gcfg := graphql.Config{Pool: pool, Program: prog, Auth: authn, Version: version, Log: log}
		if err := fresh.start(ctx, api, gcfg, secret, stdout); err != nil {
			closeAll()
			ln.Close()
			return nil, err
		}
	}
	fmt.Fprintf(stdout, "\nJWT config of this server (HASURA_GRAPHQL_JWT_SECRET): %s\n", jwtConfig)
	return api, nil
}

// demoToken signs a Hasura JWT for role user with the given user id.
func demoToken(key, userID string, exp time.Time) (string, error) {
	claims := jwt.MapClaims{
		"sub": userID,
		"exp": exp.Unix(),
		"https://hasura.io/jwt/claims": map[string]any{
			"x-hasura-allowed-roles": []string{"user", "anonymous"},
			"x-hasura-default-role":  "user",
			"x-hasura-user-id":       userID,
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
}

// curl renders c as a command to paste into a shell.
func (c demoCall) curl(url string) string {
	body, _ := json.Marshal(map[string]string{"query": c.query})
	var b strings.Builder
	fmt.Fprintf(&b, "curl -s %s", url)
	for _, h := range c.headers {
		fmt.Fprintf(&b, " \\\n  -H '%s: %s'", h[0], h[1])
	}
	fmt.Fprintf(&b, " \\\n  -d '%s'", body)
	return b.String()
}

// do sends c to url and returns the response body.
func (c demoCall) do(ctx context.Context, url string) (string, error) {
	body, _ := json.Marshal(map[string]string{"query": c.query})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range c.headers {
		req.Header.Set(h[0], h[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return string(out), err
}

// run serves the API, sends every demo call and prints it as curl with its
// answer; with keepServing it then serves until ctx ends (Ctrl-C).
func (a *demoAPI) run(ctx context.Context, stdout io.Writer, keepServing bool) error {
	defer a.close()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- a.serve(sctx) }()

	fmt.Fprintf(stdout, "\nGraphQL API on %s — the same policies, now over HTTP:\n", a.url)
	for _, c := range a.calls {
		url := c.url
		if url == "" {
			url = a.url
		}
		if c.heading != "" {
			fmt.Fprintf(stdout, "\n%s\n", c.heading)
		}
		fmt.Fprintf(stdout, "\n# as %s\n%s\n", c.who, c.curl(url))
		out, err := c.do(ctx, url)
		if err != nil {
			stop()
			<-served
			return fmt.Errorf("demo request as %s: %w", c.who, err)
		}
		fmt.Fprintf(stdout, "=> %s\n", strings.TrimSpace(out))
	}
	if keepServing {
		fmt.Fprintf(stdout, "\nServing until Ctrl-C; paste the curl commands above into another shell.\n")
	} else {
		stop()
	}
	return <-served
}

// demoHTTPServer is the http.Server of the demo's servers: serve's default
// timeouts around h.
func demoHTTPServer(h http.Handler) *http.Server {
	return (&httpTimeouts{Read: defaultReadTimeout, Write: defaultWriteTimeout, Idle: defaultIdleTimeout}).server(h)
}
