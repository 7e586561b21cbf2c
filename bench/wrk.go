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

	"github.com/rowguard/rowguard/internal/procstat"
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
	// Rounds is how many runs the figures are the medians of (medianOf);
	// 0 for a single run.
	Rounds int
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
	st, err := procstat.Read(pid)
	if err != nil {
		return 0, err
	}
	ut, err := st.Int(14) // utime and stime, in clock ticks
	if err != nil {
		return 0, err
	}
	sys, err := st.Int(15)
	if err != nil {
		return 0, err
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+sys) * time.Second / ticks, nil
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
