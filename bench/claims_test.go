package main

import (
	"math"
	"testing"
)

// TestClaimsRatios: paired rounds alternate which mode runs first; a run
// that is slower for being second lowers the ratio of the rounds where
// fresh claims ran second and raises the others, and the balanced ratio
// of each two rounds cancels it.
func TestClaimsRatios(t *testing.T) {
	token := []result{{RPS: 1000}, {RPS: 800}, {RPS: 1000}, {RPS: 800}, {RPS: 1000}}
	fresh := []result{{RPS: 800}, {RPS: 1000}, {RPS: 800}, {RPS: 1000}, {RPS: 900}}
	rs := ratios(token, fresh)
	if len(rs) != 5 || rs[0] != 0.8 || rs[1] != 1.25 {
		t.Fatalf("ratios = %v", rs)
	}
	bal := balanced(rs)
	if len(bal) != 2 {
		t.Fatalf("balanced = %v, want one value per two rounds (the fifth is left out)", bal)
	}
	for _, x := range bal {
		if math.Abs(x-1) > 1e-9 {
			t.Errorf("balanced = %v, want 1: the order effect is all there is", bal)
		}
	}
	if got := medianFloat([]float64{3, 1, 2, 10}); got != 2.5 {
		t.Errorf("medianFloat of 4 = %v, want 2.5", got)
	}
	if got := medianFloat([]float64{3, 1, 2}); got != 2 {
		t.Errorf("medianFloat of 3 = %v, want 2", got)
	}
	if got := median(fresh).RPS; got != 900 {
		t.Errorf("median = %v, want 900", got)
	}
	if got := loadRange([]string{"3.5", "12.25", "unknown", "7"}); got != "3.50–12.25" {
		t.Errorf("loadRange = %q", got)
	}
}
