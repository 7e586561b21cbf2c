package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeSlowBodyDropped: a client that sends its body a byte at a time
// is dropped at --read-timeout, and the server answers others meanwhile.
func TestServeSlowBodyDropped(t *testing.T) {
	_, db, prefix := blogDatabaseWithLogin(t)
	const readTimeout = time.Second
	url := startServe(t, "--database-url", db, "--role-prefix", prefix, "--admin-secret", "s3cret",
		"--unauthorized-role", "anonymous", "--read-timeout", readTimeout.String())
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/v1/graphql")

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	body := `{"query":"{ article { id } }"}`
	if _, err := io.WriteString(slow, "POST /v1/graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "+
		strconv.Itoa(len(body)+1000)+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The slow client trickles its body from another goroutine until
	// the server hangs up.
	dropped := make(chan time.Duration, 1)
	began := time.Now()
	go func() {
		for i := 0; ; i++ {
			if _, err := slow.Write([]byte{' '}); err != nil {
				dropped <- time.Since(began)
				return
			}
			time.Sleep(50 * time.Millisecond)
			if i > 400 {
				dropped <- -1
				return
			}
		}
	}()
	go func() {
		// Reading sees the server's answer (a 4xx or nothing) and EOF.
		r := bufio.NewReader(slow)
		resp, err := http.ReadResponse(r, nil)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		slow.SetWriteDeadline(time.Now())
	}()

	// Others are served while the slow client holds its connection.
	for i := 0; i < 5; i++ {
		if got := articleIDs(t, post(t, url, articlesQuery)); !equalIDs(got, 1, 3) {
			t.Fatalf("request %d while a slow client waits: %v", i, got)
		}
	}
	select {
	case d := <-dropped:
		if d < 0 {
			t.Fatal("the server kept the slow client for 20s")
		}
		if d < readTimeout-100*time.Millisecond || d > readTimeout+5*time.Second {
			t.Errorf("the slow client was dropped after %s, want about %s", d, readTimeout)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the slow client was never dropped")
	}
	if got := articleIDs(t, post(t, url, articlesQuery)); !equalIDs(got, 1, 3) {
		t.Fatalf("after the slow client: %v", got)
	}
}

func TestServeTimeoutFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--read-timeout", "-1s"}, "", "--read-timeout -1s: a timeout cannot be negative"},
		{nil, "soon", `ROWGUARD_WRITE_TIMEOUT: "soon" is not a duration`},
	} {
		t.Setenv("ROWGUARD_WRITE_TIMEOUT", tc.env)
		err := runServe(t.Context(), append([]string{"--database-url", "postgres://x"}, tc.args...), io.Discard)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}
