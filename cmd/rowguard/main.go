// Command rowguard compiles Hasura permission metadata into PostgreSQL
// row-level security, installs it, and serves a Hasura-compatible GraphQL
// API over it.
//
//	rowguard compile --metadata DIR [--schema FILE.sql …|--database-url URL]
//	rowguard migrate up|down|status --database-url URL --metadata DIR [--migrations DIR]
//	rowguard migrate up|down|status --database-url URL [--source NAME] --project DIR (or DIR last)
//	rowguard diff --database-url URL --metadata DIR
//	rowguard serve --database-url URL [--metadata DIR] [--port 8080] [--fresh-claims]
//	rowguard console --metadata DIR --database-url URL [--port 9695]
//	rowguard claims --user-id ID --database-url URL [--metadata DIR]
//	rowguard demo
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// usageError is an error in how rowguard was called; main prints usage
// after it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

var commands = map[string]struct {
	run     func(ctx context.Context, args []string, stdout io.Writer) error
	summary string
}{
	"compile": {runCompile, "print the SQL that installs the metadata's permissions"},
	"migrate": {runMigrate, "apply schema migrations and the generated policies (up|down|status)"},
	"diff":    {runDiff, "show what the database has installed that the metadata does not say"},
	"demo":    {runDemo, "start a throwaway PostgreSQL with examples/blog and show the policies at work"},
	"serve":   {runServe, "serve the Hasura-compatible GraphQL API, with permissions enforced by PostgreSQL"},
	"console": {runConsole, "serve the web console over a local database for a metadata directory"},
	"claims":  {runClaims, "print the custom claims (permission variables) a user's token would carry"},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rowguard:", err)
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(os.Stderr)
			usage(os.Stderr)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	return cmd.run(ctx, args[1:], stdout)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: rowguard <command> [flags]\n\ncommands:")
	for _, name := range []string{"compile", "migrate", "diff", "serve", "console", "claims", "demo"} {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun `rowguard <command> -h` for a command's flags.")
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parseFlags parses fs and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			os.Exit(0)
		}
		return usageError{err.Error()}
	}
	return nil
}

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
