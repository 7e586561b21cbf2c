package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a child process serving GraphQL on loopback.
type server struct {
	name string
	cmd  *exec.Cmd
	URL  string // the GraphQL endpoint
	log  *output
	done chan error
}

// Pid returns the server's process id.
func (s *server) Pid() int { return s.cmd.Process.Pid }

// startServer starts cmd, whose stdout and stderr are kept for errors, and
// polls ready until it succeeds or the process exits or a minute passes.
func startServer(ctx context.Context, name string, cmd *exec.Cmd, url string, ready func(context.Context) error) (*server, error) {
	s := &server{name: name, cmd: cmd, URL: url, log: &output{}, done: make(chan error, 1)}
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for {
		if err := ready(ctx); err == nil {
			return s, nil
		} else if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("%s not ready after a minute: %v\n%s", name, err, tailString(s.log.String(), 3000))
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("%s exited: %v\n%s", name, err, tailString(s.log.String(), 3000))
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop ends the server with SIGTERM, then SIGKILL after 10 seconds.
func (s *server) Stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// output keeps a child's stdout and stderr, safe to read while it runs.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// postGraphQL sends one GraphQL request and returns the body, failing on a
// status other than 200 or a body with "errors".
func postGraphQL(ctx context.Context, url, reqBody, header string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(reqBody))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		k, v, _ := strings.Cut(header, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errors"`)) {
		return string(out), fmt.Errorf("status %d: %s", resp.StatusCode, tailString(string(out), 500))
	}
	return string(out), nil
}

// freePort returns a loopback port nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// rowguardServe starts `rowguard serve` on a free loopback port.
func rowguardServe(ctx context.Context, bin, dbURL, rolePrefix, adminSecret, jwtConfig string, extra ...string) (*server, error) {
	return rowguardServeEnv(ctx, nil, bin, dbURL, rolePrefix, adminSecret, jwtConfig, extra...)
}

// rowguardServeEnv is rowguardServe with env (NAME=value) added to the
// server's environment.
func rowguardServeEnv(ctx context.Context, env []string, bin, dbURL, rolePrefix, adminSecret, jwtConfig string, extra ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--database-url", dbURL, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--role-prefix", rolePrefix}
	cmd := exec.CommandContext(ctx, bin, append(args, extra...)...)
	// Only the startup log: a JSON line per request would be part of
	// what the benchmarks measure (BenchmarkHandler in graphql/observe
	// measures that cost on its own).
	cmd.Env = append(os.Environ(), "HASURA_GRAPHQL_ADMIN_SECRET="+adminSecret, "HASURA_GRAPHQL_JWT_SECRET="+jwtConfig,
		"HASURA_GRAPHQL_ENABLED_LOG_TYPES=startup")
	cmd.Env = append(cmd.Env, env...)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	return startServer(ctx, "rowguard serve", cmd, base+"/v1/graphql", func(ctx context.Context) error {
		return httpOK(ctx, base+"/healthz")
	})
}

// postGraphileServe starts PostGraphile (bench/postgraphile/server.mjs,
// installed into work) on a free loopback port.
func postGraphileServe(ctx context.Context, work, dbURL, jwtKey, pgRolesJSON string, pool int) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	node := filepath.Join(work, "node_modules", ".bin", "node")
	cmd := exec.CommandContext(ctx, node, filepath.Join(work, "server.mjs"))
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "PORT="+strconv.Itoa(port), "JWT_KEY="+jwtKey,
		"PG_ROLES="+pgRolesJSON, "POOL_SIZE="+strconv.Itoa(pool), "NODE_ENV=production")
	url := fmt.Sprintf("http://127.0.0.1:%d/graphql", port)
	return startServer(ctx, "PostGraphile", cmd, url, func(ctx context.Context) error {
		_, err := postGraphQL(ctx, url, body(`{ __typename }`), "")
		return err
	})
}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	return nil
}
