package migrations

import (
	"context"
	"errors"
	"fmt"

	"github.com/golang-migrate/migrate/v4"
	"github.com/jackc/pgx/v5"
)

// schemaMigrations is a migrations folder and the ledger of the database
// it is applied to.
type schemaMigrations struct {
	folder *folder
	ledger ledger
}

// openSchemaMigrations reads cfg.Migrations and picks the ledger of the
// database tx is in.
func openSchemaMigrations(ctx context.Context, tx pgx.Tx, cfg Config) (*schemaMigrations, error) {
	f, err := readFolder(cfg.Migrations)
	if err != nil {
		return nil, err
	}
	source := cfg.Source
	if source == "" {
		source = DefaultSource
	}
	l, err := chooseLedger(ctx, tx, cfg.HasuraLedger, source)
	if err != nil {
		return nil, err
	}
	return &schemaMigrations{folder: f, ledger: l}, nil
}

// pending returns the versions of the folder above the newest applied one.
// The ledger need not exist.
func (s *schemaMigrations) pending(ctx context.Context, tx pgx.Tx) ([]uint, error) {
	top := -1
	ok, err := s.ledger.exists(ctx, tx)
	if err != nil {
		return nil, err
	}
	if ok {
		if top, _, err = s.ledger.version(ctx, tx); err != nil {
			return nil, err
		}
	}
	var out []uint
	for _, v := range s.folder.versions {
		if top < 0 || v > uint(top) {
			out = append(out, v)
		}
	}
	return out, nil
}

// up runs the pending migrations in tx with golang-migrate.
func (s *schemaMigrations) up(ctx context.Context, tx pgx.Tx) error {
	drv := &txDriver{ctx: ctx, tx: tx, ledger: s.ledger, folder: s.folder}
	m, err := migrate.NewWithInstance("rowguard-folder", s.folder, "rowguard-transaction", drv)
	if err != nil {
		return fmt.Errorf("open migrations: %w", err)
	}
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return migrateError(err)
	}
	return nil
}
