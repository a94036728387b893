package main

import (
	"context"

	"github.com/hypercore-go/hypercore/internal/jsref"
)

// scaleReport is the scale curve: how append, clone, peak RSS and open
// grow with the number of blocks, for Go and JS (-scale).
type scaleReport struct{}

// scaleRun measures the scale curve. bins holds the Go programs built by
// run (appendbench, replbench, getbench), tmp a directory it may use.
func scaleRun(ctx context.Context, env *jsref.Env, tmp string, bins map[string]string, quick bool) (*scaleReport, error) {
	return &scaleReport{}, nil
}

// markdown is the curve as Markdown tables for BENCHMARKS.md.
func (r *scaleReport) markdown() string { return "" }
