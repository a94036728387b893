package vectors

// V11Proofs is vectors/v11/proofs.json: requests and the proofs JS's
// replicator answers them with, JS clones' verdicts on those proofs and on
// named mutations of them, reorgs onto a truncated core, and an accumulated
// digest of every proof for writers of 1..64 blocks, from hypercore
// 11.37.1 (spec/v11/proofs.md).
type V11Proofs struct {
	Header
	Build  []V11ProofGroup[V11ProofBuildTest]
	Verify []V11ProofGroup[V11ProofVerifyTest]
	Reorg  []V11ProofReorgGroup
	Digest []V11ProofDigestGroup
}

// V11ProofCore names a writer core: its key, its writer's public key, its
// manifest (encoded), its fork and its length.
type V11ProofCore struct {
	Key       Hex    `json:"key"`
	PublicKey Hex    `json:"publicKey"`
	Manifest  Hex    `json:"manifest"`
	Fork      uint64 `json:"fork"`
	Length    uint64 `json:"length"`
}

// V11ProofGroup is the group of one writer: the core and its blocks.
type V11ProofGroup[T any] struct {
	Type   string       `json:"type"`
	Core   V11ProofCore `json:"core"`
	Blocks []Hex        `json:"blocks"`
	Tests  []T          `json:"tests"`
}

// V11ProofReorgGroup is the truncated writer (Core, Blocks at fork 1) and
// the fork 0 writer its clones copied (Fork0Blocks).
type V11ProofReorgGroup struct {
	Type        string              `json:"type"`
	Core        V11ProofCore        `json:"core"`
	Blocks      []Hex               `json:"blocks"`
	Fork0Blocks []Hex               `json:"fork0Blocks"`
	Tests       []V11ProofReorgTest `json:"tests"`
}

// V11ProofDigestGroup holds the accumulated digest over writers whose
// blocks are the first n of Blocks.
type V11ProofDigestGroup struct {
	Type   string               `json:"type"`
	Blocks []Hex                `json:"blocks"`
	Tests  []V11ProofDigestTest `json:"tests"`
}

// V11ProofRequest is the proof sections of a request; absent ones are nil.
type V11ProofRequest struct {
	Fork  uint64 `json:"fork"`
	Block *struct {
		Index uint64 `json:"index"`
		Nodes uint64 `json:"nodes"`
	} `json:"block"`
	Hash *struct {
		Index uint64 `json:"index"`
		Nodes uint64 `json:"nodes"`
	} `json:"hash"`
	Seek *struct {
		Bytes   uint64 `json:"bytes"`
		Padding uint64 `json:"padding"`
	} `json:"seek"`
	Upgrade *struct {
		Start  uint64 `json:"start"`
		Length uint64 `json:"length"`
	} `json:"upgrade"`
}

// V11Proof is the proof sections of a data message; absent ones are nil.
type V11Proof struct {
	Fork  uint64 `json:"fork"`
	Block *struct {
		Index uint64    `json:"index"`
		Value Hex       `json:"value"`
		Nodes []V11Node `json:"nodes"`
	} `json:"block"`
	Hash *struct {
		Index uint64    `json:"index"`
		Nodes []V11Node `json:"nodes"`
	} `json:"hash"`
	Seek *struct {
		Bytes uint64    `json:"bytes"`
		Nodes []V11Node `json:"nodes"`
	} `json:"seek"`
	Upgrade *struct {
		Start           uint64    `json:"start"`
		Length          uint64    `json:"length"`
		Nodes           []V11Node `json:"nodes"`
		AdditionalNodes []V11Node `json:"additionalNodes"`
		Signature       Hex       `json:"signature"`
	} `json:"upgrade"`
}

// V11ProofBuildTest is a request and the proof JS answers it with (valid),
// or the class of its refusal (invalid; JSError is JS's exception).
type V11ProofBuildTest struct {
	Case
	Request V11ProofRequest `json:"request"`
	Proof   *V11Proof       `json:"proof"`
	JSError *string         `json:"jsError"`
}

// V11ProofClone is a requester's state: its length and what it stores
// ("none": nothing, "roots": the roots of its length, "full": every node
// below its length).
type V11ProofClone struct {
	Stored string `json:"stored"`
	Length uint64 `json:"length"`
}

// V11ProofVerifyTest is a proof (the answer of BuildTest From, or a
// mutation of it) and a JS clone's verdict. For a valid case Verified is
// what the clone stores.
type V11ProofVerifyTest struct {
	Case
	From     int               `json:"from"`
	Clone    V11ProofClone     `json:"clone"`
	Proof    V11Proof          `json:"proof"`
	JS       string            `json:"js"`
	JSError  *string           `json:"jsError"`
	Verified *V11ProofVerified `json:"verified"`
}

// V11ProofVerified is what a receiver stores from a valid proof: the
// block, the new tree and its signature if the proof upgraded it, and the
// indexes of the nodes (each the writer's node of that index).
type V11ProofVerified struct {
	Block *struct {
		Index uint64 `json:"index"`
		Value Hex    `json:"value"`
	} `json:"block"`
	Tree      *V11Tree `json:"tree"`
	Signature Hex      `json:"signature"`
	Nodes     []uint64 `json:"nodes"`
}

// V11ProofReorgTest is a clone of the fork 0 writer meeting the fork 1
// writer: each request, its answer, and the reorg's state after it.
type V11ProofReorgTest struct {
	Case
	Clone   V11ProofClone       `json:"clone"`
	Steps   []V11ProofReorgStep `json:"steps"`
	JSError *string             `json:"jsError"`
}

// V11ProofReorgStep is one request of a reorg, its answer and the state
// after it (nil for a rejected proof).
type V11ProofReorgStep struct {
	Request V11ProofRequest     `json:"request"`
	Proof   V11Proof            `json:"proof"`
	After   *V11ProofReorgState `json:"after"`
}

// V11ProofReorgState is a reorg's state (JS ReorgBatch): the newer fork's
// tree, signature and verified nodes, the shared block count found so far,
// and the next hash request (nil when done).
type V11ProofReorgState struct {
	Tree      V11Tree   `json:"tree"`
	Signature Hex       `json:"signature"`
	Nodes     []V11Node `json:"nodes"`
	Ancestors uint64    `json:"ancestors"`
	Want      *struct {
		Start uint64 `json:"start"`
		End   uint64 `json:"end"`
		Nodes uint64 `json:"nodes"`
	} `json:"want"`
}

// V11ProofDigestTest is the accumulated digest of Count proof lines.
type V11ProofDigestTest struct {
	Case
	Count  int `json:"count"`
	Digest Hex `json:"digest"`
}

func init() {
	register("v11/proofs.json", func() error { _, err := LoadV11Proofs(); return err })
}

// LoadV11Proofs loads vectors/v11/proofs.json.
func LoadV11Proofs() (*V11Proofs, error) {
	v := new(V11Proofs)
	err := load("v11/proofs.json", &v.Header, func(typ string, raw []byte) error {
		switch typ {
		case "BuildTest":
			return decodeGroup(raw, &v.Build)
		case "VerifyTest":
			return decodeGroup(raw, &v.Verify)
		case "ReorgTest":
			return decodeGroup(raw, &v.Reorg)
		case "DigestTest":
			return decodeGroup(raw, &v.Digest)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}
