package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgcluster"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/internal/wsclient"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// asMainEnv makes the test binary run as the rowguard command (main) with
// its arguments: a test starts real `rowguard serve` processes that way,
// without building the binary.
const asMainEnv = "ROWGUARD_TEST_AS_MAIN"

func init() {
	if os.Getenv(asMainEnv) == "1" {
		main()
		os.Exit(0)
	}
}

// serveProcess is a `rowguard serve` in a process of its own.
type serveProcess struct {
	url    string // the GraphQL endpoint
	stderr *syncBuffer
}

// startServeProcess starts `rowguard serve args…` as a process of its
// own on a free port and stops it (SIGTERM) when the test ends.
func startServeProcess(t *testing.T, args ...string) *serveProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--host", "127.0.0.1", "--port", "0"}, args...)...)
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	p := &serveProcess{stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("serve (pid %d) did not stop within 20s of SIGTERM", cmd.Process.Pid)
		}
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "serving GraphQL on "); ok {
			p.url = strings.Fields(rest)[0]
			go func() {
				for lines.Scan() {
				}
			}()
			return p
		}
	}
	t.Fatalf("serve did not start: %v\n%s", lines.Err(), p.stderr.String())
	return nil
}

// TestServersShareNothing: two `rowguard serve` processes on one database
// behind PgBouncer in transaction mode, clients of 10 users loading both
// (8 over HTTP, 4 subscribed over WebSocket), and `rowguard migrate up`
// installing a stricter policy version meanwhile. No client sees an error
// (but the subscribers' 1012 closes, after which they reconnect) or a row
// its user may not see under either version; both servers end up serving the new version (by
// --follow-policies, nothing shared between them but the database), and
// once they do, no user sees another's row at all.
func TestServersShareNothing(t *testing.T) {
	super, login, prefix := blogDatabaseWithLogin(t)
	ctx := context.Background()
	db := pgtest.Connect(t, super)
	// 10 users of their own, each with three drafts and one published
	// article, in no organization: under version 1 a user sees their own
	// articles and the published ones, under version 2 their own only.
	if _, err := db.Exec(ctx, `DELETE FROM article_tag; DELETE FROM article;
		INSERT INTO author (id, name) SELECT g, 'user ' || g FROM generate_series(100, 109) g;
		INSERT INTO article (title, published, user_id, creator_id)
		SELECT 'a' || g || '-' || i, i = 3, g, g FROM generate_series(100, 109) g, generate_series(0, 3) i`); err != nil {
		t.Fatal(err)
	}
	b, err := pgcluster.StartPgBouncer(ctx, login, 4)
	if errors.Is(err, pgcluster.ErrNoPgBouncer) {
		t.Skipf("SKIPPED: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	dbName := super[strings.LastIndex(super, "/")+1:]
	if i := strings.IndexByte(dbName, '?'); i >= 0 {
		dbName = dbName[:i]
	}
	// PgBouncer 1.18 cannot keep prepared statements in transaction mode.
	through := b.URL(dbName) + "&default_query_exec_mode=exec"
	key := "a-secret-key-of-at-least-32-bytes!!"
	args := []string{"--database-url", through, "--role-prefix", prefix, "--admin-secret", "s3cret",
		"--jwt-secret", `{"type":"HS256","key":"` + key + `"}`, "--follow-policies", "200ms"}
	servers := []*serveProcess{startServeProcess(t, args...), startServeProcess(t, args...)}
	version := func(s *serveProcess) string {
		_, _, v := getHealth(t, strings.TrimSuffix(s.url, "/v1/graphql"), "")
		return v
	}
	v1 := version(servers[0])
	if v := version(servers[1]); v != v1 || v1 == "" {
		t.Fatalf("the servers serve policy versions %q and %q, want the same", v1, v)
	}

	tokens := make([]string, 10)
	for i := range tokens {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, userClaims(fmt.Sprint(100+i), time.Now().Add(time.Hour))).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = tok
	}
	var reads, foreign, failures atomic.Int64
	var firstProblem atomic.Value
	problem := func(format string, a ...any) {
		firstProblem.CompareAndSwap(nil, fmt.Sprintf(format, a...))
	}
	// strict, once set, makes a published article of another user foreign
	// too (version 2 served by both and committed before the read began).
	var strict atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				user := (c + n) % len(tokens)
				s := servers[(c+n)%2]
				strictNow := strict.Load()
				rows, err := userArticles(client, s.url, tokens[user])
				reads.Add(1)
				if err != nil {
					failures.Add(1)
					problem("user %d on server %d: %v", 100+user, (c+n)%2, err)
					continue
				}
				for _, r := range rows {
					if r.UserID != 100+user && (!r.Published || strictNow) {
						foreign.Add(1)
						problem("user %d saw article %d of user %d (published %v, strict %v)", 100+user, r.ID, r.UserID, r.Published, strictNow)
					}
				}
			}
		}()
	}
	// Subscribers, two on each server: a policy version switch closes
	// their sockets with 1012, and they reconnect (Hasura's documented
	// behaviour); any other close or error is a failure.
	type subscriber struct{ pushes, reconnects atomic.Int64 }
	subs := make([]*subscriber, 4)
	for i := range subs {
		subs[i] = &subscriber{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub, user, s := subs[i], i%len(tokens), servers[i%2]
			for {
				select {
				case <-stop:
					return
				default:
				}
				strictAtConnect := strict.Load()
				dialCtx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				c, err := wsclient.Dial(dialCtx, s.url, map[string]string{"Authorization": "Bearer " + tokens[user]})
				cancel()
				if err == nil {
					err = c.Subscribe(t.Context(), "1", `subscription { article(order_by: {id: asc}) { id user_id published } }`, nil)
				}
				for err == nil {
					var m wsclient.Message
					readCtx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
					m, err = c.Read(readCtx)
					cancel()
					if err != nil {
						break
					}
					if m.Type != "next" {
						err = fmt.Errorf("message %s: %s", m.Type, m.Payload)
						break
					}
					var p struct {
						Data struct{ Article []articleRow }
					}
					if err = json.Unmarshal(m.Payload, &p); err != nil {
						break
					}
					sub.pushes.Add(1)
					for _, r := range p.Data.Article {
						if r.UserID != 100+user && (!r.Published || strictAtConnect) {
							foreign.Add(1)
							problem("subscriber of user %d saw article %d of user %d (published %v)", 100+user, r.ID, r.UserID, r.Published)
						}
					}
				}
				if c != nil {
					c.Close()
				}
				var closed *wsclient.CloseError
				switch {
				case errors.As(err, &closed) && closed.Code == 1012:
					sub.reconnects.Add(1)
				case errors.Is(err, context.DeadlineExceeded):
					// Nothing pushed for a while: look at stop, reconnect.
				default:
					failures.Add(1)
					problem("subscriber of user %d on server %d: %v", 100+user, i%2+1, err)
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	eventually(t, 30*time.Second, "every subscriber has its first result", func() bool {
		for _, sub := range subs {
			if sub.pushes.Load() == 0 {
				return false
			}
		}
		return true
	})
	waitReads := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for start := reads.Load(); reads.Load() < start+n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d reads within 60s", n)
			}
		}
	}
	waitReads(200)
	atInstall := reads.Load()
	if err := migrations.Up(ctx, migrations.Config{
		DatabaseURL: super,
		Migrations:  "../../examples/blog/migrations",
		Metadata:    ownArticlesOnly(t),
		Compile:     compiler.Options{RolePrefix: prefix},
		RLS:         rls.Options{DefinerRole: prefix + "definer", LoginRole: prefix + "server"},
	}); err != nil {
		t.Fatal(err)
	}
	var v2 string
	if err := db.QueryRow(ctx, `SELECT max(version)::text FROM rowguard.policy_migrations`).Scan(&v2); err != nil {
		t.Fatal(err)
	}
	if v2 == v1 {
		t.Fatalf("migrate up did not install a new policy version (%s)", v1)
	}
	eventually(t, 20*time.Second, "both servers serve the new policy version", func() bool {
		return version(servers[0]) == v2 && version(servers[1]) == v2
	})
	strict.Store(true)
	waitReads(200)
	close(stop)
	wg.Wait()
	var pushes, reconnects int64
	for _, sub := range subs {
		pushes += sub.pushes.Load()
		reconnects += sub.reconnects.Load()
	}
	t.Logf("%d reads (%d before the install), %d subscription results, %d reconnects after 1012, %d failed, %d foreign rows; policy version %s → %s on both servers",
		reads.Load(), atInstall, pushes, reconnects, failures.Load(), foreign.Load(), v1, v2)
	// Subscribers i and i+2 are on server i+1. (One that was between two
	// connections when its server switched has nothing to close.)
	for i := range servers {
		if subs[i].reconnects.Load()+subs[i+2].reconnects.Load() == 0 {
			t.Errorf("no subscriber of server %d was closed with 1012 when it switched versions", i+1)
		}
	}
	if failures.Load() > 0 || foreign.Load() > 0 {
		t.Fatalf("%d failed reads, %d foreign rows; first: %v\nserver 1 log:\n%s\nserver 2 log:\n%s", failures.Load(), foreign.Load(), firstProblem.Load(),
			lastBytes(servers[0].stderr.String(), 3000), lastBytes(servers[1].stderr.String(), 3000))
	}
	// The schema is the new version's too: it no longer has content.
	for i, s := range servers {
		out := post(t, s.url, `{ article { id content } }`, "Authorization", "Bearer "+tokens[0])
		if _, ok := out["errors"]; !ok {
			t.Errorf("server %d still offers article.content to role user: %v", i+1, out)
		}
	}
	for i, s := range servers {
		if !strings.Contains(s.stderr.String(), "serving the newly installed policy version") {
			t.Errorf("server %d did not log the switch:\n%s", i+1, lastBytes(s.stderr.String(), 2000))
		}
	}
}

// articleRow is what TestServersShareNothing reads of an article.
type articleRow struct {
	ID        int  `json:"id"`
	UserID    int  `json:"user_id"`
	Published bool `json:"published"`
}

// userArticles reads the articles the bearer of token may see through
// url; a GraphQL error is an error.
func userArticles(client *http.Client, url, token string) ([]articleRow, error) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"query":"{ article(order_by: {id: asc}) { id user_id published } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Article []articleRow
		}
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if len(out.Errors) > 0 {
		return nil, fmt.Errorf("status %d, errors %v", resp.StatusCode, out.Errors)
	}
	return out.Data.Article, nil
}

// ownArticlesOnly copies examples/blog/metadata with role user's select
// permission on article narrowed to the user's own articles and fewer
// columns (no content).
func ownArticlesOnly(t *testing.T) string {
	t.Helper()
	dir := changedBlogMetadata(t)
	p := filepath.Join(dir, "databases/default/tables/public_article.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	old := `  - role: user
    permission:
      columns: "*"
      filter:
        _or:
          - user_id: {_eq: X-Hasura-User-Id}
          - published: {_eq: true}
          - creator_id: {_eq: X-Hasura-User-Id}
          - organization:
              members:
                member_id: {_eq: X-Hasura-User-Id}
`
	s := strings.Replace(string(b), old, `  - role: user
    permission:
      columns: [id, title, published, user_id, organization_id]
      filter:
        user_id: {_eq: X-Hasura-User-Id}
`, 1)
	if s == string(b) {
		t.Fatalf("%s: role user's select permission is not the one this test narrows any more", p)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lastBytes returns the last n bytes of s.
func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// TestFollowPoliciesFlags: --follow-policies serves the installed
// metadata, so it refuses --metadata, and a negative interval.
func TestFollowPoliciesFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--metadata", "../../examples/blog/metadata", "--follow-policies", "1s"}, "drop --metadata"},
		{[]string{"--follow-policies", "-1s"}, "must not be negative"},
	} {
		err := runServe(context.Background(), append([]string{"--database-url", "postgres://nobody@127.0.0.1:1/none"}, tc.args...), io.Discard)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want a usage error saying %q", tc.args, err, tc.want)
		}
	}
}
