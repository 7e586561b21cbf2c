package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxWebhookResponseBytes bounds the webhook's answer.
const maxWebhookResponseBytes = 1 << 20

// WebhookConfig is the authentication webhook setup.
type WebhookConfig struct {
	// URL is HASURA_GRAPHQL_AUTH_HOOK.
	URL string
	// Mode is HASURA_GRAPHQL_AUTH_HOOK_MODE: "GET" (the default) forwards
	// the client's headers; "POST" sends {"headers": {...}, "request":
	// {...}} as the body.
	Mode string
	// Timeout bounds one webhook call; zero means DefaultHTTPTimeout.
	Timeout time.Duration
}

type webhook struct {
	url     string
	post    bool
	timeout time.Duration
	client  *http.Client
	now     func() time.Time
}

func newWebhook(cfg *WebhookConfig, client *http.Client, now func() time.Time) (*webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("auth: HASURA_GRAPHQL_AUTH_HOOK %q is not an absolute http(s) URL", cfg.URL)
	}
	h := &webhook{url: cfg.URL, timeout: cfg.Timeout, client: client, now: now}
	switch strings.ToUpper(cfg.Mode) {
	case "", http.MethodGet:
	case http.MethodPost:
		h.post = true
	default:
		return nil, fmt.Errorf("auth: HASURA_GRAPHQL_AUTH_HOOK_MODE must be GET or POST, not %q", cfg.Mode)
	}
	if h.timeout <= 0 {
		h.timeout = DefaultHTTPTimeout
	}
	return h, nil
}

type graphQLRequestKey struct{}

// WithGraphQLRequest returns a context carrying the client's GraphQL
// request (its JSON body: query, variables, operationName), which a POST
// webhook receives as "request". Without it "request" is null.
func WithGraphQLRequest(ctx context.Context, req json.RawMessage) context.Context {
	return context.WithValue(ctx, graphQLRequestKey{}, req)
}

// webhookIgnoredHeaders are the client headers Hasura does not forward to a
// GET webhook, together with the hop-by-hop headers of RFC 9110 §7.6.1.
var webhookIgnoredHeaders = map[string]bool{
	"Content-Length": true, "Content-Md5": true, "User-Agent": true, "Host": true,
	"Origin": true, "Referer": true, "Accept": true, "Accept-Encoding": true,
	"Accept-Language": true, "Accept-Datetime": true, "Cache-Control": true,
	"Connection": true, "Dnt": true, "Content-Type": true,
}

var hopByHopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// isHopByHop reports whether header name (canonical) is hop-by-hop,
// including the headers the request's Connection header lists.
func isHopByHop(h http.Header, name string) bool {
	if hopByHopHeaders[name] {
		return true
	}
	for _, v := range h.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			if http.CanonicalHeaderKey(strings.TrimSpace(f)) == name {
				return true
			}
		}
	}
	return false
}

// authenticate asks the webhook about a request without the admin secret.
func (w *webhook) authenticate(ctx context.Context, r *http.Request) (*Session, *Error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var req *http.Request
	var err error
	if w.post {
		headers := make(map[string]string, len(r.Header))
		for k, v := range r.Header {
			if len(v) > 0 && !isHopByHop(r.Header, http.CanonicalHeaderKey(k)) {
				headers[k] = v[0]
			}
		}
		gql, _ := ctx.Value(graphQLRequestKey{}).(json.RawMessage)
		if len(gql) == 0 {
			gql = json.RawMessage("null")
		}
		body, merr := json.Marshal(struct {
			Headers map[string]string `json:"headers"`
			Request json.RawMessage   `json:"request"`
		}{headers, gql})
		if merr != nil {
			return nil, err500("webhook authentication request failed")
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
		if err == nil {
			for k, v := range r.Header {
				ck := http.CanonicalHeaderKey(k)
				if !webhookIgnoredHeaders[ck] && !isHopByHop(r.Header, ck) {
					req.Header[ck] = append([]string(nil), v...)
				}
			}
		}
	}
	if err != nil {
		return nil, err500("webhook authentication request failed")
	}
	req.Header.Set("User-Agent", "rowguard")
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, err500("webhook authentication request failed")
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, err401("Authentication hook unauthorized this request")
	default:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, err500("Invalid response from authorization hook")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxWebhookResponseBytes+1))
	if err != nil {
		return nil, err500("webhook authentication request failed")
	}
	if len(body) > maxWebhookResponseBytes {
		return nil, err500("Invalid response from authorization hook: larger than 1 MiB")
	}
	return w.sessionFrom(body)
}

// sessionFrom builds the session from the webhook's 200 answer: a JSON
// object whose x-hasura-* members are the session variables and must
// include x-hasura-role; Cache-Control or Expires members give its expiry.
func (w *webhook) sessionFrom(body []byte) (*Session, *Error) {
	var obj map[string]any
	if err := decodeJSON(body, &obj); err != nil || obj == nil {
		msg := "not a JSON object"
		if err != nil {
			msg = err.Error()
		}
		return nil, err500("Invalid response from authorization hook: " + msg)
	}
	vars := make(map[string]string, len(obj))
	var expires time.Time
	for _, k := range sortedKeys(obj) {
		lk := strings.ToLower(k)
		switch {
		case isSessionVar(lk):
			s, err := renderVar(obj[k])
			if err != nil {
				return nil, err500(fmt.Sprintf("Invalid response from authorization hook: %s: %v", lk, err))
			}
			vars[lk] = s
		case lk == "cache-control" || lk == "expires":
			if s, ok := obj[k].(string); ok {
				if t, ok := w.expiry(lk, s); ok && (expires.IsZero() || lk == "cache-control") {
					expires = t
				}
			}
		}
	}
	role := vars[VarRole]
	if role == "" {
		return nil, err400(CodeInvalidParams, "x-hasura-role not found in session variables")
	}
	if !validRoleName(role) {
		return nil, err500("Invalid response from authorization hook: " + invalidRoleMessage(VarRole))
	}
	if e := nhostAnonymous(vars); e != nil {
		return nil, err500("Invalid response from authorization hook: " + e.Message)
	}
	return &Session{Role: role, IsAdmin: role == AdminRole, Vars: vars, Expires: expires}, nil
}

// expiry reads a Cache-Control max-age or an Expires date from the
// webhook's answer.
func (w *webhook) expiry(name, value string) (time.Time, bool) {
	now := w.now()
	if name == "expires" {
		t, err := http.ParseTime(value)
		return t, err == nil
	}
	for _, d := range strings.Split(value, ",") {
		k, v, _ := strings.Cut(strings.ToLower(strings.TrimSpace(d)), "=")
		if k == "max-age" || k == "s-maxage" {
			var n int64
			if _, err := fmt.Sscanf(v, "%d", &n); err == nil && n >= 0 && n < 1<<31 {
				return now.Add(time.Duration(n) * time.Second), true
			}
		}
	}
	return time.Time{}, false
}
