package procstat

import (
	"os"
	"testing"
)

// TestRead: this process's parent and page faults, and a field that does
// not exist.
func TestRead(t *testing.T) {
	st, err := Read(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if ppid, err := st.Int(4); err != nil || int(ppid) != os.Getppid() {
		t.Errorf("ppid: got %d, %v; want %d", ppid, err, os.Getppid())
	}
	if minflt, err := st.Int(10); err != nil || minflt <= 0 {
		t.Errorf("minflt: got %d, %v; want a positive count", minflt, err)
	}
	if _, err := st.Int(2); err == nil {
		t.Error("field 2 (the command name): no error")
	}
	if _, err := st.Int(len(st.rest) + 3); err == nil {
		t.Error("a field past the end: no error")
	}
}
