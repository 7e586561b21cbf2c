package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// blogDatabaseWithLogin installs examples/blog in a fresh database, makes a
// login role for the server as README describes, and returns the
// superuser's and the login role's URLs and the role prefix.
func blogDatabaseWithLogin(t *testing.T) (superuser, login, prefix string) {
	t.Helper()
	n := newDemoNames(t)
	ctx := context.Background()
	url, _, err := freshDatabase(ctx, pgtest.ServerURL(t), n.database)
	if err != nil {
		t.Fatal(err)
	}
	loginRole := n.prefix + "server"
	conn := pgtest.Connect(t, url)
	if _, err := conn.Exec(ctx, "CREATE ROLE "+compiler.QuoteIdent(loginRole)+" LOGIN NOINHERIT PASSWORD 'pw'"); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(ctx, migrations.Config{
		DatabaseURL: url,
		Migrations:  "../../examples/blog/migrations",
		Metadata:    "../../examples/blog/metadata",
		Compile:     compiler.Options{RolePrefix: n.prefix},
		RLS:         rls.Options{DefinerRole: n.definer, LoginRole: loginRole},
	}); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	login = fmt.Sprintf("postgres://%s:pw@%s:%d/%s?sslmode=disable", loginRole, cfg.Host, cfg.Port, cfg.Database)
	return url, login, n.prefix
}

// startServe runs `rowguard serve` with args on a free port until the test
// ends, and returns its GraphQL endpoint.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runServe(ctx, append([]string{"--host", "127.0.0.1", "--port", "0"}, args...), pw)
		pw.CloseWithError(err)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		line := lines.Text()
		if rest, ok := strings.CutPrefix(line, "serving GraphQL on "); ok {
			go io.Copy(io.Discard, pr)
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("serve did not start: %v", lines.Err())
	return ""
}

// post sends a GraphQL query with headers and returns the decoded response.
func post(t *testing.T, url, query string, headers ...string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantError checks that out is one Hasura error with code and message.
func wantError(t *testing.T, out map[string]any, code, message string) {
	t.Helper()
	errs, _ := out["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("want one error %s, got %v", code, out)
	}
	e := errs[0].(map[string]any)
	ext, _ := e["extensions"].(map[string]any)
	if ext["code"] != code || e["message"] != message {
		t.Errorf("error = %v / %q, want %s / %q", ext["code"], e["message"], code, message)
	}
}

// articleIDs returns the ids of out.data.article.
func articleIDs(t *testing.T, out map[string]any) []float64 {
	t.Helper()
	data, _ := out["data"].(map[string]any)
	rows, ok := data["article"].([]any)
	if !ok {
		t.Fatalf("no data.article in %v", out)
	}
	var ids []float64
	for _, r := range rows {
		ids = append(ids, r.(map[string]any)["id"].(float64))
	}
	return ids
}

const articlesQuery = `{ article(order_by: {id: asc}) { id } }`

// userClaims are Hasura claims for role user with the given user id.
func userClaims(id string, exp time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub": id, "exp": exp.Unix(),
		"https://hasura.io/jwt/claims": map[string]any{
			"x-hasura-allowed-roles": []string{"user", "anonymous"},
			"x-hasura-default-role":  "user",
			"x-hasura-user-id":       id,
		},
	}
}

func pemPublic(t *testing.T, pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// TestServeJWTAlgorithms serves the blog with a JWT key of each algorithm
// Hasura supports and checks that a token signed with it is the user it
// names, and that a token signed with another key of the same kind is not.
func TestServeJWTAlgorithms(t *testing.T) {
	_, db, prefix := blogDatabaseWithLogin(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec := map[string]*ecdsa.PrivateKey{}
	for name, curve := range map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()} {
		ec[name], _ = ecdsa.GenerateKey(curve, rand.Reader)
	}
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	_, otherEd, _ := ed25519.GenerateKey(rand.Reader)
	hmac := "a-secret-of-sixty-four-bytes-for-hs512-0123456789abcdef0123456789"

	cases := []struct {
		alg        string
		method     jwt.SigningMethod
		key, wrong any
		config     string
	}{
		{"HS256", jwt.SigningMethodHS256, []byte(hmac), []byte(hmac + "x"), hmac},
		{"HS384", jwt.SigningMethodHS384, []byte(hmac), []byte(hmac + "x"), hmac},
		{"HS512", jwt.SigningMethodHS512, []byte(hmac), []byte(hmac + "x"), hmac},
		{"RS256", jwt.SigningMethodRS256, rsaKey, otherRSA, pemPublic(t, &rsaKey.PublicKey)},
		{"RS384", jwt.SigningMethodRS384, rsaKey, otherRSA, pemPublic(t, &rsaKey.PublicKey)},
		{"RS512", jwt.SigningMethodRS512, rsaKey, otherRSA, pemPublic(t, &rsaKey.PublicKey)},
		{"ES256", jwt.SigningMethodES256, ec["ES256"], otherEC, pemPublic(t, &ec["ES256"].PublicKey)},
		{"ES384", jwt.SigningMethodES384, ec["ES384"], nil, pemPublic(t, &ec["ES384"].PublicKey)},
		{"ES512", jwt.SigningMethodES512, ec["ES512"], nil, pemPublic(t, &ec["ES512"].PublicKey)},
		{"Ed25519", jwt.SigningMethodEdDSA, edKey, otherEd, pemPublic(t, edPub)},
	}
	for _, c := range cases {
		t.Run(c.alg, func(t *testing.T) {
			cfg, _ := json.Marshal(map[string]string{"type": c.alg, "key": c.config})
			url := startServe(t, "--database-url", db, "--role-prefix", prefix,
				"--admin-secret", "s3cret", "--jwt-secret", string(cfg))
			token, err := jwt.NewWithClaims(c.method, userClaims("3", time.Now().Add(time.Hour))).SignedString(c.key)
			if err != nil {
				t.Fatal(err)
			}
			// Carol (3): the published articles and her own draft.
			if got := articleIDs(t, post(t, url, articlesQuery, "Authorization", "Bearer "+token)); !equalIDs(got, 1, 3, 4) {
				t.Errorf("Carol sees %v, want [1 3 4]", got)
			}
			if c.wrong == nil {
				return
			}
			forged, err := jwt.NewWithClaims(c.method, userClaims("1", time.Now().Add(time.Hour))).SignedString(c.wrong)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, post(t, url, articlesQuery, "Authorization", "Bearer "+forged), "invalid-jwt", "Could not verify JWT: JWSError JWSInvalidSignature")
		})
	}
}

func equalIDs(got []float64, want ...float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestServeAuthPaths checks each way a request is authenticated, and each
// of Hasura's authentication error codes, through `rowguard serve`.
func TestServeAuthPaths(t *testing.T) {
	_, db, prefix := blogDatabaseWithLogin(t)
	const key = "0123456789abcdef0123456789abcdef"
	url := startServe(t, "--database-url", db, "--role-prefix", prefix, "--admin-secret", "s3cret",
		"--unauthorized-role", "anonymous",
		"--jwt-secret", `{"type":"HS256","key":"`+key+`","allowed_skew":60}`)
	sign := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	now := time.Now()

	t.Run("unauthorized role", func(t *testing.T) {
		if got := articleIDs(t, post(t, url, articlesQuery)); !equalIDs(got, 1, 3) {
			t.Errorf("anonymous sees %v, want the published [1 3]", got)
		}
		wantError(t, post(t, url, `mutation { x }`), "validation-failed", "no mutations exist")
	})
	t.Run("admin secret", func(t *testing.T) {
		if got := articleIDs(t, post(t, url, articlesQuery, "X-Hasura-Admin-Secret", "s3cret")); !equalIDs(got, 1, 2, 3, 4) {
			t.Errorf("admin sees %v", got)
		}
		got := articleIDs(t, post(t, url, articlesQuery, "X-Hasura-Admin-Secret", "s3cret", "X-Hasura-Role", "user", "X-Hasura-User-Id", "1"))
		if !equalIDs(got, 1, 2, 3) {
			t.Errorf("admin as user 1 sees %v, want [1 2 3]", got)
		}
		wantError(t, post(t, url, articlesQuery, "X-Hasura-Admin-Secret", "wrong"), "access-denied", "invalid x-hasura-admin-secret/x-hasura-access-key")
	})
	t.Run("X-Hasura headers without the secret are ignored", func(t *testing.T) {
		got := articleIDs(t, post(t, url, articlesQuery, "Authorization", sign(userClaims("3", now.Add(time.Hour))), "X-Hasura-User-Id", "1"))
		if !equalIDs(got, 1, 3, 4) {
			t.Errorf("user 3 with an X-Hasura-User-Id: 1 header sees %v, want Carol's [1 3 4]", got)
		}
	})
	t.Run("allowed skew", func(t *testing.T) {
		if got := articleIDs(t, post(t, url, articlesQuery, "Authorization", sign(userClaims("3", now.Add(-30*time.Second))))); !equalIDs(got, 1, 3, 4) {
			t.Errorf("token expired 30 s ago (skew 60 s): %v", got)
		}
		wantError(t, post(t, url, articlesQuery, "Authorization", sign(userClaims("3", now.Add(-2*time.Minute)))), "invalid-jwt", "Could not verify JWT: JWTExpired")
	})
	t.Run("role not allowed", func(t *testing.T) {
		wantError(t, post(t, url, articlesQuery, "Authorization", sign(userClaims("3", now.Add(time.Hour))), "X-Hasura-Role", "org_viewer"),
			"access-denied", "Your requested role is not in allowed roles")
	})
	t.Run("missing role claims", func(t *testing.T) {
		claims := jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "https://hasura.io/jwt/claims": map[string]any{"x-hasura-user-id": "1"}}
		wantError(t, post(t, url, articlesQuery, "Authorization", sign(claims)), "jwt-missing-role-claims", "JWT claim does not contain x-hasura-allowed-roles")
	})
	t.Run("invalid claims", func(t *testing.T) {
		claims := jwt.MapClaims{"exp": now.Add(time.Hour).Unix(), "https://hasura.io/jwt/claims": "not an object"}
		wantError(t, post(t, url, articlesQuery, "Authorization", sign(claims)), "jwt-invalid-claims", "expecting a json object when claims_format is json")
	})
	t.Run("malformed header", func(t *testing.T) {
		wantError(t, post(t, url, articlesQuery, "Authorization", "Basic dXNlcjpwYXNz"), "invalid-headers", "Malformed Authorization header")
	})
	t.Run("missing session variable", func(t *testing.T) {
		claims := userClaims("3", now.Add(time.Hour))
		delete(claims["https://hasura.io/jwt/claims"].(map[string]any), "x-hasura-user-id")
		wantError(t, post(t, url, articlesQuery, "Authorization", sign(claims)), "not-found", `missing session variable: "x-hasura-user-id"`)
	})
	t.Run("health and version", func(t *testing.T) {
		base := strings.TrimSuffix(url, "/v1/graphql")
		for _, path := range []string{"/healthz", "/v1/version"} {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %s", path, resp.Status)
			}
		}
	})
}

// TestServeWebhook authenticates through a webhook in GET and POST mode.
func TestServeWebhook(t *testing.T) {
	_, db, prefix := blogDatabaseWithLogin(t)
	var lastMethod string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastMethod = r.Method
		token := r.Header.Get("Authorization")
		if r.Method == http.MethodPost {
			var body struct{ Headers map[string]string }
			json.NewDecoder(r.Body).Decode(&body)
			for k, v := range body.Headers {
				if strings.EqualFold(k, "Authorization") {
					token = v
				}
			}
		}
		id, ok := strings.CutPrefix(token, "Bearer user-")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": id})
	}))
	defer hook.Close()
	for _, mode := range []string{"GET", "POST"} {
		t.Run(mode, func(t *testing.T) {
			url := startServe(t, "--database-url", db, "--role-prefix", prefix, "--admin-secret", "s3cret",
				"--auth-hook", hook.URL, "--auth-hook-mode", mode)
			if got := articleIDs(t, post(t, url, articlesQuery, "Authorization", "Bearer user-3")); !equalIDs(got, 1, 3, 4) {
				t.Errorf("webhook user 3 sees %v", got)
			}
			if lastMethod != mode {
				t.Errorf("webhook called with %s", lastMethod)
			}
			wantError(t, post(t, url, articlesQuery, "Authorization", "Bearer nobody"), "access-denied", "Authentication hook unauthorized this request")
		})
	}
}

// TestServeLoginCheck: serve refuses a login role that could read past the
// policies, and serves with the login role README describes.
func TestServeLoginCheck(t *testing.T) {
	superuser, login, prefix := blogDatabaseWithLogin(t)
	var out strings.Builder
	err := runServe(context.Background(), []string{"--database-url", superuser, "--role-prefix", prefix, "--port", "0"}, &out)
	if err == nil || !strings.Contains(err.Error(), "is a superuser") {
		t.Errorf("serving as a superuser: %v", err)
	}
	url := startServe(t, "--database-url", login, "--role-prefix", prefix, "--admin-secret", "s3cret", "--unauthorized-role", "anonymous")
	if got := articleIDs(t, post(t, url, articlesQuery)); !equalIDs(got, 1, 3) {
		t.Errorf("anonymous through the login role sees %v, want [1 3]", got)
	}
}

// TestServeMetadataAPI: the metadata API manages its own metadata; over
// policies installed from a metadata directory serve refuses to start it,
// rather than let two sources of truth diverge.
func TestServeMetadataAPI(t *testing.T) {
	superuser, login, prefix := blogDatabaseWithLogin(t)
	err := runServe(context.Background(), []string{"--database-url", login, "--role-prefix", prefix, "--admin-secret", "s3cret",
		"--definer-role", prefix + "definer", "--metadata-api-database-url", superuser, "--port", "0"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "load it with replace_metadata") {
		t.Errorf("metadata API over a migrated directory: %v", err)
	}
}
