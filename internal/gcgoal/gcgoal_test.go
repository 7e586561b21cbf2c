package gcgoal

import (
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name           string
		headroom, live uint64
		want           int
	}{
		{"empty heap", 32 * mib, 0, maxPercent},
		{"small heap", 32 * mib, 3 * mib, 1065},
		{"tiny heap", 32 * mib, 1000, maxPercent},
		{"heap the size of the headroom", 32 * mib, 32 * mib, basePercent},
		{"large heap", 32 * mib, 1 << 30, basePercent},
		{"rounded to 5", 100, 7, 1425},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := percentFor(c.headroom, c.live); got != c.want {
				t.Errorf("percentFor(%d, %d) = %d, want %d", c.headroom, c.live, got, c.want)
			}
		})
	}
}

// gogc is the GOGC the runtime runs with now.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

func unsetenv(t *testing.T, names ...string) {
	for _, n := range names {
		t.Setenv(n, "") // restores the old value after the test
		os.Unsetenv(n)
	}
}

// TestKeep: GOGC follows the live heap after every cycle while kept, and
// is back at 100 once stopped.
func TestKeep(t *testing.T) {
	unsetenv(t, "GOGC", "GOMEMLIMIT")
	stop, kept := Keep(1 << 30)
	if !kept {
		t.Fatal("Keep did nothing without GOGC and GOMEMLIMIT")
	}
	defer stop()
	// A live heap of about 64 MiB: GOGC about 1600.
	ballast := make([][]byte, 64)
	for i := range ballast {
		ballast[i] = make([]byte, 1<<20)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		if p := gogc(); p >= 1000 && p <= 2000 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("GOGC is %d with 64 MiB live and 1 GiB of headroom, want about 1600", p)
		}
		time.Sleep(10 * time.Millisecond) // the cleanup runs on its own goroutine
	}
	runtime.KeepAlive(ballast)
	stop()
	stop()
	if p := gogc(); p != basePercent {
		t.Errorf("GOGC is %d after stop, want %d", p, basePercent)
	}
}

// TestKeepLeavesOperatorSettings: GOGC or GOMEMLIMIT in the environment
// wins.
func TestKeepLeavesOperatorSettings(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			unsetenv(t, "GOGC", "GOMEMLIMIT")
			t.Setenv(env, "200") // read by Keep only; the runtime read it at start
			before := gogc()
			stop, kept := Keep(1 << 30)
			defer stop()
			runtime.GC()
			if kept || gogc() != before {
				t.Errorf("with %s set: kept %v, GOGC %d → %d; want it left alone", env, kept, before, gogc())
			}
		})
	}
}
