package graphql

import (
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestPreparedSet: touch finds what add recorded, and oldest is the least
// recently used, touches included.
func TestPreparedSet(t *testing.T) {
	s := &preparedSet{stmts: map[string]*preparedStmt{}}
	descs := map[string]*pgconn.StatementDescription{}
	for _, n := range []string{"a", "b", "c"} {
		if s.touch(n) != nil {
			t.Fatalf("%s: prepared before it was added", n)
		}
		descs[n] = &pgconn.StatementDescription{Name: n}
		s.add(n, descs[n])
	}
	if got := s.oldest(); got != "a" {
		t.Errorf("oldest after adding a, b, c: got %s want a", got)
	}
	if got := s.touch("a"); got != descs["a"] {
		t.Fatalf("touch(a) = %v, want a's description", got)
	}
	if got := s.oldest(); got != "b" {
		t.Errorf("oldest after touching a: got %s want b", got)
	}
	s.touch("b")
	if got := s.oldest(); got != "c" {
		t.Errorf("oldest after touching a then b: got %s want c", got)
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
