// Package procstat reads /proc/<pid>/stat, the one-line status Linux keeps
// for each process (proc(5)): the benchmark's CPU times and parents, and
// tests' page-fault counts.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Stat is one reading of /proc/<pid>/stat.
type Stat struct {
	pid  int
	rest []string // fields 3 and on (the command name, field 2, may hold spaces)
}

// Read reads /proc/<pid>/stat.
func Read(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	return Stat{pid: pid, rest: strings.Fields(s[i+1:])}, nil
}

// Int returns field n as proc(5) numbers them (4: ppid, 10: minflt, 14:
// utime and 15: stime in clock ticks, …); n is 3 or more.
func (s Stat) Int(n int) (int64, error) {
	if n < 3 || n-3 >= len(s.rest) {
		return 0, fmt.Errorf("/proc/%d/stat: no field %d in %d", s.pid, n, len(s.rest)+2)
	}
	v, err := strconv.ParseInt(s.rest[n-3], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: field %d: %w", s.pid, n, err)
	}
	return v, nil
}
