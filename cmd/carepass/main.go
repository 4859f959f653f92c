// Command carepass is the whole platform in one binary: the web server, the
// schema migrations, demo seeding and the operator's command line.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for migrations

	"github.com/carepass/carepass/modules/credential/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		var code exitCode
		if errors.As(err, &code) {
			os.Exit(int(code))
		}
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "carepass:", err)
			os.Exit(1)
		}
	}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// env is what every subcommand gets.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

var commands = []command{
	{"serve", "serve the web application (production entry point)", cmdServe},
	{"dev", "migrate, seed the demo tenants and serve (what `make run` uses)", cmdDev},
	{"migrate", "apply or inspect schema migrations: migrate up|down|status", cmdMigrate},
	{"seed", "seed data: seed demo | seed scale (synthetic population for load tests)", cmdSeed},
	{"tenant", "manage tenants: tenant create|suspend|resume", cmdTenant},
	{"account", "platform operator accounts: account create|set-password", cmdAccount},
	{"audit", "check audit trails: audit verify --tenant SLUG | --platform", cmdAudit},
	{"billing", "bring every tenant's billing in line with Stripe: billing reconcile", cmdBilling},
	{"verify", "verify a carer passport QR payload (or a PNG of the QR) offline against a key set and status list", cmdVerify},
}

// cmdVerify needs no configuration or database: it works offline.
func cmdVerify(_ context.Context, e *env, args []string) error {
	if code := verify.Main(args, e.stdin, e.stdout, e.stderr); code != verify.ExitValid {
		return exitCode(code) // the verifier has already said why
	}
	return nil
}

// exitCode is an error that ends the process with its own status and no
// further message.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errors.New("a subcommand is required")
		}
		return flag.ErrHelp
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: carepass <subcommand> [flags]\n\nSubcommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `carepass <subcommand> --help` for its flags. Configuration is read from the environment; see README.md.")
}

// flags returns a flag set whose --help prints usage text and the flags.
func flags(e *env, name, usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: carepass %s\n", usageLine)
		fs.PrintDefaults()
	}
	return fs
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func openSQL(url string) (*sql.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, errors.New("MIGRATION_DATABASE_URL is not a valid PostgreSQL URL")
	}
	return db, nil
}

// readSecret reads one line (a password) from stdin.
func readSecret(e *env, prompt string) (string, error) {
	if f, ok := e.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(e.stderr, prompt)
		}
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
