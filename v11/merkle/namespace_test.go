package merkle

import (
	"encoding/hex"
	"testing"
)

// TestNamespaces checks the "hypercore" namespaces against the values JS
// 11.37.1 lib/caps.js computes (the vector file merkle.json carries them
// too; these are here so the package tests stand alone).
func TestNamespaces(t *testing.T) {
	for _, c := range []struct {
		name string
		got  [32]byte
		want string
	}{
		{"TREE", TreeNamespace, "9fac70b50ca14efc4e91c833b204e75b8b5aad8b5881bfc0adb5ef38a3275b9c"},
		{"REPLICATE_INITIATOR", ReplicateInitiator, "51812a2a359b50369536775df89e18e47740f3db72ac0ae70b29594c194dc316"},
		{"REPLICATE_RESPONDER", ReplicateResponder, "0438492d02970cc13528ac0262bca0074e0926260256865accc0bf15bd79127d"},
		{"MANIFEST", ManifestNamespace, "e64b7108eacce47cfc61ac850568f55f8b15b82ec5ed78c4ec597b036e2a1498"},
		{"DEFAULT_NAMESPACE", DefaultNamespace, "4144eea531e483d54e0c14f4ca68e0644f355343ff6fcb0f005200e12cd747cb"},
		{"DEFAULT_ENCRYPTION", DefaultEncryption, "9aedb6f1dea8487cc1e1698f97eb2f063f6db4c649695622e7b675e2ceafa6e9"},
	} {
		if h := hex.EncodeToString(c.got[:]); h != c.want {
			t.Errorf("%s = %s, want %s", c.name, h, c.want)
		}
	}
}
