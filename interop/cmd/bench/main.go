// Command bench runs every performance workload for Go and for the pinned
// JS hypercore 9.12.0 (and, for the v11 rows, JS hypercore 11.37.1) in one
// run on this machine, and reports Go/JS ratios and, for the Hypercore 9
// rows, how close each comes to what the machine's crypto allows.
//
//	go run ./interop/cmd/bench [-runs 3] [-out bench-out] [-quick] [-only NAME] [-scale]
//
// Each workload runs -runs times per implementation, alternating Go and JS;
// the median is reported. It prints a table, and writes to -out:
// results.json (every run's raw numbers), results.md (the table as
// Markdown, for BENCHMARKS.md) and chart.svg (the ratios as bars, and each
// row's percentage of its bound). -quick runs smaller sizes, to try the
// command; -only runs the workloads whose names start with NAME
// (interop/bench-append and bench-replicate use it). -scale also records
// the scale curve: append, clone, peak RSS and open time at 10 k, 100 k and
// 1 M blocks, Go and JS (scale.go; it takes far longer, so the default run
// leaves it out).
//
// The workloads (BENCHMARKS.md explains each):
//
//	append-1        disk append, 1 KiB blocks, one per call      blocks/s
//	append-1000     disk append, 1 KiB blocks, 1000 per call     blocks/s
//	replicate-1k    full clone of 100 000 × 1 KiB over TCP       blocks/s, peak RSS
//	replicate-64k   full clone of 2 000 × 64 KiB over TCP        MB/s, peak RSS
//	                (both feeds of a clone on disk, in one process)
//	cli-clone-30k   `hypercore clone` of 30 000 × 1 KiB from a   s, exec to exit
//	                JS server, against a JS clone program (cli.go)
//	open            open a 1 000 000-block disk feed             ms
//	get             random reads from that feed                  p50 µs
//
// and for Hypercore 11 (v11/core against hypercore 11.37.1, v11.go):
//
//	v11-replicate-1k   full clone of 100 000 × 1 KiB over TCP    blocks/s, peak RSS
//	v11-replicate-64k  full clone of 2 000 × 64 KiB over TCP     MB/s, peak RSS
//	                   (both cores on disk, in one process per implementation)
//
// -only v11 runs the two v11 rows; -only replicate the v9 clones alone;
// -only cli the command-line row.
//
// Before the workloads, the command times the crypto primitives on one
// core (BLAKE2b-256 leaf and parent hashes, XSalsa20, Ed25519 sign and
// verify) and derives each Hypercore 9 workload's crypto-only bound, the
// rate its crypto alone would allow (bounds.go has the model); each of
// those rows shows its bound and the Go and JS medians as a percentage of
// it, and results.md the primitives' table. open and get do no crypto and
// have no bound; the v11 rows have none yet.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/hypercore-go/hypercore/internal/jsref"
)

// workload is one row of the report.
type workload struct {
	Name, What, Unit string
	Higher           bool // a higher value is better
	Go, JS           []float64
	GoRSS, JSRSS     []float64 // MB, for replication
	GoCPU, JSCPU     []float64 // CPU seconds while the clock ran (v11 rows)
	V11              bool      // a Hypercore 11 row (JS hypercore 11.37.1)
	Goal             string    // the goal for the row, if any
	Retries          []string  `json:",omitempty"` // why runs failed and were run again (v11 rows)

	// The crypto-only bound (bounds.go), in Unit; 0 for a row without one.
	Bound                float64 `json:",omitempty"`
	BoundHow             string  `json:",omitempty"` // how it was derived, with this run's figures
	GoOfBound, JSOfBound float64 `json:",omitempty"` // each median as a percentage of Bound

	// cli-clone-30k (cli.go): the JS server's CPU seconds during each Go
	// and each JS clone.
	ServerCPUGo, ServerCPUJS []float64 `json:",omitempty"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v11-clone" {
		v11CloneMain(os.Args[2:])
		return
	}
	runs := flag.Int("runs", 3, "runs per workload and implementation")
	out := flag.String("out", "bench-out", "directory for results.json, results.md and chart.svg")
	quick := flag.Bool("quick", false, "small sizes, to try the command")
	only := flag.String("only", "", "run only the workloads whose names start with this: append, replicate, open, get or v11")
	scaleCurve := flag.Bool("scale", false, "also record the scale curve (10 k, 100 k and 1 M blocks; scale.go), which takes far longer")
	flag.Parse()
	if err := run(*runs, *out, *quick, *only, *scaleCurve); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(runs int, out string, quick bool, only string, scaleCurve bool) error {
	want := func(name string) bool { return strings.HasPrefix(name, only) }
	loadAvg := loadAverage() // before the run loads the machine
	env, _, err := jsref.Setup()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "hypercore-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins := map[string]string{}
	for _, pkg := range []string{"./interop/cmd/appendbench", "./interop/cmd/replbench", "./interop/cmd/getbench", "./cmd/hypercore"} {
		name := filepath.Base(pkg)
		bins[name] = filepath.Join(tmp, name)
		cmd := exec.Command("go", "build", "-o", bins[name], pkg)
		cmd.Dir = env.Root
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", name, err, b)
		}
	}
	scale := func(n int) int {
		if quick {
			return max(n/20, 1)
		}
		return n
	}
	ctx := context.Background()
	goRun := func(bin string, args ...string) (map[string]any, error) {
		return jsonOut(exec.CommandContext(ctx, bins[bin], args...))
	}
	jsRun := func(script string, args ...string) (map[string]any, error) {
		return jsonOut(env.Command(ctx, script, args...))
	}

	// the machine's crypto, one core, before the workloads load the machine
	// (bounds.go)
	var crypto *machineCrypto
	if want("append-1") || want("append-1000") || want("replicate-1k") || want("replicate-64k") || want(cliName) {
		loop, reps := 200*time.Millisecond, 5
		if quick {
			loop, reps = 50*time.Millisecond, 3
		}
		crypto = measureCrypto(runtime.NumCPU(), loop, reps)
		fmt.Fprintf(os.Stderr, "crypto, one core: L(1 KiB) %s, L(64 KiB) %s, P %s, X(1 KiB) %s, X(64 KiB) %s, S %s, V %s\n",
			µs(crypto.Leaf1K.Ns/1e9), µs(crypto.Leaf64K.Ns/1e9), µs(crypto.Parent.Ns/1e9), µs(crypto.Cipher1K.Ns/1e9),
			µs(crypto.Cipher64K.Ns/1e9), µs(crypto.Sign.Ns/1e9), µs(crypto.Verify.Ns/1e9))
	}

	var ws []*workload
	// appends
	for _, a := range []struct {
		name          string
		blocks, batch int
	}{{"append-1", scale(10000), 1}, {"append-1000", scale(200000), 1000}} {
		if !want(a.name) {
			continue
		}
		w := &workload{Name: a.name, What: fmt.Sprintf("disk append, 1 KiB blocks, %d per call (%d blocks)", a.batch, a.blocks), Unit: "blocks/s", Higher: true}
		if crypto != nil {
			w.Bound, w.BoundHow = crypto.appendBound(a.batch)
		}
		for r := 0; r < runs; r++ {
			dir := filepath.Join(tmp, fmt.Sprintf("%s-go-%d", a.name, r))
			g, err := goRun("appendbench", "-dir", dir, "-blocks", fmt.Sprint(a.blocks), "-batch", fmt.Sprint(a.batch), "-size", "1024")
			if err != nil {
				return err
			}
			dir = filepath.Join(tmp, fmt.Sprintf("%s-js-%d", a.name, r))
			j, err := jsRun("bench/append.js", dir, fmt.Sprint(a.blocks), fmt.Sprint(a.batch), "1024")
			if err != nil {
				return err
			}
			w.Go = append(w.Go, float64(a.blocks)/num(g, "seconds"))
			w.JS = append(w.JS, float64(a.blocks)/num(j, "seconds"))
		}
		ws = append(ws, w)
		progress(w)
	}
	// replication
	for _, rp := range []struct {
		name         string
		blocks, size int
		unit         string
	}{{"replicate-1k", scale(100000), 1024, "blocks/s"}, {"replicate-64k", scale(2000), 65536, "MB/s"}} {
		if !want(rp.name) {
			continue
		}
		w := &workload{Name: rp.name, What: fmt.Sprintf("full clone over TCP loopback, %d × %d KiB, both feeds on disk", rp.blocks, rp.size/1024), Unit: rp.unit, Higher: true}
		if crypto != nil {
			w.Bound, w.BoundHow = crypto.cloneBound(rp.blocks, rp.size, rp.unit)
		}
		for r := 0; r < runs; r++ {
			gdir, jdir := filepath.Join(tmp, fmt.Sprintf("%s-go-%d", rp.name, r)), filepath.Join(tmp, fmt.Sprintf("%s-js-%d", rp.name, r))
			g, err := goRun("replbench", "-blocks", fmt.Sprint(rp.blocks), "-size", fmt.Sprint(rp.size), "-dir", gdir)
			if err != nil {
				return err
			}
			j, err := jsRun("bench/replicate.js", fmt.Sprint(rp.blocks), fmt.Sprint(rp.size), jdir)
			if err != nil {
				return err
			}
			rate := func(m map[string]any) float64 {
				if rp.unit == "MB/s" {
					return float64(rp.blocks*rp.size) / num(m, "seconds") / 1e6
				}
				return float64(rp.blocks) / num(m, "seconds")
			}
			w.Go, w.JS = append(w.Go, rate(g)), append(w.JS, rate(j))
			os.RemoveAll(gdir)
			os.RemoveAll(jdir)
			w.GoRSS, w.JSRSS = append(w.GoRSS, num(g, "maxrss_kb")/1024), append(w.JSRSS, num(j, "maxrss_kb")/1024)
		}
		ws = append(ws, w)
		progress(w)
	}
	// the command-line clone from a JS server (cli.go)
	if want(cliName) {
		w, err := cliRow(ctx, env, tmp, bins["hypercore"], scale(cliBlocks), runs)
		if err != nil {
			return err
		}
		if crypto != nil {
			w.Bound, w.BoundHow = crypto.cliBound(scale(cliBlocks), 1024)
		}
		ws = append(ws, w)
		progress(w)
	}
	// Hypercore 11 clones: this command again as the Go child, and
	// interop/js11/bench/replicate.js.
	if want("v11-replicate-1k") || want("v11-replicate-64k") {
		more, err := v11Rows(ctx, tmp, scale, runs, want)
		if err != nil {
			return err
		}
		ws = append(ws, more...)
	}
	// open and random get, on one feed written by Go and read by both
	if want("open") || want("get") {
		more, err := openAndGet(ctx, goRun, jsRun, bins["getbench"], filepath.Join(tmp, "get-feed"), scale(1_000_000), runs)
		if err != nil {
			return err
		}
		for _, w := range more {
			if want(w.Name) {
				ws = append(ws, w)
				progress(w)
			}
		}
	}
	// the scale curve (scale.go), only with -scale
	var curve *scaleReport
	if scaleCurve {
		if curve, err = scaleRun(ctx, env, tmp, bins, quick); err != nil {
			return err
		}
	}
	if len(ws) == 0 && curve == nil {
		return fmt.Errorf("no workload starts with %q", only)
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, w := range ws {
		w.GoOfBound, w.JSOfBound = w.ofBound(median(w.Go)), w.ofBound(median(w.JS))
	}
	machine := fmt.Sprintf("%s/%s, %d CPUs, %s; %s; load average before the run %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), nodeVersion(env), loadAvg)
	raw, _ := json.MarshalIndent(map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "machine": machine, "runs": runs, "crypto": crypto, "workloads": ws, "scale": curve}, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "results.json"), append(raw, '\n'), 0o644); err != nil {
		return err
	}
	md := markdown(ws, machine, runs)
	if crypto != nil {
		md += "\n" + crypto.markdown(ws)
	}
	if curve != nil {
		md += "\n" + curve.markdown()
	}
	if err := os.WriteFile(filepath.Join(out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "chart.svg"), []byte(chart(ws)), 0o644); err != nil {
		return err
	}
	fmt.Print("\n" + md)
	fmt.Printf("\nwrote %s/results.json, results.md, chart.svg\n", out)
	return nil
}

func jsonOut(cmd *exec.Cmd) (map[string]any, error) {
	b, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		return nil, fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, msg)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s printed %q: %v", strings.Join(cmd.Args, " "), b, err)
	}
	return m, nil
}

func num(m map[string]any, k string) float64 { v, _ := m[k].(float64); return v }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// ratio is how many times better Go is than JS (above 1: Go is better).
func (w *workload) ratio() float64 {
	g, j := median(w.Go), median(w.JS)
	if w.Higher {
		return g / j
	}
	return j / g
}

func progress(w *workload) {
	fmt.Fprintf(os.Stderr, "%-17s go %10.1f  js %10.1f %-8s  %.2f×", w.Name, median(w.Go), median(w.JS), w.Unit, w.ratio())
	if len(w.GoRSS) > 0 {
		fmt.Fprintf(os.Stderr, "  rss %.0f / %.0f MB", median(w.GoRSS), median(w.JSRSS))
	}
	if len(w.GoCPU) > 0 {
		fmt.Fprintf(os.Stderr, "  cpu %.2f / %.2f s", median(w.GoCPU), median(w.JSCPU))
	}
	if w.Bound > 0 {
		fmt.Fprintf(os.Stderr, "  %.0f %% / %.0f %% of bound", w.ofBound(median(w.Go)), w.ofBound(median(w.JS)))
	}
	fmt.Fprintln(os.Stderr)
}

func nodeVersion(env *jsref.Env) string {
	b, err := exec.Command(env.Node, "--version").Output()
	if err != nil {
		return "node ?"
	}
	return "node " + strings.TrimSpace(string(b))
}

func markdown(ws []*workload, machine string, runs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s. Median of %d runs each.\n\n", machine, runs)
	var v9, v11 []*workload
	for _, w := range ws {
		if w.V11 {
			v11 = append(v11, w)
		} else {
			v9 = append(v9, w)
		}
	}
	if len(v9) > 0 {
		b.WriteString(markdown9(v9))
	}
	if len(v11) > 0 {
		b.WriteString(markdown11(v11))
	}
	return b.String()
}

// markdown9 is the table of the Hypercore 9 rows.
func markdown9(ws []*workload) string {
	var b strings.Builder
	b.WriteString("| Workload | What | Go | JS | Unit | Go vs JS | Bound | % of bound Go / JS | Peak RSS Go / JS (MB) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, w := range ws {
		rss := ""
		if len(w.GoRSS) > 0 {
			rss = fmt.Sprintf("%.0f / %.0f", median(w.GoRSS), median(w.JSRSS))
		}
		better := "higher is better"
		if !w.Higher {
			better = "lower is better"
		}
		bound, of := "—", "—"
		if w.Bound > 0 {
			bound = fmtNum(w.Bound)
			of = fmt.Sprintf("**%.0f %%** / %.0f %%", w.ofBound(median(w.Go)), w.ofBound(median(w.JS)))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s (%s) | **%.2f×** | %s | %s | %s |\n", w.Name, w.What, fmtNum(median(w.Go)), fmtNum(median(w.JS)), w.Unit, better, w.ratio(), bound, of, rss)
	}
	b.WriteString("\n\"Go vs JS\" is how many times better Go did: its rate over JS's, or JS's time over Go's. " +
		"\"Bound\" is the rate (or time) the workload's crypto alone allows on this machine, and \"% of bound\" each median's share of it (below).\n")
	for _, w := range ws {
		if len(w.ServerCPUGo) > 0 {
			b.WriteString(cliMarkdown(w))
		}
	}
	return b.String()
}

func fmtNum(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 1:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.3g", x)
}

// chart draws the ratios as bars from the 1× line (JS) on a logarithmic
// scale, so that 2× better and 2× worse are as long; and to their right,
// for the rows with a crypto bound, Go's median as a percentage of it, a
// bar on a linear scale from 0 to 100 %.
func chart(ws []*workload) string {
	const left, width, barH, gap = 130, 420, 22, 10
	const boundX, boundW = left + width + 90, 140 // the % of bound panel
	lo, hi := 0.5, 2.0
	for _, w := range ws {
		lo, hi = min(lo, w.ratio()/1.3), max(hi, w.ratio()*1.3)
	}
	x := func(r float64) int { return left + int((math.Log(r)-math.Log(lo))/(math.Log(hi)-math.Log(lo))*width) }
	h := len(ws)*(barH+gap) + 50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", boundX+boundW+50, h)
	fmt.Fprintf(&b, `<text x="10" y="16" font-weight="bold">hypercore-go vs JS (9.12; v11 rows: 11.37): times better (log; 1× = JS)</text>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="16" font-weight="bold">Go, %% of crypto bound</text>`+"\n", boundX)
	x1 := x(1)
	for i, w := range ws {
		y := 30 + i*(barH+gap)
		r := w.ratio()
		from, to, color := x1, x(r), "#2a7ab0"
		if r < 1 {
			from, to, color = x(r), x1, "#c0504d"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+barH/2+4, html.EscapeString(w.Name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", from, y, max(to-from, 1), barH, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%.2f×</text>`+"\n", max(to, x1)+6, y+barH/2+4, r)
		if w.Bound <= 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#888">—</text>`+"\n", boundX, y+barH/2+4)
			continue
		}
		pct := w.ofBound(median(w.Go))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#e4e4e4"/>`+"\n", boundX, y+barH/2-5, boundW, 10)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#3c9a5f"/>`+"\n", boundX, y+barH/2-5, max(int(min(pct, 100)/100*boundW), 1), 10)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%.0f %%</text>`+"\n", boundX+boundW+6, y+barH/2+4, pct)
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="26" x2="%d" y2="%d" stroke="#333" stroke-dasharray="4 3"/>`+"\n", x1, x1, h-14)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">1× (JS)</text>`+"\n", x1, h-2)
	b.WriteString("</svg>\n")
	return b.String()
}

// openAndGet times opening a feed of blocks 64-byte blocks, written by Go
// into dir, and random gets from it, in both implementations.
func openAndGet(ctx context.Context, goRun, jsRun func(string, ...string) (map[string]any, error), getbench, feedDir string, blocks, runs int) ([]*workload, error) {
	if _, err := exec.CommandContext(ctx, getbench, "-create", "-dir", feedDir, "-blocks", fmt.Sprint(blocks), "-size", "64").Output(); err != nil {
		return nil, fmt.Errorf("getbench -create: %w", err)
	}
	open := &workload{Name: "open", What: fmt.Sprintf("open a %d-block disk feed", blocks), Unit: "ms"}
	get := &workload{Name: "get", What: fmt.Sprintf("random get from a %d-block disk feed, 64-byte blocks (median of 10 000)", blocks), Unit: "µs"}
	for r := 0; r < runs; r++ {
		g, err := goRun("getbench", "-dir", feedDir, "-gets", "10000")
		if err != nil {
			return nil, err
		}
		j, err := jsRun("bench/get.js", feedDir, "10000")
		if err != nil {
			return nil, err
		}
		open.Go, open.JS = append(open.Go, num(g, "openMs")), append(open.JS, num(j, "openMs"))
		get.Go, get.JS = append(get.Go, num(g, "getP50Us")), append(get.JS, num(j, "getP50Us"))
	}
	return []*workload{open, get}, nil
}
