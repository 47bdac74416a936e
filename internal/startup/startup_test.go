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

package startup

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// TestMain lets a test run this test binary in an environment of its choosing: with STARTUP_TEST_CHILD=1 it
// prints the collector settings before and after Done, as init left them, and exits.
func TestMain(m *testing.M) {
	if os.Getenv("STARTUP_TEST_CHILD") == "1" {
		before := settings()
		Done()
		after := settings()
		Done()
		fmt.Printf("%s\n%s\n%s\n", before, after, settings())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// settings reads the collector's GC percent and memory limit without changing them.
func settings() string {
	percent := debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	return fmt.Sprintf("gc=%d limit=%d", percent, debug.SetMemoryLimit(-1))
}

func TestDone(t *testing.T) {
	noLimit100 := fmt.Sprintf("gc=100 limit=%d", int64(math.MaxInt64))
	noLimit50 := fmt.Sprintf("gc=50 limit=%d", int64(math.MaxInt64))
	for _, tt := range []struct {
		name string
		env  []string
		want []string // before Done, after it, after a second call
	}{{
		name: "defaults: off during start-up, restored by Done",
		want: []string{"gc=-1 limit=67108864", noLimit100, noLimit100},
	}, {
		name: "GOGC set: untouched",
		env:  []string{"GOGC=50"},
		want: []string{noLimit50, noLimit50, noLimit50},
	}, {
		name: "GOMEMLIMIT set: untouched",
		env:  []string{"GOMEMLIMIT=1GiB"},
		want: []string{"gc=100 limit=1073741824", "gc=100 limit=1073741824", "gc=100 limit=1073741824"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
				return strings.HasPrefix(kv, "GOGC=") || strings.HasPrefix(kv, "GOMEMLIMIT=")
			})
			cmd.Env = append(cmd.Env, append([]string{"STARTUP_TEST_CHILD=1"}, tt.env...)...)
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Join(tt.want, "\n") + "\n"; string(out) != want {
				t.Errorf("settings (before Done, after it, after a second call) = %q, want %q", out, want)
			}
		})
	}
}
