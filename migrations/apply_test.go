package migrations

import (
	"context"
	"testing"
	"time"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// TestApply: an install made inside a caller's transaction is undone by
// its rollback, recorded like Up's when committed, a no-op when repeated,
// and rolled back by Down like any other version.
func TestApply(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	if err := Up(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	afterUp := snapshot(t, cfg.DatabaseURL)
	conn := pgtest.Connect(t, cfg.DatabaseURL)

	// The next install: the blog's tables without any permission.
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, &policies.Metadata{}, cfg.Compile)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	script := rls.Emit(prog, cfg.RLS)
	src := &policies.Source{Root: "metadata.json", Files: map[string]string{"metadata.json": `{"version":3,"sources":[]}`}}

	apply := func(commit bool) int64 {
		t.Helper()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Apply(ctx, tx, script, src)
		if err != nil {
			tx.Rollback(ctx)
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	current := func() *Installed {
		t.Helper()
		in, err := Current(ctx, conn)
		if err != nil || in == nil {
			t.Fatalf("Current: %v, %v", in, err)
		}
		return in
	}

	if v := apply(false); v != 2 {
		t.Errorf("Apply returned version %d, want 2", v)
	}
	if in := current(); in.Version != 1 {
		t.Fatalf("after a rolled-back Apply the database has version %d, want 1", in.Version)
	}
	if got := snapshot(t, cfg.DatabaseURL); !equal(got, afterUp) {
		t.Errorf("a rolled-back Apply changed the policies")
	}
	apply(true)
	in := current()
	if in.Version != 2 || in.Hash != Hash(script) || in.Source.Files["metadata.json"] != src.Files["metadata.json"] {
		t.Fatalf("after Apply: version %d hash %s source %v", in.Version, in.Hash, in.Source)
	}
	if v := apply(true); v != 2 {
		t.Errorf("repeated Apply installed version %d, want to keep 2", v)
	}
	if err := Down(ctx, cfg); err != nil {
		t.Fatalf("Down after Apply: %v", err)
	}
	if in := current(); in.Version != 1 {
		t.Errorf("after Down: version %d, want 1", in.Version)
	}
	if got := snapshot(t, cfg.DatabaseURL); !equal(got, afterUp) {
		t.Errorf("Down after Apply did not restore version 1's policies")
	}
}

func equal(a, b []string) bool {
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
