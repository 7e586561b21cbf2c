package migrations

import (
	"context"
	"errors"
	"fmt"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// LoadProgram compiles the metadata a server should serve against the
// database's live catalog: the metadata in metadataDir when it is given,
// else the metadata of the policies the database has installed (rowguard
// migrate up). opts must match the options the policies were installed
// with, so the role names agree.
func LoadProgram(ctx context.Context, q compiler.Querier, metadataDir string, opts compiler.Options) (*compiler.Program, error) {
	var md *policies.Metadata
	if metadataDir != "" {
		m, err := policies.Load(metadataDir)
		if err != nil {
			return nil, err
		}
		md = m
	} else {
		in, err := Current(ctx, q)
		if err != nil {
			return nil, err
		}
		if in == nil || in.Source == nil {
			return nil, errors.New("the database has no rowguard policies installed: run `rowguard migrate up`, or pass the metadata directory")
		}
		if md, err = in.Source.Load(); err != nil {
			return nil, fmt.Errorf("installed metadata: %w", err)
		}
	}
	cat, err := compiler.LoadCatalog(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("read the database catalog: %w", err)
	}
	prog, errs := compiler.Compile(cat, md, opts)
	if len(errs) > 0 {
		return nil, errs
	}
	return prog, nil
}
