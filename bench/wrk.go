package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// result is one measured run.
type result struct {
	RPS      float64
	P50, P99 time.Duration
	Requests int
	RSSLoad  int64 // the server's highest VmRSS during the run, in kB; 0 when not sampled
	// CPUPerReq is the server process's CPU time (user + system) per
	// request during the run; 0 when not measured.
	CPUPerReq time.Duration
}

// load describes one wrk run: a GraphQL body POSTed to url with an
// optional header.
type load struct {
	URL    string
	Body   string
	Header string // "Name: value", or ""
}

// runWrk runs wrk on loopback for d and parses its summary. A run where
// any response was not a 200 without "errors" is an error: its numbers
// would measure the error path.
func runWrk(ctx context.Context, script string, l load, conns, threads int, d time.Duration) (result, error) {
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", max(1, int(d.Round(time.Second)/time.Second))),
		"--timeout", "10s", "--latency", "-s", script, l.URL}
	cmd := exec.CommandContext(ctx, "wrk", args...)
	cmd.Env = append(os.Environ(), "BENCH_BODY="+l.Body, "BENCH_HEADER="+l.Header)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w\n%s", err, tailString(string(out), 2000))
	}
	return parseWrk(string(out))
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	wrkTotal   = regexp.MustCompile(`(\d+) requests in `)
	wrkBad     = regexp.MustCompile(`BAD_RESPONSES (\d+)`)
	wrkSample  = regexp.MustCompile(`BAD_SAMPLE (.*)`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr = regexp.MustCompile(`Socket errors: (.*)`)
)

// parseWrk reads requests/s, p50 and p99 from wrk's --latency output and
// the bad-response count post.lua prints.
func parseWrk(out string) (result, error) {
	var r result
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk printed no Requests/sec:\n%s", tailString(out, 2000))
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	for _, pm := range wrkPct.FindAllStringSubmatch(out, -1) {
		d, err := wrkDuration(pm[2], pm[3])
		if err != nil {
			return r, err
		}
		if pm[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if r.P50 == 0 || r.P99 == 0 {
		return r, fmt.Errorf("wrk printed no latency distribution:\n%s", tailString(out, 2000))
	}
	if m := wrkTotal.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.Atoi(m[1])
	}
	if m := wrkBad.FindStringSubmatch(out); m != nil && m[1] != "0" {
		sample := ""
		if s := wrkSample.FindStringSubmatch(out); s != nil {
			sample = ": " + strings.TrimSpace(s[1])
		}
		return r, fmt.Errorf("%s of %d responses were errors%s", m[1], r.Requests, sample)
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		return r, fmt.Errorf("%s responses were not 2xx", m[1])
	}
	if m := wrkSockErr.FindStringSubmatch(out); m != nil {
		return r, fmt.Errorf("socket errors: %s", m[1])
	}
	return r, nil
}

func wrkDuration(num, unit string) (time.Duration, error) {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("wrk latency %q: %w", num+unit, err)
	}
	scale := map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9}[unit]
	return time.Duration(f * scale), nil
}

// rssKB reads a process's resident set size (VmRSS) in kB.
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// cpuTime reads a process's user + system CPU time from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it are
	// plain. utime and stime are fields 14 and 15, in clock ticks.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks, nil
}

// sampleRSS records the highest VmRSS of pid until stop is closed, and
// sends it on the returned channel.
func sampleRSS(pid int, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := rssKB(pid); err == nil && kb > peak {
				peak = kb
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}
