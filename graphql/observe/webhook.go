package observe

import (
	"log/slog"
	"net/http"
	"net/url"
)

// WebhookTransport returns a RoundTripper (for auth.Config.HTTPClient)
// that writes a webhook-log line for each call of the authentication
// webhook at hook: {"url","method","status_code","http_error"}. The
// headers sent (the caller's token among them) and the response body are
// never logged. Calls to other URLs (a JWKS) pass through unlogged.
func (o *Observer) WebhookTransport(base http.RoundTripper, hook string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	u, err := url.Parse(hook)
	if err != nil || o.cfg.Log == nil {
		return base
	}
	return &webhookTransport{base: base, hook: u, log: o.cfg.Log}
}

type webhookTransport struct {
	base http.RoundTripper
	hook *url.URL
	log  *Logger
}

func (t *webhookTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	u := req.URL
	if u.Scheme != t.hook.Scheme || u.Host != t.hook.Host || u.Path != t.hook.Path {
		return resp, err
	}
	level := slog.LevelInfo
	d := map[string]any{"url": u.Redacted(), "method": req.Method, "status_code": nil, "http_error": nil}
	if err != nil {
		level = slog.LevelError
		d["http_error"] = err.Error()
	} else {
		d["status_code"] = resp.StatusCode
		if resp.StatusCode >= 400 {
			level = slog.LevelError
		}
	}
	if rec := FromContext(req.Context()); rec != nil {
		d["request_id"] = rec.ID
	}
	t.log.Log(req.Context(), TypeWebhook, level, d)
	return resp, err
}
