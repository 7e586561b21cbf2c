package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestServeGCHeadroomFlag: a headroom serve cannot use is a usage error
// that says what to give, from the flag or from the environment.
func TestServeGCHeadroomFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--gc-headroom-mib", "-1"}, "", "--gc-headroom-mib -1: give a number of MiB, or 0 for Go's own collector pacing"},
		{nil, "lots", `ROWGUARD_GC_HEADROOM_MIB: strconv.Atoi: parsing "lots"`},
	} {
		t.Setenv("ROWGUARD_GC_HEADROOM_MIB", tc.env)
		err := runServe(t.Context(), append([]string{"--database-url", "postgres://x"}, tc.args...), io.Discard)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %q: got %v, want a usage error containing %q", tc.args, tc.env, err, tc.want)
		}
	}
}
