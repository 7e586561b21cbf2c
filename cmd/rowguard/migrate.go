package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/migrations"
)

func migrationsConfig(pf *programFlags, dir string, log io.Writer) migrations.Config {
	return migrations.Config{
		DatabaseURL:  pf.databaseURL,
		Migrations:   dir,
		HasuraLedger: pf.project != "",
		Source:       pf.source,
		Metadata:     pf.metadata,
		Compile:      compiler.Options{RolePrefix: pf.rolePrefix},
		RLS:          pf.rlsOptions(),
		Log:          log,
	}
}

func runMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"migrate needs a subcommand: up, down or status"}
	}
	sub := args[0]
	fs := flag.NewFlagSet("migrate "+sub, flag.ContinueOnError)
	var pf programFlags
	pf.register(fs, false)
	dir := fs.String("migrations", envOr("ROWGUARD_MIGRATIONS", ""), "directory of schema migrations, <version>_<name>/up.sql (Hasura CLI) or <version>_<name>.up.sql (golang-migrate) (optional)")
	seeds := fs.Bool("seeds", false, "with a project folder, `migrate up` also applies its seeds (seeds/<source>/*.sql, as `hasura seed apply`) after the schema migrations, in the same transaction; seeds are not recorded: give it once, on a fresh database")
	var cf claimsFlags
	cf.register(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := pf.useProject(fs, dir); err != nil {
		return err
	}
	if *seeds {
		switch {
		case sub != "up":
			return usageError{"--seeds goes with `migrate up`"}
		case pf.project == "":
			return usageError{"--seeds applies a project folder's seeds: give the folder (--project or the last argument)"}
		case pf.seeds == "":
			return usageError{fmt.Sprintf("--seeds: project folder %s has no seeds for source %q (seeds/%s/ or config.yaml's seeds_directory)", pf.project, pf.source, pf.source)}
		}
	}
	if pf.databaseURL == "" {
		return usageError{"migrate needs --database-url (or HASURA_GRAPHQL_DATABASE_URL)"}
	}
	cfg := migrationsConfig(&pf, *dir, stdout)
	if *seeds {
		cfg.Seeds = pf.seeds
	}
	extend, err := cf.extend(pf.metadata, cfg.RLS)
	if err != nil {
		return err
	}
	cfg.Extend = extend
	switch sub {
	case "up":
		return migrations.Up(ctx, cfg)
	case "down":
		return migrations.Down(ctx, cfg)
	case "status":
		st, err := migrations.Status(ctx, cfg)
		if err != nil {
			return err
		}
		printStatus(stdout, cfg, st)
		return nil
	}
	return usageError{fmt.Sprintf("unknown migrate subcommand %q: use up, down or status", sub)}
}

func printStatus(w io.Writer, cfg migrations.Config, st *migrations.State) {
	if cfg.Migrations != "" {
		state := "up to date"
		switch {
		case st.SchemaProblem != nil:
			state = "cannot continue"
		case st.SchemaDirty:
			state = "DIRTY: a migration run by another tool failed half-way"
		case st.SchemaPending:
			state = "pending migrations"
		}
		fmt.Fprintf(w, "schema:   version %d, %s (%s, in %s)\n", st.SchemaVersion, state, cfg.Migrations, st.SchemaLedger)
		if st.SchemaProblem != nil {
			fmt.Fprintf(w, "          `migrate up` will refuse: %v\n", st.SchemaProblem)
		}
	}
	switch {
	case st.PolicyVersion == 0:
		fmt.Fprintf(w, "policies: none installed\n")
	default:
		fmt.Fprintf(w, "policies: version %d (%s)\n", st.PolicyVersion, st.PolicyHash[:12])
	}
	switch {
	case st.MetadataErrors != nil:
		fmt.Fprintf(w, "metadata: does not compile:\n%v\n", st.MetadataErrors)
	case st.PolicyPending:
		fmt.Fprintf(w, "metadata: differs from what is installed; run `rowguard migrate up`\n")
	default:
		fmt.Fprintf(w, "metadata: installed\n")
	}
}

func runDiff(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	var pf programFlags
	pf.register(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := pf.useProject(fs, nil); err != nil {
		return err
	}
	if pf.databaseURL == "" {
		return usageError{"diff needs --database-url (or HASURA_GRAPHQL_DATABASE_URL)"}
	}
	lines, err := migrations.Diff(ctx, migrationsConfig(&pf, "", nil))
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		fmt.Fprintln(stdout, "no drift: the database enforces exactly what the metadata says")
		return nil
	}
	fmt.Fprintln(stdout, "- in the database, not in the metadata; + in the metadata, not in the database")
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}
