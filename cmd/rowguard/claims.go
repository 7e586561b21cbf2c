package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/claims"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// claimsFlags configure custom claims (package claims): flags first, then
// hasura-auth's environment variables, then the files beside the metadata.
type claimsFlags struct {
	claimsJSON, defaultsJSON, file, userTable, userKey string
}

func (c *claimsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.claimsJSON, "custom-claims", "", "custom claims as hasura-auth's "+claims.EnvClaims+" (JSON object key → path); default: that variable, else "+claims.FileJSON+" or "+claims.FileNhost+" beside the metadata directory")
	fs.StringVar(&c.defaultsJSON, "custom-claims-defaults", "", "defaults of --custom-claims, as hasura-auth's "+claims.EnvDefaults)
	fs.StringVar(&c.file, "claims-file", os.Getenv("ROWGUARD_CLAIMS_FILE"), "custom claims file: "+claims.FileJSON+"-shaped JSON, or an nhost.toml")
	fs.StringVar(&c.userTable, "claims-user-table", "", "table claim paths start from (default auth.users, or "+claims.EnvUserTable+")")
	fs.StringVar(&c.userKey, "claims-user-key", "", "column of the user table holding the user id (default id, or "+claims.EnvUserKey+")")
}

// load reads the configuration; nil when no claims are configured.
func (c *claimsFlags) load(metadata string) (*claims.Config, error) {
	return claims.Load(c.sources(metadata))
}

// extend returns what migrate installs with the policies for the
// configured claims (rowguard.rg_claims), or nil when there are none.
func (c *claimsFlags) extend(metadata string, opts rls.Options) (func(*compiler.Program) (string, error), error) {
	cfg, err := c.load(metadata)
	if err != nil || cfg == nil {
		return nil, err
	}
	return func(prog *compiler.Program) (string, error) {
		return claims.Install(cfg, prog, definerOf(opts), opts.LoginRole)
	}, nil
}

// extendLive is extend for a configuration that may change while the
// process runs (the console's permission variables page writes it): it
// reads the configuration again at every install, and installs nothing
// while there is none.
func (c *claimsFlags) extendLive(metadata string, opts rls.Options) func(*compiler.Program) (string, error) {
	return func(prog *compiler.Program) (string, error) {
		cfg, err := c.load(metadata)
		if err != nil || cfg == nil {
			return "", err
		}
		return claims.Install(cfg, prog, definerOf(opts), opts.LoginRole)
	}
}

// sources are the places the configuration is read from.
func (c *claimsFlags) sources(metadata string) claims.Sources {
	return claims.Sources{
		ClaimsJSON: c.claimsJSON, DefaultsJSON: c.defaultsJSON, File: c.file,
		Metadata: metadata, UserTable: c.userTable, UserKey: c.userKey,
	}
}

func definerOf(opts rls.Options) string {
	if opts.DefinerRole == "" {
		return rls.DefaultDefinerRole
	}
	return opts.DefinerRole
}

// runClaims prints the claims namespace an auth service would put in the
// user's token.
func runClaims(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("claims", flag.ContinueOnError)
	dbURL := fs.String("database-url", envOr("HASURA_GRAPHQL_DATABASE_URL", os.Getenv("DATABASE_URL")), "PostgreSQL connection URL of a role that may read the tables the paths name (the owner)")
	metadata := fs.String("metadata", os.Getenv("ROWGUARD_METADATA"), "Hasura metadata directory; default: the metadata the database has installed")
	rolePrefix := fs.String("role-prefix", envOr("ROWGUARD_ROLE_PREFIX", compiler.DefaultRolePrefix), "prefix of the PostgreSQL role of each Hasura role")
	userID := fs.String("user-id", "", "the user's id (required)")
	var cf claimsFlags
	cf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *userID == "" {
		return usageError{"claims needs --user-id"}
	}
	if *dbURL == "" {
		return usageError{"claims needs --database-url (or HASURA_GRAPHQL_DATABASE_URL)"}
	}
	cfg, err := cf.load(*metadata)
	if err != nil {
		return err
	}
	if cfg == nil {
		return errors.New("no custom claims configured: give --custom-claims, --claims-file or " + claims.EnvClaims + ", or put " + claims.FileJSON + " or " + claims.FileNhost + " beside the metadata directory")
	}
	conn, err := pgx.Connect(ctx, *dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	prog, err := migrations.LoadProgram(ctx, conn, *metadata, compiler.Options{RolePrefix: *rolePrefix})
	if err != nil {
		return err
	}
	comp, err := claims.Compile(cfg, prog, prog.Catalog)
	if err != nil {
		return err
	}
	vals, err := claims.Namespace(ctx, conn, comp, *userID)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(vals); err != nil {
		return err
	}
	_, err = stdout.Write(b.Bytes())
	return err
}
