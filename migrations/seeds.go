package migrations

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
)

// applySeeds runs every .sql file of cfg.Seeds in name order, as the
// Hasura CLI's `hasura seed apply` does, inside Up's transaction and the
// way a migration file runs (runFile): a seed that fails leaves nothing
// changed.
func applySeeds(ctx context.Context, tx pgx.Tx, cfg Config) error {
	files, err := filepath.Glob(filepath.Join(cfg.Seeds, "*.sql"))
	if err != nil {
		return fmt.Errorf("seeds: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("seeds: %s has no .sql files: give the folder that holds the seed files (seeds/<source>/ in a project)", cfg.Seeds)
	}
	for _, f := range files { // Glob sorts by name
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("seeds: %w", err)
		}
		if err := runFile(ctx, tx, f, string(b)); err != nil {
			return fmt.Errorf("seeds: %w\nnothing was changed: the seeds run in the transaction of the migrations and the policy install, which was rolled back; seeds are not recorded, so give --seeds only once, on a database that does not have their rows yet", err)
		}
	}
	cfg.logf("seeds applied: %d files from %s", len(files), cfg.Seeds)
	return nil
}
