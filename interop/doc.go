// Package interop holds the tests that run the pinned JavaScript reference
// (interop/js: npm hypercore 9.12.0 and its stack) against this
// implementation, and the vector generators (interop/js/vectors, run by
// interop/gen-vectors).
//
// The tests skip with "node not found: JS interop not run" on a machine
// without Node, except under CI=true, where they must run.
package interop
