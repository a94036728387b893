// Command hypercore creates, reads, verifies and replicates Hypercore 9
// feeds stored in directories that the JS hypercore 9 reads and writes too,
// and Hypercore 11 cores (package v11/core) stored in directories of this
// module's own layout (spec/v11/storage.md) that replicate with JS
// hypercore 11.
//
//	hypercore create [--v11] DIR
//	hypercore append DIR [BLOCK...]
//	hypercore get DIR INDEX
//	hypercore cat DIR [--start N] [--end M] [--newline]
//	hypercore info DIR [--json]
//	hypercore verify DIR
//	hypercore serve DIR --listen ADDR [--append-stdin]
//	hypercore truncate DIR LENGTH
//	hypercore clone KEY DIR --connect ADDR [--v11] [--sparse] [--blocks SPEC] [--live]
//	hypercore help [COMMAND]
//	hypercore version
//
// Data goes to stdout, messages and progress to stderr. The exit status is 0
// on success, 1 on failure (with a one-line error on stderr) and 2 on bad
// usage. Every command but create, clone and truncate works on either
// generation, told by the directory's key file (see generation). See
// cmd/hypercore/README.md for each subcommand's contract.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hypercore-go/hypercore/core"
	"github.com/hypercore-go/hypercore/core/storage"
	core11 "github.com/hypercore-go/hypercore/v11/core"
	"github.com/hypercore-go/hypercore/v11/core/store"
)

// protocol and protocol11 are what the tool speaks: the JS modules it is
// tested against.
const (
	protocol   = "Hypercore 9 (hypercore@9.12.0, hypercore-protocol@8.0.7)"
	protocol11 = "Hypercore 11 (hypercore@11.37.1)"
)

// A command is one subcommand: its arguments, the flags it takes (names in
// flagDocs) and a one-line description, for the usage texts.
type command struct {
	name, args string
	flags      []string
	doc        string
}

var commands = []command{
	{"create", "DIR", []string{"v11"}, "create a writable feed (with --v11 a Hypercore 11 core) with a new key pair; print its key"},
	{"append", "DIR [BLOCK...]", nil, "append the arguments, or else each line of stdin, as blocks; print the new length"},
	{"get", "DIR INDEX", nil, "write one stored block to stdout"},
	{"cat", "DIR", []string{"start", "end", "newline"}, "write the stored blocks [N, M) to stdout in order"},
	{"info", "DIR", []string{"json"}, "describe the feed: key, discovery key, length, byte length, writable, blocks held, version, fork"},
	{"verify", "DIR", nil, "re-hash every stored block and check the latest signature; change nothing"},
	{"serve", "DIR", []string{"listen", "append-stdin"}, "replicate the feed, live, to every TCP connection until SIGINT or SIGTERM"},
	{"truncate", "DIR LENGTH", nil, "drop the blocks from LENGTH on and sign the shorter log at the next fork (Hypercore 11 cores); print the new length"},
	{"clone", "KEY DIR", []string{"connect", "v11", "sparse", "blocks", "live"}, "download the feed KEY from a peer into DIR; print its length"},
	{"help", "[COMMAND]", nil, "print this usage, or with COMMAND that command's flags"},
	{"version", "", nil, "print the tool's version and the protocol it speaks"},
}

// A flagDoc describes a flag for the usage texts.
type flagDoc struct {
	synopsis, doc string
	required      bool
}

// flagDocs describes every flag; each is taken by the commands that list it.
var flagDocs = map[string]flagDoc{
	"start":        {"--start N", "first block to write (default 0)", false},
	"end":          {"--end M", "block to stop before (default the feed's length)", false},
	"newline":      {"--newline", "write a newline after each block", false},
	"json":         {"--json", "print one JSON object {key, discoveryKey, length, byteLength, writable, downloaded, version, fork}", false},
	"listen":       {"--listen ADDR", "TCP address to listen on, printed first (127.0.0.1:0 picks a port)", true},
	"append-stdin": {"--append-stdin", "append each line of stdin as a block while serving (writable feeds)", false},
	"connect":      {"--connect ADDR", "TCP address of the peer to dial", true},
	"v11":          {"--v11", "a Hypercore 11 core (hypercore@11), not a Hypercore 9 feed", false},
	"sparse":       {"--sparse", "verify the peer's length but download no block", false},
	"blocks":       {"--blocks SPEC", "download only these blocks, e.g. 0,5,10-20 (ranges inclusive)", false},
	"live":         {"--live", "keep replicating until interrupted, printing each new length", false},
}

func findCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// synopsis is "hypercore NAME ARGS FLAGS", optional flags in brackets.
func (c command) synopsis() string {
	s := "hypercore " + c.name
	if c.args != "" {
		s += " " + c.args
	}
	for _, name := range c.flags {
		if fd := flagDocs[name]; fd.required {
			s += " " + fd.synopsis
		} else {
			s += " [" + fd.synopsis + "]"
		}
	}
	return s
}

// help is the text of hypercore CMD --help.
func (c command) help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s\n\n%s\n", c.synopsis(), c.doc)
	if len(c.flags) > 0 {
		b.WriteString("\nflags:\n")
		for _, name := range c.flags {
			fd := flagDocs[name]
			fmt.Fprintf(&b, "  %-16s %s\n", fd.synopsis, fd.doc)
		}
	}
	return b.String()
}

// usage is the text of hypercore --help, and follows a bad usage error.
var usage = func() string {
	var b strings.Builder
	b.WriteString("usage:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %s\n      %s\n", c.synopsis(), c.doc)
	}
	b.WriteString("Run hypercore COMMAND --help for a command's flags.\n")
	return b.String()
}()

// usageError is bad usage: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(args, stdin, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "hypercore: %s\n%s", ue.msg, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "hypercore: %s\n", oneLine(err))
		return 1
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"no command"}
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	}
	c, known := findCommand(cmd)
	if !known {
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		jsonOut     = fs.Bool("json", false, "")
		listen      = fs.String("listen", "", "")
		appendStdin = fs.Bool("append-stdin", false, "")
		connect     = fs.String("connect", "", "")
		sparse      = fs.Bool("sparse", false, "")
		blocks      = fs.String("blocks", "", "")
		live        = fs.Bool("live", false, "")
		start       = fs.Uint64("start", 0, "")
		end         = fs.Uint64("end", 0, "")
		newline     = fs.Bool("newline", false, "")
		v11         = fs.Bool("v11", false, "")
	)
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) { // -h, -help or --help
		_, err := io.WriteString(stdout, c.help())
		return err
	}
	if err != nil {
		return usageError{err.Error()}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name := range set {
		takes := false
		for _, a := range c.flags {
			takes = takes || a == name
		}
		if !takes {
			return usageError{fmt.Sprintf("%s does not take --%s", cmd, name)}
		}
	}
	need := func(min, max int) error {
		if len(pos) < min || (max >= 0 && len(pos) > max) {
			return usageError{fmt.Sprintf("wrong number of arguments for %s", cmd)}
		}
		return nil
	}
	switch cmd {
	case "help":
		if err := need(0, 1); err != nil {
			return err
		}
		text := usage
		if len(pos) == 1 {
			c, known := findCommand(pos[0])
			if !known {
				return usageError{fmt.Sprintf("unknown command %q", pos[0])}
			}
			text = c.help()
		}
		_, err := io.WriteString(stdout, text)
		return err
	case "version":
		if err := need(0, 0); err != nil {
			return err
		}
		return version(stdout)
	case "cat":
		if err := need(1, 1); err != nil {
			return err
		}
		return cat(pos[0], *start, *end, set["end"], *newline, stdout)
	case "create":
		if err := need(1, 1); err != nil {
			return err
		}
		if *v11 {
			return create11(pos[0], stdout)
		}
		return create(pos[0], stdout)
	case "append":
		if err := need(1, -1); err != nil {
			return err
		}
		return appendBlocks(pos[0], pos[1:], stdin, stdout)
	case "get":
		if err := need(2, 2); err != nil {
			return err
		}
		i, err := strconv.ParseUint(pos[1], 10, 64)
		if err != nil {
			return usageError{fmt.Sprintf("bad INDEX %q", pos[1])}
		}
		return get(pos[0], i, stdout)
	case "truncate":
		if err := need(2, 2); err != nil {
			return err
		}
		n, err := strconv.ParseUint(pos[1], 10, 64)
		if err != nil {
			return usageError{fmt.Sprintf("bad LENGTH %q", pos[1])}
		}
		return truncate(pos[0], n, stdout)
	case "info":
		if err := need(1, 1); err != nil {
			return err
		}
		return info(pos[0], *jsonOut, stdout)
	case "verify":
		if err := need(1, 1); err != nil {
			return err
		}
		return verify(pos[0], stdout)
	case "serve":
		if err := need(1, 1); err != nil {
			return err
		}
		if *listen == "" {
			return usageError{"serve needs --listen ADDR"}
		}
		return serve(pos[0], *listen, *appendStdin, stdin, stdout, stderr)
	case "clone":
		if err := need(2, 2); err != nil {
			return err
		}
		if *connect == "" {
			return usageError{"clone needs --connect ADDR"}
		}
		key, err := core.ParseKey(pos[0])
		if err != nil {
			return usageError{fmt.Sprintf("bad KEY %q: want 64 hex digits", pos[0])}
		}
		var list []uint64
		if *blocks != "" {
			if list, err = parseBlocks(*blocks); err != nil {
				return usageError{err.Error()}
			}
		}
		if *v11 {
			return clone11([32]byte(key), pos[1], *connect, *sparse, list, *live, stdout, stderr)
		}
		return clone(key, pos[1], *connect, *sparse, list, *live, stdout, stderr)
	}
	return nil
}

// parse parses flags anywhere among the arguments and returns the others.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseBlocks parses a list such as 0,5,10-20 (ranges inclusive).
func parseBlocks(spec string) ([]uint64, error) {
	const maxBlocks = 1 << 20
	seen := map[uint64]bool{}
	for _, part := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad --blocks %q", spec)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("bad --blocks %q", spec)
			}
		}
		if b-a >= maxBlocks || len(seen)+int(b-a) >= maxBlocks {
			return nil, fmt.Errorf("--blocks %q names more than %d blocks", spec, maxBlocks)
		}
		for i := a; i <= b; i++ {
			seen[i] = true
		}
	}
	list := make([]uint64, 0, len(seen))
	for i := range seen {
		list = append(list, i)
	}
	sort.Slice(list, func(i, j int) bool { return list[i] < list[j] })
	return list, nil
}

// errNoDir and errNoCore are the two ways a directory holds no feed.
var (
	errNoDir  = errors.New("no such directory")
	errNoCore = errors.New("no hypercore is stored here")
)

// generation tells which Hypercore a directory holds, 9 or 11, from its
// key file, without creating or changing anything: Hypercore 9 keeps the
// 32-byte public key there (as JS hypercore 9 does); a Hypercore 11 core
// keeps the two header slots of spec/v11/storage.md there (the store's
// HeaderFile is the file named "key"), each opening with the magic
// "hc11hdr1", slot 0 at byte 0 and slot 1 at byte store.SlotSize
// (storage.md, "Files": a tool tells the generations apart by the key
// file). A directory without a key file, or with an empty one, holds no
// feed. A Hypercore 11 key file that starts with zeros and has no slot 1 is
// what a first commit cut short leaves: generation returns 11 with an error
// wrapping errNoCore (the store opens it empty).
func generation(dir string) (int, error) {
	if _, err := os.Stat(dir); err != nil {
		return 0, fmt.Errorf("%s: %w", dir, errNoDir)
	}
	kf, err := os.Open(filepath.Join(dir, storage.Key))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", dir, errNoCore)
	}
	defer kf.Close()
	st, err := kf.Stat()
	if err != nil {
		return 0, err
	}
	switch {
	case st.Size() == 0:
		return 0, fmt.Errorf("%s: %w", dir, errNoCore)
	case st.Size() == 32:
		return 9, nil
	}
	var first [8]byte
	for _, off := range []int64{0, store.SlotSize} {
		var m [8]byte
		if _, err := kf.ReadAt(m[:], off); err == nil && m == headerMagic11 {
			return 11, nil
		}
		if off == 0 {
			first = m
		}
	}
	if first == ([8]byte{}) {
		return 11, fmt.Errorf("%s: %w (a Hypercore 11 core whose first commit did not complete)", dir, errNoCore)
	}
	return 0, fmt.Errorf("%s: the key file is neither a Hypercore 9 key (32 bytes) nor a Hypercore 11 header", dir)
}

// openExisting opens the Hypercore 9 feed in dir, which must hold one.
func openExisting(dir string) (*core.Feed, error) {
	gen, err := generation(dir)
	if err != nil {
		return nil, err
	}
	if gen != 9 {
		return nil, fmt.Errorf("%s holds a Hypercore %d core, not a Hypercore 9 feed", dir, gen)
	}
	f, err := core.OpenDir(dir, nil)
	if errors.Is(err, core.ErrNoFeed) {
		return nil, fmt.Errorf("%s: %w", dir, errNoCore)
	}
	return f, err
}

// A feed is what append, serve and truncate use of either generation
// (*core.Feed and *core11.Core).
type feed interface {
	Append(blocks ...[]byte) (uint64, error)
	Writable() bool
	Length() uint64
	Close() error
}

// openFeed opens the feed or core in dir, of either generation.
func openFeed(dir string) (feed, error) {
	gen, err := generation(dir)
	if err != nil {
		return nil, err
	}
	if gen == 11 {
		return openCore11(dir)
	}
	return openExisting(dir)
}

// A blockReader is what get and cat read: a *core.Feed, or a *reader11.
type blockReader interface {
	Length() uint64
	Has(i uint64) bool
	HasRange(start, end uint64) bool
	Downloaded(start, end uint64) uint64
	// Get returns a stored block, checked against its leaf hash.
	Get(i uint64) ([]byte, error)
	Close() error
}

// openReader opens the feed or core in dir, of either generation, to read
// its blocks.
func openReader(dir string) (blockReader, error) {
	gen, err := generation(dir)
	if err != nil {
		return nil, err
	}
	if gen == 11 {
		return openReader11(dir)
	}
	return openExisting(dir)
}

// checkEmpty fails when dir holds a feed or core of either generation, or
// a key file that is neither's: create never writes over one.
func checkEmpty(dir string) error {
	gen, err := generation(dir)
	switch {
	case err == nil:
		return fmt.Errorf("%s already holds a hypercore (Hypercore %d)", dir, gen)
	case errors.Is(err, errNoDir), errors.Is(err, errNoCore):
		return nil
	}
	return err
}

func create(dir string, stdout io.Writer) error {
	if err := checkEmpty(dir); err != nil {
		return err
	}
	if gen, _ := generation(dir); gen == 11 {
		return fmt.Errorf("%s holds the start of a Hypercore 11 core: create it with --v11", dir)
	}
	f, err := core.CreateDir(dir, nil)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintln(stdout, hex.EncodeToString(f.Key()))
	return err
}

func appendBlocks(dir string, blocks []string, stdin io.Reader, stdout io.Writer) error {
	f, err := openFeed(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if !f.Writable() {
		return fmt.Errorf("%s: the feed is not writable (no secret key)", dir)
	}
	if len(blocks) > 0 {
		bs := make([][]byte, len(blocks))
		for i, b := range blocks {
			bs[i] = []byte(b)
		}
		if _, err := f.Append(bs...); err != nil {
			return err
		}
	} else if err := appendLines(f, stdin, 1000); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, f.Length())
	return err
}

// appendLines appends each line of r (without its newline) as a block, up
// to batch lines per append call.
func appendLines(f feed, r io.Reader, batch int) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	var pending [][]byte
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		_, err := f.Append(pending...)
		pending = pending[:0]
		return err
	}
	for sc.Scan() {
		pending = append(pending, append([]byte(nil), sc.Bytes()...))
		if len(pending) >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	return flush()
}

func get(dir string, i uint64, stdout io.Writer) error {
	f, err := openReader(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if i >= f.Length() {
		return fmt.Errorf("block %d out of range (length %d)", i, f.Length())
	}
	b, err := f.Get(i)
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}

// cat writes blocks [start, end) to stdout, each checked against its leaf
// hash as get does, and a newline after each if newline is set. end is the
// feed's length unless endSet. It checks the range and that every block in
// it is stored before it writes anything; a block that fails its hash
// stops it after the blocks before it are written.
func cat(dir string, start, end uint64, endSet, newline bool, stdout io.Writer) error {
	f, err := openReader(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	length := f.Length()
	if !endSet {
		end = length
	}
	switch {
	case end > length:
		return fmt.Errorf("--end %d is past the end of the feed (length %d)", end, length)
	case start > end && endSet:
		return fmt.Errorf("--start %d is after --end %d", start, end)
	case start > end:
		return fmt.Errorf("--start %d is past the end of the feed (length %d)", start, length)
	}
	if !f.HasRange(start, end) {
		i := start
		for f.Has(i) {
			i++
		}
		return fmt.Errorf("block %d is not stored here (%d of the %d blocks asked for are held)", i, f.Downloaded(start, end), end-start)
	}
	w := bufio.NewWriter(stdout)
	for i := start; i < end; i++ {
		b, err := f.Get(i)
		if err != nil {
			w.Flush()
			return err
		}
		w.Write(b)
		if newline {
			w.WriteByte('\n')
		}
	}
	return w.Flush()
}

// version prints the module version ("(devel)" when built from source
// without version control information) and the protocol.
func version(stdout io.Writer) error {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	_, err := fmt.Fprintf(stdout, "hypercore %s\nprotocol: %s\nprotocol: %s\n", v, protocol, protocol11)
	return err
}

// feedInfo is what info prints.
type feedInfo struct {
	Key          string `json:"key"`
	DiscoveryKey string `json:"discoveryKey"`
	Length       uint64 `json:"length"`
	ByteLength   uint64 `json:"byteLength"`
	Writable     bool   `json:"writable"`
	Downloaded   uint64 `json:"downloaded"`
	Version      int    `json:"version"` // 9 or 11
	Fork         uint64 `json:"fork"`    // always 0 for Hypercore 9
}

func info(dir string, asJSON bool, stdout io.Writer) error {
	gen, err := generation(dir)
	if err != nil {
		return err
	}
	var v feedInfo
	if gen == 11 {
		if v, err = info11(dir); err != nil {
			return err
		}
	} else {
		f, err := openExisting(dir)
		if err != nil {
			return err
		}
		dk := f.DiscoveryKey()
		v = feedInfo{hex.EncodeToString(f.Key()), hex.EncodeToString(dk[:]), f.Length(), f.ByteLength(), f.Writable(), f.Downloaded(0, f.Length()), 9, 0}
		f.Close()
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(v)
	}
	_, err = fmt.Fprintf(stdout, "key:           %s\ndiscovery key: %s\nlength:        %d\nbyte length:   %d\nwritable:      %v\nblocks held:   %d\nversion:       %d\nfork:          %d\n",
		v.Key, v.DiscoveryKey, v.Length, v.ByteLength, v.Writable, v.Downloaded, v.Version, v.Fork)
	return err
}

// checkReport is what verify found: the stored blocks that check and those
// that do not, the first of those, and the signature's error.
type checkReport struct {
	valid, invalid, firstInvalid uint64
	signature                    error
}

func verify(dir string, stdout io.Writer) error {
	gen, err := generation(dir)
	if err != nil {
		return err
	}
	var rep checkReport
	if gen == 11 {
		r, err := openReader11(dir)
		if err != nil {
			return err
		}
		defer r.Close()
		if rep, err = r.check(); err != nil {
			return err
		}
	} else {
		f, err := openExisting(dir)
		if err != nil {
			return err
		}
		defer f.Close()
		r, err := f.Check()
		rep = checkReport{r.Valid, r.Invalid, r.FirstInvalid, err}
	}
	if rep.invalid > 0 {
		return fmt.Errorf("block %d does not verify (%d of %d stored blocks bad)", rep.firstInvalid, rep.invalid, rep.invalid+rep.valid)
	}
	if rep.signature != nil {
		return fmt.Errorf("the latest signature does not verify: %w", rep.signature)
	}
	_, err = fmt.Fprintf(stdout, "ok %d blocks\n", rep.valid)
	return err
}

// signalContext is cancelled on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func serve(dir, addr string, appendStdin bool, stdin io.Reader, stdout, stderr io.Writer) error {
	gen, err := generation(dir)
	if err != nil {
		return err
	}
	var (
		f         feed
		replicate func(ctx context.Context, c net.Conn) error
	)
	if gen == 11 {
		c, err := openCore11(dir)
		if err != nil {
			return err
		}
		f = c
		replicate = func(ctx context.Context, conn net.Conn) error {
			return c.Replicate(ctx, conn, &core11.ReplicateOptions{})
		}
	} else {
		v9, err := openExisting(dir)
		if err != nil {
			return err
		}
		f = v9
		replicate = func(ctx context.Context, conn net.Conn) error {
			return v9.Replicate(ctx, conn, &core.ReplicateOptions{Live: true})
		}
	}
	defer f.Close()
	if appendStdin && !f.Writable() {
		return fmt.Errorf("%s: --append-stdin needs a writable feed", dir)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	if _, err := fmt.Fprintln(stdout, ln.Addr().String()); err != nil {
		return err
	}
	if appendStdin {
		go func() {
			if err := appendLines(f, stdin, 1); err != nil {
				fmt.Fprintf(stderr, "hypercore: %s\n", oneLine(err))
			}
		}()
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var wg sync.WaitGroup
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			go func() { <-ctx.Done(); c.Close() }()
			// a peer that goes away (a reset) ends its connection; it is
			// not an error of the server
			if err := replicate(ctx, c); err != nil && ctx.Err() == nil && !errors.Is(err, syscall.ECONNRESET) {
				fmt.Fprintf(stderr, "hypercore: peer %s: %s\n", c.RemoteAddr(), oneLine(err))
			}
		}()
	}
	wg.Wait()
	return nil
}

func clone(key []byte, dir, addr string, sparse bool, blocks []uint64, live bool, stdout, stderr io.Writer) error {
	if blocks != nil {
		sparse = true
	}
	if gen, _ := generation(dir); gen == 11 {
		return fmt.Errorf("%s holds a Hypercore %d core: clone it with --v11", dir, gen)
	}
	f, err := core.OpenDir(dir, &core.Options{Key: key, Sparse: sparse})
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, stop := signalContext()
	defer stop()
	c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	stopProgress, report := progress(f, stderr)
	defer stopProgress()

	// Every mode replicates live: the peer may be live, and a session that
	// is not live would wait for it to end. Subscribe before replicating so
	// that no event is missed.
	var sub *core.Subscription
	if live || blocks == nil {
		sub = f.Subscribe()
		defer sub.Close()
	}
	done := make(chan error, 1)
	go func() { done <- f.Replicate(ctx, c, &core.ReplicateOptions{Initiator: true, Live: true}) }()
	peerEnded := func(err error) error {
		if err == nil {
			err = errors.New("the peer ended the connection")
		}
		return err
	}

	if live {
		last := f.Length()
		if last > 0 {
			fmt.Fprintln(stdout, last)
		}
		for {
			select {
			case e := <-sub.C:
				if e.Type == core.EventAppend && f.Length() > last {
					last = f.Length()
					fmt.Fprintln(stdout, last)
				}
			case err := <-done:
				if ctx.Err() != nil {
					return nil
				}
				return peerEnded(err)
			case <-ctx.Done():
				return nil
			}
		}
	}

	job := make(chan error, 1)
	if blocks != nil {
		go func() { job <- f.DownloadBlocks(ctx, blocks) }()
	} else {
		// wait for the peer's length, verify it, and unless sparse download
		// every block
		var target uint64
	wait:
		for {
			select {
			case e := <-sub.C:
				if e.Type == core.EventRemoteUpdate {
					target = e.Index
					break wait
				}
				if e.Type == core.EventPeerRemove {
					// the peer went before it announced anything: it
					// refused the feed, or failed
					return peerEnded(e.Err)
				}
			case err := <-done:
				return peerEnded(err)
			}
		}
		go func() {
			if target > f.Length() {
				if err := f.Update(ctx, target); err != nil {
					job <- err
					return
				}
			}
			if sparse || f.Length() == 0 {
				job <- nil
				return
			}
			job <- f.DownloadWith(ctx, 0, f.Length(), &core.DownloadOptions{Progress: report})
		}()
	}
	select {
	case err := <-job:
		if err != nil {
			return err
		}
	case err := <-done:
		return fmt.Errorf("with %d of %d blocks: %w", f.Downloaded(0, f.Length()), f.Length(), peerEnded(err))
	}
	_, err = fmt.Fprintln(stdout, f.Length())
	return err
}

// progress draws a progress line on stderr while blocks download, when
// stderr is a terminal; otherwise it prints nothing. report is a
// DownloadOptions.Progress that feeds it the download's own counts.
func progress(f *core.Feed, stderr io.Writer) (stop func(), report func(held, total uint64)) {
	var held, total atomic.Uint64
	report = func(h, t uint64) { held.Store(h); total.Store(t) }
	stop = progressLine(stderr, func() (uint64, uint64, uint64) {
		h, n := held.Load(), total.Load()
		if n == 0 { // before the download reports (a sparse clone)
			h, n = f.Downloaded(0, f.Length()), f.Length()
		}
		return h, n, f.Stats().DownloadedBytes
	})
	return stop, report
}

// progressLine redraws "HELD/TOTAL blocks  BYTES  RATE" on stderr every
// 200 ms, and once more at stop, from counts (blocks held, blocks wanted,
// bytes downloaded), when stderr is a terminal; otherwise it prints
// nothing.
func progressLine(stderr io.Writer, counts func() (held, total, bytes uint64)) (stop func()) {
	file, ok := stderr.(*os.File)
	if !ok {
		return func() {}
	}
	if st, err := file.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		draw := func() {
			h, n, b := counts()
			rate := float64(b) / time.Since(start).Seconds() / 1e6
			fmt.Fprintf(file, "\r%d/%d blocks  %s  %.1f MB/s ", h, n, bytesString(b), rate)
		}
		for {
			select {
			case <-t.C:
				draw()
			case <-done:
				draw()
				fmt.Fprintln(file)
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func bytesString(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
