package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"time"
)

// DefaultHTTPTimeout bounds each JWKS fetch and webhook call when the
// configuration sets no timeout of its own.
const DefaultHTTPTimeout = 10 * time.Second

// Config is the server's authentication setup.
type Config struct {
	// AdminSecret is HASURA_GRAPHQL_ADMIN_SECRET. Empty means no secret:
	// every request is admin, and JWT, Webhook and UnauthorizedRole
	// cannot be set (Hasura refuses to start so configured).
	AdminSecret string
	// JWT is HASURA_GRAPHQL_JWT_SECRET, parsed by ParseJWTConfig.
	JWT *JWTConfig
	// Webhook is HASURA_GRAPHQL_AUTH_HOOK and HASURA_GRAPHQL_AUTH_HOOK_MODE.
	Webhook *WebhookConfig
	// UnauthorizedRole is HASURA_GRAPHQL_UNAUTHORIZED_ROLE: the role of
	// requests that carry no credentials. Empty refuses them.
	UnauthorizedRole string
	// HTTPClient is used for jwk_url and the webhook; nil means a client
	// of New's own.
	HTTPClient *http.Client
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
}

// Authenticator resolves requests to sessions; safe for concurrent use. It
// owns the JWKS cache.
type Authenticator struct {
	hasSecret  bool
	secretHash [sha256.Size]byte
	unauthRole string
	jwt        *jwtVerifier
	hook       *webhook

	client    *http.Client
	ownClient bool
	cancel    context.CancelFunc
	closeOnce sync.Once
}

// New checks cfg and returns an Authenticator for it. It makes no network
// call: JWKS keys are fetched when the first token needs them.
func New(cfg Config) (*Authenticator, error) {
	hasJWT, hasHook := cfg.JWT != nil, cfg.Webhook != nil
	const needsSecret = " requires --admin-secret (HASURA_GRAPHQL_ADMIN_SECRET) or  --access-key (HASURA_GRAPHQL_ACCESS_KEY) to be set"
	switch {
	case hasJWT && hasHook:
		//lint:ignore ST1005 Hasura's own startup message, word for word
		return nil, errors.New("Fatal Error: Both webhook and JWT mode cannot be enabled at the same time")
	case cfg.UnauthorizedRole != "" && (cfg.AdminSecret == "" || hasHook):
		//lint:ignore ST1005 Hasura's own startup message, word for word
		return nil, errors.New("Fatal Error: --unauthorized-role (HASURA_GRAPHQL_UNAUTHORIZED_ROLE)" + needsSecret +
			" and is not allowed when --auth-hook (HASURA_GRAPHQL_AUTH_HOOK) is set")
	case cfg.AdminSecret == "" && hasHook:
		//lint:ignore ST1005 Hasura's own startup message, word for word
		return nil, errors.New("Fatal Error : --auth-hook (HASURA_GRAPHQL_AUTH_HOOK)" + needsSecret)
	case cfg.AdminSecret == "" && hasJWT:
		//lint:ignore ST1005 Hasura's own startup message, word for word
		return nil, errors.New("Fatal Error : --jwt-secret (HASURA_GRAPHQL_JWT_SECRET)" + needsSecret)
	}
	if cfg.UnauthorizedRole != "" {
		if !validRoleName(cfg.UnauthorizedRole) {
			return nil, errors.New("auth: " + invalidRoleMessage("HASURA_GRAPHQL_UNAUTHORIZED_ROLE"))
		}
		if cfg.UnauthorizedRole == AdminRole {
			return nil, errors.New("auth: HASURA_GRAPHQL_UNAUTHORIZED_ROLE cannot be the admin role")
		}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	a := &Authenticator{unauthRole: cfg.UnauthorizedRole, client: cfg.HTTPClient}
	if a.client == nil {
		a.client = &http.Client{Timeout: 2 * DefaultHTTPTimeout}
		a.ownClient = true
	}
	if cfg.AdminSecret != "" {
		a.hasSecret = true
		a.secretHash = sha256.Sum256([]byte(cfg.AdminSecret))
	}
	base, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	if hasJWT {
		v, err := compileJWT(cfg.JWT, a.client, now, base)
		if err != nil {
			cancel()
			return nil, err
		}
		a.jwt = v
	}
	if hasHook {
		h, err := newWebhook(cfg.Webhook, a.client, now)
		if err != nil {
			cancel()
			return nil, err
		}
		a.hook = h
	}
	return a, nil
}

// Authenticate resolves r to a Session. Authentication failures are
// returned as *Error; ctx bounds the webhook call and any JWKS fetch the
// request waits for.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (*Session, error) {
	s, e := a.authenticate(ctx, r)
	if e != nil {
		return nil, e
	}
	return s, nil
}

func (a *Authenticator) authenticate(ctx context.Context, r *http.Request) (*Session, *Error) {
	if !a.hasSecret {
		// No authentication configured: everyone is admin, as in Hasura.
		return headerSession(r)
	}
	if secret, sent := sentAdminSecret(r); sent {
		if !a.secretMatches(secret) {
			return nil, err401("invalid x-hasura-admin-secret/x-hasura-access-key")
		}
		return headerSession(r)
	}
	switch {
	case a.jwt != nil:
		return a.jwt.authenticate(ctx, r, a.unauthRole)
	case a.hook != nil:
		return a.hook.authenticate(ctx, r)
	case a.unauthRole != "":
		return unauthorizedSession(a.unauthRole), nil
	}
	return nil, err401("x-hasura-admin-secret/x-hasura-access-key required, but not found")
}

// Close stops JWKS fetches under way and releases idle connections of the
// client New made. Sessions already returned stay valid.
func (a *Authenticator) Close() {
	a.closeOnce.Do(func() {
		a.cancel()
		if a.ownClient {
			a.client.CloseIdleConnections()
		}
	})
}

func unauthorizedSession(role string) *Session {
	return &Session{Role: role, Vars: map[string]string{VarRole: role}}
}
