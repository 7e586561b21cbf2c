package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rowguard/rowguard/graphql"
)

// pgbenchScript renders a recorded transaction as a pgbench script that
// sends it in one pipeline (one round trip, as rowguard does), with every
// parameter as a pgbench variable so -M prepared binds it as rowguard does.
// It returns the script and the -D definitions of the variables. Each
// client first runs graphql.HeapWarmup once, as each connection of
// rowguard's pool does, so PostgreSQL's backends start with the same heap
// on both sides of the comparison.
func pgbenchScript(tx []wireStatement) (string, []string, error) {
	var b strings.Builder
	defs := []string{"rgwarm=0"}
	b.WriteString("\\if :rgwarm = 0\n" + graphql.HeapWarmup + ";\n\\set rgwarm 1\n\\endif\n")
	b.WriteString("\\startpipeline\n")
	for i, st := range tx {
		sql, err := pgbenchSQL(st.SQL, func(k int) (string, error) {
			if k < 1 || k > len(st.Params) {
				return "", fmt.Errorf("statement %d uses $%d but has %d parameters", i+1, k, len(st.Params))
			}
			if st.Params[k-1] == "" {
				// pgbench -D refuses an empty value; an empty literal is
				// typed from its context as the parameter is.
				return "''", nil
			}
			return fmt.Sprintf(":s%dp%d", i+1, k), nil
		})
		if err != nil {
			return "", nil, err
		}
		if len(st.Params) > 255 {
			return "", nil, fmt.Errorf("statement %d binds %d parameters; pgbench takes at most 255", i+1, len(st.Params))
		}
		for k, v := range st.Params {
			if v != "" {
				defs = append(defs, fmt.Sprintf("s%dp%d=%s", i+1, k+1, v))
			}
		}
		b.WriteString(strings.TrimRight(strings.TrimSpace(sql), ";"))
		b.WriteString(";\n")
	}
	b.WriteString("\\endpipeline\n")
	return b.String(), defs, nil
}

// pgbenchSQL replaces each $n placeholder outside quotes with the name
// param(n) gives it, and refuses text pgbench would misread as a variable
// (":name" outside a "::" cast).
func pgbenchSQL(sql string, param func(int) (string, error)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			quoted := sql[i:min(j+1, len(sql))]
			if colonVariable.MatchString(quoted) {
				return "", fmt.Errorf("pgbench would read a variable inside the literal %s", quoted)
			}
			b.WriteString(quoted)
			i = j
		case c == '$' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9':
			j := i + 1
			for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			k, _ := strconv.Atoi(sql[i+1 : j])
			name, err := param(k)
			if err != nil {
				return "", err
			}
			b.WriteString(name)
			i = j - 1
		case c == ':' && i+1 < len(sql) && sql[i+1] == ':':
			b.WriteString("::")
			i++
		case c == ':' && i+1 < len(sql) && isIdentStart(sql[i+1]):
			return "", fmt.Errorf("pgbench would read %q as a variable", sql[i:min(i+20, len(sql))])
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

var colonVariable = regexp.MustCompile(`(^|[^:]):[A-Za-z_]`)

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// runPgbench runs script against url for d with the given clients and
// threads, in prepared mode, and reads throughput and latency percentiles
// from pgbench's per-transaction log.
func runPgbench(ctx context.Context, pgbench, dir, url, script string, defs []string, clients, threads int, d time.Duration) (result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "pgbench_log*"))
	for _, f := range old {
		os.Remove(f)
	}
	file := filepath.Join(dir, "tx.sql")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		return result{}, err
	}
	args := []string{"-n", "-M", "prepared", "-f", file,
		"-c", strconv.Itoa(clients), "-j", strconv.Itoa(threads),
		"-T", strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))),
		"-l", "--log-prefix=" + filepath.Join(dir, "pgbench_log")}
	for _, d := range defs {
		args = append(args, "-D", d)
	}
	args = append(args, url)
	cmd := exec.CommandContext(ctx, pgbench, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("pgbench: %w\n%s", err, tailString(string(out), 2000))
	}
	m := pgbenchTPS.FindSubmatch(out)
	if m == nil {
		return result{}, fmt.Errorf("pgbench printed no tps:\n%s", tailString(string(out), 2000))
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	if fm := pgbenchFailed.FindSubmatch(out); fm != nil && string(fm[1]) != "0" {
		return result{}, fmt.Errorf("pgbench: %s transactions failed:\n%s", fm[1], tailString(string(out), 2000))
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "pgbench_log*"))
	lat, err := readPgbenchLogs(logs)
	if err != nil {
		return result{}, err
	}
	if len(lat) == 0 {
		return result{}, fmt.Errorf("pgbench logged no transactions")
	}
	return result{RPS: tps, P50: percentile(lat, 50), P99: percentile(lat, 99), Requests: len(lat)}, nil
}

var (
	pgbenchTPS    = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	pgbenchFailed = regexp.MustCompile(`number of failed transactions: (\d+)`)
)

// readPgbenchLogs reads the latency (third field, microseconds) of every
// transaction in pgbench's -l logs.
func readPgbenchLogs(files []string) ([]time.Duration, error) {
	var lat []time.Duration
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 3 {
				continue
			}
			us, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil {
				continue // "failed" or "skipped" transactions
			}
			lat = append(lat, time.Duration(us)*time.Microsecond)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return lat, nil
}

// percentile returns the p-th percentile (nearest rank) of lat, sorting it.
func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rank := int(p/100*float64(len(lat))+0.999999) - 1
	return lat[max(0, min(rank, len(lat)-1))]
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
