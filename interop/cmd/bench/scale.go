package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hypercore-go/hypercore/internal/jsref"
)

// The scale curve (-scale): how four costs grow with the number of blocks
// in a feed, for 10 000, 100 000 and 1 000 000 blocks of 1 KiB (-quick:
// 1 000, 10 000 and 100 000), Go and JS:
//
//	append  disk append in calls of 1000 blocks, as append-1000
//	        (appendbench, bench/append.js), from the first call to Close
//	clone   a full clone over TCP loopback, both feeds on disk, as
//	        replicate-1k (replbench, bench/replicate.js), from the dial
//	        until the reader holds every block
//	rss     the peak resident set of the cloning process (writer and
//	        reader in one process; the writer's feed is written in the same
//	        process before the clock starts)
//	open    opening the writer's feed of a Go clone (written in calls of
//	        1000 blocks): getbench -gets 0 and bench/get.js DIR 0 open the
//	        same directory, warm in the page cache
//
// Why 1 KiB: the rows whose cost is per block (append-1000, replicate-1k)
// use it, and the costs that could grow with the length of a feed are per
// block too (tree nodes and their depth, the bitfield, a signature per
// append, a message per block); larger blocks would hide them behind
// per-byte hashing and ciphering. And a feed of 1 000 000 × 1 KiB is 1 GB,
// which the disk and the page cache hold; 64 KiB blocks would be 64 GB.
//
// Every step runs three times per size and implementation (not -runs),
// alternating Go and JS, and the median is reported; when the first run
// took more than scaleRepeatLimit, it stands alone (so a 1 M JS clone runs
// once, and the Runs column says so). A JS step is stopped (SIGTERM, which
// append.js and replicate.js answer with how far they got) after
// scaleJSLimit: the size shows "did not finish in 5 min" with that
// progress, and that measure skips the larger sizes for JS. Each feed
// directory is removed as soon as its step is measured, so the disk holds
// at most one clone (two feeds) at a time.

// scaleJSLimit is how long one JS step may run.
const scaleJSLimit = 5 * time.Minute

// scaleGoLimit is how long one Go step may run (a stuck Go step is a bug,
// not a data point, but the curve should still end).
const scaleGoLimit = 10 * time.Minute

// scaleRepeatLimit is the longest first run that is run twice more: above
// it one run stands for the size, to keep the whole curve under 25 minutes.
const scaleRepeatLimit = 90 * time.Second

// scaleRuns is the number of runs per size and implementation.
const scaleRuns = 3

// scaleBlockSize is the block size of every feed in the curve.
const scaleBlockSize = 1024

// scaleReport is the scale curve: how append, clone, peak RSS and open
// grow with the number of blocks, for Go and JS (-scale). It holds every
// run; markdown derives the medians.
type scaleReport struct {
	BlockSize int            // bytes per block
	Sizes     []int          // blocks per feed, ascending
	Runs      int            // runs per size and implementation (one where the first took over RepeatMax)
	JSLimit   string         // how long a JS step may run
	RepeatMax string         // the longest first run that was run again
	Took      string         // how long the curve took
	Samples   []*scaleSample // every run, in the order they ran
}

// scaleSample is one run of one step.
type scaleSample struct {
	Measure string // "append", "clone" (which also gives the peak RSS) or "open"
	Impl    string // "go" or "js"
	Blocks  int
	Run     int     // 1, 2, 3
	Wall    float64 // seconds the program ran, start to exit
	// Seconds is the program's own clock: append from the first call to
	// Close; clone from the dial until the reader holds every block.
	Seconds    float64 `json:",omitempty"`
	CPUSeconds float64 `json:",omitempty"` // clone: CPU time (user and system) while the clock ran
	// ReadCalls is, for a Go clone on Linux, the read system calls the
	// process made while the clock ran (pread of the feeds' files and the
	// socket's reads).
	ReadCalls float64 `json:",omitempty"`
	// MaxRSSKB is the clone process's peak resident set, SetupMaxRSSKB its
	// peak before the clock started (after writing the writer's feed).
	MaxRSSKB      float64 `json:",omitempty"`
	SetupMaxRSSKB float64 `json:",omitempty"`
	OpenMs        float64 `json:",omitempty"` // open
	// Failed says why the run has no figure: "did not finish in 5 min",
	// the program's error, or "skipped: ..." for a size after one that
	// did not finish.
	Failed string         `json:",omitempty"`
	Output map[string]any `json:",omitempty"` // the program's JSON line
}

// scaleRun measures the scale curve. bins holds the Go programs built by
// run (appendbench, replbench, getbench), tmp a directory it may use.
func scaleRun(ctx context.Context, env *jsref.Env, tmp string, bins map[string]string, quick bool) (*scaleReport, error) {
	r := &scaleReport{
		BlockSize: scaleBlockSize, Sizes: []int{10_000, 100_000, 1_000_000}, Runs: scaleRuns,
		JSLimit: fmtLimit(scaleJSLimit), RepeatMax: fmtLimit(scaleRepeatLimit),
	}
	if quick {
		r.Sizes = []int{1_000, 10_000, 100_000}
	}
	// The largest clone holds two feeds of N × 1 KiB plus their trees
	// (about 80 bytes a block) and signatures (64 bytes a block); ask for
	// twice that, so the machine keeps room.
	largest := r.Sizes[len(r.Sizes)-1]
	need := uint64(2 * 2 * largest * (scaleBlockSize + 200))
	if free, err := freeBytes(tmp); err == nil && free < need {
		return nil, fmt.Errorf("scale: %s has %.1f GB free, the curve wants %.1f GB", tmp, float64(free)/1e9, float64(need)/1e9)
	}
	start := time.Now()
	s := &scaler{r: r, ctx: ctx, env: env, bins: bins, tmp: tmp, failed: map[string]string{}}
	for _, n := range r.Sizes {
		s.appends(n)
		s.clones(n)
	}
	r.Took = time.Since(start).Round(time.Second).String()
	fmt.Fprintf(os.Stderr, "scale: done in %s\n", r.Took)
	return r, nil
}

// scaler runs the steps of a scale curve.
type scaler struct {
	r      *scaleReport
	ctx    context.Context
	env    *jsref.Env
	bins   map[string]string
	tmp    string
	failed map[string]string // measure/impl that did not finish at a smaller size: why
}

// step runs one program and records its run. cmd builds the command under
// the step's context; dirs are removed after it.
func (s *scaler) step(measure, impl string, n, run int, cmd func(ctx context.Context) *exec.Cmd, dirs ...string) *scaleSample {
	defer func() {
		for _, d := range dirs {
			os.RemoveAll(d)
		}
	}()
	smp := &scaleSample{Measure: measure, Impl: impl, Blocks: n, Run: run}
	s.r.Samples = append(s.r.Samples, smp)
	key := measure + "/" + impl
	if why, ok := s.failed[key]; ok {
		smp.Failed = "skipped: " + why
		return smp
	}
	limit := scaleGoLimit
	if impl == "js" {
		limit = scaleJSLimit
	}
	ctx, cancel := context.WithTimeout(s.ctx, limit)
	defer cancel()
	c := cmd(ctx)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) } // then SIGKILL after WaitDelay
	if c.WaitDelay == 0 {
		c.WaitDelay = 5 * time.Second
	}
	var stderr strings.Builder
	c.Stderr = &stderr
	t := time.Now()
	stdout, err := c.Output()
	smp.Wall = time.Since(t).Seconds()
	var out map[string]any
	jsonErr := json.Unmarshal(stdout, &out)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		smp.Failed = fmt.Sprintf("did not finish in %s", fmtLimit(limit)) + progressNote(out, n)
		smp.Output = out
	case err != nil:
		smp.Failed = fmt.Sprintf("failed: %v: %s", err, firstLine(stderr.String()))
	case jsonErr != nil:
		smp.Failed = fmt.Sprintf("failed: printed %q", firstLine(string(stdout)))
	}
	if smp.Failed != "" {
		s.failed[key] = fmt.Sprintf("%s at %s blocks", smp.Failed, fmtCount(n))
		fmt.Fprintf(os.Stderr, "scale: %-6s %9s blocks %-2s run %d: %s (%.0f s)\n", measure, fmtCount(n), impl, run, smp.Failed, smp.Wall)
		return smp
	}
	smp.Output = out
	smp.Seconds = num(out, "seconds")
	smp.CPUSeconds = num(out, "cpu_seconds")
	smp.MaxRSSKB, smp.SetupMaxRSSKB = num(out, "maxrss_kb"), num(out, "setup_maxrss_kb")
	smp.OpenMs = num(out, "openMs")
	smp.ReadCalls = num(out, "read_calls")
	msg := ""
	switch measure {
	case "append":
		msg = fmt.Sprintf("%.2f s, %s blocks/s", smp.Seconds, fmtNum(float64(n)/smp.Seconds))
	case "clone":
		msg = fmt.Sprintf("%.2f s, %s blocks/s, CPU %.1f s, peak RSS %.0f MB", smp.Seconds, fmtNum(float64(n)/smp.Seconds), smp.CPUSeconds, smp.MaxRSSKB/1024)
	case "open":
		msg = fmt.Sprintf("%.2f ms", smp.OpenMs)
	}
	fmt.Fprintf(os.Stderr, "scale: %-6s %9s blocks %-2s run %d: %s\n", measure, fmtCount(n), impl, run, msg)
	return smp
}

// progressNote says how far a stopped program got, from what it printed
// on SIGTERM: " (had 612 000 of 1 000 000 blocks after 290 s)".
func progressNote(out map[string]any, n int) string {
	done, ok := out["downloaded"].(float64)
	if !ok {
		done, ok = out["appended"].(float64)
	}
	secs, timed := out["seconds"].(float64)
	switch {
	case !ok:
		return ""
	case !timed:
		return " (still writing the writer's feed)"
	}
	return fmt.Sprintf(" (had %s of %s blocks after %.0f s of the clock)", fmtCount(int(done)), fmtCount(n), secs)
}

// repeat reports whether a step whose run was smp is run again: every run
// after a first that finished within scaleRepeatLimit.
func repeat(smp *scaleSample) bool {
	return smp.Failed == "" && (smp.Run > 1 || smp.Wall <= scaleRepeatLimit.Seconds())
}

// appends times appending n blocks, alternating Go and JS.
func (s *scaler) appends(n int) {
	goOn, jsOn := true, true
	for run := 1; run <= s.r.Runs && (goOn || jsOn); run++ {
		if goOn {
			dir := filepath.Join(s.tmp, fmt.Sprintf("scale-append-go-%d", n))
			smp := s.step("append", "go", n, run, func(ctx context.Context) *exec.Cmd {
				return exec.CommandContext(ctx, s.bins["appendbench"], "-dir", dir, "-blocks", fmt.Sprint(n), "-batch", "1000", "-size", fmt.Sprint(scaleBlockSize))
			}, dir)
			goOn = repeat(smp)
		}
		if jsOn {
			dir := filepath.Join(s.tmp, fmt.Sprintf("scale-append-js-%d", n))
			smp := s.step("append", "js", n, run, func(ctx context.Context) *exec.Cmd {
				return s.env.Command(ctx, "bench/append.js", dir, fmt.Sprint(n), "1000", fmt.Sprint(scaleBlockSize))
			}, dir)
			jsOn = repeat(smp)
		}
	}
}

// clones times full clones of n blocks, alternating Go and JS; after the
// first Go clone, it times opening that clone's writer feed with both.
func (s *scaler) clones(n int) {
	goOn, jsOn := true, true
	for run := 1; run <= s.r.Runs && (goOn || jsOn); run++ {
		if goOn {
			dir := filepath.Join(s.tmp, fmt.Sprintf("scale-clone-go-%d", n))
			smp := s.step("clone", "go", n, run, func(ctx context.Context) *exec.Cmd {
				return exec.CommandContext(ctx, s.bins["replbench"], "-blocks", fmt.Sprint(n), "-size", fmt.Sprint(scaleBlockSize), "-dir", dir)
			})
			goOn = repeat(smp)
			if run == 1 && smp.Failed == "" {
				os.RemoveAll(filepath.Join(dir, "reader"))
				s.opens(n, filepath.Join(dir, "writer"))
			}
			os.RemoveAll(dir)
		}
		if jsOn {
			dir := filepath.Join(s.tmp, fmt.Sprintf("scale-clone-js-%d", n))
			smp := s.step("clone", "js", n, run, func(ctx context.Context) *exec.Cmd {
				return s.env.Command(ctx, "bench/replicate.js", fmt.Sprint(n), fmt.Sprint(scaleBlockSize), dir)
			}, dir)
			jsOn = repeat(smp)
		}
	}
}

// opens times opening the feed in dir (n blocks), alternating Go and JS.
func (s *scaler) opens(n int, dir string) {
	for run := 1; run <= s.r.Runs; run++ {
		s.step("open", "go", n, run, func(ctx context.Context) *exec.Cmd {
			return exec.CommandContext(ctx, s.bins["getbench"], "-dir", dir, "-gets", "0")
		})
		s.step("open", "js", n, run, func(ctx context.Context) *exec.Cmd {
			return s.env.Command(ctx, "bench/get.js", dir, "0")
		})
	}
}

// freeBytes is the space left for an unprivileged user on dir's file system.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// fmtLimit writes a limit as 5 min or 90 s.
func fmtLimit(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

// fmtCount writes n with a space between thousands: 1 000 000.
func fmtCount(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// A scaleCell is the figure of one size and implementation for one
// measure: the median of its runs, or why there is none.
type scaleCell struct {
	v      float64
	runs   int
	failed string
	// stoppedAfter is, for a run stopped at the time limit, how long its
	// clock had run (so its time per block was more than stoppedAfter/n).
	stoppedAfter float64
}

func (c scaleCell) ok() bool { return c.runs > 0 }

// cell gathers the runs of measure for impl at n, with value giving each
// run's figure.
func (r *scaleReport) cell(measure, impl string, n int, value func(*scaleSample) float64) scaleCell {
	var xs []float64
	var c scaleCell
	for _, smp := range r.Samples {
		if smp.Measure != measure || smp.Impl != impl || smp.Blocks != n {
			continue
		}
		if smp.Failed != "" {
			c.failed = smp.Failed
			if secs, ok := smp.Output["seconds"].(float64); ok && strings.HasPrefix(smp.Failed, "did not finish") {
				c.stoppedAfter = secs
			}
			continue
		}
		xs = append(xs, value(smp))
	}
	c.v, c.runs = scaleMedian(xs), len(xs)
	return c
}

// scaleMedian is the median of xs, the mean of the middle two for an even
// count (a run can fail after others finished).
func scaleMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

// A scaleMeasure is one table of the curve.
type scaleMeasure struct {
	title, what string
	short       string                     // the figure's name in a sentence
	measure     string                     // the samples it reads
	unit        string                     // of value
	higher      bool                       // a higher value is better
	value       func(*scaleSample) float64 // a run's figure
	perBlock    string                     // the per-block column's heading
	exponent    bool                       // say how the figure itself grows (RSS, open)
	readCalls   bool                       // add Go's read system calls per block (clone)
	rate        bool                       // value is blocks/s from the program's clock: a stopped run bounds it
	// per is the per-block figure of the median v at n blocks, where the
	// row before held prev at prevN blocks (0, 0 for the first row; for a
	// marginal cost); false when there is none.
	per func(v float64, n int, prev float64, prevN int) (float64, bool)
}

// markdown is the curve as Markdown tables for BENCHMARKS.md.
func (r *scaleReport) markdown() string {
	if r == nil || len(r.Sizes) == 0 {
		return ""
	}
	perBlockTime := func(v float64, n int, _ float64, _ int) (float64, bool) { return 1e6 / v, v > 0 } // µs per block from blocks/s
	ms := []scaleMeasure{
		{title: "Append", what: "disk append of 1 KiB blocks in calls of 1000 (as `append-1000`), from the first call to `Close`",
			measure: "append", unit: "blocks/s", higher: true, perBlock: "µs per block", rate: true,
			value: func(s *scaleSample) float64 { return float64(s.Blocks) / s.Seconds }, per: perBlockTime},
		{title: "Clone", what: "full clone over TCP loopback, both feeds on disk, writer and reader in one process (as `replicate-1k`), from the dial until the reader holds every block",
			measure: "clone", unit: "blocks/s", higher: true, perBlock: "µs per block", readCalls: true, rate: true,
			value: func(s *scaleSample) float64 { return float64(s.Blocks) / s.Seconds }, per: perBlockTime},
		{title: "Peak RSS of the cloning process", short: "peak RSS", what: "the clone's process, writer and reader (`getrusage`; it also wrote the writer's feed before the clock started)",
			measure: "clone", unit: "MB", perBlock: "bytes per added block", exponent: true,
			value: func(s *scaleSample) float64 { return s.MaxRSSKB / 1024 },
			per: func(v float64, n int, prev float64, prevN int) (float64, bool) {
				return (v - prev) * 1024 * 1024 / float64(n-prevN), prevN > 0 && prev > 0
			}},
		{title: "Open", short: "open time", what: "opening the writer's feed of a Go clone, warm in the page cache; Go and JS open the same directory",
			measure: "open", unit: "ms", perBlock: "ns per block", exponent: true,
			value: func(s *scaleSample) float64 { return s.OpenMs },
			per:   func(v float64, n int, _ float64, _ int) (float64, bool) { return v * 1e6 / float64(n), v > 0 }},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Scale: %s to %s blocks of %d bytes\n\n", fmtCount(r.Sizes[0]), fmtCount(r.Sizes[len(r.Sizes)-1]), r.BlockSize)
	fmt.Fprintf(&b, "Median of %d runs per size and implementation, Go and JS alternating; when the first run took over %s it stands alone (the Runs column says how many ran). A JS step stops after %s. The curve took %s.\n", r.Runs, r.RepeatMax, r.JSLimit, r.Took)
	for _, m := range ms {
		fmt.Fprintf(&b, "\n#### %s (%s)\n\n%s.\n\n", m.title, m.unit, strings.ToUpper(m.what[:1])+m.what[1:])
		fmt.Fprintf(&b, "| Blocks | Go | JS | Go vs JS | Go %s | JS %s | Runs Go / JS |\n|---|---|---|---|---|---|---|\n", m.perBlock, m.perBlock)
		var goPer, jsPer, goV []float64
		var goN, jsN, goVN []int
		var prevGo, prevJS scaleCell
		prevN := 0
		for _, n := range r.Sizes {
			g, j := r.cell(m.measure, "go", n, m.value), r.cell(m.measure, "js", n, m.value)
			if g.ok() {
				goV, goVN = append(goV, g.v), append(goVN, n)
			}
			ratio := ""
			if g.ok() && j.ok() && g.v > 0 && j.v > 0 {
				x := g.v / j.v
				if !m.higher {
					x = j.v / g.v
				}
				ratio = fmt.Sprintf("**%.2f×**", x)
			}
			if m.rate && g.ok() && g.v > 0 && !j.ok() && j.stoppedAfter > 0 {
				// JS ran stoppedAfter seconds without finishing n blocks
				ratio = fmt.Sprintf("**> %.2f×**", g.v*j.stoppedAfter/float64(n))
			}
			per := func(c, prev scaleCell, pers *[]float64, ns *[]int) string {
				if !c.ok() {
					if m.rate && c.stoppedAfter > 0 {
						return "> " + fmtPer(c.stoppedAfter*1e6/float64(n))
					}
					return ""
				}
				pp, pn := prev.v, prevN
				if !prev.ok() {
					pp, pn = 0, 0
				}
				x, ok := m.per(c.v, n, pp, pn)
				if !ok {
					return "–"
				}
				*pers, *ns = append(*pers, x), append(*ns, n)
				return fmtPer(x)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d / %d |\n", fmtCount(n), cellText(g), cellText(j), ratio,
				per(g, prevGo, &goPer, &goN), per(j, prevJS, &jsPer, &jsN), g.runs, j.runs)
			prevGo, prevJS, prevN = g, j, n
		}
		line := growthLine(m, goPer, goN, jsPer, jsN)
		if last := len(goV) - 1; m.exponent && last > 0 && goV[0] > 0 && goV[last] > 0 {
			k := math.Log(goV[last]/goV[0]) / math.Log(float64(goVN[last])/float64(goVN[0]))
			line += fmt.Sprintf(" Go's %s grows as blocks^%.2f from %s to %s blocks (0: constant, 1: in proportion to the blocks).", m.short, k, fmtCount(goVN[0]), fmtCount(goVN[last]))
		}
		if m.readCalls {
			var calls []string
			for _, n := range r.Sizes {
				if c := r.cell("clone", "go", n, func(s *scaleSample) float64 { return s.ReadCalls / float64(s.Blocks) }); c.ok() && c.v > 0 {
					calls = append(calls, fmt.Sprintf("%s at %s", fmtPer(c.v), fmtCount(n)))
				}
			}
			if len(calls) > 0 {
				line += " Go's read system calls per block (pread and socket reads): " + strings.Join(calls, ", ") + "."
			}
			for _, impl := range []string{"go", "js"} {
				var cpu []string
				var first, last float64
				for _, n := range r.Sizes {
					if c := r.cell("clone", impl, n, func(s *scaleSample) float64 { return s.CPUSeconds * 1e6 / float64(s.Blocks) }); c.ok() && c.v > 0 {
						cpu = append(cpu, fmt.Sprintf("%s at %s", fmtPer(c.v), fmtCount(n)))
						if first == 0 {
							first = c.v
						}
						last = c.v
					}
				}
				if len(cpu) > 1 {
					what := "Go's CPU µs per block (all threads; less disturbed by other load than the clock)"
					if impl == "js" {
						what = "JS's"
					}
					line += fmt.Sprintf(" %s: %s (%+.0f %%).", what, strings.Join(cpu, ", "), (last/first-1)*100)
				}
			}
		}
		b.WriteString("\n" + line + "\n")
	}
	b.WriteString("\n\"Go vs JS\" is how many times better Go did: its rate over JS's, or JS's figure over Go's.\n")
	return b.String()
}

func cellText(c scaleCell) string {
	if c.ok() {
		return fmtNum(c.v)
	}
	return c.failed
}

func fmtPer(x float64) string {
	switch a := math.Abs(x); {
	case a >= 100:
		return fmt.Sprintf("%.0f", x)
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

// scaleFlat is how far a per-block cost may move from the smallest size's
// and still be called flat.
const scaleFlat = 0.25

// growthLine is the generated sentence under a table: whether Go's cost
// per block is flat across the sizes (every size within scaleFlat of the
// smallest), grows or falls, with the figures, and JS's figures beside.
func growthLine(m scaleMeasure, goPer []float64, goN []int, jsPer []float64, jsN []int) string {
	list := func(xs []float64) string {
		s := make([]string, len(xs))
		for i, x := range xs {
			s[i] = fmtPer(x)
		}
		return strings.Join(s, ", ")
	}
	span := func(ns []int) string {
		if len(ns) == 1 {
			return fmt.Sprintf("at %s blocks", fmtCount(ns[0]))
		}
		return fmt.Sprintf("%s to %s blocks", fmtCount(ns[0]), fmtCount(ns[len(ns)-1]))
	}
	if len(goPer) < 2 {
		return "Go's per-block cost: too few sizes measured to say whether it is flat."
	}
	worst, at := 0.0, 0
	for i, x := range goPer {
		if d := x/goPer[0] - 1; math.Abs(d) > math.Abs(worst) {
			worst, at = d, i
		}
	}
	verdict := fmt.Sprintf("**flat** (every size within %.0f %% of the smallest)", scaleFlat*100)
	switch {
	case goPer[0] <= 0:
		verdict = "not comparable (the smallest size's figure is not positive)"
	case worst > scaleFlat:
		verdict = fmt.Sprintf("**not flat, it grows** (%+.0f %% at %s blocks against %s)", worst*100, fmtCount(goN[at]), fmtCount(goN[0]))
	case worst < -scaleFlat:
		verdict = fmt.Sprintf("**not flat, it falls** (%+.0f %% at %s blocks against %s: the cost grows slower than the length)", worst*100, fmtCount(goN[at]), fmtCount(goN[0]))
	}
	line := fmt.Sprintf("Go's %s, %s: %s; %s.", m.perBlock, span(goN), list(goPer), verdict)
	if len(jsPer) > 0 {
		line += fmt.Sprintf(" JS's, %s: %s.", span(jsN), list(jsPer))
	}
	return line
}
