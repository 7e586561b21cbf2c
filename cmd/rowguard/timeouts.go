package main

import (
	"flag"
	"fmt"
	"net/http"
	"time"
)

// httpTimeouts bound how long one client may hold a connection of the
// HTTP server (http.Server's fields of the same names). WebSocket
// connections are taken over from net/http, which clears the deadlines,
// so they last as long as the protocol keeps them alive.
type httpTimeouts struct {
	// Read bounds reading a whole request, body included: a client that
	// sends its body slowly is dropped.
	Read time.Duration
	// Write bounds the time from the end of the request's headers to the
	// end of the response: it must exceed the longest operation
	// (--time-limit for API roles; the admin has none).
	Write time.Duration
	// Idle bounds how long a kept-alive connection waits for its next
	// request.
	Idle time.Duration
}

// Defaults of the serve flags.
const (
	defaultReadTimeout  = 30 * time.Second
	defaultWriteTimeout = 120 * time.Second
	defaultIdleTimeout  = 120 * time.Second
	// readHeaderTimeout bounds reading a request's headers, always.
	readHeaderTimeout = 10 * time.Second
)

// timeoutFlags defines --read-timeout, --write-timeout and --idle-timeout
// on fs, with defaults from ROWGUARD_READ_TIMEOUT, ROWGUARD_WRITE_TIMEOUT
// and ROWGUARD_IDLE_TIMEOUT; a malformed variable is appended to envErrs.
func timeoutFlags(fs *flag.FlagSet, envErrs *[]error) *httpTimeouts {
	t := &httpTimeouts{}
	def := func(name string, d time.Duration) time.Duration {
		v := envOr(name, "")
		if v == "" {
			return d
		}
		p, err := time.ParseDuration(v)
		if err != nil || p < 0 {
			*envErrs = append(*envErrs, fmt.Errorf("%s: %q is not a duration such as 30s or 2m (0 for none)", name, v))
			return d
		}
		return p
	}
	fs.DurationVar(&t.Read, "read-timeout", def("ROWGUARD_READ_TIMEOUT", defaultReadTimeout), "longest time to read a request, body included; 0: none")
	fs.DurationVar(&t.Write, "write-timeout", def("ROWGUARD_WRITE_TIMEOUT", defaultWriteTimeout), "longest time from a request's headers to the end of its response (keep it above --time-limit); WebSocket connections are not bound by it; 0: none")
	fs.DurationVar(&t.Idle, "idle-timeout", def("ROWGUARD_IDLE_TIMEOUT", defaultIdleTimeout), "longest time a kept-alive connection waits for its next request; 0: the read timeout")
	return t
}

// check reports a negative timeout given as a flag.
func (t *httpTimeouts) check() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--read-timeout", t.Read}, {"--write-timeout", t.Write}, {"--idle-timeout", t.Idle}} {
		if d.v < 0 {
			return usageError{fmt.Sprintf("%s %s: a timeout cannot be negative (0 for none)", d.name, d.v)}
		}
	}
	return nil
}

// server returns an http.Server for h with the timeouts.
func (t *httpTimeouts) server(h http.Handler) *http.Server {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout}
	if t != nil {
		hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout = t.Read, t.Write, t.Idle
		if t.Read > 0 && t.Read < readHeaderTimeout {
			hs.ReadHeaderTimeout = t.Read
		}
	}
	return hs
}
