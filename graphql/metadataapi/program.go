package metadataapi

import (
	"context"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/policies"
)

// Program returns the program a server should start with before New takes
// over: what the database has installed, or, on a database where nothing
// is installed yet, the program of empty metadata (every table
// untracked), which New then installs.
func Program(ctx context.Context, q compiler.Querier, opts compiler.Options) (*compiler.Program, error) {
	in, err := migrations.Current(ctx, q)
	if err != nil {
		return nil, err
	}
	if in != nil {
		return migrations.LoadProgram(ctx, q, "", opts)
	}
	cat, err := compiler.LoadCatalog(ctx, q, nil)
	if err != nil {
		return nil, err
	}
	prog, errs := compiler.Compile(cat, &policies.Metadata{}, opts)
	if len(errs) > 0 {
		return nil, errs
	}
	return prog, nil
}
