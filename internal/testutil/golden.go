/*
Copyright 2026 The Kubetink Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package testutil

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ShouldGenGolden reports whether golden files are to be rewritten (GEN_GOLDEN=true go test ./internal/...).
func ShouldGenGolden() bool {
	return os.Getenv("GEN_GOLDEN") == "true"
}

// CompareGolden compares got with the golden file at path, or rewrites the file when GEN_GOLDEN=true.
func CompareGolden(t testing.TB, path string, got []byte) {
	t.Helper()
	if ShouldGenGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with GEN_GOLDEN=true)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the output (-golden +output; regenerate with GEN_GOLDEN=true and review the diff):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}
