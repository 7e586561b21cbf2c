package gcgoal

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// basePercent is Go's default GOGC, which Keep never goes below.
const basePercent = 100

// maxPercent bounds the GOGC Keep sets, for a heap that is almost empty.
const maxPercent = 10_000

// liveMetric is the heap the last cycle marked live.
const liveMetric = "/gc/heap/live:bytes"

// Keep makes every collection wait until the heap has grown by at least
// headroom bytes over what the last cycle found live: after each cycle it
// sets GOGC to max(100, 100·headroom/live). It does nothing (and returns
// false) when headroom is not positive or the operator set GOGC or
// GOMEMLIMIT: their settings are theirs. stop undoes it (GOGC back to
// 100); it is safe to call more than once.
func Keep(headroom uint64) (stop func(), kept bool) {
	if headroom == 0 || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}, false
	}
	k := &keeper{headroom: headroom, sample: []metrics.Sample{{Name: liveMetric}}}
	k.adjust()
	k.arm()
	var once sync.Once
	return func() {
		once.Do(func() {
			k.stopped.Store(true)
			debug.SetGCPercent(basePercent)
		})
	}, true
}

// keeper is one Keep: its headroom and the GOGC it set last.
type keeper struct {
	headroom uint64
	stopped  atomic.Bool
	mu       sync.Mutex // guards sample and percent
	sample   []metrics.Sample
	percent  int
}

// sentinel is an object whose only use is to become garbage: its cleanup
// runs after the cycle that found it unreachable. It holds a pointer so
// that it is not a tiny allocation (tiny objects share a block, and their
// cleanups may never run).
type sentinel struct {
	_ *int
	_ [8]byte
}

// arm runs adjust after the next cycle, and arms again from there.
func (k *keeper) arm() {
	runtime.AddCleanup(new(sentinel), func(k *keeper) {
		if k.stopped.Load() {
			return
		}
		k.adjust()
		k.arm()
	}, k)
}

// adjust sets GOGC for the live heap the last cycle found.
func (k *keeper) adjust() {
	k.mu.Lock()
	defer k.mu.Unlock()
	metrics.Read(k.sample)
	var live uint64
	if k.sample[0].Value.Kind() == metrics.KindUint64 {
		live = k.sample[0].Value.Uint64()
	}
	p := percentFor(k.headroom, live)
	if p == k.percent || k.stopped.Load() {
		return
	}
	k.percent = p
	debug.SetGCPercent(p)
}

// percentFor is the GOGC that lets a heap of live bytes grow by headroom:
// never below 100, at most maxPercent.
func percentFor(headroom, live uint64) int {
	if live == 0 {
		return maxPercent
	}
	p := headroom * 100 / live
	switch {
	case p < basePercent:
		return basePercent
	case p > maxPercent:
		return maxPercent
	}
	// Rounded to 5% steps, so a heap that breathes a little does not
	// change the setting after every cycle.
	return int(p / 5 * 5)
}
