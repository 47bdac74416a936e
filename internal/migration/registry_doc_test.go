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

package migration

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestREADMEListsEveryMigration keeps the README's table of migrations ("Upgrading Tinkerbell") equal to the
// registry: one row per migration, in registry order, with its first release and phase.
func TestREADMEListsEveryMigration(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z0-9.-]+)` \\| (\\S+) \\| (pre|post) \\|").FindAllStringSubmatch(string(data), -1)
	if len(rows) != len(registry) {
		t.Fatalf("the README lists %d migrations, the registry has %d", len(rows), len(registry))
	}
	for i, m := range registry {
		name, crossing, phase := rows[i][1], rows[i][2], rows[i][3]
		if name != m.Name || crossing != m.Crossing || phase != m.Phase.Flag() {
			t.Errorf("README row %d is %s | %s | %s, the registry has %s | %s | %s", i+1, name, crossing, phase, m.Name, m.Crossing, m.Phase.Flag())
		}
	}
}
