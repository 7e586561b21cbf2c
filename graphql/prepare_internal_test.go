package graphql

import "testing"

func TestPreparedSetTouch(t *testing.T) {
	s := &preparedSet{}
	for _, n := range []string{"a", "b", "c"} {
		if s.touch(n) {
			t.Fatalf("%s: prepared before it was added", n)
		}
		s.order = append(s.order, n)
	}
	if !s.touch("a") {
		t.Fatal("a: not found")
	}
	if got, want := s.order, []string{"b", "c", "a"}; !equalStrings(got, want) {
		t.Errorf("order after touching a: got %v want %v", got, want)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
