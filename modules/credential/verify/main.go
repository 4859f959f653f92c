package verify

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/carepass/carepass/modules/credential"
)

const (
	// maxInput bounds what Main reads of a payload or PNG file or stdin.
	maxInput = 16 << 20
	// maxDocument bounds a key set or status list file.
	maxDocument = 64 << 20
)

// Exit codes of Main.
const (
	ExitValid   = 0 // the credential is valid
	ExitInvalid = 1 // the credential is invalid; the reason is printed
	ExitUsage   = 2 // bad arguments, or a key set or status file unusable
)

const usage = `usage: carepass verify --keys KEYS.json --status STATUS.json [--status ...] [--at TIME] [PAYLOAD | FILE | -]

Checks a passport's signed QR code offline against a saved key set and the
issuers' saved status lists. The credential is the QR text (starting CP1:),
a file holding the text or a PNG image of the QR code, or standard input
when absent or "-". Prints "valid" and what the passport says, or
"invalid: REASON"; exits 0 only when valid.
`

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Main runs `carepass verify` with args (the words after "verify") and
// returns the exit code: ExitValid, ExitInvalid or ExitUsage.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("carepass verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	keysFile := fs.String("keys", "", "the published key set (JSON)")
	var statusFiles stringList
	fs.Var(&statusFiles, "status", "a published status list document or array of them (JSON); repeatable")
	at := fs.String("at", "", "check at this time (RFC 3339) instead of now")

	// Flags may come before or after the credential.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return ExitUsage // the flag set has printed why
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) > 1 {
		fmt.Fprintln(stderr, "carepass verify: give one credential")
		return ExitUsage
	}
	if *keysFile == "" || len(statusFiles) == 0 {
		fmt.Fprintln(stderr, "carepass verify: --keys and --status are required")
		fs.Usage()
		return ExitUsage
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "carepass verify: --at: %v\n", err)
			return ExitUsage
		}
		now = t
	}
	keys, status, err := loadTrust(*keysFile, statusFiles)
	if err != nil {
		fmt.Fprintf(stderr, "carepass verify: %v\n", err)
		return ExitUsage
	}
	arg := "-"
	if len(positional) == 1 {
		arg = positional[0]
	}
	text, err := readCredential(arg, stdin)
	if err != nil {
		var ioErr *inputError
		if errors.As(err, &ioErr) {
			fmt.Fprintf(stderr, "carepass verify: %v\n", err)
			return ExitUsage
		}
		fmt.Fprintf(stdout, "invalid: %s\n", Malformed)
		fmt.Fprintf(stderr, "detail: %v\n", err)
		return ExitInvalid
	}
	res, err := Verify(text, keys, status, now)
	if !res.Valid {
		fmt.Fprintf(stdout, "invalid: %s\n", res.Reason)
		if err != nil {
			fmt.Fprintf(stderr, "detail: %v\n", err)
		}
		return ExitInvalid
	}
	p := res.Payload
	fmt.Fprintf(stdout, "valid\nholder: %s\nscheme: %s\nissuer: %s\nvalid until: %s\n",
		p.HolderName, p.Scheme, p.Issuer, p.ValidUntil.UTC().Format(time.RFC3339))
	return ExitValid
}

// inputError is a failure to read the credential's source, as opposed to a
// source that holds no valid credential.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// readLimited reads at most limit bytes from r, failing beyond.
func readLimited(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &inputError{fmt.Errorf("reading %s: %w", what, err)}
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", what, limit)
	}
	return b, nil
}

// readFile reads a whole file of at most limit bytes.
func readFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, &inputError{err}
	}
	defer f.Close()
	return readLimited(f, limit, name)
}

// readCredential returns the QR text from arg: the text itself, a file of
// text or PNG, or "-" for stdin. An error that is not an *inputError means
// the source holds no readable credential.
func readCredential(arg string, stdin io.Reader) (string, error) {
	var data []byte
	var err error
	switch {
	case strings.HasPrefix(arg, credential.QRPrefix):
		return arg, nil
	case arg == "-":
		if stdin == nil {
			return "", &inputError{errors.New("no credential given and no standard input")}
		}
		data, err = readLimited(stdin, maxInput, "standard input")
	default:
		data, err = readFile(arg, maxInput)
	}
	if err != nil {
		return "", err
	}
	if isPNG(data) {
		return DecodePNG(data)
	}
	return strings.TrimSpace(string(data)), nil
}

// loadTrust reads the key set and status list files.
func loadTrust(keysFile string, statusFiles []string) (*credential.KeySet, credential.StatusLists, error) {
	data, err := readFile(keysFile, maxDocument)
	if err != nil {
		return nil, nil, err
	}
	keys, err := credential.ParseKeySet(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keysFile, err)
	}
	status := credential.StatusLists{}
	for _, name := range statusFiles {
		data, err := readFile(name, maxDocument)
		if err != nil {
			return nil, nil, err
		}
		lists, err := credential.ParseStatusLists(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		for issuer, l := range lists {
			if _, dup := status[issuer]; dup {
				return nil, nil, fmt.Errorf("%s: a second status list for issuer %q", name, issuer)
			}
			status[issuer] = l
		}
	}
	return keys, status, nil
}
