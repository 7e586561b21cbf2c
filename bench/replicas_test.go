package main

import (
	"strings"
	"testing"
)

// TestReplicaReportMarkdown: each setting's ratio is the median of its
// rounds' ratios to no replica in the same round, and the share routed
// to replicas is shown for the settings with replicas.
func TestReplicaReportMarkdown(t *testing.T) {
	r := &replicaReport{
		query: benchQuery{Name: "list", Title: "articles"}, rounds: 3, loadStart: "1.0", loadEnd: "2.0",
		settings: []*replicaSetting{
			{n: 0, rps: []float64{1000, 2000, 4000}, loads: []string{"1", "1", "1"}},
			{n: 1, rps: []float64{500, 3000, 2000}, loads: []string{"1", "1", "1"}, routed: 0.995},
		},
	}
	got := r.markdown()
	for _, want := range []string{
		"| 0 | 1000 (load 1), 2000 (load 1), 4000 (load 1) | 2000 | 1.00× | — |",
		// ratios 0.5, 1.5, 0.5: median 0.5 (not 5500/7000)
		"| 1 | 500 (load 1), 3000 (load 1), 2000 (load 1) | 2000 | 0.50× | 100% |",
		"load average 1.0 at the start, 2.0 at the end",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("markdown lacks %q:\n%s", want, got)
		}
	}
}
