package security

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgcluster"
	"github.com/rowguard/rowguard/internal/pgtest"
)

// TestSoak runs `rowguard serve` as a process of its own (every log type
// on, metrics on their own listener) against a private PostgreSQL for
// ROWGUARD_SOAK_DURATION (default 20s; scripts/soak.sh runs 20 minutes),
// restarting PostgreSQL at a third and at two thirds of the run, under
// wrk (bench/wrk/soak.lua: 16 connections, 50 users, every answer checked
// against the user its echoed X-Request-Id names) with 2 Go clients
// beside it that decode every answer. It fails on a foreign row, an
// answer that is not data or a clean Hasura error, or a server process
// whose goroutines (its /metrics) or RSS (/proc) grow between the first
// and the last tenth of the run. Without wrk on PATH the Go clients are
// 16 and carry the load alone.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster of its own")
	}
	dur := 20 * time.Second
	if v := os.Getenv("ROWGUARD_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("ROWGUARD_SOAK_DURATION: %v", err)
		}
		dur = d
	}
	wrk, wrkErr := exec.LookPath("wrk")
	ctx, cancel := context.WithTimeout(context.Background(), dur+5*time.Minute)
	defer cancel()
	bin := buildServer(t, ctx)
	cluster, err := pgcluster.Start(ctx)
	if err != nil {
		t.Fatalf("start a private cluster: %v", err)
	}
	t.Cleanup(func() { cluster.Stop() })
	admin, err := pgx.Connect(ctx, cluster.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE app"); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)
	conn, err := pgx.Connect(ctx, cluster.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	const users = 50
	prefix := pgtest.UniqueName("k") + "_"
	s := install(t, ctx, cluster.URL("app"), conn, users+2, prefix)
	// The server logs in as a role of its own, as `rowguard migrate up
	// --login-role` makes it (serve refuses a superuser).
	login := prefix + "server"
	granted := []string{compiler.QuoteIdent(s.prog.AdminPGRole())}
	for _, r := range s.prog.Roles {
		granted = append(granted, compiler.QuoteIdent(r.PGName))
	}
	ql := compiler.QuoteIdent(login)
	if _, err := conn.Exec(ctx, "CREATE ROLE "+ql+" LOGIN NOINHERIT; GRANT "+strings.Join(granted, ", ")+" TO "+ql+
		"; GRANT USAGE ON SCHEMA rowguard TO "+ql+"; GRANT SELECT ON ALL TABLES IN SCHEMA rowguard TO "+ql); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	srv := startServer(t, ctx, bin, []string{
		"--database-url", strings.Replace(cluster.URL("app"), "postgres://postgres@", "postgres://"+login+"@", 1),
		"--metadata", writeMetadata(t), "--role-prefix", prefix, "--definer-role", prefix + "definer",
		"--admin-secret", adminSecret, "--jwt-secret", fmt.Sprintf(`{"type":"HS256","key":%q}`, jwtKey),
		"--unauthorized-role", "anon", "--depth-limit", "-1",
	})
	s.remote = srv.url
	s.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(s.client.CloseIdleConnections)

	clients := 16
	var wrkDone chan wrkSoak
	if wrkErr == nil {
		clients = 2
		wrkDone = make(chan wrkSoak, 1)
		go func() { wrkDone <- runSoakWrk(t, ctx, wrk, srv.url, users, dur) }()
	} else {
		t.Logf("no wrk (%v): %d Go clients carry the load", wrkErr, clients)
	}
	load := startRestartLoad(t, ctx, s, users, clients, nil)
	res := &load.res
	start := time.Now()
	time.Sleep(dur / 10)
	g0, r0 := srv.sample(t)
	for i := 1; i <= 2; i++ {
		time.Sleep(time.Until(start.Add(dur * time.Duration(i) / 3)))
		if err := cluster.Restart(ctx); err != nil {
			load.stop()
			t.Fatalf("restart %d: %v", i, err)
		}
	}
	time.Sleep(time.Until(start.Add(dur - dur/10)))
	afterRestarts := res.requests.Load()
	time.Sleep(time.Until(start.Add(dur - dur/20)))
	g1, r1 := srv.sample(t)
	var w wrkSoak
	if wrkDone != nil {
		w = <-wrkDone
	}
	load.stop()
	srv.stop(t)

	t.Logf("soak %s, 2 PostgreSQL restarts, load average %s", dur, loadAverage())
	if wrkDone != nil {
		t.Logf("soak wrk: %d answers (%.0f/s): %d good, %d clean errors %v, %d broken, %d foreign rows, %d wrong row counts; socket errors: %s",
			w.requests, w.rps, w.good, w.clean, w.codes, w.broken, w.foreign, w.wrong, w.socketErrors)
	}
	t.Logf("soak Go clients (%d): %d good answers, %d clean errors, %d broken HTTP exchanges, %d foreign rows",
		clients, res.requests.Load(), load.clean.Load(), load.transport.Load(), res.foreign.Load())
	t.Logf("soak server process: goroutines %d -> %d, RSS %d -> %d MB; %d log lines (%d http-log, %d at level error, %d not JSON)",
		g0, g1, r0/1024, r1/1024, srv.lines.Load(), srv.httpLogs.Load(), srv.errorLogs.Load(), srv.notJSON.Load())
	if p := res.firstProblem.Load(); p != nil {
		t.Errorf("first problem: %s", *p)
	}
	if res.foreign.Load() != 0 || res.wrongCount.Load() != 0 || res.failed.Load() != 0 {
		t.Errorf("%d foreign rows, %d answers with the wrong rows, %d failed checks", res.foreign.Load(), res.wrongCount.Load(), res.failed.Load())
	}
	if load.transport.Load() != 0 {
		t.Errorf("%d broken HTTP exchanges, the first: %s", load.transport.Load(), *load.firstTransport.Load())
	}
	if wrkDone != nil {
		if w.err != nil {
			t.Errorf("wrk: %v", w.err)
		}
		if w.foreign != 0 || w.wrong != 0 || w.broken != 0 || w.good == 0 {
			t.Errorf("wrk: %d good, %d foreign rows, %d wrong counts, %d broken answers; first: %s", w.good, w.foreign, w.wrong, w.broken, w.sample)
		}
		if w.socketErrors != "" && !strings.Contains(w.socketErrors, "connect 0, read 0, write 0, timeout 0") {
			t.Errorf("wrk socket errors: %s", w.socketErrors)
		}
	}
	if res.requests.Load() <= afterRestarts {
		t.Error("no good answer in the last tenth: the server did not recover from the restarts")
	}
	if n := srv.notJSON.Load(); n != 0 {
		t.Errorf("%d lines of the server's standard output are not JSON logs, the first: %s", n, srv.firstNotJSON.Load())
	}
	if g1 > g0+32 {
		t.Errorf("the server's goroutines grew from %d to %d", g0, g1)
	}
	if r1 > r0+64*1024 {
		t.Errorf("the server's RSS grew from %d to %d MB", r0/1024, r1/1024)
	}
}

// buildServer builds cmd/rowguard into the test's directory.
func buildServer(t *testing.T, ctx context.Context) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rowguard")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/rowguard")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/rowguard: %v\n%s", err, out)
	}
	return bin
}

// serverProcess is a `rowguard serve` process and what its standard
// output said.
type serverProcess struct {
	cmd          *exec.Cmd
	url, metrics string
	done         chan error
	lines        atomic.Int64 // JSON log lines
	httpLogs     atomic.Int64
	errorLogs    atomic.Int64
	notJSON      atomic.Int64
	firstNotJSON atomic.Value
}

// startServer starts bin serve with args, every log type on and the
// metrics on a listener of their own, and waits until it serves.
func startServer(t *testing.T, ctx context.Context, bin string, args []string) *serverProcess {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"serve", "--host", "127.0.0.1", "--port", "0", "--metrics-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"HASURA_GRAPHQL_ENABLED_LOG_TYPES=startup,http-log,query-log,websocket-log,webhook-log"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			line := sc.Bytes()
			switch {
			case len(line) > 0 && line[0] == '{':
				p.lines.Add(1)
				if bytes.Contains(line, []byte(`"type":"http-log"`)) {
					p.httpLogs.Add(1)
				}
				if bytes.Contains(line, []byte(`"level":"error"`)) {
					p.errorLogs.Add(1)
				}
			case bytes.HasPrefix(line, []byte("serving metrics on ")):
				p.metrics = strings.TrimSpace(string(line[len("serving metrics on "):]))
			case bytes.HasPrefix(line, []byte("serving GraphQL on ")):
				p.url = strings.TrimSuffix(strings.Fields(string(line[len("serving GraphQL on "):]))[0], "/v1/graphql")
				close(ready)
			case bytes.Equal(line, []byte("shutting down")):
			default:
				if p.notJSON.Add(1) == 1 {
					p.firstNotJSON.Store(string(line))
				}
			}
		}
		io.Copy(io.Discard, out)
		p.done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-p.done:
		t.Fatalf("serve ended: %v\n%s", err, stderr.String())
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("serve did not start in a minute\n%s", stderr.String())
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	return p
}

// goroutinesRe reads go_goroutines from the metrics text.
var goroutinesRe = regexp.MustCompile(`(?m)^go_goroutines (\d+)$`)

// sample reads the server's goroutines (its /metrics) and RSS in KB
// (/proc/<pid>/status).
func (p *serverProcess) sample(t *testing.T) (goroutines, rssKB int) {
	t.Helper()
	resp, err := http.Get(p.metrics)
	if err != nil {
		t.Fatalf("scrape %s: %v", p.metrics, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := goroutinesRe.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no go_goroutines in %s", p.metrics)
	}
	goroutines, _ = strconv.Atoi(string(m[1]))
	return goroutines, rss(t, p.cmd.Process.Pid)
}

// stop sends SIGTERM and waits for a clean exit.
func (p *serverProcess) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve exited: %v", err)
		}
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		t.Error("serve did not exit within a minute of SIGTERM")
	}
}

// wrkSoak is what bench/wrk/soak.lua counted.
type wrkSoak struct {
	requests                            int
	rps                                 float64
	good, foreign, wrong, clean, broken int
	codes                               map[string]int
	sample, socketErrors                string
	err                                 error
}

var (
	soakCounts = regexp.MustCompile(`SOAK good=(\d+) foreign=(\d+) wrong=(\d+) clean=(\d+) broken=(\d+)`)
	soakCode   = regexp.MustCompile(`(?m)^SOAK_CODE (\S+) (\d+)$`)
	soakSample = regexp.MustCompile(`(?m)^SOAK_SAMPLE (.*)$`)
	soakTotal  = regexp.MustCompile(`(\d+) requests in `)
	soakRPS    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	soakSock   = regexp.MustCompile(`Socket errors: (.*)`)
)

// runSoakWrk runs wrk with bench/wrk/soak.lua against url for d: 2
// threads, 16 connections, as users 2 … users+1.
func runSoakWrk(t *testing.T, ctx context.Context, wrk, url string, users int, d time.Duration) wrkSoak {
	var tokens strings.Builder
	for id := 2; id < users+2; id++ {
		fmt.Fprintf(&tokens, "%d %s\n", id, token(t, id))
	}
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(tokens.String()), 0o600); err != nil {
		return wrkSoak{err: err}
	}
	body, _ := json.Marshal(map[string]string{"query": isolationQuery})
	cmd := exec.CommandContext(ctx, wrk, "-t", "2", "-c", "16", "-d", fmt.Sprintf("%ds", int(d/time.Second)),
		"--timeout", "10s", "-s", "../../bench/wrk/soak.lua", url+"/v1/graphql")
	cmd.Env = append(os.Environ(), "SOAK_BODY="+string(body), "SOAK_TOKENS="+file, "SOAK_NOTES="+strconv.Itoa(notesEach))
	out, err := cmd.CombinedOutput()
	w := wrkSoak{codes: map[string]int{}}
	if err != nil {
		w.err = fmt.Errorf("%v\n%s", err, out)
		return w
	}
	m := soakCounts.FindSubmatch(out)
	if m == nil {
		w.err = fmt.Errorf("soak.lua printed no counts:\n%s", out)
		return w
	}
	n := func(b []byte) int { v, _ := strconv.Atoi(string(b)); return v }
	w.good, w.foreign, w.wrong, w.clean, w.broken = n(m[1]), n(m[2]), n(m[3]), n(m[4]), n(m[5])
	for _, c := range soakCode.FindAllSubmatch(out, -1) {
		w.codes[string(c[1])] = n(c[2])
	}
	if s := soakSample.FindSubmatch(out); s != nil {
		w.sample = string(s[1])
	}
	if s := soakTotal.FindSubmatch(out); s != nil {
		w.requests = n(s[1])
	}
	if s := soakRPS.FindSubmatch(out); s != nil {
		w.rps, _ = strconv.ParseFloat(string(s[1]), 64)
	}
	if s := soakSock.FindSubmatch(out); s != nil {
		w.socketErrors = string(s[1])
	}
	return w
}

// loadAverage is the machine's 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// rss is a process's resident set size in KB (VmRSS).
func rss(t *testing.T, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc/%d/status: %v", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
