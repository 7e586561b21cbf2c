package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// programFlags are the flags every command that compiles metadata shares.
type programFlags struct {
	metadata    string
	schemas     multiFlag
	databaseURL string
	rolePrefix  string
	definerRole string
	loginRole   string
	// project and source: a Hasura CLI project folder, whose metadata
	// and migrations stand for --metadata and --migrations.
	project string
	source  string
	// seeds is the project's seeds directory for source, if it has one.
	seeds string
}

func (p *programFlags) register(fs *flag.FlagSet, withSchema bool) {
	fs.StringVar(&p.metadata, "metadata", envOr("ROWGUARD_METADATA", "metadata"), "Hasura metadata directory (or exported metadata JSON file)")
	if withSchema {
		fs.Var(&p.schemas, "schema", "DDL file describing the schema, read offline (repeatable; instead of --database-url)")
	}
	fs.StringVar(&p.databaseURL, "database-url", envOr("HASURA_GRAPHQL_DATABASE_URL", os.Getenv("DATABASE_URL")), "PostgreSQL connection URL")
	fs.StringVar(&p.rolePrefix, "role-prefix", envOr("ROWGUARD_ROLE_PREFIX", compiler.DefaultRolePrefix), "prefix of the PostgreSQL role made for each Hasura role")
	fs.StringVar(&p.definerRole, "definer-role", envOr("ROWGUARD_DEFINER_ROLE", rls.DefaultDefinerRole), "BYPASSRLS role owning the cross-table helper functions")
	fs.StringVar(&p.loginRole, "login-role", os.Getenv("ROWGUARD_LOGIN_ROLE"), "the server's login role, to be granted every API role and the admin role")
	fs.StringVar(&p.project, "project", os.Getenv("ROWGUARD_PROJECT"), "Hasura CLI project folder (config.yaml, metadata/, migrations/<source>/): stands for --metadata and --migrations; may also be given as the last argument")
	fs.StringVar(&p.source, "source", envOr("ROWGUARD_SOURCE", migrations.DefaultSource), "the database source served: its tables in the metadata and, with --project, its migrations (migrations/<source>/); default: the source named default, or the metadata's only one")
}

// useProject resolves --project (or one positional argument) into the
// metadata and migrations directories; migrations is nil for commands
// that take none. Explicit --metadata and --migrations win.
func (p *programFlags) useProject(fs *flag.FlagSet, migrationsDir *string) error {
	switch {
	case fs.NArg() == 1 && p.project == "":
		p.project = fs.Arg(0)
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected arguments %q: give the project folder once, with --project or as the last argument", fs.Args())}
	}
	if p.project == "" {
		return nil
	}
	proj, err := migrations.ReadProject(p.project, p.source)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["metadata"] {
		p.metadata = proj.Metadata
	}
	if migrationsDir != nil && !set["migrations"] {
		*migrationsDir = proj.Migrations
	}
	p.seeds = proj.Seeds
	return nil
}

func (p *programFlags) rlsOptions() rls.Options {
	return rls.Options{DefinerRole: p.definerRole, LoginRole: p.loginRole}
}

// compileWith loads the metadata and compiles it against cat.
func (p *programFlags) compileWith(cat *compiler.Catalog) (*compiler.Program, error) {
	md, _, err := policies.ReadSource(p.metadata, p.source)
	if err != nil {
		return nil, err
	}
	prog, errs := compiler.Compile(cat, md, compiler.Options{RolePrefix: p.rolePrefix})
	if len(errs) > 0 {
		return nil, errs
	}
	for _, w := range prog.Warnings {
		fmt.Fprintf(os.Stderr, "rowguard: warning: %v\n", w)
	}
	return prog, nil
}

func runCompile(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compile", flag.ContinueOnError)
	var pf programFlags
	pf.register(fs, true)
	var cf claimsFlags
	cf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := pf.useProject(fs, nil); err != nil {
		return err
	}
	extend, err := cf.extend(pf.metadata, pf.rlsOptions())
	if err != nil {
		return err
	}
	var cat *compiler.Catalog
	switch {
	case len(pf.schemas) > 0:
		var files []compiler.DDLFile
		for _, name := range pf.schemas {
			b, err := os.ReadFile(name)
			if err != nil {
				return fmt.Errorf("read schema: %w", err)
			}
			files = append(files, compiler.DDLFile{Name: name, SQL: string(b)})
		}
		c, err := compiler.ParseDDL(files)
		if err != nil {
			return err
		}
		cat = c
	case pf.databaseURL != "":
		conn, err := pgx.Connect(ctx, pf.databaseURL)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		defer conn.Close(ctx)
		c, err := compiler.LoadCatalog(ctx, conn, nil)
		if err != nil {
			return err
		}
		cat = c
	default:
		return usageError{"compile needs the schema: give --schema FILE.sql (offline) or --database-url"}
	}
	prog, err := pf.compileWith(cat)
	if err != nil {
		return err
	}
	script := rls.Emit(prog, pf.rlsOptions())
	if extend != nil {
		more, err := extend(prog)
		if err != nil {
			return err
		}
		script += more
	}
	_, err = io.WriteString(stdout, script)
	return err
}
