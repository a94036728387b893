module github.com/hypercore-go/hypercore

go 1.26.8

require (
	filippo.io/edwards25519 v1.2.0
	github.com/google/go-cmp v0.7.0
	golang.org/x/crypto v0.59.0
	pgregory.net/rapid v1.3.0
)

require (
	github.com/flynn/noise v1.1.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
