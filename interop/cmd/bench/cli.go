package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hypercore-go/hypercore/internal/jsref"
)

// The command-line row, cli-clone-30k: a full clone of a 30 000 × 1 KiB
// feed from a JS server, as a user runs it. The server is JS hypercore
// 9.12.0 (interop/js/bench/serve.js): it writes the feed on disk, listens on
// 127.0.0.1 and replicates it, live, to every connection; it starts once,
// before the runs, and serves them all. Each run execs, into a fresh
// directory,
//
//	Go: hypercore clone KEY DIR --connect 127.0.0.1:PORT   (cmd/hypercore, built by the bench)
//	JS: node bench/clone.js KEY DIR PORT                    (interop/js/bench/clone.js)
//
// and the clock runs from the exec until the process exits 0: process
// start, opening the directory, the connection and its handshake, the
// transfer and the close are all in it. Both wait for the server's length
// and download every block below it, and afterwards (off the clock)
// `hypercore info --json` must find every block on disk. The row also
// records each clone's CPU time and peak RSS (getrusage of the child), and
// the JS server's CPU time during each clone (/proc/PID/stat): a server
// busy for most of a Go clone's time is what limits it.

const (
	cliName   = "cli-clone-30k"
	cliBlocks = 30000
)

// cliRow runs cli-clone-30k, runs times per implementation, alternating;
// hypercore is the built cmd/hypercore.
func cliRow(ctx context.Context, env *jsref.Env, tmp, hypercore string, blocks, runs int) (*workload, error) {
	srvCtx, stop := context.WithCancel(ctx)
	srv := env.Command(srvCtx, "bench/serve.js", filepath.Join(tmp, "cli-server"), fmt.Sprint(blocks), "1024")
	var srvErr bytes.Buffer
	srv.Stderr = &srvErr
	out, err := srv.StdoutPipe()
	if err != nil {
		stop()
		return nil, err
	}
	if err := srv.Start(); err != nil {
		stop()
		return nil, err
	}
	defer func() {
		stop()
		srv.Wait()
	}()
	// a server that is not listening within two minutes is killed
	timer := time.AfterFunc(2*time.Minute, stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	if !timer.Stop() || err != nil {
		srv.Wait()
		return nil, fmt.Errorf("bench/serve.js: %v\n%s", err, srvErr.String())
	}
	var ready struct {
		Port, Length int
		Key          string
	}
	if err := json.Unmarshal([]byte(line), &ready); err != nil || ready.Length != blocks {
		return nil, fmt.Errorf("bench/serve.js printed %q (%v), want a feed of %d blocks", line, err, blocks)
	}
	port := fmt.Sprint(ready.Port)

	w := &workload{Name: cliName, Unit: "s", Goal: "≥ 5×",
		What: fmt.Sprintf("`hypercore clone` of %d × 1 KiB from a JS server over TCP loopback, exec to exit; JS: a clone program (`bench/clone.js`)", blocks)}
	// a clone takes seconds; all of them together get ten minutes a run
	runCtx, cancel := context.WithTimeout(ctx, time.Duration(runs)*10*time.Minute)
	defer cancel()
	for r := 0; r < runs; r++ {
		for _, impl := range []string{"go", "js"} {
			dir := filepath.Join(tmp, fmt.Sprintf("cli-%s-%d", impl, r))
			cmd := exec.CommandContext(runCtx, hypercore, "clone", ready.Key, dir, "--connect", "127.0.0.1:"+port)
			if impl == "js" {
				cmd = env.Command(runCtx, "bench/clone.js", ready.Key, dir, port)
			}
			c, err := timeClone(cmd, srv.Process.Pid)
			if err != nil {
				return nil, err
			}
			if err := heldAll(hypercore, dir, blocks); err != nil {
				return nil, fmt.Errorf("%s clone: %w", impl, err)
			}
			os.RemoveAll(dir)
			if impl == "go" {
				w.Go, w.GoCPU, w.GoRSS, w.ServerCPUGo = append(w.Go, c.seconds), append(w.GoCPU, c.cpu), append(w.GoRSS, c.rssMB), append(w.ServerCPUGo, c.serverCPU)
			} else {
				w.JS, w.JSCPU, w.JSRSS, w.ServerCPUJS = append(w.JS, c.seconds), append(w.JSCPU, c.cpu), append(w.JSRSS, c.rssMB), append(w.ServerCPUJS, c.serverCPU)
			}
		}
	}
	return w, nil
}

// cloneRun is one timed clone.
type cloneRun struct {
	seconds   float64 // exec to exit
	cpu       float64 // the clone process's CPU seconds (user and system)
	rssMB     float64 // its peak RSS
	serverCPU float64 // the server's CPU seconds meanwhile
}

// timeClone runs cmd, which must exit 0, and times it from exec to exit;
// server is the serving process's pid.
func timeClone(cmd *exec.Cmd, server int) (cloneRun, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	before := procCPU(server)
	start := time.Now()
	err := cmd.Run()
	seconds := time.Since(start).Seconds()
	after := procCPU(server)
	if err != nil {
		return cloneRun{}, fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	ps := cmd.ProcessState
	c := cloneRun{seconds: seconds, cpu: (ps.UserTime() + ps.SystemTime()).Seconds(), serverCPU: after - before}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		c.rssMB = float64(ru.Maxrss) / 1024
	}
	return c, nil
}

// procCPU is the CPU seconds (user and system, all threads) process pid
// has used: fields 14 and 15 of /proc/PID/stat, in clock ticks of 1/100 s
// (Linux's USER_HZ); 0 where there is no /proc.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return statCPU(b)
}

// statCPU is the CPU seconds of a /proc/PID/stat line: utime and stime
// (fields 14 and 15, in clock ticks of 1/100 s), or 0 when it is not one.
func statCPU(b []byte) float64 {
	// the command name, field 2, is in parentheses and may hold spaces
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // from field 3 on
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[14-3], 64)
	stime, _ := strconv.ParseFloat(f[15-3], 64)
	return (utime + stime) / 100
}

// heldAll checks with `hypercore info --json` that the clone in dir holds
// every one of blocks blocks.
func heldAll(hypercore, dir string, blocks int) error {
	b, err := exec.Command(hypercore, "info", dir, "--json").Output()
	if err != nil {
		return fmt.Errorf("hypercore info %s: %v", dir, err)
	}
	var info struct{ Length, Downloaded int }
	if err := json.Unmarshal(b, &info); err != nil {
		return fmt.Errorf("hypercore info %s printed %q: %v", dir, b, err)
	}
	if info.Length != blocks || info.Downloaded != blocks {
		return fmt.Errorf("%s holds %d of %d blocks (length %d)", dir, info.Downloaded, blocks, info.Length)
	}
	return nil
}

// cliMarkdown is the paragraph under the table for the cli row: every run,
// the goal, and how busy the JS server was.
func cliMarkdown(w *workload) string {
	list := func(xs []float64) string {
		s := make([]string, len(xs))
		for i, x := range xs {
			s[i] = fmt.Sprintf("%.2f", x)
		}
		return strings.Join(s, ", ")
	}
	met := "met"
	if w.ratio() < 5 {
		met = "not met"
	}
	busy := func(server, clone []float64) string {
		s := make([]string, len(server))
		for i := range server {
			s[i] = fmt.Sprintf("%.0f %%", 100*server[i]/clone[i])
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("\n`%s`: Go %s s, JS %s s (each run, exec to exit); goal Go %s JS: %.2f×, %s. "+
		"CPU of the clone process, median: Go %.2f s, JS %.2f s. "+
		"The JS server's CPU during the Go clones: %s s (%s of each clone's time); during the JS clones: %s s (%s).\n",
		w.Name, list(w.Go), list(w.JS), w.Goal, w.ratio(), met, median(w.GoCPU), median(w.JSCPU),
		list(w.ServerCPUGo), busy(w.ServerCPUGo, w.Go), list(w.ServerCPUJS), busy(w.ServerCPUJS, w.JS))
}
