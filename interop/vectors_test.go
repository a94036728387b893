package interop

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hypercore-go/hypercore/internal/jsref"
)

// TestVectorsRegenerate runs interop/gen-vectors into a temporary directory
// and requires every generated file to equal the committed one in vectors/,
// and every committed vector file to be generated. A vector file edited by
// hand, or a generator changed without regenerating, fails here.
func TestVectorsRegenerate(t *testing.T) {
	env := jsref.Require(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(env.Root, "interop", "gen-vectors"), out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("interop/gen-vectors: %v\n%s", err, stderr.Bytes())
	}
	committed := filepath.Join(env.Root, "vectors")
	generated := listFiles(t, out)
	if len(generated) == 0 {
		t.Fatal("interop/gen-vectors wrote nothing")
	}
	for _, rel := range generated {
		want, err := os.ReadFile(filepath.Join(committed, rel))
		if err != nil {
			t.Errorf("vectors/%s is generated but not committed: %v", rel, err)
			continue
		}
		got, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("vectors/%s differs from what interop/gen-vectors writes (%s); regenerate with interop/gen-vectors",
				rel, firstDiff(want, got))
		}
	}
	gen := map[string]bool{}
	for _, rel := range generated {
		gen[rel] = true
	}
	for _, rel := range listFiles(t, committed) {
		if !gen[rel] && isGenerated(rel) {
			t.Errorf("vectors/%s is committed but no generator writes it", rel)
		}
	}
}

// isGenerated reports whether a path under vectors/ is generator output
// rather than documentation, schema or Go code.
func isGenerated(rel string) bool {
	switch {
	case strings.HasPrefix(rel, "schema/"), strings.HasPrefix(rel, "v11/schema/"), strings.HasSuffix(rel, ".go"),
		path.Base(rel) == "README.md":
		return false
	}
	return true
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// firstDiff describes where two files first differ.
func firstDiff(a, b []byte) string {
	line := 1
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return "first difference on line " + strconv.Itoa(line)
		}
		if a[i] == '\n' {
			line++
		}
	}
	return "one is a prefix of the other, lengths " + strconv.Itoa(len(a)) + " and " + strconv.Itoa(len(b))
}
