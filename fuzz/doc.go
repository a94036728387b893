// Package fuzz holds the fuzz targets that cross packages: a replicating
// session fed arbitrary bytes, a feed fed arbitrary Data messages, and a
// feed directory of arbitrary files (spec/security.md). README.md lists
// every fuzz target of the project with its command and property.
package fuzz
